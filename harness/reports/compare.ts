/**
 * The regression gate behind `hil compare`: a run against its baseline, row by row, matched on
 * each CSV's keys (variant, model, storage, ordered pair, schedule), never on row order.
 */
import { HilError } from '../util/errors.js';
import { limitFor, type LimitName, type Thresholds } from './thresholds.js';
import { loadRunResults, type CsvRow, type RunResults } from './run-results.js';

/** pass; fail: worse than the limit; missing: in the baseline, not in the run (fails);
 * new: only in the run (a note); skip: no value to compare in the baseline */
export type CheckStatus = 'pass' | 'fail' | 'missing' | 'new' | 'skip';

export interface CheckResult {
  /** e.g. top1, instructions, flash, switch.ready_ms, scenario.mJ */
  check: string;
  /** the matched row, e.g. "pq / fmnist_cnn" */
  key: string;
  model?: string;
  baseline: number | undefined;
  run: number | undefined;
  /** run - baseline in the check's unit (points, %, bytes, x) */
  delta: number | undefined;
  limit: number | undefined;
  /** unit of baseline and run ("pt", "%", "B", "ms", "mJ", "x", "events"; "" for counts) */
  unit: string;
  /** unit of delta: the value's unit, or "%" for relative growth */
  deltaUnit: string;
  /** how the limit reads: "drop <= 1 pt" */
  limitText: string;
  status: CheckStatus;
  /** one line with the numbers, for failures */
  message: string;
}

export interface Comparison {
  baseline: { dir: string; where: string; id?: string };
  run: { dir: string; where: string; id?: string };
  thresholds: string;
  results: CheckResult[];
  /** rig/board mismatches (errors under --strict) */
  warnings: string[];
  /** new models, files only in one run: information, not failures */
  notes: string[];
  regressed: boolean;
}

export interface CompareOptions {
  /** refuse runs of different rigs or boards instead of warning */
  strict?: boolean;
}

const isFailure = (s: CheckStatus) => s === 'fail' || s === 'missing';

/** A measured value of one keyed row; undefined = empty cell (not measured). */
interface Measurement {
  key: string;
  model?: string;
  value: number | undefined;
}

/**
 * How a value may change: `drop` fails when baseline - run > limit (a scale turns fractions into
 * points); `growth` when run - baseline > limit; `growth_pct` when the relative growth in % does;
 * `at_least` when the run's value < limit.
 */
type Rule = 'drop' | 'growth' | 'growth_pct' | 'at_least';

interface CheckSpec {
  check: string;
  limit: LimitName;
  rule: Rule;
  /** unit of the limit and of differences */
  unit: string;
  /** unit of the values when it is not `unit` (top-1 in %, its drop in points) */
  valueUnit?: string;
  /** display scale of values (fractions shown as %) */
  scale?: number;
}

function num(cell: string | undefined): number | undefined {
  if (cell === undefined || cell.trim() === '') return undefined;
  const n = Number(cell);
  return Number.isFinite(n) ? n : undefined;
}

function fmt(x: number | undefined, digits = 6): string {
  if (x === undefined) return '-';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return String(Number(x.toPrecision(digits)));
}

