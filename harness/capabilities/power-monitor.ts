/**
 * An instrument that measures the board's supply current while a GPIO marker brackets the
 * measured region (the MLPerf Tiny method). Implemented by the PPK2, LPM01A and INA226-bridge
 * drivers in harness/power/ and by the emulated power model (power/emulated.ts).
 *
 * Note for the emulated power model: implement this same interface. `startCapture()` notes the
 * device's instruction counter, `stopCapture()` turns the instructions retired inside each
 * marked region into a current waveform from the stated model (e.g. a constant active current
 * per MHz, idle current outside the marker) on a fixed `sample_period_s`, with
 * `lost_samples = 0`, `instrument = 'emulated'` and `resolution_a` = the model's step. The one
 * analysis in harness/power/energy.ts then cuts and integrates it exactly as for a real
 * instrument, and the row it produces says `source: 'emulated-estimate'`.
 */

export interface PowerMonitorConfig {
  /** Supply the instrument gives the board (PPK2, LPM01A) or the nominal bus voltage (INA226). */
  voltage_mv: number;
  /** Requested sampling rate; each driver checks it against what the instrument can stream. */
  sample_hz?: number;
  /** Instrument input wired to the GPIO marker, e.g. "D0" (PPK2 logic port), "d7" (LPM01A). */
  marker?: string;
}

/** A change of the marker: `index` is the first sample after the change. */
export interface MarkerEdge {
  index: number;
  kind: 'rise' | 'fall';
}

/**
 * Samples the instrument did not deliver. `exact` is true when the position is known (PPK2
 * counter, INA226 sequence number) and false when only the interval is (LPM01A timestamps).
 */
export interface LossSpan {
  /** first affected sample index */
  start: number;
  /** one past the last affected sample index */
  end: number;
  lost: number;
  exact: boolean;
}

export interface Capture {
  /** "ppk2", "lpm01a", "ina226", "emulated" */
  instrument: string;
  /** port or model description, for messages and run.json */
  description: string;
  sample_period_s: number;
  /** the configured supply, V */
  supply_v: number;
  /** per-sample bus voltage when the instrument measures it (INA226), V */
  voltage_v?: Float64Array;
  /** current per sample, A, on a uniform time base; NaN where a sample was lost */
  current_a: Float64Array;
  /**
   * How the marker is seen. `level`: the marker is high during the measured region, windows run
   * from a rise to the next fall. `timestamps`: each edge is one timestamp (MLPerf Tiny style:
   * the instrument reports one edge kind only), windows run between consecutive pairs.
   */
  marker_mode: 'level' | 'timestamps';
  edges: MarkerEdge[];
  received_samples: number;
  lost_samples: number;
  loss_spans: LossSpan[];
  /** worst amplitude step of the samples in this capture (LSB), A */
  resolution_a: number;
  /** anything the driver noticed that a reader of the results should know */
  notes: string[];
}

export interface PowerMonitor {
  readonly instrument: string;
  readonly description: string;
  /** Opens the port and checks that the instrument answers (HilError if it does not). */
  open(): Promise<void>;
  /** Sets supply, rate and marker input; switches the board's supply on where the instrument gives it. */
  configure(config: PowerMonitorConfig): Promise<void>;
  startCapture(): Promise<void>;
  /** Stops streaming and returns everything since startCapture(). */
  stopCapture(): Promise<Capture>;
  /** Stops any capture, releases the instrument and the port; safe to call twice. */
  close(): Promise<void>;
}

/** Lost samples as a percentage of the samples the instrument should have delivered. */
export function lostPct(capture: Pick<Capture, 'received_samples' | 'lost_samples'>): number {
  const total = capture.received_samples + capture.lost_samples;
  return total === 0 ? 0 : (100 * capture.lost_samples) / total;
}

/**
 * How the firmware marks a measured region on its GPIO for the instrument: a level held for the
 * region (PPK2, INA226 rigs) or a pulse at each edge (the LPM01A's timestamp input).
 */
export type MarkerStyle = 'level' | 'pulse';
