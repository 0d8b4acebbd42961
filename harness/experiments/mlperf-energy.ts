/**
 * MLPerf Tiny energy mode (the runner's `-m e`): the device is built with EE_CFG_ENERGY_MODE, so
 * th_timestamp drives its timestamp pin instead of printing m-lap-us, and the energy monitor
 * (an LPM01A: `eventsrc d7 fal`) records each pulse as an event among its samples. A window is
 * `infer N W`; its length and its energy come from the instrument, between the last two events
 * of the window's capture (the runner takes the last two: a pin may glitch before the first).
 * N follows the same rule as performance mode (runWindows: each window >= 10 s, 5 windows), and
 * the scores are the median energy per inference and the median power.
 *
 * The capture is cut and integrated by the one analysis of power/energy.ts (windowEnergies), on
 * the capture with only its last two events kept.
 */
import type { Capture, PowerMonitor } from '../capabilities/power-monitor.js';
import { perSwitch, summarizeWindows, windowEnergies, type WindowEnergy } from '../power/energy.js';
import { markerStyle } from '../power/factory.js';
import { modelTestSet } from '../datasets/model-data.js';
import type { Rig } from '../rig/rig.js';
import { protocolTraits } from '../protocol/drivers.js';
import type { MlperfTinyClient } from '../protocol/mlperf-tiny/client.js';
import { MlperfTinyDriver } from '../protocol/mlperf-tiny/driver.js';
import { runWindows, type PerformanceOptions } from '../protocol/mlperf-tiny/performance.js';
import { median } from '../util/stats.js';
import { HilError } from '../util/errors.js';
import { formatTable } from '../util/table.js';
import { closeChannels, INTERNAL_FLASH, openChannels } from './channels.js';
import { PROVENANCE_COLUMNS, type ExperimentContext } from './context.js';
import type { MlperfWindowsRow } from './mlperf-performance.js';
import type { Experiment, Table, VariantRow } from './experiment.js';
import { ENERGY_TABLE, type EnergyResultRow } from './switching.js';

export interface EnergyModeOptions extends PerformanceOptions {
  /** ms the instrument streams before the infer command and after its reply (default 100) */
  leadMs?: number;
}

export interface EnergyWindow {
  inferences: number;
  /** between the window's two timestamp events, by the instrument's sample clock */
  seconds: number;
  wallMs: number;
  energy_j: number;
  uj_per_inference: number;
  power_mw: number;
  /** samples lost inside the window (an LPM01A loss is only known to a TimeStamp interval) */
  lost: number;
  /** timestamp events in the capture (2 on a clean pin) */
  events: number;
  /** the window as the one analysis cut it */
  window: WindowEnergy;
  capture: Capture;
}

export interface EnergyModeReport {
  minWindowSec: number;
  inferences: number;
  calibration: { inferences: number; seconds: number };
  windows: EnergyWindow[];
  medianUjPerInference: number;
  medianPowerMw: number;
  instrument: string;
  supply_v: number;
  sample_period_s: number;
  /** amplitude-quantisation bound of the median window's energy per inference, uJ */
  resolutionUj: number;
}

/** Energy mode on the input already loaded into the device; `monitor` is open and configured. */
export async function runEnergyMode(client: MlperfTinyClient, monitor: PowerMonitor, options: EnergyModeOptions = {}): Promise<EnergyModeReport> {
  const warmup = options.warmup ?? 1;
  const leadMs = options.leadMs ?? 100;
  const where = `${client.description}: energy mode`;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const resolutions: number[] = [];
  const plan = await runWindows<EnergyWindow>(
    async (count, timeoutMs) => {
      await monitor.startCapture();
      let capture: Capture;
      let wallMs: number;
      let stamps: number;
      try {
        await pause(leadMs);
        const r = await client.infer(count, warmup, { timeoutMs });
        wallMs = r.wallMs;
        stamps = r.lapsUs.length;
        await pause(leadMs);
      } finally {
        capture = await monitor.stopCapture();
      }
      const cmd = `infer ${count} ${warmup}`;
      if (stamps > 0) {
        throw new HilError(`'${cmd}' printed ${stamps} m-lap-us stamps: the device runs in performance mode (EE_CFG_ENERGY_MODE 0); energy mode needs its timestamps on the pin`, where);
      }
      if (capture.edges.length < 2) {
        const notes = capture.notes.length ? ` (${capture.notes.join('; ')})` : '';
        throw new HilError(
          `'${cmd}': ${capture.edges.length} timestamp events in the ${capture.instrument} capture, need 2: is the DUT's timestamp pin wired to the monitor's marker input and the firmware built for energy mode?${notes}`,
          where,
        );
      }
      const [w] = windowEnergies({ ...capture, edges: capture.edges.slice(-2) });
      if (w.broken) throw new HilError(`'${cmd}': ${w.lost} samples lost inside the window (${capture.instrument}); lower the sample rate or free the host`, where);
      if (w.duration_s <= 0) throw new HilError(`'${cmd}': the two timestamp events fall on one sample; the window has no length`, where);
      resolutions.push(w.resolution_j / count);
      return {
        inferences: count,
        seconds: w.duration_s,
        wallMs,
        energy_j: w.energy_j,
        uj_per_inference: (w.energy_j * 1e6) / count,
        power_mw: (w.energy_j / w.duration_s) * 1e3,
        lost: w.lost,
        events: capture.edges.length,
        window: w,
        capture,
      };
    },
    options,
    where,
  );
  const last = plan.runs[plan.runs.length - 1].capture;
  return {
    minWindowSec: options.minWindowSec ?? 10,
    inferences: plan.inferences,
    calibration: plan.calibration,
    windows: plan.runs,
    medianUjPerInference: median(plan.runs.map((w) => w.uj_per_inference)),
    medianPowerMw: median(plan.runs.map((w) => w.power_mw)),
    instrument: last.instrument,
    supply_v: last.supply_v,
    sample_period_s: last.sample_period_s,
    resolutionUj: median(resolutions.slice(-plan.runs.length)) * 1e6,
  };
}

