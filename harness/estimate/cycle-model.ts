/**
 * The instruction-class cycle model: turns one marker window's counts (harness/estimate/plugin.ts)
 * into estimated core cycles with the rig's `estimate.class_model`:
 *
 *   cycles = sum over classes (count x cost) + LDM/STM words x word cost
 *          + discontinuities (taken branches, returns, exceptions) x refill
 *          + flash wait states x (data-cache misses on flash reads
 *                                 + instruction-fetch misses not hidden by the prefetcher)
 *
 * Fetches and reads that hit the flash cache, and every SRAM access, cost no wait state. The
 * model ignores bus contention, write-buffer stalls, register dependencies other than the
 * load-after-load address one, and interrupt latency.
 */
import type { TickModel } from '../capabilities/figures.js';
import type { ClassCostModel, CostModel } from '../rig/rig.js';
import { INSTRUCTION_CLASSES, type WindowCounts } from './plugin.js';

export interface CycleEstimate {
  cycles: number;
  /** cycles by term: each instruction class, ldm/stm words, taken, flash_data, flash_fetch */
  breakdown: Record<string, number>;
  /** cycles spent waiting for flash (data + fetch) */
  flashCycles: number;
}

export function estimateCycles(w: WindowCounts, model: ClassCostModel): CycleEstimate {
  const c = model.classes;
  const costOf: Record<(typeof INSTRUCTION_CLASSES)[number], number> = {
    alu: c.alu,
    load: c.load,
    load_pipe: c.load_pipelined,
    store: c.store,
    ldm: c.ldm,
    stm: c.stm,
    mul: c.mul,
    mull: c.mull,
    div: c.div,
    branch: c.branch,
    other: c.other,
  };
  const breakdown: Record<string, number> = {};
  for (const k of INSTRUCTION_CLASSES) breakdown[k] = w[k] * costOf[k];
  breakdown.ldm_words = w.ldm_words * c.ldm_word;
  breakdown.stm_words = w.stm_words * c.stm_word;
  breakdown.taken = w.taken * c.taken;
  const ws = model.flash.wait_states;
  const hidden = (model.flash.prefetch_hides ?? 0) * w.fetch_miss_seq;
  breakdown.flash_data = w.flash_dmiss * ws;
  breakdown.flash_fetch = Math.max(0, w.fetch_miss - hidden) * ws;
  const cycles = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return { cycles, breakdown, flashCycles: breakdown.flash_data + breakdown.flash_fetch };
}

/** The class model's parameters in one line (for the CSV's cost_model column). */
export function describeClassModel(cost: CostModel): string {
  const m = cost.class_model;
  if (!m) return '';
  const c = m.classes;
  return (
    `instruction classes (alu ${c.alu}, ld ${c.load}/${c.load_pipelined} pipelined, st ${c.store}, mac ${c.mul}, div ${c.div}, ` +
    `br ${c.branch} +${c.taken} taken) + ${m.flash.wait_states} flash WS per cache miss`
  );
}

/** Share of the window's data accesses that go to flash, and of its loads. */
export function flashShare(w: WindowCounts): { ofAccesses: number; ofReads: number } {
  const reads = w.r_flash + w.r_sram + w.r_periph + w.r_other;
  const all = reads + w.w_flash + w.w_sram + w.w_periph + w.w_other;
  return { ofAccesses: all ? (w.r_flash + w.w_flash) / all : 0, ofReads: reads ? w.r_flash / reads : 0 };
}

/** Converts device timer ticks to instructions for an emulated rig (-icount shift=N). */
export function ticksToInstructions(ticks: number, timerHz: number, icountShift: number): number {
  return (ticks * 1e9) / timerHz / 2 ** icountShift;
}

export function describeCostModel(cost: CostModel): string {
  const cpi = `${cost.core} @ ${(cost.clock_hz / 1e6).toFixed(0)} MHz, CPI ${cost.cpi}`;
  return cost.class_model ? `${cpi}; *_class_model: ${describeClassModel(cost)}` : cpi;
}

/**
 * Figures of an emulated device: its timer counts virtual time, which -icount ties to retired
 * instructions; cycles and time are estimates from the rig's stated cost model.
 */
export function emulatedTickModel(cost: CostModel, timerHz: number, icountShift: number): TickModel {
  const instr = (t: number) => ticksToInstructions(t, timerHz, icountShift);
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
