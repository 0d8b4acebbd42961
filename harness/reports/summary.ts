/** The per-model table printed at the end of a run (and saved as summary.txt). */
import type { AccuracyRow } from '../experiments/accuracy.js';
import type { CompressionRow } from '../experiments/compression.js';
import type { LatencyRow } from '../experiments/latency.js';

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = (c: string) => /^[-+]?[\d.,]+(%|x| ?ms)?$/.test(c) || c === '-';
  const line = (cells: string[]) => cells.map((c, i) => (i > 0 && numeric(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/**
 * One line per model, or per model and variant when `variants` is given (rows then carry a
 * `variant` field: `hil run --variant both`).
 */
export function summarize(
  models: string[],
  accuracy: (AccuracyRow & { variant?: string })[],
  latency: (LatencyRow & { variant?: string })[],
  variants?: string[],
): string {
  const header = [...(variants ? ['model', 'variant'] : ['model']), 'samples', 'device top1', 'host top1', 'agreement', 'instructions', 'ms', 'source'];
  const keys = models.flatMap((name) => (variants ?? [undefined]).map((v) => [name, v] as const));
  const rows = keys.map(([name, v]) => {
    const a = accuracy.find((r) => r.model === name && (v === undefined || r.variant === v));
    const l = latency.find((r) => r.model === name && (v === undefined || r.variant === v));
    return [
      ...(v === undefined ? [name] : [name, v]),
      a ? String(a.samples) : '-',
      a ? pct(a.top1) : '-',
      a ? pct(a.host_top1) : '-',
      a ? pct(a.agreement) : '-',
      l && l.instructions_median !== '' ? String(l.instructions_median) : '-',
      l ? l.ms_median.toFixed(2) : '-',
      l ? l.source : '-',
    ];
  });
  const cost = latency[0]?.cost_model;
  const estimated = latency.some((r) => r.source === 'emulated-estimate');
  return formatTable(header, rows) + (cost && estimated ? `\nms (emulated-estimate) = instructions x CPI / clock (${cost}); see the rig file for the source` : '');
}

/** The compression table of `hil run --variant both` (rows of experiments/compression.ts). */
export function summarizeCompression(rows: CompressionRow[]): string {
  const opt = (x: number | '', f: (n: number) => string) => (x === '' ? '-' : f(x));
  const header = ['model', 'stored', 'fp32 B', 'int8 B', 'pq B', 'vs fp32', 'vs int8', 'int8 top1', 'pq top1', 'pq-int8 pt', 'instr pq/int8'];
  const body = rows.map((r) => [
    r.model, r.stored_as || '-', String(r.fp32_bytes), String(r.int8_bytes), String(r.pq_bytes), `${r.ratio_fp32.toFixed(2)}x`, `${r.ratio_int8.toFixed(2)}x`,
    opt(r.top1_int8_device, pct), opt(r.top1_pq_device, pct), opt(r.top1_change_points, (n) => n.toFixed(2)), opt(r.instructions_ratio, (n) => `${n.toFixed(3)}x`),
  ]);
  return formatTable(header, body) + '\ntop-1 on the device (whole test splits unless --samples); bytes: indices + share of the shared codebooks + int8 layers + int32 biases';
}
