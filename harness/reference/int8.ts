/**
 * Bit-exact host reference of firmware/SPEC.md section 3. Every step uses exact integer math in
 * doubles (|acc * M| < 2^47 < 2^53), so results equal the C firmware's int32/int64 arithmetic.
 */
import { argmaxFirst } from '../util/argmax.js';
import { HilError } from '../util/errors.js';
import { isGraph, isTflite, layerInputs, shapeSize, type Arithmetic, type Int8Layer, type Int8Model, type Shape3 } from '../modeltools/int8-model.js';

/** SPEC requant: floor((acc * M + 2^(s-1)) / 2^s). */
export function requant(acc: number, multiplier: number, shift: number): number {
  return Math.floor((acc * multiplier + 2 ** (shift - 1)) / 2 ** shift);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** x2: the second input (add only) */
type Step = (x: Int8Array, x2?: Int8Array) => Int8Array;

const P31 = 2 ** 31;
const B30 = 1n << 30n;
const B31 = 1n << 31n;

/** TFLite's SaturatingRoundingDoublingHighMul(a, b) for b >= 0 (gemmlowp): (a*b + nudge) / 2^31
 * truncated, nudge = 2^30 for a*b >= 0 else 1 - 2^30. Doubles while a*b is exact (< 2^52). */
export function srdhm(a: number, b: number): number {
  const ab = a * b;
  if (Math.abs(ab) < 2 ** 52) return Math.trunc((ab + (ab >= 0 ? 2 ** 30 : 1 - 2 ** 30)) / P31);
  const big = BigInt(a) * BigInt(b);
  return Number((big + (big >= 0n ? B30 : 1n - B30)) / B31); // BigInt division truncates
}

/** TFLite's RoundingDivideByPOT(x, e), 0 <= e <= 31: x / 2^e rounded half away from zero. */
export function roundingDivideByPot(x: number, e: number): number {
  const mask = e === 31 ? 0x7fffffff : (1 << e) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/** TFLite's MultiplyByQuantizedMultiplier(x, M, shift), double rounding (TFLite Micro reference
 * kernels, CMSIS-NN). x * 2^left wraps in int32 as in C. */
export function tfliteRequantDouble(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPot(srdhm(left ? Math.imul(x, 1 << left) : x, m), right);
}

/** The same with TFLITE_SINGLE_ROUNDING (XNNPACK): floor((x*M + 2^(t-1)) / 2^t), t = 31 - shift. */
export function tfliteRequantSingle(x: number, m: number, shift: number): number {
  const t = 31 - shift;
  const xm = x * m;
  if (Math.abs(xm) < 2 ** 52) return Math.floor((xm + 2 ** (t - 1)) / 2 ** t);
  return Number((BigInt(x) * BigInt(m) + (1n << BigInt(t - 1))) >> BigInt(t)); // >> floors
}

/** One requant of the model's arithmetic: (acc, M, s) -> the rescaled value (before out_zp). */
export function requantOf(arithmetic: Arithmetic | undefined): (acc: number, m: number, s: number) => number {
  if (arithmetic === 'tflite-double') return tfliteRequantDouble;
  if (arithmetic === 'tflite-single') return tfliteRequantSingle;
  return requant;
}

/** TFLite's int8 average: sum rounded half away from zero by n (C integer division truncates). */
export function tfliteAverage(sum: number, n: number): number {
  const h = Math.floor(n / 2);
  return Math.trunc(sum > 0 ? (sum + h) / n : (sum - h) / n);
}

/** Requant per output channel: f(acc, ch) = requant(acc, M[ch], s[ch]) in the model's arithmetic. */
interface Rq {
  f: (acc: number, ch: number) => number;
}

function rq(mult: number[], shift: number[], where: string, arith: Arithmetic | undefined): Rq {
  const n = mult.length;
  if (isTflite(arith)) {
    const fn = requantOf(arith);
    for (let i = 0; i < n; i++) {
      const [M, s] = [mult[i], shift[i]];
      if (!Number.isInteger(M) || (M !== 0 && (M < 2 ** 30 || M >= 2 ** 31)) || !Number.isInteger(s) || s < -31 || s > 30) {
        throw new HilError(`multiplier/shift [${i}] = ${M}/${s} outside M = 0 or 2^30 <= M < 2^31, -31 <= s <= 30`, where);
      }
    }
    const m = Float64Array.from(mult);
    const sh = Int32Array.from(shift);
    return { f: (acc, ch) => fn(acc, m[ch], sh[ch]) };
  }
  const m = new Float64Array(n);
  const half = new Float64Array(n);
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const M = mult[i];
    const s = shift[i];
    if (!Number.isInteger(M) || M < 16384 || M >= 32768 || !Number.isInteger(s) || s < 1 || s > 46) {
      throw new HilError(`multiplier/shift [${i}] = ${M}/${s} outside 16384 <= M < 32768, 1 <= s <= 46`, where);
    }
    m[i] = M;
    half[i] = 2 ** (s - 1);
    inv[i] = 2 ** -s;
  }
  return { f: (acc, ch) => Math.floor((acc * m[ch] + half[ch]) * inv[ch]) };
}

function conv2dStep(l: Extract<Int8Layer, { op: 'conv2d' }>, where: string, arith?: Arithmetic): Step {
  const [H, W, C] = l.in_shape;
  const [OH, OW, OC] = l.out_shape;
  const { kh: KH, kw: KW, stride_h: SH, stride_w: SW, pad_top: PT, pad_left: PL, in_zp: izp, out_zp: ozp } = l;
  const { act_min: lo, act_max: hi } = l;
  const K = KH * KW * C;
  const P = OH * OW;
  if (l.weights.length !== OC * K || l.bias.length !== OC) throw new HilError('conv2d weights/bias size mismatch', where);
  // doubles hold these small integers and their sums exactly, and V8 multiplies them fastest
  const w = Float64Array.from(l.weights);
  const bias = Int32Array.from(l.bias);
  const r = rq(l.multiplier, l.shift, where, arith);
  // im2col gather map: patch element -> input index, -1 for padding (contributes 0 = real 0)
  const map = new Int32Array(P * K);
  let m = 0;
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * SH - PT + ky;
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * SW - PL + kx;
          const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
          for (let ic = 0; ic < C; ic++) map[m++] = inside ? (iy * W + ix) * C + ic : -1;
        }
      }
    }
  }
  const col = new Float64Array(P * K);
  const out = new Int8Array(P * OC);
  const OC4 = OC - (OC % 4);
  const emit = (o: number, oc: number, acc: number): void => {
    const q = ozp + r.f(acc, oc);
    out[o] = q < lo ? lo : q > hi ? hi : q;
  };
  return (x) => {
    for (let i = 0; i < col.length; i++) {
      const j = map[i];
      col[i] = j < 0 ? 0 : x[j] - izp;
    }
    for (let p = 0; p < P; p++) {
      const cb = p * K;
      const ob = p * OC;
      // 4 output channels per pass (integer sums stay exact in doubles)
      for (let oc = 0; oc < OC4; oc += 4) {
        const w0 = oc * K;
        const w1 = w0 + K;
        const w2 = w1 + K;
        const w3 = w2 + K;
        let a0 = bias[oc];
        let a1 = bias[oc + 1];
        let a2 = bias[oc + 2];
        let a3 = bias[oc + 3];
        for (let k = 0; k < K; k++) {
          const c = col[cb + k];
          a0 += c * w[w0 + k];
          a1 += c * w[w1 + k];
          a2 += c * w[w2 + k];
          a3 += c * w[w3 + k];
        }
        emit(ob + oc, oc, a0);
        emit(ob + oc + 1, oc + 1, a1);
        emit(ob + oc + 2, oc + 2, a2);
        emit(ob + oc + 3, oc + 3, a3);
      }
      for (let oc = OC4; oc < OC; oc++) {
        const wb = oc * K;
        let acc = bias[oc];
        for (let k = 0; k < K; k++) acc += col[cb + k] * w[wb + k];
        emit(ob + oc, oc, acc);
      }
    }
    return out;
  };
}

