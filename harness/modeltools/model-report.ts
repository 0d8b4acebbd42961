/** models/<name>/report.json: what training or import recorded about a model (params, MACs, top-1). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The report's fields; empty when the model has none (or it cannot be read). */
export function readModelReport(modelDir: string): Record<string, unknown> {
  const p = join(modelDir, 'report.json');
  if (!existsSync(p)) return {};
  try {
    const r: unknown = JSON.parse(readFileSync(p, 'utf8'));
    return r !== null && typeof r === 'object' ? (r as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** fp32 top-1 of the trained model, null for imported models (no float weights). */
export function reportedFp32Top1(modelDir: string): number | null {
  const v = readModelReport(modelDir).fp32_top1;
  return typeof v === 'number' ? v : null;
}
