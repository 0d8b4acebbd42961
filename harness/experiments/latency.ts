/**
 * Latency: N timed runs per model after W warm-up runs, on a few real test inputs.
 * On an emulated rig the device timer counts virtual time, which -icount ties to retired
 * instructions exactly; cycles and milliseconds are then estimates from the rig's cost model.
 */
import { loadPrepared } from '../datasets/prepared.js';
import { describeClassModel, estimateCycles } from '../estimate/cycle-model.js';
import type { WindowSource } from '../estimate/plugin.js';
import type { CostModel } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import type { ExperimentContext, Provenance } from './context.js';
import { median, quantile } from './stats.js';

export type FigureSource = 'emulated-estimate' | 'measured';

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

/** Converts device timer ticks to instructions for an emulated rig (-icount shift=N). */
export function ticksToInstructions(ticks: number, timerHz: number, icountShift: number): number {
  return (ticks * 1e9) / timerHz / 2 ** icountShift;
}

export function describeCostModel(cost: CostModel): string {
  const cpi = `${cost.core} @ ${(cost.clock_hz / 1e6).toFixed(0)} MHz, CPI ${cost.cpi}`;
  return cost.class_model ? `${cpi}; *_class_model: ${describeClassModel(cost)}` : cpi;
}

/** The plugin's marker windows, when the session's DUT runs QEMU with the class model. */
function windowSource(ctx: ExperimentContext): WindowSource | undefined {
  if (ctx.session.rig.dut.kind !== 'qemu' || !ctx.session.rig.estimate?.class_model) return undefined;
  return (ctx.session.dut as { windows?: WindowSource }).windows;
}

/**
 * How device timer ticks become figures on this rig: on QEMU the timer counts virtual time
 * (= instructions under -icount) and time is an estimate from the rig's cost model; on a real
 * board the timer is the DWT cycle counter, so cycles and time are measured.
 */
export interface TickModel {
  source: FigureSource;
  instructions(ticks: number): number | undefined;
  cycles(ticks: number): number;
  ms(ticks: number): number;
  clockHz: number;
  description: string;
  resolution?: number;
}

export function tickModel(ctx: ExperimentContext): TickModel {
  const { rig, hello } = ctx.session;
  if (rig.dut.kind === 'board') {
    return {
      source: 'measured',
      instructions: () => undefined,
      cycles: (t) => (t * hello.clock_hz) / hello.timer_hz,
      ms: (t) => (t / hello.timer_hz) * 1000,
      clockHz: hello.clock_hz,
      description: `${hello.timer} cycle counter @ ${(hello.clock_hz / 1e6).toFixed(0)} MHz`,
    };
  }
  const cost = rig.estimate;
  if (!cost) throw new HilError('estimate: an emulated rig needs a cost model to turn instructions into time', rig.file);
  const shift = rig.dut.icount_shift ?? 0;
  const instr = (t: number) => ticksToInstructions(t, hello.timer_hz, shift);
  return {
    source: 'emulated-estimate',
    instructions: instr,
    cycles: (t) => instr(t) * cost.cpi,
    ms: (t) => ((instr(t) * cost.cpi) / cost.clock_hz) * 1000,
    clockHz: cost.clock_hz,
    description: describeCostModel(cost),
    resolution: instr(1),
  };
}

export async function runLatency(ctx: ExperimentContext, options: LatencyOptions = {}): Promise<LatencyRow[]> {
  const runs = options.runs ?? 10;
  const warmup = options.warmup ?? 2;
  const inputs = options.inputs ?? 3;
  const model = tickModel(ctx);
  const rows: LatencyRow[] = [];
  const progress = ctx.log.progress('latency', ctx.models.length * inputs);
  for (const m of ctx.models) {
    const data = loadPrepared(m.dataset, 'test');
    const id = ctx.session.modelId(m.name);
    await ctx.session.client.select(id); // loads it on the int8-ext baseline; a pointer change otherwise
    const ticks: number[] = [];
    const classCycles: number[] = [];
    const windows = windowSource(ctx);
    const classModel = ctx.session.rig.estimate?.class_model;
    let classOk = windows !== undefined && classModel !== undefined;
    await windows?.drain(); // windows of other commands (e.g. SELECT) are not this model's runs
    const n = Math.min(inputs, data.count);
    for (let i = 0; i < n && !ctx.cancelled(); i++) {
      await ctx.session.client.upload(data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes));
      const result = await ctx.session.client.infer(id, runs, warmup, 60000);
      ticks.push(...result.ticks);
      if (windows && classModel && classOk) {
        // one window per timed run, closed before the reply was sent: the last `runs` ones
        const got = (await windows.drain(result.ticks.length)).slice(-result.ticks.length);
        const res = model.resolution ?? 0;
        // a window spans the timed region plus the few instructions between marker and timer reads
        const matches = got.length === result.ticks.length &&
          got.every((w, k) => Math.abs(w.insns - (model.instructions(result.ticks[k]) ?? 0)) <= res + 64);
        if (matches) classCycles.push(...got.map((w) => estimateCycles(w, classModel).cycles));
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