function judge(spec: CheckSpec, base: Measurement | undefined, run: Measurement | undefined, thresholds: Thresholds): CheckResult {
  const model = base?.model ?? run?.model;
  const key = (base ?? run)?.key ?? '';
  const limit = limitFor(thresholds, spec.limit, model);
  const scale = spec.scale ?? 1;
  const b = base?.value === undefined ? undefined : base.value * scale;
  const r = run?.value === undefined ? undefined : run.value * scale;
  const unitSp = spec.unit ? ` ${spec.unit}` : '';
  const valueSp = (spec.valueUnit ?? spec.unit) ? ` ${spec.valueUnit ?? spec.unit}` : '';
  const limitText =
    spec.rule === 'drop' ? `drop <= ${fmt(limit)}${unitSp}` : spec.rule === 'at_least' ? `>= ${fmt(limit * scale)}${unitSp}` : spec.rule === 'growth_pct' ? `growth <= ${fmt(limit)} %` : `growth <= ${fmt(limit)}${unitSp}`;
  const result = (status: CheckStatus, delta: number | undefined, message: string): CheckResult => ({
    check: spec.check, key, model, baseline: b, run: r, delta, limit, unit: spec.valueUnit ?? spec.unit, deltaUnit: spec.rule === 'growth_pct' ? '%' : spec.unit, limitText, status, message,
  });
  if (!base) return result('new', undefined, `${spec.check} ${key}: only in the run (${fmt(r)}${valueSp})`);
  if (!run) return result('missing', undefined, `${spec.check} ${key}: in the baseline (${fmt(b)}${valueSp}), missing from the run`);
  if (spec.rule === 'at_least') {
    // an absolute floor: judged even when the baseline has no value
    if (r === undefined) return b === undefined ? result('skip', undefined, 'no value') : result('missing', undefined, `${spec.check} ${key}: baseline ${fmt(b)}${valueSp}, no value in the run`);
    const ok = r >= limit * scale;
    return result(ok ? 'pass' : 'fail', b === undefined ? undefined : r - b, `${spec.check} ${key}: run ${fmt(r)}${valueSp} (baseline ${fmt(b)}${valueSp}), limit ${limitText}`);
  }
  if (b === undefined) return result('skip', undefined, `${spec.check} ${key}: no baseline value`);
  if (r === undefined) return result('missing', undefined, `${spec.check} ${key}: baseline ${fmt(b)}${valueSp}, no value in the run`);
  let delta: number;
  let worse: number;
  if (spec.rule === 'growth_pct') {
    delta = b === 0 ? (r === 0 ? 0 : r > 0 ? Infinity : -Infinity) : (100 * (r - b)) / Math.abs(b);
    worse = delta;
  } else {
    delta = r - b;
    worse = spec.rule === 'drop' ? -delta : delta;
  }
  // binary floating point: a change of exactly the limit between decimal cells may come out a few
  // ulps over it (100 x (0.72 - 0.71) = 1.0000000000000009), which must still pass
  const ok = worse <= limit + 1e-9 * Math.max(1, Math.abs(limit));
  const deltaText = `${delta >= 0 ? '+' : ''}${fmt(delta, 4)}${spec.rule === 'growth_pct' ? ' %' : unitSp}`;
  return result(ok ? 'pass' : 'fail', delta, `${spec.check} ${key}: baseline ${fmt(b)}${valueSp}, run ${fmt(r)}${valueSp}, ${deltaText}, limit ${limitText}`);
}

function keyed(rows: CsvRow[], file: string, where: string, keyOf: (r: CsvRow) => string[], value: (r: CsvRow) => number | undefined, modelOf?: (r: CsvRow) => string): Map<string, Measurement> {
  const out = new Map<string, Measurement>();
  for (const row of rows) {
    const key = keyOf(row).join(' / ');
    if (out.has(key)) throw new HilError(`two rows for ${key}`, `${where}/${file}`);
    out.set(key, { key, model: modelOf?.(row), value: value(row) });
  }
  return out;
}

/** Judges every key of both sides: baseline order first, then the run's new keys. */
function judgeAll(spec: CheckSpec, base: Map<string, Measurement>, run: Map<string, Measurement>, thresholds: Thresholds): CheckResult[] {
  const out = [...base.values()].map((b) => judge(spec, b, run.get(b.key), thresholds));
  for (const r of run.values()) if (!base.has(r.key)) out.push(judge(spec, undefined, r, thresholds));
  return out;
}

interface TableCheck {
  file: string;
  columns: string[];
  keyOf: (r: CsvRow) => string[];
  modelOf?: (r: CsvRow) => string;
  /** rows of the file -> rows to judge (e.g. per-event scenario rows -> totals) */
  reduce?: (rows: CsvRow[]) => CsvRow[];
  metrics: { spec: CheckSpec; value: (r: CsvRow) => number | undefined }[];
}

