/**
 * Every experiment the harness has, in run and summary order. Adding one: a file exporting an
 * Experiment (experiment.ts) and one line here.
 */
import { HilError } from '../util/errors.js';
import { accuracyExperiment } from './accuracy.js';
import { compressionExperiment } from './compression.js';
import type { Experiment } from './experiment.js';
import { latencyExperiment } from './latency.js';
import { mlperfPerformanceExperiment } from './mlperf-performance.js';
import { mlperfEnergyExperiment } from './mlperf-energy.js';
import { uploadsExperiment } from './uploads.js';
import { scenarioExperiment } from './scenario.js';
import { switchingExperiment } from './switching.js';

export const EXPERIMENTS: readonly Experiment[] = [accuracyExperiment, latencyExperiment, compressionExperiment, switchingExperiment, scenarioExperiment, mlperfPerformanceExperiment, mlperfEnergyExperiment, uploadsExperiment];

export const EXPERIMENT_NAMES = EXPERIMENTS.map((e) => e.name);

export function findExperiment(name: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (!e) throw new HilError(`unknown experiment; available: ${EXPERIMENT_NAMES.join(', ')}`, name);
  return e;
}
