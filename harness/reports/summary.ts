/** The per-model table printed at the end of a run (and saved as summary.txt). */
import type { AccuracyRow } from '../experiments/accuracy.js';
import type { LatencyRow } from '../experiments/latency.js';

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = (c: string) => /^[-+]?[\d.,]+(%|x| ?ms)?$/.test(c) || c === '-';
  const line = (cells: string[]) => cells.map((c, i) => (i > 0 && numeric(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function summarize(models: string[], accuracy: AccuracyRow[], latency: LatencyRow[]): string {
  const header = ['model', 'samples', 'device top1', 'host top1', 'agreement', 'instructions', 'ms', 'source'];
  const rows = models.map((name) => {
    const a = accuracy.find((r) => r.model === name);
    const l = latency.find((r) => r.model === name);
    return [
      name,
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
