/** The per-model table printed at the end of a run (and saved as summary.txt). */
import type { AccuracyRow } from '../experiments/accuracy.js';
import type { CompressionRow } from '../experiments/compression.js';
import type { LatencyRow } from '../experiments/latency.js';
import type { EnergyResultRow, SwitchRow } from '../experiments/switching.js';
import type { ScenarioTotal } from '../experiments/scenario.js';
import type { Rig } from '../rig/rig.js';
import { formatTable } from '../util/table.js';


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
  const classModel = latency.some((r) => typeof r.ms_class_model === 'number');
  const header = [...(variants ? ['model', 'variant'] : ['model']), 'samples', 'device top1', 'host top1', 'agreement', 'instructions', 'ms', ...(classModel ? ['ms class'] : []), 'source'];
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

/** The compression table of `hil run --variant both` (rows of experiments/compression.ts). */
export function summarizeCompression(rows: CompressionRow[]): string {
  const opt = (x: number | '', f: (n: number) => string) => (x === '' ? '-' : f(x));
  const header = ['model', 'stored', 'fp32 B', 'int8 B', 'pq B', 'vs fp32', 'vs int8', 'int8 top1', 'pq top1', 'pq-int8 pt', 'instr pq/int8'];
  const body = rows.map((r) => [
    r.model, r.stored_as || '-', String(r.fp32_bytes), String(r.int8_bytes), String(r.pq_bytes), `${r.ratio_fp32.toFixed(2)}x`, `${r.ratio_int8.toFixed(2)}x`,
    opt(r.top1_int8_device, pct), opt(r.top1_pq_device, pct), opt(r.top1_change_points, (n) => n.toFixed(2)), opt(r.instructions_ratio, (n) => `${n.toFixed(3)}x`),
  ]);
  return formatTable(header, body) + '\ntop-1 on the device (whole test splits unless --samples); bytes: indices + share of the shared codebooks + int8 layers + biases as stored (int32; pq layers int16 << shift)';
}

/** Median, and the worst (smallest) value, of a column over rows; NaN when none is a number. */
function medMin(values: (number | '')[]): { med: number; min: number } {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return { med: NaN, min: NaN };
  const s = [...v].sort((a, b) => a - b);
  const mid = (s.length - 1) / 2;
  return { med: (s[Math.floor(mid)] + s[Math.ceil(mid)]) / 2, min: s[0] };
}

/**
 * The YONO-style table of issue #5: per variant and storage, the switch (make ready) and the
 * switch plus first inference, medians over every ordered pair, with the reduction against the
 * in-memory variant; per-model inference cost; the scenario totals.
 */
export function summarizeSwitching(rows: SwitchRow[], energy: EnergyResultRow[], totals: ScenarioTotal[], rig: Pick<Rig, 'name' | 'estimate'>): string {
  const parts: string[] = [];
  const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(1) : Number(x.toPrecision(digits)).toString()) : '-');
  const pctOf = (m: { med: number; min: number }) => (Number.isFinite(m.med) ? `${m.med.toFixed(2)}% (min ${m.min.toFixed(2)}%)` : '-');
  const channels = [...new Map(rows.map((r) => [`${r.variant}\u0000${r.storage}`, r])).values()];
  if (rows.length) {
    const body = channels.map((c) => {
      const sel = rows.filter((r) => r.variant === c.variant && r.storage === c.storage);
      const col = (k: keyof SwitchRow) => medMin(sel.map((r) => r[k] as number | ''));
      return [
        c.variant, c.storage, String(new Set(sel.map((r) => `${r.from_model}>${r.to_model}`)).size),
        fmt(col('ready_ms_median').med), fmt(col('ready_mJ_median').med), fmt(col('first_ms_median').med), fmt(col('first_mJ_median').med),
        pctOf(col('ready_ms_reduction_pct')), pctOf(col('ready_mJ_reduction_pct')), pctOf(col('first_ms_reduction_pct')), pctOf(col('first_mJ_reduction_pct')),
      ];
    });
    const source = [...new Set(rows.map((r) => r.source))].join(', ');
    parts.push(
      `Model switching: medians over ordered pairs (each pair ${rows[0].reps} runs), per switch; ${source}\n` +
        formatTable(['variant', 'storage', 'pairs', 'ready ms', 'ready mJ', '+1st inf ms', '+1st inf mJ', 'ready ms cut', 'ready mJ cut', '+1st ms cut', '+1st mJ cut'], body) +
        '\ncut = 100 x (1 - in-memory / baseline), per pair, median (min over pairs); YONO (IPSN 2022) reports 93.3-94.5 % (latency) and 93.9-95.0 % (energy)',
    );
  }
  const inf = energy.filter((e) => e.what === 'inference');
  if (inf.length) {
    const keys = [...new Map(inf.map((e) => [`${e.variant}\u0000${e.storage}`, e])).values()];
    const models = [...new Set(inf.map((e) => e.model))];
    const body = models.map((m) => [
      m,
      ...keys.flatMap((k) => {
        const e = inf.find((x) => x.model === m && x.variant === k.variant && x.storage === k.storage);
        return [e ? fmt(e.window_ms_median) : '-', e ? fmt(e.energy_mJ_median) : '-'];
      }),
    ]);
    const clock = rig.estimate ? ` (${rig.estimate.core} @ ${(rig.estimate.clock_hz / 1e6).toFixed(0)} MHz, stated cost and power models)` : '';
    parts.push(
      `Per inference (median window)${inf.some((e) => e.source === 'emulated-estimate') ? ', emulated-estimate' + clock : ', measured'}\n` +
        formatTable(['model', ...keys.flatMap((k) => [`${k.variant}/${k.storage} ms`, 'mJ'])], body) +
        '\nYONO (IPSN 2022) reports 16-159 ms and 3.8-37.9 mJ per inference on its models and board',
    );
  }
  if (totals.length) {
    const body = totals.map((t) => {
      const ref = totals.find((x) => x.schedule === t.schedule && x.variant !== 'int8-ext' && (x.variant === 'pq' || !totals.some((y) => y.schedule === t.schedule && y.variant === 'pq')));
      const cut = (a: number | '', b: number | '' | undefined) => (t.variant === 'int8-ext' && typeof a === 'number' && typeof b === 'number' && a > 0 ? `${(100 * (1 - b / a)).toFixed(1)}%` : '-');
      return [
        t.schedule, t.variant, t.storage, String(t.events), String(t.switches), `${t.correct}/${t.events}`, String(t.mismatches), fmt(t.total_ms, 4),
        t.total_mJ === '' ? '-' : fmt(t.total_mJ, 4), cut(t.total_ms, ref?.total_ms), cut(t.total_mJ, ref?.total_mJ),
      ];
    });
    parts.push(`Multi-task scenario (busy time and energy of every event: switch if needed + inference)\n` +
      formatTable(['schedule', 'variant', 'storage', 'events', 'switches', 'correct', 'device!=host', 'total ms', 'total mJ', 'ms cut', 'mJ cut'], body));
  }
  return parts.join('\n\n');
}
