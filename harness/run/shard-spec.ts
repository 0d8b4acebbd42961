/**
 * A shard: one piece of a run's work, as plain JSON data (models, variants, experiments, a sample
 * range, the firmware hashes expected). Never a command line or a path: whoever carries it (a
 * local pool, a CI matrix, a job queue) hands it to runShard (run/shard.ts) on a rig of the
 * shard's board, which refuses firmware whose hash differs from the plan's.
 */
import type { ExperimentOptions } from '../experiments/experiment.js';
import { VARIANTS, type Variant } from '../session/model-set.js';
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


