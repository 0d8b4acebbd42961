/** The per-model table of summary.txt: accuracy and latency side by side, per variant when several ran. */
import { formatTable } from '../util/table.js';
import type { AccuracyRow } from './accuracy.js';
import type { RunInfo } from './experiment.js';
import type { LatencyRow } from './latency.js';

// an empty cell (no labels, not a classifier) is NaN in memory and '' read back from a CSV
const known = (x: number | string | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const pct = (x: number) => (known(x) ? `${(100 * x).toFixed(2)}%` : '-');

/** One line per model, or per model and variant when the run has several variants. */
export function modelTable(run: RunInfo, accuracy: (AccuracyRow & { variant?: string })[], latency: (LatencyRow & { variant?: string })[]): string {
  const models = run.plans[0].models.map((m) => m.name);
  const variants = run.plans.length > 1 ? run.plans.map((p) => p.variant) : undefined;
  const classModel = latency.some((r) => typeof r.ms_class_model === 'number');
  // AUC columns only when an autoencoder ran (MLPerf Tiny's ad01 figure)
  const auc = accuracy.some((r) => known(r.auc) || known(r.host_auc));
  const header = [
    ...(variants ? ['model', 'variant'] : ['model']), 'samples', 'device top1', 'host top1', ...(auc ? ['device auc', 'host auc'] : []), 'agreement', 'elements differ',
    'instructions', 'ms', ...(classModel ? ['ms class'] : []), 'source',
  ];
  const keys = models.flatMap((name) => (variants ?? [undefined]).map((v) => [name, v] as const));
  const rows = keys.map(([name, v]) => {
    const a = accuracy.find((r) => r.model === name && (v === undefined || r.variant === v));
    const l = latency.find((r) => r.model === name && (v === undefined || r.variant === v));
    return [
      ...(v === undefined ? [name] : [name, v]),
      a ? String(a.samples) : '-',
      a ? pct(a.top1) : '-',
      a ? pct(a.host_top1) : '-',
      ...(auc ? [a && known(a.auc) ? a.auc.toFixed(4) : '-', a && known(a.host_auc) ? a.host_auc.toFixed(4) : '-'] : []),
      a ? pct(a.agreement) : '-',
      a && known(a.elements_differ) ? String(a.elements_differ) : '-',
      l && l.instructions_median !== '' ? String(l.instructions_median) : '-',
      l ? l.ms_median.toFixed(2) : '-',
      ...(classModel ? [l && typeof l.ms_class_model === 'number' ? l.ms_class_model.toFixed(2) : '-'] : []),
      l ? l.source : '-',
    ];
  });
  const cost = latency[0]?.cost_model;
  const estimated = latency.some((r) => r.source === 'emulated-estimate');
  const note = classModel
    ? `\nms (emulated-estimate) = instructions x CPI / clock; ms class = the instruction-class model (QEMU plugin counts, flash wait states): ${cost}; see the rig file for the sources`
    : `\nms (emulated-estimate) = instructions x CPI / clock (${cost}); see the rig file for the source`;
  return formatTable(header, rows) + (cost && estimated ? note : '');
}

