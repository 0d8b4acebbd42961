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