/**
 * Why `rig` cannot run energy mode (one line), or undefined: it needs an instrument that records
 * the DUT's timestamp pin as events (the LPM01A: marker style 'pulse') and the input that pin is
 * wired to (power.marker, d7 on the LPM01A).
 */
export function energyModeUnfit(rig: Pick<Rig, 'name' | 'power'>): string | undefined {
  const p = rig.power;
  if (!p || p.kind === 'none') return `rig ${rig.name} has no power monitor; energy mode needs an LPM01A (power.kind lpm01a) that sees the DUT's timestamp pin`;
  if (p.kind === 'emulated') return `rig ${rig.name} has an emulated power model, which cannot see a timestamp pin; energy mode needs an LPM01A (power.kind lpm01a)`;
  if (markerStyle(rig) !== 'pulse') return `rig ${rig.name}: its ${p.kind} sees a marker level, not timestamp events; energy mode needs an LPM01A (power.kind lpm01a)`;
  if (!p.marker) return `rig ${rig.name} has no timestamp pin: name the LPM01A input the DUT's timestamp pin is wired to (power.marker, e.g. d7)`;
  return undefined;
}

export interface MlperfEnergyRow extends MlperfWindowsRow {
  /** by the instrument's timestamps */
  calibration_s: number;
  /** per window, from the instrument's timestamp events, ';'-separated */
  window_s: string;
  window_uJ_per_inference: string;
  window_power_mW: string;
  uJ_per_inference: number;
  power_mW: number;
  resolution_uJ: number;
  instrument: string;
  supply_mV: number;
  sample_hz: number;
  /** db bytes per line of the uploads (26 in energy mode) */
  db_bytes_per_line: number;
  source: 'measured';
}

export const MLPERF_ENERGY_TABLE: Table<VariantRow<MlperfEnergyRow>> = {
  file: 'mlperf_energy.csv',
  columns: [
    ...PROVENANCE_COLUMNS, 'variant', 'model', 'profile', 'input_sample', 'min_window_s', 'windows', 'inferences_per_window', 'calibration_inferences', 'calibration_s',
    'window_s', 'window_uJ_per_inference', 'window_power_mW', 'uJ_per_inference', 'power_mW', 'resolution_uJ', 'instrument', 'supply_mV', 'sample_hz', 'db_bytes_per_line', 'source',
  ],
};

/**
 * Energy mode for every model of the context's session (an mlperf-tiny device built for energy
 * mode on a rig whose LPM01A sees its timestamp pin): one real test input loaded, then
 * runEnergyMode. Returns the mlperf_energy.csv rows and one energy.csv row per model (what
 * `inference`, per inference, source `measured`).
 */