function denseStep(l: Extract<Int8Layer, { op: 'dense' }>, where: string, arith?: Arithmetic): Step {
  const IN = l.in_features;
  const OUT = l.out_features;
  if (l.weights.length !== OUT * IN || l.bias.length !== OUT) throw new HilError('dense weights/bias size mismatch', where);
  const w = Int32Array.from(l.weights);
  const bias = Int32Array.from(l.bias);
  const r = rq(l.multiplier, l.shift, where, arith);
  const xs = new Int32Array(IN);
  const out = new Int8Array(OUT);
  return (x) => {
    if (x.length !== IN) throw new HilError(`dense expects ${IN} inputs, got ${x.length}`, where);
    for (let i = 0; i < IN; i++) xs[i] = x[i] - l.in_zp;
    for (let o = 0; o < OUT; o++) {
      let acc = bias[o];
      const wb = o * IN;
      for (let i = 0; i < IN; i++) acc += xs[i] * w[wb + i];
      const q = l.out_zp + r.f(acc, o);
      out[o] = clamp(q, l.act_min, l.act_max);
    }
    return out;
  };
}

function maxpoolStep(l: Extract<Int8Layer, { op: 'maxpool2d' }>): Step {
  const [, W, C] = l.in_shape;
  const [OH, OW] = l.out_shape;
  const out = new Int8Array(OH * OW * C);
  return (x) => {
    let o = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let c = 0; c < C; c++, o++) {
          let best = -128;
          for (let ky = 0; ky < l.kh; ky++) {
            const row = (oy * l.stride_h + ky) * W;
            for (let kx = 0; kx < l.kw; kx++) {
              const v = x[(row + ox * l.stride_w + kx) * C + c];
              if (v > best) best = v;
            }
          }
          out[o] = best;
        }
      }
    }
    return out;
  };
}

