/**
 * Post-training int8 quantization to `yono-int8/1` (firmware/SPEC.md):
 * - weights: symmetric per output channel, scale = max|w| / 127, values in [-127, 127];
 * - bias: int32 at scale in_scale * w_scale[oc];
 * - activations: asymmetric per tensor from min/max over calibration samples (range widened to
 *   include 0 so real 0 is exact, which zero padding and ReLU need);
 * - ReLU fused via act_min = out_zp; maxpool/avgpool2d/flatten keep the input quantization (an
 *   average stays inside its inputs' range, so avgpool2d's requant is just 1/(kh*kw));
 * - requant multiplier/shift: M * 2^-s ~= real, 16384 <= M < 32768, 1 <= s <= 46.
 */
import { HilError } from '../util/errors.js';
import type { Int8Layer, Int8Model, Shape3 } from './int8-model.js';
import { Conv2d } from './nn/conv2d.js';
import { DepthwiseConv2d } from './nn/depthwise.js';
import { AvgPool2d, Dense, GlobalAvgPool, MaxPool2d } from './nn/layers.js';
import { Sequential } from './nn/model.js';
import { dequantize, Int8Data } from './nn/trainer.js';
import { Rng } from './nn/prng.js';

export interface QParams {
  scale: number;
  zero_point: number;
}

/** M and s with M * 2^-s closest to real (round to nearest M). */
export function quantizeMultiplier(real: number): { multiplier: number; shift: number } {
  if (!(real > 0) || !Number.isFinite(real)) throw new Error(`requant multiplier must be positive, got ${real}`);
  let s = 14 - Math.floor(Math.log2(real));
  let m = Math.round(real * 2 ** s);
  // log2 may be off by one near powers of two, and rounding may reach 2^15
  while (m >= 32768) m = Math.round(real * 2 ** --s);
  while (m < 16384) m = Math.round(real * 2 ** ++s);
  if (s < 1 || s > 46) throw new Error(`requant multiplier ${real} not representable (shift ${s} outside 1..46)`);
  return { multiplier: m, shift: s };
}

/**
 * TFLite's QuantizeMultiplier (tensorflow/lite/kernels/internal/quantization_util.cc) for the
 * `tflite-*` arithmetics (SPEC section 3): real = multiplier * 2^(shift - 31), multiplier in
 * [2^30, 2^31); 0 gives (0, 0), and so does a multiplier too small to represent (shift < -31:
 * every product would round to 0; e.g. a dead channel whose weight scale is 0 or tiny).
 */
export function quantizeMultiplierQ31(real: number): { multiplier: number; shift: number } {
  if (!(real >= 0) || !Number.isFinite(real)) throw new Error(`requant multiplier must be >= 0, got ${real}`);
  if (real === 0) return { multiplier: 0, shift: 0 };
  // frexp: real = q * 2^e, 0.5 <= q < 1 (division by a power of two is exact)
  let e = Math.floor(Math.log2(real)) + 1;
  let q = real / 2 ** e;
  while (q >= 1) q = real / 2 ** ++e;
  while (q < 0.5) q = real / 2 ** --e;
  let m = Math.round(q * 2 ** 31); // q > 0: std::round (half away from zero) = Math.round
  if (m === 2 ** 31) {
    m /= 2;
    e++;
  }
  if (e < -31) return { multiplier: 0, shift: 0 };
  if (e > 30) throw new Error(`requant multiplier ${real} too large (shift ${e} > 30)`);
  return { multiplier: m, shift: e };
}

/**
 * TFLite's int8 MEAN multiplier for n values per output (reference_ops::QuantizedMeanOrSum, as
 * TFLite Micro's EvalIntegerMean uses it): (M, s) = QuantizeMultiplier(in_scale / out_scale), then
 * k = min(floor(log2 n), 32, 31 + s), M' = trunc(M * 2^k / n) (int64), s' = s - k. M' may be below 2^30.
 */
export function tfliteMeanMultiplier(ratio: number, n: number): { multiplier: number; shift: number } {
  const q = quantizeMultiplierQ31(ratio);
  if (!Number.isInteger(n) || n < 1) throw new Error(`mean over ${n} values`);
  const k = Math.min(Math.floor(Math.log2(n)), 32, 31 + q.shift);
  return { multiplier: Number((BigInt(q.multiplier) << BigInt(k)) / BigInt(n)), shift: q.shift - k };
}

