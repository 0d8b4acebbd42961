/**
 * Model switching: for every ordered pair (i then j), the cost to make j ready (SELECT)
 * and the cost to finish j's first inference after it, repeated; then every model's steady
 * per-inference cost. Time and energy come from the session's channels (measured on a real
 * board, a stated model on an emulated one). The YONO firmware's switch is a pointer change, so
 * it is repeated `inMemoryRepeat` times inside one marker window to span measurable time; the
 * baseline's switch loads the whole model from external storage once per window.
 */
import { protocolTraits } from '../protocol/drivers.js';
import { modelTestSet, type ModelTestSet as SplitData } from '../datasets/model-data.js';
import type { Variant } from '../session/model-set.js';
import type { EnergyRow } from '../power/energy.js';
import { PROVENANCE_COLUMNS, type ExperimentContext, type Provenance } from './context.js';
import type { Experiment, RunInfo, Table } from './experiment.js';
import type { Rig } from '../rig/rig.js';
import { formatFigure, formatTable } from '../util/table.js';
import { measure, WindowBag, type MeasureChannel } from './channels.js';
import type { FigureSource } from '../capabilities/figures.js';
import { median } from '../util/stats.js';

export interface SwitchRow extends Provenance {
  variant: Variant;
  storage: string;
  from_model: string;
  to_model: string;
  reps: number;
  /** switches per marker window (the figures are per switch) */
  repeat: number;
  /** external-storage bytes one switch reads */
  switch_bytes: number;
  ready_ms_median: number;
  ready_ms_min: number;
  ready_ms_max: number;
  ready_mJ_median: number | '';
  ready_mJ_min: number | '';
  ready_mJ_max: number | '';
  first_ms_median: number;
  first_ms_min: number;
  first_ms_max: number;
  first_mJ_median: number | '';
  first_mJ_min: number | '';
  first_mJ_max: number | '';
  /** baseline rows: 100 * (1 - in-memory / this) for the same pair, from the same run */
  ready_ms_reduction_pct: number | '';
  ready_mJ_reduction_pct: number | '';
  first_ms_reduction_pct: number | '';
  first_mJ_reduction_pct: number | '';
  source: FigureSource;
}

export const SWITCH_TABLE: Table<SwitchRow> = {
  file: 'switching.csv',
  columns: [
  ...PROVENANCE_COLUMNS, 'variant', 'storage',
  'from_model', 'to_model', 'reps', 'repeat', 'switch_bytes',
  'ready_ms_median', 'ready_ms_min', 'ready_ms_max', 'ready_mJ_median', 'ready_mJ_min', 'ready_mJ_max',
  'first_ms_median', 'first_ms_min', 'first_ms_max', 'first_mJ_median', 'first_mJ_min', 'first_mJ_max',
  'ready_ms_reduction_pct', 'ready_mJ_reduction_pct', 'first_ms_reduction_pct', 'first_mJ_reduction_pct', 'source',
  ],
};

/** An energy.csv row: what was measured, for which variant/storage/model, and the window statistics. */
export interface EnergyResultRow extends Provenance, EnergyRow {
  what: 'switch' | 'first_inference' | 'inference' | 'scenario_event';
  variant: Variant;
  storage: string;
  model: string;
  from_model: string;
}

export const ENERGY_TABLE: Table<EnergyResultRow> = {
  file: 'energy.csv',
  columns: [
  ...PROVENANCE_COLUMNS, 'what', 'variant', 'storage', 'model', 'from_model',
  'energy_mJ_median', 'energy_mJ_p10', 'energy_mJ_p90', 'windows', 'windows_broken', 'window_ms_median', 'lost_samples_pct',
  'resolution_mJ', 'instrument', 'supply_mV', 'source',
],
};

export interface SwitchingOptions {
  variant: Variant;
  channels: MeasureChannel[];
  /** repetitions of each ordered pair (default 5) */
  reps?: number;
  /** switches per window for in-memory variants (default 100) */
  inMemoryRepeat?: number;
  /** timed runs per model for the steady per-inference figures (default 5) */
  inferenceRuns?: number;
  /** rows of the in-memory variant from the same run, for the reduction columns */
  reference?: SwitchRow[];
  onRow?: (row: SwitchRow) => void;
  onEnergy?: (row: EnergyResultRow) => void;
}

const mJ = (r: EnergyRow | undefined, k: 'energy_mJ_median'): number | '' => (r && Number.isFinite(r[k]) ? r[k] : '');
const reduction = (base: number | '', ours: number | '' | undefined): number | '' =>
  typeof base === 'number' && typeof ours === 'number' && base > 0 ? 100 * (1 - ours / base) : '';

/** Per-window energies of one bag as min/median/max, mJ (empty without a power source). */
function spread(bag: WindowBag, source: FigureSource, perWindow: number): { med: number | ''; min: number | ''; max: number | '' } {
  const row = bag.row(source);
  if (!row || bag.windows.length === 0) return { med: '', min: '', max: '' };
  const v = bag.windows.filter((w) => !w.broken).map((w) => (w.energy_j * 1e3) / perWindow);
  return { med: mJ(row, 'energy_mJ_median') === '' ? '' : median(v), min: Math.min(...v), max: Math.max(...v) };
}

