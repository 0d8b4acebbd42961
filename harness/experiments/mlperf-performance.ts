/**
 * MLPerf Tiny performance mode on an mlperf-tiny device: one real test input loaded, a
 * calibration picks N so that each window of `infer N W` lasts at least the rule's 10 s of
 * device time, 5 windows, the median throughput. The device stamps (m-lap-us) are the device's
 * timer: on QEMU that is virtual time, so the row's figures are then emulated estimates (the
 * rig's cost model turns the timer into time, as for latency); `device_*` keep the timer as read.
 */
import { protocolTraits } from '../protocol/drivers.js';
import { modelTestSet } from '../datasets/model-data.js';
import { MlperfTinyDriver } from '../protocol/mlperf-tiny/driver.js';
import { runPerformance } from '../protocol/mlperf-tiny/performance.js';
import { median } from '../util/stats.js';
import type { FigureSource } from '../capabilities/figures.js';
import { HilError } from '../util/errors.js';
import { formatTable } from '../util/table.js';
import { PROVENANCE_COLUMNS, type Provenance } from './context.js';
import type { Experiment, Table, VariantRow } from './experiment.js';

/** What a row of either MLPerf Tiny mode (performance, energy) says of its windows. */
export interface MlperfWindowsRow extends Provenance {
  model: string;
  profile: string;
  /** the test sample that was loaded */
  input_sample: number;
  min_window_s: number;
  windows: number;
  inferences_per_window: number;
  calibration_inferences: number;
}

export interface MlperfPerformanceRow extends MlperfWindowsRow {
  calibration_device_s: number;
  /** per window, device timer seconds, ';'-separated */
  window_device_s: string;
  window_wall_s: string;
  /** the device timer as read (QEMU: virtual time) */
  device_inferences_per_s: number;
  device_ms_per_inference: number;
  /** through the DUT's tick model (rig cost model on QEMU, the timer itself on a board) */
  inferences_per_s: number;
  ms_per_inference: number;
  cost_model: string;
  source: FigureSource;
}

export const MLPERF_PERFORMANCE_TABLE: Table<VariantRow<MlperfPerformanceRow>> = {
  file: 'mlperf_performance.csv',
  columns: [
    ...PROVENANCE_COLUMNS, 'variant', 'model', 'profile', 'input_sample', 'min_window_s', 'windows', 'inferences_per_window', 'calibration_inferences', 'calibration_device_s',
    'window_device_s', 'window_wall_s', 'device_inferences_per_s', 'device_ms_per_inference', 'inferences_per_s', 'ms_per_inference', 'cost_model', 'source',
  ],
};

const fmt = (x: number) => x.toFixed(3);

export const mlperfPerformanceExperiment: Experiment = {
  name: 'mlperf-performance',
  summary: 'MLPerf Tiny performance mode: windows of >= 10 s device time (--perf-window), median inferences/s of 5',
  tables: [MLPERF_PERFORMANCE_TABLE],
  requires: (run) => (protocolTraits(run.protocol).mlperfTiny ? undefined : `needs an mlperf-tiny device (--protocol mlperf-tiny); the run speaks ${run.protocol}`),
  async runVariant(ctx) {
    const device = ctx.session.device;
    if (!(device instanceof MlperfTinyDriver)) throw new HilError('performance mode needs the mlperf-tiny driver', ctx.session.dut.description);
    const minWindowSec = ctx.run.options.perfWindowSec ?? 10;
    const windows = 5;
    for (const m of ctx.models) {
      if (ctx.cancelled()) break;
      const data = modelTestSet(m);
      const id = ctx.session.modelId(m.name);
      await device.select(id);
      await device.upload(data.x.subarray(0, data.inputBytes));
      ctx.log.info(`mlperf-performance ${m.name}: calibrating for windows of >= ${minWindowSec} s device time`);
      const rep = await runPerformance(device.client, { minWindowSec, windows, warmup: 1, log: ctx.log.info });
      const ticks = ctx.session.ticks;
      // per-inference device timer ticks (us at 1 MHz) of the median window
      const perInfUs = 1e6 / rep.medianInferencesPerSec;
      const ms = ticks.ms((perInfUs * ctx.session.hello.timer_hz) / 1e6);
      const row: MlperfPerformanceRow = {
        ...ctx.provenance(data.sha256),
        model: m.name,
        profile: ctx.session.hello.mlperf?.profile ?? '',
        input_sample: 0,
        min_window_s: minWindowSec,
        windows,
        inferences_per_window: rep.inferences,
        calibration_inferences: rep.calibration.inferences,
        calibration_device_s: rep.calibration.deviceSec,
        window_device_s: rep.windowSec.map(fmt).join(';'),
        window_wall_s: rep.windowWallSec.map(fmt).join(';'),
        device_inferences_per_s: rep.medianInferencesPerSec,
        device_ms_per_inference: rep.msPerInference,
        inferences_per_s: 1000 / ms,
        ms_per_inference: ms,
        cost_model: ticks.description,
        source: ticks.source,
      };
      ctx.run.results.append(MLPERF_PERFORMANCE_TABLE, [{ ...row, variant: ctx.plan.variant }]);
    }
  },
  summarize(run) {
    const rows = run.results.rows(MLPERF_PERFORMANCE_TABLE);
    if (!rows.length) return undefined;
    const table = formatTable(
      ['model', 'profile', 'N/window', 'windows device s', 'median wall s', 'device inf/s', 'inf/s', 'ms/inf', 'source'],
      rows.map((r) => [
        r.model, r.profile, String(r.inferences_per_window), r.window_device_s.replace(/;/g, ' '), fmt(median(r.window_wall_s.split(';').map(Number))),
        r.device_inferences_per_s.toFixed(2), r.inferences_per_s.toFixed(2), r.ms_per_inference.toFixed(3), r.source,
      ]),
    );
    return `MLPerf Tiny performance mode (median of ${rows[0].windows} windows of >= ${rows[0].min_window_s} s device time)\n${table}`;
  },
};
