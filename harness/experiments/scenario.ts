/**
 * Multi-task scenario: a schedule of sensor events, each calling one model on the next
 * real test sample of its data set; a model other than the active one is switched to first.
 * Schedules: round robin over the models, and a seeded random one (same seed = same schedule on
 * every variant and every run). Per event: switch and inference time and energy per channel,
 * and whether the device's prediction matched the label.
 */
import { protocolTraits } from '../protocol/drivers.js';
import { modelTestSet, type ModelTestSet } from '../datasets/model-data.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import type { Variant } from '../session/model-set.js';
import { PROVENANCE_COLUMNS, type ExperimentContext, type Provenance } from './context.js';
import type { Experiment, RunInfo, Table } from './experiment.js';
import { formatFigure as fmt, formatTable } from '../util/table.js';
import { measure, WindowBag, type MeasureChannel } from './channels.js';
import type { FigureSource } from '../capabilities/figures.js';
import { ENERGY_TABLE, inMemoryReference, type EnergyResultRow } from './switching.js';
import { predictInt8 } from '../reference/int8.js';
import { Rng } from '../modeltools/nn/prng.js';

export interface ScheduledEvent {
  model: string;
  /** index into the model's test split */
  sample: number;
}

export interface Schedule {
  name: string;
  events: ScheduledEvent[];
}

/** Uniform [0, 1) stream of the seed (the project's one PRNG, mulberry32): the schedule must not depend on Math.random. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** Round robin and seeded random schedules of `events` events; samples advance per model. */
export function makeSchedules(models: string[], events: number, seed: number): Schedule[] {
  const withSamples = (order: string[]): ScheduledEvent[] => {
    const next = new Map<string, number>();
    return order.map((model) => {
      const sample = next.get(model) ?? 0;
      next.set(model, sample + 1);
      return { model, sample };
    });
  };
  const rr = Array.from({ length: events }, (_, i) => models[i % models.length]);
  const rand = seededRandom(seed);
  const random = Array.from({ length: events }, () => models[Math.floor(rand() * models.length)]);
  return [
    { name: 'round-robin', events: withSamples(rr) },
    { name: `random-seed-${seed}`, events: withSamples(random) },
  ];
}

export interface ScenarioRow extends Provenance {
  variant: Variant;
  storage: string;
  schedule: string;
  event: number;
  model: string;
  sample: number;
  label: number;
  predicted: number;
  /** the bit-exact host reference's prediction: must equal `predicted` */
  host: number;
  correct: 0 | 1;
  switched: 0 | 1;
  switch_ms: number;
  infer_ms: number;
  event_ms: number;
  switch_mJ: number | '';
  infer_mJ: number | '';
  event_mJ: number | '';
  source: FigureSource;
}

export const SCENARIO_TABLE: Table<ScenarioRow> = {
  file: 'scenario.csv',
  columns: [
  ...PROVENANCE_COLUMNS, 'variant', 'storage', 'schedule', 'event',
  'model', 'sample', 'label', 'predicted', 'host', 'correct', 'switched', 'switch_ms', 'infer_ms', 'event_ms', 'switch_mJ', 'infer_mJ', 'event_mJ', 'source',
  ],
};

/** Totals of one schedule on one channel, for the summary. */
export interface ScenarioTotal {
  variant: Variant;
  storage: string;
  schedule: string;
  events: number;
  switches: number;
  correct: number;
  /** events where the device and the host reference disagree (must be 0) */
  mismatches: number;
  total_ms: number;
  total_mJ: number | '';
  source: FigureSource;
}

export interface ScenarioOptions {
  variant: Variant;
  channels: MeasureChannel[];
  schedules: Schedule[];
  onRow?: (row: ScenarioRow) => void;
  onEnergy?: (row: EnergyResultRow) => void;
}

