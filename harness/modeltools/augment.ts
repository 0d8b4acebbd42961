/**
 * Seeded training-time augmentation for small time-series sets (zoo entries opt in): a random
 * shift along the time axis (edges replicated) and a random gain. Applied to the dequantised
 * float input only; evaluation and calibration never see it.
 */
import type { Rng } from './nn/prng.js';
import type { Shape3 } from './nn/types.js';

export interface AugmentSpec {
  /** which tensor axis is time: 'h' for [T, F, 1] spectrograms, 'w' for [1, T, C] signals */
  timeAxis: 'h' | 'w';
  /** shift uniformly in [-maxShift, maxShift] time steps */
  maxShift: number;
  /** multiply by a gain uniform in [1 - gain, 1 + gain] (0: off) */
  gain: number;
}

export function makeAugment(spec: AugmentSpec, shape: Shape3): (x: Float32Array, rng: Rng) => void {
  const [H, W, C] = shape;
  const steps = spec.timeAxis === 'h' ? H : W;
  // one time step = a contiguous row of `row` values in NHWC whichever axis is time, when the
  // other spatial axis is 1 ([1, T, C]) or time is the outer axis ([T, F, C])
  if (spec.timeAxis === 'w' && H !== 1) throw new Error(`augment: time axis 'w' needs H = 1, got [${shape.join(', ')}]`);
  const row = spec.timeAxis === 'h' ? W * C : C;
  const tmp = new Float32Array(H * W * C);
  return (x, rng) => {
    const shift = rng.int(2 * spec.maxShift + 1) - spec.maxShift;
    const g = spec.gain > 0 ? 1 - spec.gain + 2 * spec.gain * rng.next() : 1;
    if (shift === 0 && g === 1) return;
    tmp.set(x);
    for (let t = 0; t < steps; t++) {
      const src = Math.min(steps - 1, Math.max(0, t - shift)); // edge replicate
      for (let k = 0; k < row; k++) x[t * row + k] = g * tmp[src * row + k];
    }
  };
}
