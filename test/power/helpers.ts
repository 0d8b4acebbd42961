/** Shared steps of the power-monitor tests: a pty pair per test, one capture, error capture. */
import { expect } from 'chai';
import type { Capture, PowerMonitor, PowerMonitorConfig } from '../../harness/capabilities/power-monitor.js';
import { HilError } from '../../harness/util/errors.js';
import { openPtyPair, type PtyPair } from '../sims/pty-pair.js';
import { delay } from '../sims/sim-port.js';

export interface Sim {
  open(): Promise<void>;
  close(): Promise<void>;
  played: Promise<void>;
}

/** Opens, configures, captures until the simulator has played its waveform, stops, closes. */
export async function capture(mon: PowerMonitor, sim: Sim, config: PowerMonitorConfig): Promise<Capture> {
  await sim.open();
  try {
    await mon.open();
    await mon.configure(config);
    await mon.startCapture();
    await sim.played;
    await delay(30); // the last bytes cross the pty
    return await mon.stopCapture();
  } finally {
    await mon.close();
    await sim.close();
  }
}

export async function hilErrorOf(p: Promise<unknown>): Promise<HilError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  expect.fail('expected a HilError');
}

/** One fresh socat pty pair per test (socat exits when an end closes). */
export function withPty(): { pair: () => PtyPair } {
  let pair: PtyPair | undefined;
  beforeEach(async () => {
    pair = await openPtyPair();
  });
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });
  return {
    pair: () => {
      if (!pair) throw new Error('no pty pair');
      return pair;
    },
  };
}

/** Relative error, for the figures the tests print. */
export const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
