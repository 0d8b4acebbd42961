/**
 * Latency: N timed runs per model after W warm-up runs, on a few real test inputs.
 * On an emulated rig the device timer counts virtual time, which -icount ties to retired
 * instructions exactly; cycles and milliseconds are then estimates from the rig's cost model.
 */
import { modelTestSet } from '../datasets/model-data.js';
import type { FigureSource } from '../capabilities/figures.js';
import { estimateCycles } from '../estimate/cycle-model.js';
import { PROVENANCE_COLUMNS, type ExperimentContext, type Provenance } from './context.js';
import type { Experiment, Table, VariantRow } from './experiment.js';
import { modelTable } from './model-table.js';
import { median, quantile } from '../util/stats.js';

export interface LatencyRow extends Provenance {
  model: string;
  inputs: number;
  runs: number;
  warmup: number;
  /** Empty on a real board, which counts cycles, not instructions. */
  instructions_median: number | '';
  instructions_min: number | '';
  instructions_max: number | '';
  instructions_resolution: number | '';
  cycles_median: number;
  ms_median: number;
  /**
   * Median cycles / ms of the timed runs from the instruction-class model (rig
   * `estimate.class_model`, counts from the QEMU plugin's marker windows). Empty on a real board
   * (cycles are measured there) and on rigs without a class model.
   */
  cycles_class_model: number | '';
  ms_class_model: number | '';
  ms_p10: number;
  ms_p90: number;
  clock_hz: number;
  cost_model: string;
  source: FigureSource;
}

export interface LatencyOptions {
  runs?: number;
  warmup?: number;
  /** How many different test inputs to time. */
  inputs?: number;
  onRow?: (row: LatencyRow) => void;
}

export async function runLatency(ctx: ExperimentContext, options: LatencyOptions = {}): Promise<LatencyRow[]> {
  const runs = options.runs ?? 10;
  const warmup = options.warmup ?? 2;
  const inputs = options.inputs ?? 3;
  const model = ctx.session.ticks;
  const rows: LatencyRow[] = [];
  const progress = ctx.log.progress('latency', ctx.models.length * inputs);
  for (const m of ctx.models) {
    const data = modelTestSet(m);
    const id = ctx.session.modelId(m.name);
    await ctx.session.device.select(id); // loads it on the int8-ext baseline; a pointer change otherwise
    const ticks: number[] = [];
    const classModel = ctx.session.rig.estimate?.class_model;
    const classCycles: number[] = [];
    const windows = classModel ? ctx.session.dut.windows : undefined;
    let classOk = windows !== undefined && classModel !== undefined;
    await windows?.drain(); // windows of other commands (e.g. SELECT) are not this model's runs
    const n = Math.min(inputs, data.count);
    for (let i = 0; i < n && !ctx.cancelled(); i++) {
      await ctx.session.device.upload(data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes));
      // runs + warmup inferences before one reply: the timeout grows with them
      const result = await ctx.session.device.infer(id, runs, warmup, (ctx.session.rig.link.reply_timeout_ms ?? 5000) * (runs + warmup));
      ticks.push(...result.ticks);
      if (windows && classModel && classOk) {
        // one window per timed run, closed before the reply was sent: the last `runs` ones
        const n = result.ticks.length;
        const got = (await windows.drain(n)).slice(-n);
        const res = model.resolution ?? 0;
        // a window spans the timed region plus the few instructions between marker and timer reads
        const matches = got.length === n &&
          got.every((w, k) => Math.abs(w.insns - (model.instructions(result.ticks[k]) ?? 0)) <= res + 64);
        // a protocol that times all runs between two stamps (mlperf-tiny) marks them as one window
        const whole = got.length === 1 && n > 1 && Math.abs(got[0].insns - (model.instructions(result.ticks.reduce((a, b) => a + b, 0)) ?? 0)) <= res + 64 * n;
        if (matches) classCycles.push(...got.map((w) => estimateCycles(w, classModel).cycles));
        else if (whole) classCycles.push(...new Array<number>(n).fill(estimateCycles(got[0], classModel).cycles / n));
        else {
          classOk = false;
          ctx.log.warn(`latency ${m.name}: cycle plugin windows do not match the timed runs; class-model columns left empty`);
        }
      }
      progress.tick();
    }
    if (ticks.length === 0) break;
    const med = median(ticks);
    const instr = (t: number) => {
      const v = model.instructions(t);
      return v === undefined ? '' : Math.round(v);
    };
    const row: LatencyRow = {
      ...ctx.provenance(data.sha256),
      model: m.name,
      inputs: n,
      runs,
      warmup,
      instructions_median: instr(med),
      instructions_min: instr(Math.min(...ticks)),
      instructions_max: instr(Math.max(...ticks)),
      instructions_resolution: model.resolution ?? '',
      cycles_median: Math.round(model.cycles(med)),
      ms_median: model.ms(med),
      ms_p10: model.ms(quantile(ticks, 0.1)),
      ms_p90: model.ms(quantile(ticks, 0.9)),
      cycles_class_model: classOk && classCycles.length ? Math.round(median(classCycles)) : '',
      ms_class_model: classOk && classCycles.length ? (median(classCycles) / model.clockHz) * 1000 : '',
      clock_hz: model.clockHz,
      cost_model: model.description,
      source: model.source,
    };
    rows.push(row);
    options.onRow?.(row);
  }
  progress.stop();
  return rows;
}

export const LATENCY_TABLE: Table<VariantRow<LatencyRow>> = {
  file: 'latency.csv',
  columns: [
    ...PROVENANCE_COLUMNS, 'variant', 'model', 'inputs', 'runs', 'warmup', 'instructions_median', 'instructions_min', 'instructions_max', 'instructions_resolution',
    'cycles_median', 'ms_median', 'ms_p10', 'ms_p90', 'cycles_class_model', 'ms_class_model', 'clock_hz', 'cost_model', 'source',
  ],
};

export const latencyExperiment: Experiment = {
  name: 'latency',
  summary: 'timed runs per model on a few test inputs: instructions, cycles and ms (measured or estimated)',
  tables: [LATENCY_TABLE],
  // the class-model columns come from the emulator's instruction-class windows
  needs: { instructionWindows: true },
  async runVariant(ctx) {
    const variant = ctx.plan.variant;
    const { latencyRuns: runs, latencyWarmup: warmup } = ctx.run.options;
    await runLatency(ctx, { runs, warmup, onRow: (row) => ctx.run.results.append(LATENCY_TABLE, [{ ...row, variant }]) });
  },
  // with accuracy the per-model table is accuracy's
  summarize: (run, chosen) => (chosen.includes('accuracy') ? undefined : modelTable(run, [], run.results.rows(LATENCY_TABLE))),
};