function avgpoolStep(l: Extract<Int8Layer, { op: 'avgpool_global' }>, where: string, arith?: Arithmetic): Step {
  const [H, W, C] = l.in_shape;
  const tfl = isTflite(arith);
  const r = tfl ? undefined : rq([l.multiplier], [l.shift], where, arith);
  const out = new Int8Array(C);
  return (x) => {
    for (let c = 0; c < C; c++) {
      let acc = 0;
      if (r) {
        for (let p = 0; p < H * W; p++) acc += x[p * C + c] - l.in_zp;
        out[c] = clamp(l.out_zp + r.f(acc, 0), -128, 127);
      } else {
        // TFLite: the plain mean of the int8 values (in_zp == out_zp), rounded half away from zero
        for (let p = 0; p < H * W; p++) acc += x[p * C + c];
        out[c] = clamp(tfliteAverage(acc, H * W), -128, 127);
      }
    }
    return out;
  };
}

function depthwiseStep(l: Extract<Int8Layer, { op: 'depthwise_conv2d' }>, where: string, arith?: Arithmetic): Step {
  const [H, W, C] = l.in_shape;
  const [OH, OW, OC] = l.out_shape;
  const { kh: KH, kw: KW, stride_h: SH, stride_w: SW, pad_top: PT, pad_left: PL, depth_multiplier: DM } = l;
  const { in_zp: izp, out_zp: ozp, act_min: lo, act_max: hi } = l;
  if (OC !== C * DM || l.weights.length !== KH * KW * OC || l.bias.length !== OC) {
    throw new HilError('depthwise_conv2d weights/bias/channels size mismatch', where);
  }
  const w = Float64Array.from(l.weights);
  const r = rq(l.multiplier, l.shift, where, arith);
  const acc = new Float64Array(OC);
  const out = new Int8Array(OH * OW * OC);
  return (x) => {
    let o = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let oc = 0; oc < OC; oc++) acc[oc] = l.bias[oc];
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * SH - PT + ky;
          if (iy < 0 || iy >= H) continue; // padding: (in_zp - in_zp) * w = 0
          for (let kx = 0; kx < KW; kx++) {
            const ix = ox * SW - PL + kx;
            if (ix < 0 || ix >= W) continue;
            const xb = (iy * W + ix) * C;
            const wb = (ky * KW + kx) * OC;
            // output channel oc reads input channel floor(oc / DM): walk oc in order
            for (let ic = 0, oc = 0; ic < C; ic++) {
              const v = x[xb + ic] - izp;
              for (let d = 0; d < DM; d++, oc++) acc[oc] += v * w[wb + oc];
            }
          }
        }
        for (let oc = 0; oc < OC; oc++, o++) {
          const q = ozp + r.f(acc[oc], oc);
          out[o] = q < lo ? lo : q > hi ? hi : q;
        }
      }
    }
    return out;
  };
}

