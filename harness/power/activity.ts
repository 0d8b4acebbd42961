import type { EnergyRow } from './energy.js';

/**
 * What the device did, as the harness learns it from the replies (ticks of timed runs, storage
 * reads of a switch). The protocol client emits it; the emulated power model turns it into a
 * current waveform (a real instrument measures the board instead and ignores it).
 */
export type DeviceActivity =
  | { kind: 'infer'; runs_ticks: number[] }
  | { kind: 'select'; repeat: number; ticks: number; storage_ticks: number; storage_bytes: number; storage_reads: number };

export interface ActivitySource {
  /** Calls listener after every timed command; returns the function that unsubscribes. */
  onActivity(listener: (a: DeviceActivity) => void): () => void;
}

/**
 * Per-switch figures from a row whose every window held `repeat` identical switches (SELECT
 * repeats a sub-microsecond switch so that one marker window is long enough to measure): energy,
 * its p10/p90, the window length and the quantisation bound are divided by `repeat`.
 */
export function perSwitch(row: EnergyRow, repeat: number): EnergyRow {
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`perSwitch: repeat must be an integer >= 1 (got ${repeat})`);
  return {
    ...row,
    energy_mJ_median: row.energy_mJ_median / repeat,
    energy_mJ_p10: row.energy_mJ_p10 / repeat,
    energy_mJ_p90: row.energy_mJ_p90 / repeat,
    window_ms_median: row.window_ms_median / repeat,
    resolution_mJ: row.resolution_mJ / repeat,
  };
}