export async function runScenario(ctx: ExperimentContext, options: ScenarioOptions): Promise<{ rows: ScenarioRow[]; totals: ScenarioTotal[]; energy: EnergyResultRow[] }> {
  const client = ctx.session.device;
  const byName = new Map(ctx.models.map((m) => [m.name, m]));
  const data = new Map<string, ModelTestSet>();
  const split = (model: string): ModelTestSet => {
    const m = byName.get(model);
    if (!m) throw new Error(`scenario: model ${model} is not in this run`);
    if (!data.has(model)) data.set(model, modelTestSet(m));
    return data.get(model) as ModelTestSet;
  };
  const rows: ScenarioRow[] = [];
  const totals: ScenarioTotal[] = [];
  const energy: EnergyResultRow[] = [];
  for (const schedule of options.schedules) {
    const progress = ctx.log.progress(`scenario ${schedule.name} ${options.variant}`, schedule.events.length);
    const eventBags = options.channels.map(() => new WindowBag());
    const sums = options.channels.map(() => ({ ms: 0, mJ: 0, energyKnown: true, switches: 0, correct: 0, mismatches: 0, events: 0 }));
    let active = -1;
    for (const [e, ev] of schedule.events.entries()) {
      if (ctx.cancelled()) break;
      const d = split(ev.model);
      const k = ev.sample % d.count;
      const id = ctx.session.modelId(ev.model);
      const x = d.x.subarray(k * d.inputBytes, (k + 1) * d.inputBytes);
      await client.upload(x); // the sensor delivers the sample
      const host = predictInt8(byName.get(ev.model) as Int8Model, x);
      const switching = id !== active;
      const { result, windows, captures } = await measure(options.channels, async () => {
        const sel = switching ? await client.select(id) : undefined;
        const inf = await client.infer(id, 1, 0);
        return { sel, inf };
      });
      active = id;
      const label = d.y ? d.y[k] : -1; // unlabelled data: never 'correct'
      options.channels.forEach((c, ci) => {
        const switchS = result.sel ? c.switchSeconds(result.sel) : 0;
        const inferS = c.seconds(result.inf.ticks[0]);
        const w = windows[ci];
        const cap = captures[ci];
        let switchMJ: number | '' = '';
        let inferMJ: number | '' = '';
        // a switch shorter than one sample of the instrument (an in-memory pointer change) leaves
        // no window of its own: its energy is below the instrument's resolution, counted as 0
        if (w && cap && w.length >= 1 && w.length <= (switching ? 2 : 1) && w.every((x) => !x.broken)) {
          switchMJ = w.length === 2 ? w[0].energy_j * 1e3 : 0;
          inferMJ = w[w.length - 1].energy_j * 1e3;
          // one window per event: the event's whole energy, for the energy.csv statistics
          eventBags[ci].add([{ ...w[0], end: w[w.length - 1].end, energy_j: w.reduce((a, x) => a + x.energy_j, 0), duration_s: w.reduce((a, x) => a + x.duration_s, 0), resolution_j: w.reduce((a, x) => a + x.resolution_j, 0) }], cap);
        }
        const row: ScenarioRow = {
          ...ctx.provenance(d.sha256),
          variant: options.variant,
          storage: c.storage,
          schedule: schedule.name,
          event: e,
          model: ev.model,
          sample: k,
          label,
          predicted: result.inf.predicted,
          host,
          correct: result.inf.predicted === label ? 1 : 0,
          switched: switching ? 1 : 0,
          switch_ms: switchS * 1e3,
          infer_ms: inferS * 1e3,
          event_ms: (switchS + inferS) * 1e3,
          switch_mJ: switchMJ,
          infer_mJ: inferMJ,
          event_mJ: typeof switchMJ === 'number' && typeof inferMJ === 'number' ? switchMJ + inferMJ : '',
          source: c.source,
        };
        const s = sums[ci];
        s.ms += row.event_ms;
        if (typeof row.event_mJ === 'number') s.mJ += row.event_mJ;
        else s.energyKnown = false;
        s.switches += row.switched;
        s.correct += row.correct;
        s.mismatches += row.host === row.predicted ? 0 : 1;
        s.events++;
        rows.push(row);
        options.onRow?.(row);
      });
      progress.tick();
    }
    progress.stop();
    options.channels.forEach((c, ci) => {
      const s = sums[ci];
      totals.push({
        variant: options.variant,
        storage: c.storage,
        schedule: schedule.name,
        events: s.events,
        switches: s.switches,
        correct: s.correct,
        mismatches: s.mismatches,
        total_ms: s.ms,
        total_mJ: s.energyKnown && c.monitor ? s.mJ : '',
        source: c.source,
      });
      const row = eventBags[ci].row(c.source);
      if (row) {
        const e: EnergyResultRow = { ...ctx.provenance(''), what: 'scenario_event', variant: options.variant, storage: c.storage, model: schedule.name, from_model: '', ...row };
        energy.push(e);
        options.onEnergy?.(e);
      }
    });
  }
  return { rows, totals, energy };
}