function avgpool2dStep(l: Extract<Int8Layer, { op: 'avgpool2d' }>, where: string, arith?: Arithmetic): Step {
  const [, W, C] = l.in_shape;
  const [OH, OW] = l.out_shape;
  const tfl = isTflite(arith);
  const r = tfl ? undefined : rq([l.multiplier], [l.shift], where, arith);
  const n = l.kh * l.kw;
  const out = new Int8Array(OH * OW * C);
  return (x) => {
    let o = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let c = 0; c < C; c++, o++) {
          let acc = r ? -n * l.in_zp : 0;
          for (let ky = 0; ky < l.kh; ky++) {
            const row = (oy * l.stride_h + ky) * W;
            for (let kx = 0; kx < l.kw; kx++) acc += x[(row + ox * l.stride_w + kx) * C + c];
          }
          // TFLite: the mean of the int8 values rounded half away from zero (in_zp == out_zp)
          out[o] = clamp(r ? l.out_zp + r.f(acc, 0) : tfliteAverage(acc, n), -128, 127);
        }
      }
    }
    return out;
  };
}

/** Index into a broadcast second input for each output element (in2 dimensions of 1 repeat), or
 * undefined when in2 has the output's shape (TFLite's BroadcastAdd4DSlow / BroadcastMul4DSlow). */
export function broadcastIndex(out: Shape3, in2: Shape3 | undefined): Int32Array | undefined {
  if (!in2 || (in2[0] === out[0] && in2[1] === out[1] && in2[2] === out[2])) return undefined;
  const [H, W, C] = out;
  const idx = new Int32Array(H * W * C);
  for (let h = 0, i = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      for (let c = 0; c < C; c++, i++) idx[i] = ((in2[0] === 1 ? 0 : h) * in2[1] + (in2[1] === 1 ? 0 : w)) * in2[2] + (in2[2] === 1 ? 0 : c);
    }
  }
  return idx;
}

/** TFLite's int8 ADD (reference_integer_ops/add.h): each input's (q - zp) * 2^left_shift rescaled to
 * the common scale, summed, rescaled to the output; MultiplyByQuantizedMultiplier of the model's
 * arithmetic (shifts <= 0: TFLite's ...SmallerThanOneExp). A broadcast second input repeats; a
 * constant one (const2) is part of the layer. */
function addStep(l: Extract<Int8Layer, { op: 'add' }>, where: string, arith?: Arithmetic): Step {
  if (!isTflite(arith)) throw new HilError('add needs a tflite-* arithmetic', where);
  const f = requantOf(arith);
  const n = l.in_shape[0] * l.in_shape[1] * l.in_shape[2];
  const [m1, m2, mo] = l.multiplier;
  const [s1, s2, so] = l.shift;
  const ls = 2 ** l.left_shift;
  const bi = broadcastIndex(l.out_shape, l.in2_shape);
  const k2 = l.const2 ? Int8Array.from(l.const2) : undefined;
  const out = new Int8Array(n);
  return (x, in2) => {
    const x2 = k2 ?? in2;
    if (!x2) throw new HilError('add without its second input', where);
    for (let i = 0; i < n; i++) {
      const a = f((x[i] - l.in_zp) * ls, m1, s1);
      const b = f((x2[bi ? bi[i] : i] - l.in2_zp) * ls, m2, s2);
      out[i] = clamp(f(a + b, mo, so) + l.out_zp, l.act_min, l.act_max);
    }
    return out;
  };
}

