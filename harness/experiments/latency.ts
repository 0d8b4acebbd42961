/**
 * Latency: N timed runs per model after W warm-up runs, on a few real test inputs.
 * On an emulated rig the device timer counts virtual time, which -icount ties to retired
 * instructions exactly; cycles and milliseconds are then estimates from the rig's cost model.
 */
import { loadPrepared } from '../datasets/prepared.js';
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
  instructions_median: number;
  instructions_min: number;
  instructions_max: number;
  instructions_resolution: number;
  cycles_median: number;
  ms_median: number;
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
  return `${cost.core} @ ${(cost.clock_hz / 1e6).toFixed(0)} MHz, CPI ${cost.cpi}`;
}

export async function runLatency(ctx: ExperimentContext, options: LatencyOptions = {}): Promise<LatencyRow[]> {
  const runs = options.runs ?? 10;
  const warmup = options.warmup ?? 2;
  const inputs = options.inputs ?? 3;
  const { rig, hello } = ctx.session;
  const cost = rig.estimate;
  if (!cost) throw new HilError('estimate: an emulated rig needs a cost model to turn instructions into time', rig.file);
  const shift = rig.dut.icount_shift ?? 0;
  const resolution = ticksToInstructions(1, hello.timer_hz, shift);
  const rows: LatencyRow[] = [];
  const progress = ctx.log.progress('latency', ctx.models.length * inputs);
  for (const model of ctx.models) {
    const data = loadPrepared(model.dataset, 'test');
    const id = ctx.session.modelId(model.name);
    const instructions: number[] = [];
    for (let i = 0; i < Math.min(inputs, data.count) && !ctx.cancelled(); i++) {
      await ctx.session.client.upload(data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes));
      const result = await ctx.session.client.infer(id, runs, warmup, 60000);
      for (const t of result.ticks) instructions.push(ticksToInstructions(t, hello.timer_hz, shift));
      progress.tick();
    }
    if (instructions.length === 0) break;
    const toMs = (instr: number) => ((instr * cost.cpi) / cost.clock_hz) * 1000;
    const med = median(instructions);
    const row: LatencyRow = {
      ...ctx.provenance(data.sha256),
      model: model.name,
      inputs: Math.min(inputs, data.count),
      runs,
      warmup,
      instructions_median: Math.round(med),
      instructions_min: Math.round(Math.min(...instructions)),
      instructions_max: Math.round(Math.max(...instructions)),
      instructions_resolution: resolution,
      cycles_median: Math.round(med * cost.cpi),
      ms_median: toMs(med),
      ms_p10: toMs(quantile(instructions, 0.1)),
      ms_p90: toMs(quantile(instructions, 0.9)),
      clock_hz: cost.clock_hz,
      cost_model: describeCostModel(cost),
      source: 'emulated-estimate',
    };
    rows.push(row);
    options.onRow?.(row);
  }
  progress.stop();
  return rows;
}