export async function runSwitching(ctx: ExperimentContext, options: SwitchingOptions): Promise<{ rows: SwitchRow[]; energy: EnergyResultRow[] }> {
  const reps = options.reps ?? 5;
  const external = options.variant === 'int8-ext';
  const repeat = external ? 1 : (options.inMemoryRepeat ?? 100);
  const client = ctx.session.device;
  const data = new Map<string, SplitData>(ctx.models.map((m) => [m.name, modelTestSet(m)]));
  const input = (model: string, i: number): Int8Array => {
    const d = data.get(model) as SplitData;
    const k = i % d.count;
    return d.x.subarray(k * d.inputBytes, (k + 1) * d.inputBytes);
  };
  const rows: SwitchRow[] = [];
  const energy: EnergyResultRow[] = [];
  const pairs = ctx.models.flatMap((a) => ctx.models.filter((b) => b !== a).map((b) => [a, b] as const));
  const progress = ctx.log.progress(`switching ${options.variant}`, pairs.length * reps + ctx.models.length);
  // energy.csv: per target model and channel, every switch / first-inference window of its pairs
  const bagOf = (m: Map<string, WindowBag>, model: string, k: number): WindowBag => {
    const key = `${model}\u0000${k}`;
    if (!m.has(key)) m.set(key, new WindowBag());
    return m.get(key) as WindowBag;
  };
  const switchBags = new Map<string, WindowBag>();
  const firstBags = new Map<string, WindowBag>();
  for (const [from, to] of pairs) {
    if (ctx.cancelled()) break;
    const fromId = ctx.session.modelId(from.name);
    const toId = ctx.session.modelId(to.name);
    const ready: number[][] = options.channels.map(() => []);
    const first: number[][] = options.channels.map(() => []);
    const readyBags = options.channels.map(() => new WindowBag());
    const firstInfBags = options.channels.map(() => new WindowBag());
    let bytes = 0;
    for (let r = 0; r < reps && !ctx.cancelled(); r++) {
      await client.select(fromId); // i was the active model
      await client.upload(input(to.name, r)); // the sensor sample for j, outside the measured windows
      const { result, windows, captures } = await measure(options.channels, async () => {
        const sel = await client.select(toId, repeat);
        const inf = await client.infer(toId, 1, 0);
        return { sel, inf };
      });
      bytes = result.sel.storage_bytes / result.sel.repeat;
      options.channels.forEach((c, k) => {
        const readyS = c.switchSeconds(result.sel) / result.sel.repeat;
        ready[k].push(readyS * 1e3);
        first[k].push((readyS + c.seconds(result.inf.ticks[0])) * 1e3);
        const w = windows[k];
        const cap = captures[k];
        if (w && cap && w.length >= 2) {
          readyBags[k].add([w[0]], cap);
          firstInfBags[k].add([w[1]], cap);
          bagOf(switchBags, to.name, k).add([scaleWindow(w[0], repeat)], cap);
          bagOf(firstBags, to.name, k).add([w[1]], cap);
        }
      });
      progress.tick();
    }
    options.channels.forEach((c, k) => {
      const readyE = spread(readyBags[k], c.source, repeat);
      // first inference after the switch = the switch (per switch) + the inference window
      const infE = spread(firstInfBags[k], c.source, 1);
      // per repetition: its switch (per switch) + its inference; a rep with a broken window is left out
      const firstVals = readyBags[k].windows
        .map((w, i) => ({ w, inf: firstInfBags[k].windows[i] }))
        .filter(({ w, inf }) => inf !== undefined && !w.broken && !inf.broken)
        .map(({ w, inf }) => (w.energy_j * 1e3) / repeat + inf.energy_j * 1e3);
      const firstMed = typeof readyE.med === 'number' && typeof infE.med === 'number' && firstVals.length > 0 ? readyE.med + infE.med : '';
      const ref = options.reference?.find((x) => x.from_model === from.name && x.to_model === to.name);
      const row: SwitchRow = {
        ...ctx.provenance((data.get(to.name) as SplitData).sha256),
        variant: options.variant,
        storage: c.storage,
        from_model: from.name,
        to_model: to.name,
        reps: ready[k].length,
        repeat,
        switch_bytes: bytes,
        ready_ms_median: median(ready[k]),
        ready_ms_min: Math.min(...ready[k]),
        ready_ms_max: Math.max(...ready[k]),
        ready_mJ_median: readyE.med,
        ready_mJ_min: readyE.min,
        ready_mJ_max: readyE.max,
        first_ms_median: median(first[k]),
        first_ms_min: Math.min(...first[k]),
        first_ms_max: Math.max(...first[k]),
        first_mJ_median: firstMed === '' ? '' : median(firstVals),
        first_mJ_min: firstMed === '' ? '' : Math.min(...firstVals),
        first_mJ_max: firstMed === '' ? '' : Math.max(...firstVals),
        ready_ms_reduction_pct: '',
        ready_mJ_reduction_pct: '',
        first_ms_reduction_pct: '',
        first_mJ_reduction_pct: '',
        source: c.source,
      };
      if (ref && external) {
        row.ready_ms_reduction_pct = reduction(row.ready_ms_median, ref.ready_ms_median);
        row.ready_mJ_reduction_pct = reduction(row.ready_mJ_median, ref.ready_mJ_median);
        row.first_ms_reduction_pct = reduction(row.first_ms_median, ref.first_ms_median);
        row.first_mJ_reduction_pct = reduction(row.first_mJ_median, ref.first_mJ_median);
      }
      rows.push(row);
      options.onRow?.(row);
    });
  }

  const emit = (row: EnergyResultRow) => {
    energy.push(row);
    options.onEnergy?.(row);
  };
  for (const m of ctx.models) {
    options.channels.forEach((c, k) => {
      for (const [what, bags] of [['switch', switchBags], ['first_inference', firstBags]] as const) {
        const row = bagOf(bags, m.name, k).row(c.source);
        if (row) emit({ ...ctx.provenance((data.get(m.name) as SplitData).sha256), what, variant: options.variant, storage: c.storage, model: m.name, from_model: '*', ...row });
      }
    });
  }

  // steady per-inference cost of every model (the model already loaded)
  for (const m of ctx.models) {
    if (ctx.cancelled()) break;
    const id = ctx.session.modelId(m.name);
    await client.select(id);
    await client.upload(input(m.name, 0));
    const { windows, captures } = await measure(options.channels, () => client.infer(id, options.inferenceRuns ?? 5, 1));
    options.channels.forEach((c, k) => {
      const w = windows[k];
      const cap = captures[k];
      if (!w || !cap) return;
      const bag = new WindowBag();
      bag.add(w, cap);
      const row = bag.row(c.source);
      if (row) emit({ ...ctx.provenance((data.get(m.name) as SplitData).sha256), what: 'inference', variant: options.variant, storage: c.storage, model: m.name, from_model: '', ...row });
    });
    progress.tick();
  }
  progress.stop();
  return { rows, energy };
}

