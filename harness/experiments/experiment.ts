/**
 * The shape of an experiment: its name, the CSV tables it writes, what it needs of the run, and
 * the code that runs on each variant's device session and afterwards. A new experiment is one
 * file exporting an Experiment plus one line in experiments/registry.ts; the run (run/) knows
 * nothing else about it.
 */
import type { DeployModel } from '../compress/pq-model.js';
import type { DeviceHello } from '../protocol/device.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import type { Rig } from '../rig/rig.js';
import type { Variant } from '../session/model-set.js';
import type { Logger } from '../util/log.js';
import type { MeasureChannel } from './channels.js';
import type { ExperimentContext } from './context.js';

/** One CSV of a run folder: its file name and column order. */
export interface Table<Row extends object> {
  file: string;
  columns: readonly (keyof Row & string)[];
}

/** A table of any row type, for lists of tables (rows are typed where they are built). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTable = Table<any>;

/** A result row tagged with the form of the models the firmware held. */
export type VariantRow<R> = R & { variant: Variant };

/** Every row written so far, by table; appending writes the CSV row at once (crash-safe). */
export interface ResultStore {
  rows<R extends object>(table: Table<R>): R[];
  append<R extends object>(table: Table<R>, rows: R[]): void;
  /** Removes the rows `drop` selects, from memory and from the CSV (rewritten atomically). */
  remove<R extends object>(table: Table<R>, drop: (row: R) => boolean): void;
}

/** Samples already measured, for a resumed run (by variant and model). */
export type DonePredictions = (
  variant: string,
  model: string,
) => { model: string; sample: number; label: number; device: number; host: number; elements_differ: number; score: number; host_score: number }[];

/** Options the experiments read (each takes what it needs; undefined = its default). */
export interface ExperimentOptions {
  /** accuracy samples per model (default: the whole test split) */
  samples?: number;
  /** accuracy: only samples [start, end) of each test split (a shard of a sharded run) */
  sampleRange?: { start: number; end: number };
  latencyRuns?: number;
  latencyWarmup?: number;
  /**
   * How test inputs reach the device for accuracy: `stream` over the link, `preload` into the
   * device's memory before it starts (emulated boards), `auto` (default) preload where possible.
   */
  inputs?: 'auto' | 'stream' | 'preload';
  /** ordered-pair repetitions of the switching experiment (default 5) */
  switchReps?: number;
  /** events per schedule of the scenario (default 40) */
  scenarioEvents?: number;
  scenarioSeed?: number;
  /** mlperf-performance: each window lasts at least this many seconds of device time (MLPerf Tiny: 10) */
  perfWindowSec?: number;
  /**
   * An MLPerf Tiny data-set folder (.bin inputs + y_labels.csv) that replaces the model's
   * prepared test split for the accuracy experiment (one model).
   */
  datasetFolder?: string;
}

/** One firmware of a run: the variant it holds, its models as deployed, their host-reference twins. */
export interface VariantPlan {
  variant: Variant;
  deploy: DeployModel[];
  /** int8 models the host reference runs (a pq model's bit-exact int8 decoding) */
  models: Int8Model[];
}

/** What every experiment may know of the whole run. */
export interface RunInfo {
  id: string;
  rig: Rig;
  harnessVersion: string;
  /** the variants in run order, one firmware and session each */
  plans: VariantPlan[];
  /** models every variant holds: switching and the scenario compare like with like */
  commonModels: string[];
  options: ExperimentOptions;
  /** the device protocol of the run's firmware (protocol/drivers.ts name) */
  protocol: string;
  results: ResultStore;
  /** what a reader of the results must know (models left out, inputs re-sent...): run.json and summary.txt */
  notes: string[];
  /** a resumed run's predictions so far (accuracy continues after them) */
  done?: DonePredictions;
  /** each finished variant's handshake (board, build hash) */
  devices: Partial<Record<Variant, DeviceHello>>;
  log: Logger;
  cancelled(): boolean;
}

/** One variant's session, as an experiment sees it. */
export interface VariantContext extends ExperimentContext {
  run: RunInfo;
  plan: VariantPlan;
  /** this session's measurement channels, opened on first use and closed when the variant ends */
  channels(): Promise<MeasureChannel[]>;
}

export interface Experiment {
  name: string;
  /** one line for `hil help` */
  summary: string;
  tables: AnyTable[];
  /**
   * Which rows of its tables it wrote (default: all), where a table is shared: a resumed run
   * drops an unfinished experiment's rows of a variant before running it again.
   */
  ownsRow?(table: AnyTable, row: Record<string, unknown>): boolean;
  /** Runs only when named in --experiments, never by default (it needs a special firmware, or it is a diagnostic). */
  optIn?: boolean;
  /** What it needs of the device beyond running models (a session is started to match). */
  needs?: { instructionWindows?: boolean };
  /** Why this experiment cannot run as planned (one line), or undefined when it can. */
  requires?(run: RunInfo): string | undefined;
  /** Runs on one variant's device session. */
  runVariant?(ctx: VariantContext): Promise<void>;
  /** Runs once every variant is done (joins across variants). */
  afterVariants?(run: RunInfo): void | Promise<void>;
  /** Its part of summary.txt, from the stored rows; undefined to say nothing. */
  summarize?(run: RunInfo, chosen: string[]): string | undefined;
}