const column = (name: string) => (r: CsvRow) => num(r[name]);

/** Scenario events -> one row per schedule x variant x storage: events, correct, agreement, totals. */
function scenarioTotals(rows: CsvRow[]): CsvRow[] {
  const groups = new Map<string, CsvRow[]>();
  for (const r of rows) {
    const k = [r.variant, r.storage, r.schedule].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const sum = (g: CsvRow[], c: string) => (g.some((r) => num(r[c]) === undefined) ? '' : String(g.reduce((s, r) => s + (num(r[c]) ?? 0), 0)));
  return [...groups.values()].map((g) => ({
    variant: g[0].variant,
    storage: g[0].storage,
    schedule: g[0].schedule,
    correct: String(g.filter((r) => r.correct === '1').length),
    agreement: String(g.filter((r) => r.predicted === r.host).length / g.length),
    event_ms: sum(g, 'event_ms'),
    event_mJ: sum(g, 'event_mJ'),
  }));
}

const TABLE_CHECKS: TableCheck[] = [
  {
    file: 'accuracy.csv',
    columns: ['model', 'top1', 'agreement'],
    keyOf: (r) => [r.variant, r.model],
    modelOf: (r) => r.model,
    metrics: [
      { spec: { check: 'top1', limit: 'top1_drop_points', rule: 'drop', unit: 'pt', valueUnit: '%', scale: 100 }, value: column('top1') },
      { spec: { check: 'agreement', limit: 'agreement_min', rule: 'at_least', unit: '%', scale: 100 }, value: column('agreement') },
    ],
  },
  {
    file: 'latency.csv',
    columns: ['model', 'instructions_median', 'ms_median'],
    keyOf: (r) => [r.variant, r.model],
    modelOf: (r) => r.model,
    metrics: [
      { spec: { check: 'instructions', limit: 'instructions_growth_pct', rule: 'growth_pct', unit: '' }, value: column('instructions_median') },
      { spec: { check: 'ms', limit: 'ms_growth_pct', rule: 'growth_pct', unit: 'ms' }, value: column('ms_median') },
    ],
  },
  {
    file: 'compression.csv',
    columns: ['model', 'ratio_int8'],
    keyOf: (r) => [r.model],
    modelOf: (r) => r.model,
    metrics: [{ spec: { check: 'compression_ratio', limit: 'compression_ratio_drop', rule: 'drop', unit: 'x' }, value: column('ratio_int8') }],
  },
  {
    file: 'switching.csv',
    columns: ['variant', 'storage', 'from_model', 'to_model', 'ready_ms_median', 'first_ms_median', 'ready_mJ_median', 'first_mJ_median'],
    keyOf: (r) => [r.variant, r.storage, `${r.from_model} > ${r.to_model}`],
    modelOf: (r) => r.to_model,
    metrics: (['ready_ms', 'first_ms', 'ready_mJ', 'first_mJ'] as const).map((m) => ({
      spec: { check: `switch.${m}`, limit: m.endsWith('mJ') ? 'switch_mJ_growth_pct' : 'switch_ms_growth_pct', rule: 'growth_pct', unit: m.endsWith('mJ') ? 'mJ' : 'ms' } as CheckSpec,
      value: column(`${m}_median`),
    })),
  },
  {
    file: 'energy.csv',
    columns: ['what', 'variant', 'storage', 'model', 'from_model', 'energy_mJ_median'],
    keyOf: (r) => [r.what, r.variant, r.storage, r.model, ...(r.from_model ? [`from ${r.from_model}`] : [])],
    modelOf: (r) => r.model,
    metrics: [{ spec: { check: 'energy', limit: 'energy_growth_pct', rule: 'growth_pct', unit: 'mJ' }, value: column('energy_mJ_median') }],
  },
  {
    file: 'scenario.csv',
    columns: ['variant', 'storage', 'schedule', 'correct', 'predicted', 'host', 'event_ms', 'event_mJ'],
    keyOf: (r) => [r.variant, r.storage, r.schedule],
    reduce: scenarioTotals,
    metrics: [
      { spec: { check: 'scenario.correct', limit: 'scenario_correct_drop', rule: 'drop', unit: 'events' }, value: column('correct') },
      { spec: { check: 'scenario.agreement', limit: 'agreement_min', rule: 'at_least', unit: '%', scale: 100 }, value: column('agreement') },
      { spec: { check: 'scenario.ms', limit: 'scenario_ms_growth_pct', rule: 'growth_pct', unit: 'ms' }, value: column('event_ms') },
      { spec: { check: 'scenario.mJ', limit: 'scenario_mJ_growth_pct', rule: 'growth_pct', unit: 'mJ' }, value: column('event_mJ') },
    ],
  },
];

const MEMORY_CHECKS = [
  { spec: { check: 'flash', limit: 'flash_growth_bytes', rule: 'growth', unit: 'B' } as CheckSpec, field: 'flashBytes' as const },
  { spec: { check: 'sram', limit: 'sram_growth_bytes', rule: 'growth', unit: 'B' } as CheckSpec, field: 'ramBytes' as const },
];

function rigAndBoard(base: RunResults, run: RunResults): string[] {
  const out: string[] = [];
  const pairs: [string, string | undefined, string | undefined][] = [
    ['rig', base.json.rig?.name, run.json.rig?.name],
    ['board', base.json.board?.name, run.json.board?.name],
  ];
  for (const [what, b, r] of pairs) if (b !== r) out.push(`different ${what}s: baseline ${b ?? '(none)'}, run ${r ?? '(none)'}; the figures may not be comparable`);
  return out;
}

function modelsOf(results: RunResults): Set<string> {
  const models = new Set<string>();
  for (const names of results.modelsByVariant().values()) for (const m of names) models.add(m);
  for (const r of results.table('accuracy.csv', ['model']) ?? []) models.add(r.model);
  return models;
}

/** Compares a run with its baseline; bad input (not a run, missing column) is a HilError. */
export function compareRuns(baselineDir: string, runDir: string, thresholds: Thresholds, options: CompareOptions = {}): Comparison {
  const base = loadRunResults(baselineDir);
  const run = loadRunResults(runDir);
  const warnings = rigAndBoard(base, run);
  if (options.strict && warnings.length) throw new HilError(`${warnings[0]} (--strict)`, run.where);
  const notes: string[] = [];
  const results: CheckResult[] = [];

  const complete = run.json.status === 'complete';
  results.push({
    check: 'status', key: 'run', baseline: undefined, run: undefined, delta: undefined, limit: undefined, unit: '', deltaUnit: '', limitText: 'complete',
    status: complete ? 'pass' : 'fail', message: `run status is "${run.json.status ?? '(none)'}", expected "complete"`,
  });

  const baseMemory = base.memory();
  const runMemory = run.memory();
  for (const { spec, field } of MEMORY_CHECKS) {
    const side = (m: typeof baseMemory) => new Map([...m].map(([variant, mem]) => [variant, { key: variant, value: typeof mem[field] === 'number' ? mem[field] : undefined }]));
    results.push(...judgeAll(spec, side(baseMemory), side(runMemory), thresholds));
  }

  for (const t of TABLE_CHECKS) {
    const b = base.table(t.file, t.columns);
    const r = run.table(t.file, t.columns);
    if (!b && !r) continue;
    if (!r) {
      results.push({ check: 'file', key: t.file, baseline: undefined, run: undefined, delta: undefined, limit: undefined, unit: '', deltaUnit: '', limitText: 'present', status: 'missing', message: `${t.file}: in the baseline, missing from the run` });
      continue;
    }
    if (!b) {
      notes.push(`${t.file} is new in the run (nothing to compare it with)`);
      continue;
    }
    const bRows = t.reduce ? t.reduce(b) : b;
    const rRows = t.reduce ? t.reduce(r) : r;
    for (const m of t.metrics) {
      results.push(...judgeAll(m.spec, keyed(bRows, t.file, base.where, t.keyOf, m.value, t.modelOf), keyed(rRows, t.file, run.where, t.keyOf, m.value, t.modelOf), thresholds));
    }
  }

  const baseModels = modelsOf(base);
  const runModels = modelsOf(run);
  for (const m of runModels) if (!baseModels.has(m)) notes.push(`new model ${m}: not in the baseline, nothing to compare`);
  for (const m of baseModels) if (!runModels.has(m)) notes.push(`model ${m} of the baseline is missing from the run`);
  const fresh = results.filter((r) => r.status === 'new');
  if (fresh.length) notes.push(`${fresh.length} check(s) only in the run, not judged (new rows: ${[...new Set(fresh.map((r) => r.key))].slice(0, 5).join(', ')}${fresh.length > 5 ? ', ...' : ''})`);
  for (const m of Object.keys(thresholds.models)) if (!baseModels.has(m) && !runModels.has(m)) notes.push(`${thresholds.source}: models.${m} matches no model of either run`);

  return {
    baseline: { dir: base.dir, where: base.where, id: base.json.id },
    run: { dir: run.dir, where: run.where, id: run.json.id },
    thresholds: thresholds.source,
    results,
    warnings,
    notes,
    regressed: results.some((r) => isFailure(r.status)),
  };
}

export function failures(c: Comparison): CheckResult[] {
  return c.results.filter((r) => isFailure(r.status));
}

const cell = (s: string) => s.replace(/\|/g, '\\|');
const STATUS_TEXT: Record<CheckStatus, string> = { pass: 'pass', fail: '**FAIL**', missing: '**MISSING**', new: 'new', skip: 'skip' };

function markdownRow(r: CheckResult): string {
  const sp = (unit: string) => (unit ? ` ${unit}` : '');
  const value = (x: number | undefined) => (x === undefined ? '-' : `${fmt(x)}${sp(r.unit)}`);
  const delta = r.delta === undefined ? '-' : `${r.delta >= 0 ? '+' : ''}${fmt(r.delta, 4)}${sp(r.deltaUnit)}`;
  return `| ${[r.check, r.key, value(r.baseline), value(r.run), delta, r.limitText, STATUS_TEXT[r.status]].map(cell).join(' | ')} |`;
}

const HEADER = ['| check | key | baseline | run | delta | limit | status |', '|---|---|---|---|---|---|---|'];

/** The comparison as Markdown for a CI comment: verdict, failures and notes, then every check folded. */
export function formatMarkdown(c: Comparison): string {
  const failed = failures(c);
  const judged = c.results.filter((r) => r.status !== 'skip' && r.status !== 'new').length;
  const lines: string[] = [];
  lines.push(c.regressed ? `### hil compare: REGRESSION (${failed.length} of ${judged} checks failed)` : `### hil compare: no regression (${judged} checks passed)`);
  lines.push('');
  lines.push(`baseline \`${c.baseline.where}\`${c.baseline.id ? ` (${c.baseline.id})` : ''}, run \`${c.run.where}\`${c.run.id ? ` (${c.run.id})` : ''}, thresholds: ${c.thresholds}`);
  for (const w of c.warnings) lines.push('', `> warning: ${w}`);
  if (c.notes.length) lines.push('', ...c.notes.map((n) => `> note: ${n}  `));
  const shown = failures(c);
  if (shown.length) lines.push('', ...HEADER, ...shown.map(markdownRow));
  lines.push('', `<details><summary>all ${c.results.length} checks</summary>`, '', ...HEADER, ...c.results.map(markdownRow), '', '</details>');
  return lines.join('\n') + '\n';
}