/** A switch window holds `repeat` switches: its per-switch share. */
function scaleWindow<W extends { energy_j: number; duration_s: number; resolution_j: number }>(w: W, repeat: number): W {
  return { ...w, energy_j: w.energy_j / repeat, duration_s: w.duration_s / repeat, resolution_j: w.resolution_j / repeat };
}

/** Median, and the worst (smallest) value, of a column over rows; NaN when none is a number. */
function medMin(values: (number | '')[]): { med: number; min: number } {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? { med: NaN, min: NaN } : { med: median(v), min: Math.min(...v) };
}

/**
 * The in-memory rows a baseline is compared with: YONO's (pq) when the run has them, else int8.
 * One rule for the switching reductions and the scenario cuts.
 */
export function inMemoryReference<R extends { variant: Variant }>(rows: R[]): R[] {
  const pq = rows.filter((r) => r.variant === 'pq');
  return pq.length ? pq : rows.filter((r) => r.variant === 'int8');
}

/**
 * The YONO-style switching table: per variant and storage, the switch (make ready) and the
 * switch plus first inference, medians over every ordered pair, with the reduction against the
 * in-memory variant; per-model inference cost; the scenario totals.
 */
export function summarizeSwitching(rows: SwitchRow[], energy: EnergyResultRow[], rig: Pick<Rig, 'name' | 'estimate'>): string {
  const parts: string[] = [];
  const fmt = formatFigure;
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
  return parts.join('\n\n');
}

export const switchingExperiment: Experiment = {
  name: 'switching',
  summary: 'every ordered pair of models: switch time and energy, and switch + first inference; steady per-inference cost',
  tables: [SWITCH_TABLE, ENERGY_TABLE],
  ownsRow: (table, row) => table !== ENERGY_TABLE || row.what !== 'scenario_event',
  requires: (run) =>
    !protocolTraits(run.protocol).switching ? `needs a protocol that switches models (select with storage counters); the run speaks ${run.protocol}` : run.commonModels.length >= 2 ? undefined : 'needs at least two models that every variant holds',
  async runVariant(ctx) {
    const sub = { ...ctx, models: ctx.models.filter((m) => ctx.run.commonModels.includes(m.name)) };
    await runSwitching(sub, {
      variant: ctx.plan.variant,
      channels: await ctx.channels(),
      reps: ctx.run.options.switchReps,
      // reductions against the in-memory variant run before this one
      reference: inMemoryReference(ctx.run.results.rows(SWITCH_TABLE)),
      onRow: (row) => ctx.run.results.append(SWITCH_TABLE, [row]),
      onEnergy: (row) => ctx.run.results.append(ENERGY_TABLE, [row]),
    });
  },
  summarize: (run) => switchingSummary(run),
};

/** The switching and per-inference tables of summary.txt. */
function switchingSummary(run: RunInfo): string | undefined {
  const rows = run.results.rows(SWITCH_TABLE);
  const energy = run.results.rows(ENERGY_TABLE);
  return rows.length || energy.some((e) => e.what === 'inference') ? summarizeSwitching(rows, energy, run.rig) : undefined;
}
