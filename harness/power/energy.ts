/**
 * The one energy analysis for every power source (PPK2, LPM01A, INA226 bridge, the emulated
 * model): cut the capture into windows between marker edges, integrate E = sum(V * I * dt) in
 * each, and summarise several windows by their median and p10/p90 (MLPerf Tiny reports the
 * median of several windows too).
 *
 * Lost samples: a window that contains a lost sample, or overlaps a loss whose position is only
 * known to an interval, is "broken". Broken windows are excluded from the statistics (a gap
 * would silently lower the energy) and counted in `windows_broken`; `lost_samples_pct` covers
 * the whole capture.
 */
import type { Capture } from '../capabilities/power-monitor.js';
import { lostPct } from '../capabilities/power-monitor.js';
import { median, quantile } from '../util/stats.js';

export interface Window {
  /** first sample inside the marked region */
  start: number;
  /** one past the last sample inside */
  end: number;
}

export interface WindowEnergy extends Window {
  duration_s: number;
  energy_j: number;
  /** mean current over the window, A */
  mean_a: number;
  /** samples lost inside or possibly inside the window */
  lost: number;
  broken: boolean;
  /** amplitude-quantisation bound on energy_j: half an LSB on every sample, J */
  resolution_j: number;
}

/** Windows between marker edges (see Capture.marker_mode). Edges before the first complete window are skipped. */
export function cutWindows(capture: Pick<Capture, 'edges' | 'marker_mode'>): Window[] {
  const windows: Window[] = [];
  if (capture.marker_mode === 'timestamps') {
    // each reported edge is a timestamp; the region lies between the 1st and 2nd, 3rd and 4th...
    for (let i = 0; i + 1 < capture.edges.length; i += 2) {
      windows.push({ start: capture.edges[i].index, end: capture.edges[i + 1].index });
    }
    return windows;
  }
  let open: number | undefined;
  for (const e of capture.edges) {
    if (e.kind === 'rise') open = e.index;
    else if (open !== undefined) {
      windows.push({ start: open, end: e.index });
      open = undefined;
    }
  }
  return windows;
}

export function windowEnergies(capture: Capture): WindowEnergy[] {
  const dt = capture.sample_period_s;
  return cutWindows(capture).map((w) => {
    let sum = 0;
    let charge = 0;
    let lost = 0;
    for (let i = w.start; i < w.end; i++) {
      const a = capture.current_a[i];
      if (Number.isNaN(a)) {
        lost++;
        continue;
      }
      const v = capture.voltage_v && !Number.isNaN(capture.voltage_v[i]) ? capture.voltage_v[i] : capture.supply_v;
      sum += v * a * dt;
      charge += a * dt;
    }
    for (const s of capture.loss_spans) {
      // a loss whose position is unknown may have hit this window
      if (!s.exact && s.start < w.end && s.end > w.start) lost += s.lost;
      // with a level marker, a loss ending where the window starts may have swallowed its rise
      // edge and first samples: the window then looks whole but starts late (found with the
      // device-driven PPK2 simulator, test/integration/board-energy.test.ts)
      if (s.exact && capture.marker_mode === 'level' && s.end === w.start) lost += s.lost;
    }
    const n = w.end - w.start;
    const duration = n * dt;
    return {
      ...w,
      duration_s: duration,
      energy_j: sum,
      mean_a: duration > 0 ? charge / duration : NaN,
      lost,
      broken: lost > 0,
      resolution_j: 0.5 * capture.resolution_a * n * dt * capture.supply_v,
    };
  });
}

/** One CSV row of energy results; the energy table (energy.csv) prefixes the provenance columns. */
export interface EnergyRow {
  energy_mJ_median: number;
  energy_mJ_p10: number;
  energy_mJ_p90: number;
  /** windows used for the statistics */
  windows: number;
  /** windows excluded because samples were lost in them */
  windows_broken: number;
  window_ms_median: number;
  lost_samples_pct: number;
  /** quantisation bound of one median window, mJ */
  resolution_mJ: number;
  instrument: string;
  supply_mV: number;
  source: 'measured' | 'emulated-estimate';
}

export const ENERGY_COLUMNS: (keyof EnergyRow)[] = [
  'energy_mJ_median',
  'energy_mJ_p10',
  'energy_mJ_p90',
  'windows',
  'windows_broken',
  'window_ms_median',
  'lost_samples_pct',
  'resolution_mJ',
  'instrument',
  'supply_mV',
  'source',
];

/**
 * Summarises a capture. `maxWindows` keeps only the first n complete windows (a run may mark
 * more regions than it wants measured). NaN statistics mean no usable window.
 */
export function energyRow(capture: Capture, source: EnergyRow['source'], options: { maxWindows?: number } = {}): EnergyRow {
  const all = windowEnergies(capture).slice(0, options.maxWindows ?? Infinity);
  return summarizeWindows(all, capture, source);
}

/**
 * The same summary over windows gathered from several captures of one instrument (e.g. one
 * switch window per capture): `capture` gives the instrument, supply and loss figures; pass a
 * capture whose received/lost counts are the totals over the captures.
 */
export function summarizeWindows(
  all: WindowEnergy[],
  capture: Pick<Capture, 'instrument' | 'supply_v' | 'received_samples' | 'lost_samples'>,
  source: EnergyRow['source'],
): EnergyRow {
  const ok = all.filter((w) => !w.broken);
  const mJ = ok.map((w) => w.energy_j * 1e3);
  return {
    energy_mJ_median: median(mJ),
    energy_mJ_p10: quantile(mJ, 0.1),
    energy_mJ_p90: quantile(mJ, 0.9),
    windows: ok.length,
    windows_broken: all.length - ok.length,
    window_ms_median: median(ok.map((w) => w.duration_s * 1e3)),
    lost_samples_pct: lostPct(capture),
    resolution_mJ: median(ok.map((w) => w.resolution_j * 1e3)),
    instrument: capture.instrument,
    supply_mV: Math.round(capture.supply_v * 1000),
    source,
  };
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