/** TFLite's int8 MUL (reference_integer_ops/mul.h): the product of the offset inputs, rescaled. */
function mulStep(l: Extract<Int8Layer, { op: 'mul' }>, where: string, arith?: Arithmetic): Step {
  if (!isTflite(arith)) throw new HilError('mul needs a tflite-* arithmetic', where);
  const f = requantOf(arith);
  const n = l.in_shape[0] * l.in_shape[1] * l.in_shape[2];
  const bi = broadcastIndex(l.out_shape, l.in2_shape);
  const k2 = l.const2 ? Int8Array.from(l.const2) : undefined;
  const out = new Int8Array(n);
  return (x, in2) => {
    const x2 = k2 ?? in2;
    if (!x2) throw new HilError('mul without its second input', where);
    for (let i = 0; i < n; i++) out[i] = clamp(l.out_zp + f((x[i] - l.in_zp) * (x2[bi ? bi[i] : i] - l.in2_zp), l.multiplier[0], l.shift[0]), l.act_min, l.act_max);
    return out;
  };
}

/** TFLite Micro's int8 MEAN over H and W: trunc(sum / n) when in and out share a quantization
 * (multiplier 0), else out_zp + MBQM(sum - n * in_zp, M, s) clamped (QuantizedMeanOrSum). */
function meanStep(l: Extract<Int8Layer, { op: 'mean' }>, where: string, arith?: Arithmetic): Step {
  if (!isTflite(arith)) throw new HilError('mean needs a tflite-* arithmetic', where);
  const f = requantOf(arith);
  const [H, W, C] = l.in_shape;
  const n = H * W;
  const out = new Int8Array(C);
  return (x) => {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let p = 0; p < n; p++) sum += x[p * C + c];
      out[c] = l.multiplier === 0 ? clamp(Math.trunc(sum / n), -128, 127) : clamp(l.out_zp + f(sum - n * l.in_zp, l.multiplier, l.shift), -128, 127);
    }
    return out;
  };
}

/** Channel concatenation: per pixel the first input's channels, then the second's. */
function concatStep(l: Extract<Int8Layer, { op: 'concat' }>, where: string): Step {
  const [H, W, C1] = l.in_shape;
  const C2 = l.in2_shape[2];
  const out = new Int8Array(H * W * (C1 + C2));
  return (x, x2) => {
    if (!x2) throw new HilError('concat without its second input', where);
    for (let p = 0, o = 0; p < H * W; p++) {
      for (let c = 0; c < C1; c++) out[o++] = x[p * C1 + c];
      for (let c = 0; c < C2; c++) out[o++] = x2[p * C2 + c];
    }
    return out;
  };
}

/** An element-wise table: y = table[x + 128]. */
function lutStep(l: Extract<Int8Layer, { op: 'lut' }>): Step {
  const n = l.in_shape[0] * l.in_shape[1] * l.in_shape[2];
  const t = Int8Array.from(l.table);
  const out = new Int8Array(n);
  return (x) => {
    for (let i = 0; i < n; i++) out[i] = t[x[i] + 128];
    return out;
  };
}

interface Compiled {
  inputBytes: number;
  steps: Step[];
  /** per layer, the tensor ids it reads (0 = input, k = layers[k-1]'s output); undefined: a chain */
  inputs?: number[][];
}

/** Runs the steps over the tensors; every step owns its output buffer, so each stays valid. */
function execute(c: Compiled, input: Int8Array, each?: (y: Int8Array) => void): Int8Array {
  let h = input;
  if (!c.inputs) {
    for (const s of c.steps) {
      h = s(h);
      each?.(h);
    }
    return h;
  }
  const t: Int8Array[] = [input];
  c.steps.forEach((s, i) => {
    const ins = (c.inputs as number[][])[i];
    h = s(t[ins[0]], ins.length > 1 ? t[ins[1]] : undefined);
    t.push(h);
    each?.(h);
  });
  return h;
}

/** Compiled steps per model object (weights converted once; buffers reused: not re-entrant). */
const cache = new WeakMap<Int8Model, Compiled>();

