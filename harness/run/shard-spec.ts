/**
 * A shard: one piece of a run's work, as plain JSON data (models, variants, experiments, a sample
 * range, the firmware hashes expected). Never a command line or a path: whoever carries it (a
 * local pool, a CI matrix, a job queue) hands it to runShard (run/shard.ts) on a rig of the
 * shard's board, which refuses firmware whose hash differs from the plan's.
 */
import type { ExperimentOptions } from '../experiments/experiment.js';
import { VARIANTS, type Variant } from '../session/model-set.js';
import { HilError } from '../util/errors.js';
import type { RunOptions } from './run.js';

/** The run-wide options every shard of a run shares (what a one-rig run of the same work takes). */
export interface ShardRunOptions {
  /** accuracy samples per model (default: the whole test split) */
  samples?: number;
  latencyRuns?: number;
  latencyWarmup?: number;
  switchReps?: number;
  scenarioEvents?: number;
  scenarioSeed?: number;
  perfWindowSec?: number;
  /** mlperf-tiny: the profile tag */
  profile?: string;
}

export interface ShardSpec {
  /** unique across runs: `<plan>-<index>`; a shard folder or job with an id already merged is never counted again */
  id: string;
  /** the plan's identity (hash of the run's work, board and firmware): every shard of one run has the same */
  plan: string;
  /** position in the plan (0-based): merged rows follow this order, which is a one-rig run's order */
  index: number;
  /** how many shards the plan has */
  of: number;
  /** what the shard does, for people: "int8 fmnist_cnn accuracy 0-5000" */
  label: string;
  /** board every rig serving this shard must have (rig file `board`) */
  board: string;
  /**
   * Variants this shard runs, in run order: one for accuracy and latency shards; every variant of
   * the run for the shard of experiments that compare variants (switching, scenario).
   */
  variants: Variant[];
  /** models this shard measures (the firmware holds `run.models`) */
  models: string[];
  /** experiments this shard runs (registry names) */
  experiments: string[];
  /** accuracy: samples [start, end) of each measured model's test split */
  samples?: { start: number; end: number };
  /** firmware build hash expected per variant (the run's every variant) */
  firmware: { variant: Variant; hash: string }[];
  /** device protocol (protocol/drivers.ts name) */
  protocol: string;
  /** how accuracy inputs reach the device */
  inputs: NonNullable<ExperimentOptions['inputs']>;
  /** the whole run: a merge rebuilds the one-rig run's tables (and derived ones, e.g. compression) from this */
  run: { models: string[]; variants: Variant[]; experiments: string[]; options: ShardRunOptions };
}

/** The run options that make runExperiments run exactly this shard (the rig and folder come from the caller). */
export function shardRunOptions(spec: ShardSpec): Omit<RunOptions, 'rig' | 'log'> {
  return {
    ...spec.run.options,
    models: spec.run.models,
    variants: spec.variants,
    experiments: spec.experiments,
    inputs: spec.inputs,
    protocol: spec.protocol,
    sampleRange: spec.samples,
    shard: spec,
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const HASH = /^[0-9a-f]{8,64}$/;

/**
 * A shard that came from outside (a queue, a file) checked field by field before anything runs:
 * names are plain names (no paths), hashes are hex, the sample range is a range. One HilError line
 * naming the field; the spec as typed data otherwise.
 */
export function checkShardSpec(value: unknown, where = 'shard'): ShardSpec {
  const fail = (field: string, what: string): never => {
    throw new HilError(`${field}: ${what}`, where);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('(shard)', 'expected an object');
  const s = value as Record<string, unknown>;
  const str = (v: unknown, field: string, re: RegExp) => (typeof v === 'string' && re.test(v) ? v : fail(field, `expected a plain name or hash, got ${JSON.stringify(v)?.slice(0, 60)}`));
  const names = (v: unknown, field: string, allowed?: readonly string[]) => {
    if (!Array.isArray(v) || v.length === 0) fail(field, 'expected a non-empty list');
    return (v as unknown[]).map((x, i) => {
      const n = str(x, `${field}[${i}]`, NAME);
      if (allowed && !allowed.includes(n)) fail(`${field}[${i}]`, `unknown ${JSON.stringify(n)}; expected one of ${allowed.join(', ')}`);
      return n;
    });
  };
  const int = (v: unknown, field: string, min: number) => (Number.isInteger(v) && (v as number) >= min ? (v as number) : fail(field, `expected a whole number >= ${min}`));
  str(s.id, 'id', /^[0-9a-f]{8,64}-\d+$/);
  str(s.plan, 'plan', HASH);
  const of = int(s.of, 'of', 1);
  if (int(s.index, 'index', 0) >= of) fail('index', `must be below of (${of})`);
  if (typeof s.label !== 'string' || s.label.length > 200) fail('label', 'expected a short text');
  str(s.board, 'board', NAME);
  const variants = names(s.variants, 'variants', VARIANTS);
  names(s.models, 'models');
  names(s.experiments, 'experiments');
  if (s.samples !== undefined) {
    const r = s.samples as Record<string, unknown>;
    const start = int(r?.start, 'samples.start', 0);
    if (int(r?.end, 'samples.end', 1) <= start) fail('samples', 'end must be above start');
  }
  if (!Array.isArray(s.firmware) || s.firmware.length === 0) fail('firmware', 'expected the expected build hash of every variant');
  (s.firmware as Record<string, unknown>[]).forEach((f, i) => {
    str(f?.variant, `firmware[${i}].variant`, NAME);
    str(f?.hash, `firmware[${i}].hash`, HASH);
  });
  for (const v of variants) if (!(s.firmware as { variant: string }[]).some((f) => f.variant === v)) fail('firmware', `no expected hash for variant ${v}`);
  str(s.protocol, 'protocol', NAME);
  if (!['auto', 'stream', 'preload'].includes(s.inputs as string)) fail('inputs', 'expected auto, stream or preload');
  const run = s.run as Record<string, unknown> | undefined;
  if (typeof run !== 'object' || run === null) fail('run', 'expected the run description');
  const r = run as Record<string, unknown>;
  names(r.models, 'run.models');
  names(r.variants, 'run.variants', VARIANTS);
  names(r.experiments, 'run.experiments');
  const options = r.options as Record<string, unknown> | undefined;
  if (typeof options !== 'object' || options === null) fail('run.options', 'expected an object');
  for (const [k, v] of Object.entries(options as Record<string, unknown>)) {
    if (k === 'profile') str(v, 'run.options.profile', NAME);
    else if (!['samples', 'latencyRuns', 'latencyWarmup', 'switchReps', 'scenarioEvents', 'scenarioSeed', 'perfWindowSec'].includes(k)) fail(`run.options.${k}`, 'not a run option a shard carries');
    else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`run.options.${k}`, 'expected a number >= 0');
  }
  return value as ShardSpec;
}
