/**
 * MLPerf Tiny performance mode: each measurement window runs N inferences back to back and must
 * last at least 10 s of device time (the runner flags shorter windows); 5 windows are run and the
 * median throughput is the score. N comes from a calibration infer on the loaded input.
 */
import { HilError } from '../../util/errors.js';
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

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs performance mode on the input already loaded into the device. */
export async function runPerformance(client: MlperfTinyClient, options: PerformanceOptions = {}): Promise<PerformanceReport> {
  const minWindowSec = options.minWindowSec ?? 10;
  const windows = options.windows ?? 5;
  const warmup = options.warmup ?? 1;
  const margin = options.margin ?? 1.1;
  const log = options.log ?? (() => undefined);
  const where = `${client.description}: performance mode`;
  if (!(minWindowSec > 0) || !Number.isInteger(windows) || windows < 1 || !(margin >= 1)) {
    throw new HilError(`needs minWindowSec > 0, windows >= 1, margin >= 1 (got ${minWindowSec}, ${windows}, ${margin})`, where);
  }
  const minUs = minWindowSec * 1e6;
  const elapsed = (r: { elapsedUs?: number }, cmd: string): number => {
    if (r.elapsedUs === undefined) throw new HilError(`'${cmd}' printed no m-lap-us start/end pair: is the device in energy mode?`, where);
    return Math.max(r.elapsedUs, 1);
  };

  // Calibrate on at least a tenth of a window, so the per-inference time is well resolved.
  let count = 1;
  let cal = await client.infer(count, warmup);
  let calUs = elapsed(cal, `infer ${count} ${warmup}`);
  while (calUs < minUs / 10) {
    count = Math.min(count * 1000, Math.max(count * 2, Math.ceil((count * minUs) / 10 / calUs)));
    cal = await client.infer(count, warmup, { timeoutMs: timeoutFor(cal.wallMs, cal.count, count) });
    calUs = elapsed(cal, `infer ${count} ${warmup}`);
  }
  let n = Math.ceil((minUs * margin * count) / calUs);
  log(`calibration: ${count} inferences in ${(calUs / 1e6).toFixed(3)} s -> ${n} per window of >= ${minWindowSec} s`);

  // A window shorter than the rule restarts the windows with a larger N (at most twice).
  for (let attempt = 0; attempt < 3; attempt++) {
    const windowSec: number[] = [];
    const windowWallSec: number[] = [];
    let short: number | undefined;
    for (let w = 0; w < windows; w++) {
      const r = await client.infer(n, warmup, { timeoutMs: timeoutFor(cal.wallMs, cal.count, n) });
      const us = elapsed(r, `infer ${n} ${warmup}`);
      windowSec.push(us / 1e6);
      windowWallSec.push(r.wallMs / 1e3);
      log(`window ${w + 1}: ${n} inferences in ${(us / 1e6).toFixed(3)} s (${(n / (us / 1e6)).toFixed(3)} inf/s)`);
      if (us < minUs) {
        short = us;
        break;
      }
    }
    if (short === undefined) {
      const inferencesPerSec = windowSec.map((s) => n / s);
      const med = median(inferencesPerSec);
      return {
        minWindowSec,
        inferences: n,
        calibration: { inferences: count, deviceSec: calUs / 1e6 },
        windowSec,
        windowWallSec,
        inferencesPerSec,
        medianInferencesPerSec: med,
        msPerInference: 1000 / med,
      };
    }
    log(`window of ${(short / 1e6).toFixed(3)} s < ${minWindowSec} s: raising N`);
    n = Math.ceil((n * minUs * margin) / short);
  }
  throw new HilError(`windows stay shorter than ${minWindowSec} s even with ${n} inferences: the device time is not steady`, where);
}

/** Generous timeout for `count` inferences from a calibration that took `wallMs` for `calCount`. */
function timeoutFor(wallMs: number, calCount: number, count: number): number {
  return Math.max(30000, Math.ceil((5 * wallMs * count) / calCount));
}
