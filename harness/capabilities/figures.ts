/**
 * How a device's figures are made. Every result row carries `source`: `measured` (a cycle
 * counter or an instrument saw the real device) or `emulated-estimate` (an emulator's counts
 * costed with the rig's stated model). The DUT adapter decides; nothing else asks what it is.
 */
export type FigureSource = 'emulated-estimate' | 'measured';

/** The device's clock facts, as its handshake states them. */
export interface DeviceClock {
  clock_hz: number;
  timer: string;
  timer_hz: number;
}

/** How device timer ticks become instructions, cycles and time on one DUT. */
export interface TickModel {
  source: FigureSource;
  /** undefined where the timer counts cycles, not instructions (a real board) */
  instructions(ticks: number): number | undefined;
  cycles(ticks: number): number;
  ms(ticks: number): number;
  clockHz: number;
  /** one line for CSVs and the summary */
  description: string;
  /** instructions per tick, where instructions are counted */
  resolution?: number;
}