/** Asymmetric int8 parameters for a real range (always containing 0). */
export function chooseQParams(lo: number, hi: number): QParams {
  const min = Math.min(lo, 0);
  const max = Math.max(hi, 0);
  if (max - min < 1e-12) return { scale: 1, zero_point: 0 };
  const scale = (max - min) / 255;
  const zp = Math.round(-128 - min / scale);
  return { scale, zero_point: Math.max(-128, Math.min(127, zp)) };
}

/** Per-layer min/max of the float model's outputs over the calibration samples. */
export function calibrate(model: Sequential, data: Int8Data, samples: number, seed: number): { lo: number[]; hi: number[] } {
  const n = model.layers.length;
  const lo = new Array<number>(n).fill(Infinity);
  const hi = new Array<number>(n).fill(-Infinity);
  const idx = new Int32Array(data.count);
  for (let i = 0; i < data.count; i++) idx[i] = i;
  new Rng(seed).shuffle(idx);
  const input = new Float32Array(data.inputBytes);
  for (let s = 0; s < Math.min(samples, data.count); s++) {
    let h = dequantize(data, idx[s], input);
    model.layers.forEach((l, k) => {
      h = l.forward(h);
      for (let i = 0; i < h.length; i++) {
        if (h[i] < lo[k]) lo[k] = h[i];
        if (h[i] > hi[k]) hi[k] = h[i];
      }
    });
  }
  return { lo, hi };
}

export interface QuantizeOptions {
  name: string;
  dataset: string;
  input: QParams;
  calibration: Int8Data;
  calibrationSamples: number;
  seed: number;
  /** YONO pq fine-tuning: conv2d/dense layers (float layer index) whose int8 weights and
   * per-channel weight scales are fixed (decoded codewords); bias and requant follow them. */
  fixedWeights?: (layerIndex: number) => { weights: number[]; scales: number[] } | undefined;
}

export function quantizeModel(model: Sequential, o: QuantizeOptions): Int8Model {
  const where = `quantize ${o.name}`;
  const { lo, hi } = calibrate(model, o.calibration, o.calibrationSamples, o.seed);
  const layers: Int8Layer[] = [];
  let q: QParams = o.input;
  const L = model.layers;
  for (let i = 0; i < L.length; i++) {
    const l = L[i];
    const fusedRelu = L[i + 1]?.op === 'relu';
    const outIdx = fusedRelu ? i + 1 : i;
    try {
      if (l instanceof Conv2d || l instanceof Dense || l instanceof DepthwiseConv2d) {
        const outQ = chooseQParams(lo[outIdx], hi[outIdx]);
        const oc = l instanceof Dense ? l.outFeatures : l.outShape[2];
        // depthwise weights are [kh][kw][oc]: channel c's j-th weight at j * oc + c
        const at = l instanceof DepthwiseConv2d ? (c: number, j: number) => j * oc + c : undefined;
        const fixed = o.fixedWeights?.(i);
        const ch = fixed ? fixedChannels(fixed, l.bias.w, q.scale, outQ.scale) : quantizeChannels(l.weight.w, l.bias.w, oc, q.scale, outQ.scale, at);
        const common = {
          in_zp: q.zero_point,
          out_zp: outQ.zero_point,
          act_min: fusedRelu ? Math.max(outQ.zero_point, -128) : -128,
          act_max: 127,
          ...ch,
        };
        if (l instanceof DepthwiseConv2d) {
          layers.push({
            op: 'depthwise_conv2d', in_shape: l.inShape as Shape3, out_shape: l.outShape as Shape3,
            kh: l.kh, kw: l.kw, stride_h: l.strideH, stride_w: l.strideW, pad_top: l.padTop, pad_left: l.padLeft,
            depth_multiplier: l.depthMultiplier,
            ...common,
          });
        } else if (l instanceof Conv2d) {
          layers.push({
            op: 'conv2d', in_shape: l.inShape as Shape3, out_shape: l.outShape as Shape3,
            kh: l.kh, kw: l.kw, stride_h: l.strideH, stride_w: l.strideW, pad_top: l.padTop, pad_left: l.padLeft,
            ...common,
          });
        } else {
          layers.push({ op: 'dense', in_features: l.inFeatures, out_features: l.outFeatures, ...common });
        }
        q = outQ;
        if (fusedRelu) i++;
      } else if (l instanceof MaxPool2d) {
        layers.push({
          op: 'maxpool2d', in_shape: l.inShape as Shape3, out_shape: l.outShape as Shape3,
          kh: l.kh, kw: l.kw, stride_h: l.strideH, stride_w: l.strideW,
        });
      } else if (l instanceof AvgPool2d) {
        layers.push({
          op: 'avgpool2d', in_shape: l.inShape as Shape3, out_shape: l.outShape as Shape3,
          kh: l.kh, kw: l.kw, stride_h: l.strideH, stride_w: l.strideW,
          in_zp: q.zero_point, out_zp: q.zero_point, ...quantizeMultiplier(1 / (l.kh * l.kw)),
        });
      } else if (l instanceof GlobalAvgPool) {
        const outQ = chooseQParams(lo[i], hi[i]);
        const n = l.inShape[0] * l.inShape[1];
        const { multiplier, shift } = quantizeMultiplier(q.scale / (outQ.scale * n));
        layers.push({
          op: 'avgpool_global', in_shape: l.inShape as Shape3, out_shape: l.outShape as Shape3,
          in_zp: q.zero_point, out_zp: outQ.zero_point, multiplier, shift,
        });
        q = outQ;
      } else if (l.op === 'flatten') {
        // NHWC is already in flatten order: nothing to emit
      } else {
        throw new Error(`op '${l.op}' cannot be quantized here (ReLU must follow conv2d/dense)`);
      }
    } catch (e) {
      if (e instanceof HilError) throw e;
      throw new HilError(`layer ${i} (${l.op}): ${(e as Error).message}`, where);
    }
  }
  return {
    format: 'yono-int8/1',
    name: o.name,
    dataset: o.dataset,
    classes: model.outputShape[2],
    input: { shape: model.inputShape as Shape3, scale: o.input.scale, zero_point: o.input.zero_point },
    output: q,
    layers,
  };
}