export async function measureEnergyMode(ctx: ExperimentContext, options: EnergyModeOptions = {}): Promise<{ rows: MlperfEnergyRow[]; energy: Omit<EnergyResultRow, 'variant'>[] }> {
  const { session } = ctx;
  const unfit = energyModeUnfit(session.rig);
  if (unfit) throw new HilError(unfit, 'mlperf-energy');
  const device = session.device;
  if (!(device instanceof MlperfTinyDriver)) throw new HilError('energy mode needs an mlperf-tiny device (--protocol mlperf-tiny)', session.dut.description);
  if (!device.energyMode) throw new HilError('the session was not opened in energy mode (26-byte db lines, no m-lap-us)', session.dut.description);
  const channels = await openChannels(ctx, false);
  const monitor = channels[0]?.monitor;
  const rows: MlperfEnergyRow[] = [];
  const energy: Omit<EnergyResultRow, 'variant'>[] = [];
  try {
    if (!monitor) throw new HilError('no power monitor opened', session.rig.name);
    for (const m of ctx.models) {
      if (ctx.cancelled()) break;
      const data = modelTestSet(m);
      await device.select(session.modelId(m.name));
      await device.upload(data.x.subarray(0, data.inputBytes));
      ctx.log.info(`mlperf-energy ${m.name}: calibrating for windows of >= ${options.minWindowSec ?? 10} s by the ${monitor.instrument}'s timestamps`);
      const rep = await runEnergyMode(device.client, monitor, { warmup: 1, log: ctx.log.info, ...options });
      const n = rep.inferences;
      const fmt = (x: number) => x.toPrecision(6);
      const prov = ctx.provenance(data.sha256);
      rows.push({
        ...prov,
        model: m.name,
        profile: session.hello.mlperf?.profile ?? '',
        input_sample: 0,
        min_window_s: rep.minWindowSec,
        windows: rep.windows.length,
        inferences_per_window: n,
        calibration_inferences: rep.calibration.inferences,
        calibration_s: rep.calibration.seconds,
        window_s: rep.windows.map((w) => w.seconds.toFixed(4)).join(';'),
        window_uJ_per_inference: rep.windows.map((w) => fmt(w.uj_per_inference)).join(';'),
        window_power_mW: rep.windows.map((w) => fmt(w.power_mw)).join(';'),
        uJ_per_inference: rep.medianUjPerInference,
        power_mW: rep.medianPowerMw,
        resolution_uJ: rep.resolutionUj,
        instrument: rep.instrument,
        supply_mV: Math.round(rep.supply_v * 1000),
        sample_hz: Math.round(1 / rep.sample_period_s),
        db_bytes_per_line: device.bytesPerLine,
        source: 'measured',
      });
      const totals = rep.windows.reduce((t, w) => ({ received: t.received + w.capture.received_samples, lost: t.lost + w.capture.lost_samples }), { received: 0, lost: 0 });
      const summary = summarizeWindows(rep.windows.map((w) => w.window), { instrument: rep.instrument, supply_v: rep.supply_v, received_samples: totals.received, lost_samples: totals.lost }, 'measured');
      energy.push({ ...prov, what: 'inference', storage: INTERNAL_FLASH, model: m.name, from_model: '', ...perSwitch(summary, n) });
    }
  } finally {
    await closeChannels(channels);
  }
  return { rows, energy };
}

export const mlperfEnergyExperiment: Experiment = {
  name: 'mlperf-energy',
  summary: "MLPerf Tiny energy mode: the DUT's timestamp pin on an LPM01A, windows of >= 10 s (--perf-window), median uJ/inference of 5",
  tables: [MLPERF_ENERGY_TABLE, ENERGY_TABLE],
  // its firmware prints no m-lap-us: never chosen by default next to latency and mlperf-performance
  optIn: true,
  // switching (the other writer of 'inference' rows) needs the yono protocol: never in the same run
  ownsRow: (table, row) => table !== ENERGY_TABLE || row.what === 'inference',
  requires: (run) => {
    if (!protocolTraits(run.protocol).mlperfTiny) return `needs an mlperf-tiny device (--protocol mlperf-tiny); the run speaks ${run.protocol}`;
    return energyModeUnfit(run.rig);
  },
  async runVariant(ctx) {
    const r = await measureEnergyMode(ctx, { minWindowSec: ctx.run.options.perfWindowSec ?? 10 });
    ctx.run.results.append(MLPERF_ENERGY_TABLE, r.rows.map((row) => ({ ...row, variant: ctx.plan.variant })));
    ctx.run.results.append(ENERGY_TABLE, r.energy.map((row) => ({ ...row, variant: ctx.plan.variant })));
  },
  summarize(run) {
    const rows = run.results.rows(MLPERF_ENERGY_TABLE);
    if (!rows.length) return undefined;
    const table = formatTable(
      ['model', 'profile', 'N/window', 'windows s', 'uJ/inf', 'mW', 'instrument', 'source'],
      rows.map((r) => [r.model, r.profile, String(r.inferences_per_window), r.window_s.replace(/;/g, ' '), r.uJ_per_inference.toFixed(3), r.power_mW.toFixed(3), `${r.instrument} ${r.sample_hz} Hz`, r.source]),
    );
    return `MLPerf Tiny energy mode (median of ${rows[0].windows} windows of >= ${rows[0].min_window_s} s between the timestamp pin's events)\n${table}`;
  },
};
