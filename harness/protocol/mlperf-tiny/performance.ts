/**
 * MLPerf Tiny performance mode: each measurement window runs N inferences back to back and must
 * last at least 10 s of device time (the runner flags shorter windows); 5 windows are run and the
 * median throughput is the score. N comes from a calibration infer on the loaded input. The
 * window rule (runWindows) is shared with energy mode (energy.ts), which times windows by the
 * energy monitor instead of the device.
 */
import { HilError } from '../../util/errors.js';
import { median } from '../../util/stats.js';
import type { MlperfTinyClient } from './client.js';

export interface PerformanceOptions {
  /** the window rule: each window lasts at least this long on the device timer (MLPerf Tiny: 10 s) */
  minWindowSec?: number;
  /** windows to run (MLPerf Tiny: 5) */
  windows?: number;
  /** untimed warmup inferences before each window */
  warmup?: number;
  /** N is chosen this much above the calibrated minimum, so jitter cannot break the rule */
  margin?: number;
  log?: (line: string) => void;
}

export interface PerformanceReport {
  minWindowSec: number;
  /** inferences per window */
  inferences: number;
  calibration: { inferences: number; deviceSec: number };
  /** per window, from the device's m-lap-us stamps */
  windowSec: number[];
  /** per window, host wall clock of the whole infer command (warmups and output included) */
  windowWallSec: number[];
  inferencesPerSec: number[];
  medianInferencesPerSec: number;
  msPerInference: number;
}

/** One timed run of `count` inferences: its length by the mode's clock, and its host wall time. */
export interface TimedRun {
  seconds: number;
  wallMs: number;
}

export interface WindowPlan<R extends TimedRun> {
  inferences: number;
  calibration: { inferences: number; seconds: number };
  runs: R[];
}

/**
 * The window rule of both MLPerf Tiny modes: calibrate on at least a tenth of a window, choose N
 * so that each window lasts at least `minWindowSec` by the mode's clock (the device's m-lap-us
 * stamps in performance mode, the energy monitor's timestamps in energy mode), run `windows`
 * windows; a window shorter than the rule restarts them with a larger N (at most twice).
 */
export async function runWindows<R extends TimedRun>(
  run: (count: number, timeoutMs: number) => Promise<R>,
  options: PerformanceOptions,
  where: string,
): Promise<WindowPlan<R>> {
  const minWindowSec = options.minWindowSec ?? 10;
  const windows = options.windows ?? 5;
  const margin = options.margin ?? 1.1;
  const log = options.log ?? (() => undefined);
  if (!(minWindowSec > 0) || !Number.isInteger(windows) || windows < 1 || !(margin >= 1)) {
    throw new HilError(`needs minWindowSec > 0, windows >= 1, margin >= 1 (got ${minWindowSec}, ${windows}, ${margin})`, where);
  }
  let count = 1;
  let cal = await run(count, 30000);
  while (cal.seconds < minWindowSec / 10) {
    const next = Math.min(count * 1000, Math.max(count * 2, Math.ceil((count * minWindowSec) / 10 / Math.max(cal.seconds, 1e-9))));
    cal = await run(next, timeoutFor(cal.wallMs, count, next));
    count = next;
  }
  const calCount = count;
  let n = Math.ceil((minWindowSec * margin * count) / cal.seconds);
  log(`calibration: ${count} inferences in ${cal.seconds.toFixed(3)} s -> ${n} per window of >= ${minWindowSec} s`);
  for (let attempt = 0; attempt < 3; attempt++) {
    const runs: R[] = [];
    let short: number | undefined;
    for (let w = 0; w < windows; w++) {
      const r = await run(n, timeoutFor(cal.wallMs, calCount, n));
      runs.push(r);
      log(`window ${w + 1}: ${n} inferences in ${r.seconds.toFixed(3)} s (${(n / r.seconds).toFixed(3)} inf/s)`);
      if (r.seconds < minWindowSec) {
        short = r.seconds;
        break;
      }
    }
    if (short === undefined) return { inferences: n, calibration: { inferences: calCount, seconds: cal.seconds }, runs };
    log(`window of ${short.toFixed(3)} s < ${minWindowSec} s: raising N`);
    n = Math.ceil((n * minWindowSec * margin) / Math.max(short, 1e-9));
  }
  throw new HilError(`windows stay shorter than ${minWindowSec} s even with ${n} inferences: the window's time is not steady`, where);
}

/** Runs performance mode on the input already loaded into the device. */
export async function runPerformance(client: MlperfTinyClient, options: PerformanceOptions = {}): Promise<PerformanceReport> {
  const minWindowSec = options.minWindowSec ?? 10;
  const warmup = options.warmup ?? 1;
  const where = `${client.description}: performance mode`;
  const plan = await runWindows(
    async (count, timeoutMs) => {
      const r = await client.infer(count, warmup, { timeoutMs });
      if (r.elapsedUs === undefined) throw new HilError(`'infer ${count} ${warmup}' printed no m-lap-us start/end pair: is the device in energy mode?`, where);
      return { seconds: Math.max(r.elapsedUs, 1) / 1e6, wallMs: r.wallMs };
    },
    options,
    where,
  );
  const n = plan.inferences;
  const windowSec = plan.runs.map((r) => r.seconds);
  const inferencesPerSec = windowSec.map((s) => n / s);
  const med = median(inferencesPerSec);
  return {
    minWindowSec,
    inferences: n,
    calibration: { inferences: plan.calibration.inferences, deviceSec: plan.calibration.seconds },
    windowSec,
    windowWallSec: plan.runs.map((r) => r.wallMs / 1e3),
    inferencesPerSec,
    medianInferencesPerSec: med,
    msPerInference: 1000 / med,
  };
}

/** Generous timeout for `count` inferences from a calibration that took `wallMs` for `calCount`. */
function timeoutFor(wallMs: number, calCount: number, count: number): number {
  return Math.max(30000, Math.ceil((5 * wallMs * count) / calCount));
}
