/** Every figure family, in the order the report shows them. */
import type { LoadedRun } from '../load.js';
import { compressionFigures } from './compression.js';
import { confusionFigures } from './confusion.js';
import { latencyFigures } from './latency.js';
import { scenarioFigures } from './scenario.js';
import type { Figure } from './style.js';
import { switchingFigures } from './switching.js';
import { traceFigures } from './trace.js';

export type { Figure } from './style.js';

export function runFigures(run: LoadedRun): Figure[] {
  return [...compressionFigures(run), ...latencyFigures(run), ...switchingFigures(run), ...scenarioFigures(run), ...traceFigures(run), ...confusionFigures(run)];
}
