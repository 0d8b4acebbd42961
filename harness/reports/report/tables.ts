/**
 * The summary tables of a run, each number with its spread and n, as one neutral model written
 * out as LaTeX (booktabs), Markdown and HTML. Captions name the rig, the firmware and whether
 * the numbers are measured or emulated estimates.
 */
import type { LoadedRun, Row } from './load.js';
import { deviceKind, firmwareHashes, num, sourcesOf, uniq } from './load.js';
import { channelOf, median } from './figures/style.js';

export interface Table {
  name: string;
  title: string;
  caption: string;
  header: string[];
  /** 'l' text, 'r' numbers */
  align: ('l' | 'r')[];
  rows: string[][];
}

const fmt = (x: number, digits = 3): string => {
  if (!Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 100) return x.toFixed(1);
  if (x === 0) return '0';
  // micro-joule switch energies: 7.87e-6, not 0.00000787
  if (Math.abs(x) < 1e-3) return x.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return Number(x.toPrecision(digits)).toString();
};
const pct = (x: number, d = 2) => (Number.isFinite(x) ? (100 * x).toFixed(d) : '-');

/** 95 % Wilson interval of a proportion: stays inside [0, 1] even at 2 samples and 100 %. */
export function wilson(correct: number, n: number): [number, number] {
  if (!(n > 0)) return [NaN, NaN];
  const z = 1.96;
  const p = correct / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

function context(run: LoadedRun, rows: Row[] | undefined, exact = false): string {
  const hashes = Object.entries(firmwareHashes(run)).map(([v, h]) => `${v} ${h}`).join(', ');
  const sources = sourcesOf(rows);
  const how = exact ? `top-1 as computed by the firmware (${deviceKind(run)})` : sources.length ? sources.join(' + ') : 'measured';
  return `Rig ${run.json.rig.name} (board ${run.json.board?.name ?? '?'}), firmware ${hashes || '?'}; ${how}; run ${run.id}.`;
}

function accuracyTable(run: LoadedRun): Table | null {
  const rows = run.csv.accuracy;
  if (!rows?.length) return null;
  return {
    name: 'accuracy',
    title: 'Accuracy on the device',
    caption: `Top-1 (%) on the device and of the bit-exact host reference, with the 95\u00a0% Wilson interval over n test samples; agreement = share of samples where device and host predict the same class. ${context(run, rows, true)}`,
    header: ['model', 'variant', 'n', 'device top-1', '95% CI', 'host top-1', 'agreement', 'device≠host'],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: rows.map((r) => {
      const n = num(r.samples);
      const [lo, hi] = wilson(num(r.top1) * n, n);
      return [r.model, r.variant, String(n), pct(num(r.top1)), `${pct(lo, 1)}–${pct(hi, 1)}`, pct(num(r.host_top1)), pct(num(r.agreement)), r.mismatches];
    }),
  };
}

function latencyTable(run: LoadedRun): Table | null {
  const rows = run.csv.latency;
  if (!rows?.length) return null;
  return {
    name: 'latency',
    title: 'Per-inference latency',
    caption: `Time of one inference: median and 10th-90th percentile over n timed runs (runs x inputs); instructions: median (min-max). ${context(run, rows)}`,
    header: ['model', 'variant', 'n', 'ms', 'p10–p90 ms', 'instructions', 'min–max'],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
    rows: rows.map((r) => [
      r.model, r.variant, String(num(r.runs) * num(r.inputs)), fmt(num(r.ms_median), 4), `${fmt(num(r.ms_p10), 4)}–${fmt(num(r.ms_p90), 4)}`,
      r.instructions_median || '-', r.instructions_min !== undefined && r.instructions_min !== '' ? `${r.instructions_min}–${r.instructions_max}` : '-',
    ]),
  };
}

function compressionTable(run: LoadedRun): Table | null {
  const rows = run.csv.compression;
  if (!rows?.length) return null;
  return {
    name: 'compression',
    title: 'Compression',
    caption: `Bytes each model stores (pq: indices + share of the shared codebooks + int8 layers + biases), ratios, and top-1 (%) on the device over the whole test split; Δ = pq - int8 in points. ${context(run, undefined, true)}`,
    header: ['model', 'stored', 'fp32 B', 'int8 B', 'pq B', '×fp32', '×int8', 'int8 top-1', 'pq top-1', 'Δ pt'],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: rows.map((r) => [
      r.model, r.stored_as || '-', r.fp32_bytes, r.int8_bytes, r.pq_bytes, fmt(num(r.ratio_fp32)), fmt(num(r.ratio_int8)),
      pct(num(r.top1_int8_device)), pct(num(r.top1_pq_device)), pct(num(r.top1_pq_device) - num(r.top1_int8_device)),
    ]),
  };
}

function switchingTable(run: LoadedRun): Table | null {
  const rows = run.csv.switching;
  if (!rows?.length) return null;
  const channels = uniq(rows.map(channelOf));
  const spread = (sel: Row[], col: string) => {
    const v = sel.map((r) => num(r[col])).filter(Number.isFinite);
    if (!v.length) return '-';
    const [lo, hi] = [fmt(Math.min(...v)), fmt(Math.max(...v))];
    return lo === hi ? fmt(median(v)) : `${fmt(median(v))} (${lo}–${hi})`;
  };
  const cut = (sel: Row[], col: string) => {
    const v = sel.map((r) => num(r[col])).filter(Number.isFinite);
    return v.length ? `${median(v).toFixed(1)} (min ${Math.min(...v).toFixed(1)})` : '-';
  };
  return {
    name: 'switching',
    title: 'Model switching',
    caption: `Per switch, over the ordered pairs of models (each pair n = ${rows[0].reps} runs): median (min-max over pairs, left out when every pair gives the same value) of the switch alone and of the switch + first inference; cut (%) = 100 x (1 - in-memory / baseline) per pair, median (min). ${context(run, rows)}`,
    header: ['variant', 'storage', 'pairs', 'switch ms', 'switch mJ', '+1st inf. ms', '+1st inf. mJ', '+1st ms cut %', '+1st mJ cut %'],
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: channels.map((c) => {
      const sel = rows.filter((r) => channelOf(r) === c);
      return [sel[0].variant, sel[0].storage, String(sel.length), spread(sel, 'ready_ms_median'), spread(sel, 'ready_mJ_median'), spread(sel, 'first_ms_median'), spread(sel, 'first_mJ_median'), cut(sel, 'first_ms_reduction_pct'), cut(sel, 'first_mJ_reduction_pct')];
    }),
  };
}

function inferenceEnergyTable(run: LoadedRun): Table | null {
  const rows = run.csv.energy?.filter((r) => r.what === 'inference');
  if (!rows?.length) return null;
  return {
    name: 'inference-energy',
    title: 'Energy per inference',
    caption: `Energy of one inference: median and 10th-90th percentile over n capture windows; broken windows and lost samples of the capture as reported. ${context(run, rows)}`,
    header: ['model', 'variant', 'storage', 'n', 'mJ', 'p10–p90 mJ', 'window ms', 'broken', 'lost %'],
    align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: rows.map((r) => [r.model, r.variant, r.storage, r.windows, fmt(num(r.energy_mJ_median)), `${fmt(num(r.energy_mJ_p10))}–${fmt(num(r.energy_mJ_p90))}`, fmt(num(r.window_ms_median)), r.windows_broken, r.lost_samples_pct || '0']),
  };
}

function scenarioTable(run: LoadedRun): Table | null {
  const rows = run.csv.scenario;
  if (!rows?.length) return null;
  const keys = uniq(rows.map((r) => `${r.schedule}\u0000${r.variant}\u0000${r.storage}`));
  return {
    name: 'scenario',
    title: 'Multi-task scenario',
    caption: `Per schedule and channel: n events, the switches they needed, correct predictions, device/host disagreements, and the busy time and energy summed over every event (switch if needed + inference). ${context(run, rows)}`,
    header: ['schedule', 'variant', 'storage', 'n', 'switches', 'correct', 'device≠host', 'total ms', 'total mJ'],
    align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: keys.map((k) => {
      const [schedule, variant, storage] = k.split('\u0000');
      const sel = rows.filter((r) => r.schedule === schedule && r.variant === variant && r.storage === storage);
      const sum = (c: string) => sel.reduce((a, r) => a + (num(r[c]) || 0), 0);
      const mj = sel.some((r) => r.event_mJ !== '') ? fmt(sum('event_mJ'), 4) : '-';
      const mismatches = sel.filter((r) => r.host !== undefined && r.predicted !== undefined && r.host !== r.predicted).length;
      return [schedule, variant, storage, String(sel.length), String(sum('switched')), String(sum('correct')), String(mismatches), fmt(sum('event_ms'), 4), mj];
    }),
  };
}

export function runTables(run: LoadedRun): Table[] {
  return [accuracyTable(run), latencyTable(run), compressionTable(run), switchingTable(run), inferenceEnergyTable(run), scenarioTable(run)].filter((t): t is Table => t !== null);
}

const LATEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}', '&': '\\&', '%': '\\%', $: '\\$', '#': '\\#', _: '\\_', '{': '\\{', '}': '\\}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}',
  '–': '--', '≠': '$\\neq$', '×': '$\\times$', 'Δ': '$\\Delta$', '·': '$\\cdot$', '\u00a0': '~',
};
export function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^–≠×Δ·\u00a0]/g, (c) => LATEX_SPECIAL[c]);
}

export function toLatex(t: Table): string {
  const line = (cells: string[]) => `    ${cells.map(latexEscape).join(' & ')} \\\\`;
  return [
    `% ${t.title}; needs \\usepackage{booktabs}`,
    '\\begin{table}[t]',
    '  \\centering\\footnotesize',
    `  \\caption{${latexEscape(`${t.title}. ${t.caption}`)}}`,
    `  \\label{tab:${t.name}}`,
    `  \\begin{tabular}{${t.align.join('')}}`,
    '    \\toprule',
    line(t.header),
    '    \\midrule',
    ...t.rows.map(line),
    '    \\bottomrule',
    '  \\end{tabular}',
    '\\end{table}',
    '',
  ].join('\n');
}

export function toMarkdown(t: Table): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `**${t.title}.** ${t.caption}`,
    '',
    `| ${t.header.map(cell).join(' | ')} |`,
    `| ${t.align.map((a) => (a === 'r' ? '---:' : ':---')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
  ].join('\n');
}