function layerStep(l: Int8Layer, where: string, arith?: Arithmetic): Step {
  switch (l.op) {
    case 'conv2d':
      return conv2dStep(l, where, arith);
    case 'dense':
      return denseStep(l, where, arith);
    case 'maxpool2d':
      return maxpoolStep(l);
    case 'avgpool_global':
      return avgpoolStep(l, where, arith);
    case 'depthwise_conv2d':
      return depthwiseStep(l, where, arith);
    case 'avgpool2d':
      return avgpool2dStep(l, where, arith);
    case 'add':
      return addStep(l, where, arith);
    case 'lut':
      return lutStep(l);
    case 'concat':
      return concatStep(l, where);
    case 'mul':
      return mulStep(l, where, arith);
    case 'mean':
      return meanStep(l, where, arith);
    default:
      throw new HilError(`unknown op '${(l as { op: string }).op}'`, where);
  }
}

function compile(model: Int8Model): Compiled {
  const hit = cache.get(model);
  if (hit) return hit;
  const steps = model.layers.map((l, i) => layerStep(l, `model ${model.name}: layers[${i}] (${l.op})`, model.arithmetic));
  const [h, w, c] = model.input.shape;
  const compiled: Compiled = { inputBytes: h * w * c, steps, inputs: isGraph(model) ? model.layers.map(layerInputs) : undefined };
  cache.set(model, compiled);
  return compiled;
}

/** One layer on its own (a fresh copy of its output); e.g. for per-operator test vectors. */
export function runInt8Layer(layer: Int8Layer, input: Int8Array, arithmetic: Arithmetic = 'yono15', input2?: Int8Array): Int8Array {
  const where = `layer (${layer.op})`;
  const want = layer.op === 'dense' ? layer.in_features : layer.in_shape[0] * layer.in_shape[1] * layer.in_shape[2];
  const want2 = (layer.op === 'concat' || layer.op === 'add' || layer.op === 'mul') && layer.in2_shape ? shapeSize(layer.in2_shape) : want;
  if (input.length !== want) throw new HilError(`input has ${input.length} values, layer expects ${want}`, where);
  if (input2 && input2.length !== want2) throw new HilError(`second input has ${input2.length} values, layer expects ${want2}`, where);
  return layerStep(layer, where, arithmetic)(input, input2).slice();
}

/** Every layer's int8 output (copies), for layer-by-layer comparison with the device. */
export function runInt8Layers(model: Int8Model, input: Int8Array): Int8Array[] {
  const compiled = compile(model);
  const { inputBytes } = compiled;
  if (input.length !== inputBytes) {
    throw new HilError(`input has ${input.length} bytes, model expects ${inputBytes}`, `model ${model.name}`);
  }
  const outs: Int8Array[] = [];
  execute(compiled, input, (y) => outs.push(y.slice()));
  return outs;
}

/** int8 logits (a fresh copy). */
export function runInt8(model: Int8Model, input: Int8Array): Int8Array {
  const compiled = compile(model);
  const { inputBytes } = compiled;
  if (input.length !== inputBytes) {
    throw new HilError(`input has ${input.length} bytes, model expects ${inputBytes}`, `model ${model.name}`);
  }
  return execute(compiled, input).slice();
}

export { argmaxFirst };

export function predictInt8(model: Int8Model, input: Int8Array): number {
  return argmaxFirst(runInt8(model, input));
}

export interface Int8Evaluation {
  accuracy: number;
  correct: number;
  count: number;
  predictions: Uint8Array;
}

/** Top-1 over `count` samples stored back to back in x. */
export function evaluateInt8(model: Int8Model, x: Int8Array, y: Uint8Array, count: number): Int8Evaluation {
  const { inputBytes } = compile(model);
  if (x.length < count * inputBytes || y.length < count) {
    throw new HilError(`evaluation set smaller than ${count} samples`, `model ${model.name}`);
  }
  const predictions = new Uint8Array(count);
  let correct = 0;
  for (let i = 0; i < count; i++) {
    predictions[i] = predictInt8(model, x.subarray(i * inputBytes, (i + 1) * inputBytes));
    if (predictions[i] === y[i]) correct++;
  }
  return { accuracy: count ? correct / count : 0, correct, count, predictions };
}