/** Totals per schedule and channel, from scenario.csv's rows (in the order they were written). */
export function scenarioTotals(rows: ScenarioRow[]): ScenarioTotal[] {
  const totals = new Map<string, ScenarioTotal>();
  for (const r of rows) {
    const key = `${r.variant}\u0000${r.storage}\u0000${r.schedule}`;
    let t = totals.get(key);
    if (!t) {
      t = { variant: r.variant, storage: r.storage, schedule: r.schedule, events: 0, switches: 0, correct: 0, mismatches: 0, total_ms: 0, total_mJ: 0, source: r.source };
      totals.set(key, t);
    }
    t.events++;
    t.switches += Number(r.switched);
    t.correct += Number(r.correct);
    t.mismatches += Number(r.host) === Number(r.predicted) ? 0 : 1;
    t.total_ms += Number(r.event_ms);
    t.total_mJ = t.total_mJ === '' || r.event_mJ === '' ? '' : t.total_mJ + Number(r.event_mJ);
  }
  return [...totals.values()];
}

export const scenarioExperiment: Experiment = {
  name: 'scenario',
  summary: 'a multi-task schedule of sensor events (round robin and seeded random): busy time and energy of every switch + inference',
  tables: [SCENARIO_TABLE, ENERGY_TABLE],
  ownsRow: (table, row) => table !== ENERGY_TABLE || row.what === 'scenario_event',
  requires: (run) =>
    !protocolTraits(run.protocol).switching ? `needs a protocol that switches models (select); the run speaks ${run.protocol}` : run.commonModels.length >= 1 ? undefined : 'needs a model that every variant holds',
  async runVariant(ctx) {
    const { scenarioEvents, scenarioSeed } = ctx.run.options;
    const sub = { ...ctx, models: ctx.models.filter((m) => ctx.run.commonModels.includes(m.name)) };
    await runScenario(sub, {
      variant: ctx.plan.variant,
      channels: await ctx.channels(),
      // the same schedules on every variant
      schedules: makeSchedules(ctx.run.commonModels, scenarioEvents ?? 40, scenarioSeed ?? 1),
      onRow: (row) => ctx.run.results.append(SCENARIO_TABLE, [row]),
      onEnergy: (row) => ctx.run.results.append(ENERGY_TABLE, [row]),
    });
  },
  summarize: (run) => summarizeScenario(scenarioTotals(run.results.rows(SCENARIO_TABLE))),
};

/** The scenario table of summary.txt, with the baseline's cut against the in-memory variant. */
export function summarizeScenario(totals: ScenarioTotal[]): string | undefined {
  const parts: string[] = [];
  if (totals.length) {
    const body = totals.map((t) => {
      const ref = inMemoryReference(totals.filter((x) => x.schedule === t.schedule))[0];
      const cut = (a: number | '', b: number | '' | undefined) => (t.variant === 'int8-ext' && typeof a === 'number' && typeof b === 'number' && a > 0 ? `${(100 * (1 - b / a)).toFixed(1)}%` : '-');
      return [
        t.schedule, t.variant, t.storage, String(t.events), String(t.switches), `${t.correct}/${t.events}`, String(t.mismatches), fmt(t.total_ms, 4),
        t.total_mJ === '' ? '-' : fmt(t.total_mJ, 4), cut(t.total_ms, ref?.total_ms), cut(t.total_mJ, ref?.total_mJ),
      ];
    });
    parts.push(`Multi-task scenario (busy time and energy of every event: switch if needed + inference)\n` +
      formatTable(['schedule', 'variant', 'storage', 'events', 'switches', 'correct', 'device!=host', 'total ms', 'total mJ', 'ms cut', 'mJ cut'], body));
  }
  return parts.length ? parts[0] : undefined;
}