/**
 * Per-output-channel symmetric int8 weights, int32 bias and requant constants. `at(c, k)` is
 * the index of channel c's k-th weight (default [oc][K] rows).
 */
function quantizeChannels(
  w: Float32Array, b: Float32Array, oc: number, inScale: number, outScale: number,
  at: (c: number, k: number) => number = (c, k) => c * (w.length / oc) + k,
) {
  const K = w.length / oc;
  const weights = new Array<number>(w.length);
  const bias = new Array<number>(oc);
  const multiplier = new Array<number>(oc);
  const shift = new Array<number>(oc);
  for (let c = 0; c < oc; c++) {
    let maxAbs = 0;
    for (let k = 0; k < K; k++) maxAbs = Math.max(maxAbs, Math.abs(w[at(c, k)]));
    // an all-zero channel gets the scale that makes its requant multiplier exactly 1
    const wScale = maxAbs > 0 ? maxAbs / 127 : outScale / inScale;
    for (let k = 0; k < K; k++) {
      const v = Math.round(w[at(c, k)] / wScale);
      weights[at(c, k)] = Math.max(-127, Math.min(127, v));
    }
    const bq = Math.round(b[c] / (inScale * wScale));
    if (Math.abs(bq) > 2 ** 31 - 1) throw new Error(`bias[${c}] overflows int32`);
    bias[c] = bq;
    const r = quantizeMultiplier((inScale * wScale) / outScale);
    multiplier[c] = r.multiplier;
    shift[c] = r.shift;
  }
  return { weights, bias, multiplier, shift };
}

/** Per-channel tables for given int8 weights and weight scales (pq layers: decoded codewords). */
function fixedChannels(f: { weights: number[]; scales: number[] }, b: Float32Array, inScale: number, outScale: number) {
  const oc = f.scales.length;
  const bias = new Array<number>(oc);
  const multiplier = new Array<number>(oc);
  const shift = new Array<number>(oc);
  for (let c = 0; c < oc; c++) {
    const bq = Math.round(b[c] / (inScale * f.scales[c]));
    if (Math.abs(bq) > 2 ** 31 - 1) throw new Error(`bias[${c}] overflows int32`);
    bias[c] = bq;
    const r = quantizeMultiplier((inScale * f.scales[c]) / outScale);
    multiplier[c] = r.multiplier;
    shift[c] = r.shift;
  }
  return { weights: f.weights.slice(), bias, multiplier, shift };
}
