import type { Int8Model } from '../modeltools/int8-model.js';
import type { Session } from '../session/session.js';
import type { Logger } from '../util/log.js';

/** Columns every result row carries, so any row traces to a rig, a firmware and a data set. */
export interface Provenance {
  run_id: string;
  rig: string;
  board: string;
  firmware_hash: string;
  dataset_hash: string;
  harness_version: string;
}

/** The provenance columns, first in every CSV (defined once). */
export const PROVENANCE_COLUMNS = ['run_id', 'rig', 'board', 'firmware_hash', 'dataset_hash', 'harness_version'] as const satisfies readonly (keyof Provenance)[];

export interface ExperimentContext {
  session: Session;
  models: Int8Model[];
  log: Logger;
  /** Provenance columns for a row about the given data set. */
  provenance(datasetHash: string): Provenance;
  /** Stop early (Ctrl-C): experiments check it between samples. */
  cancelled(): boolean;
  /** Records something a reader of the results must know (run.json notes, summary.txt). */
  note(line: string): void;
  /**
   * Restarts the device (emulator restart, or reset through the probe) and replaces `session`
   * with a fresh one; where the run can do it.
   */
  resetDevice?(): Promise<void>;
}
