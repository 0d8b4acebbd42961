/**
 * SYNTHETIC per-operator test vectors shared by the host reference (test/unit) and the C kernels
 * (test/firmware): seeded random layers of every op, each with an input and the expected output.
 * The expected outputs come from `naiveLayer` below, a literal, loop-for-loop transcription of
 * firmware/SPEC.md section 3 (BigInt requant), independent of both implementations under test.
 * Vectors without `arithmetic` are yono15; the tflite-double / tflite-single ones (SPEC section 3)
 * follow, their expected outputs from a BigInt transcription of TFLite's own requant code.
 *
 *   node dist/test/vectors/op-vectors.js   rewrites test/vectors/ops.json
 * test/unit/op-vectors.test.ts checks that the committed file equals a fresh generation.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arithmetic, Int8Layer, Shape3 } from '../../harness/modeltools/int8-model.js';
import { quantizeMultiplier, quantizeMultiplierQ31, tfliteMeanMultiplier } from '../../harness/modeltools/quantize.js';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import { ROOT } from '../../harness/util/paths.js';

export interface OpVector {
  name: string;
  /** absent = yono15 */
  arithmetic?: Arithmetic;
  layer: Int8Layer;
  input: number[];
  /** add: the second input */
  input2?: number[];
  expected: number[];
}

export const OP_VECTORS_FILE = join(ROOT, 'test', 'vectors', 'ops.json');

/** SPEC: clamp(out_zp + floor((acc*M + 2^(s-1)) / 2^s), lo, hi), in BigInt (no float at all). */
function specRequant15(acc: number, m: number, s: number, zp: number, lo: number, hi: number): number {
  const r = (BigInt(acc) * BigInt(m) + (1n << BigInt(s - 1))) >> BigInt(s); // BigInt >> floors
  const y = BigInt(zp) + r;
  return Number(y < BigInt(lo) ? BigInt(lo) : y > BigInt(hi) ? BigInt(hi) : y);
}

/** TFLite's MultiplyByQuantizedMultiplier (kernels/internal/common.h, gemmlowp fixedpoint.h) in
 * BigInt, literally: SaturatingRoundingDoublingHighMul (division truncating toward zero), then
 * RoundingDivideByPOT; or, single rounding, (x*M + 2^(t-1)) >> t with t = 31 - shift. */
export function tfliteMbqm(x: number, m: number, shift: number, single: boolean): bigint {
  if (single) {
    const t = BigInt(31 - shift);
    return (BigInt(x) * BigInt(m) + (1n << (t - 1n))) >> t;
  }
  const left = shift > 0 ? shift : 0;
  const right = BigInt(shift > 0 ? 0 : -shift);
  const a = BigInt.asIntN(32, BigInt(x) * (1n << BigInt(left)));
  const ab = a * BigInt(m);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  const hi = (ab + nudge) / (1n << 31n);
  const mask = (1n << right) - 1n;
  const remainder = BigInt.asUintN(32, hi) & mask; // the int32's low bits (two's complement)
  const threshold = (mask >> 1n) + (hi < 0n ? 1n : 0n);
  return (hi >> right) + (remainder > threshold ? 1n : 0n);
}

function clampBig(y: bigint, lo: number, hi: number): number {
  return Number(y < BigInt(lo) ? BigInt(lo) : y > BigInt(hi) ? BigInt(hi) : y);
}

/** TFLite's int8 average pool: (sum +- n/2) / n, C division (truncating). */
function tfliteAvg(sum: number, n: number): number {
  const h = BigInt(Math.floor(n / 2));
  const s = BigInt(sum);
  return clampBig(s > 0n ? (s + h) / BigInt(n) : (s - h) / BigInt(n), -128, 127);
}

/** SPEC section 3, literally, in the given arithmetic. */
export function naiveLayer(l: Int8Layer, x: number[], arithmetic: Arithmetic = 'yono15', x2: number[] = []): number[] {
  const specRequant = arithmetic === 'yono15'
    ? specRequant15
    : (acc: number, m: number, s: number, zp: number, lo: number, hi: number): number =>
      clampBig(BigInt(zp) + tfliteMbqm(acc, m, s, arithmetic === 'tflite-single'), lo, hi);
  const tfl = arithmetic !== 'yono15';
  const y: number[] = [];
  if (l.op === 'lut') return x.map((v) => l.table[v + 128]);
  if ((l.op === 'add' || l.op === 'mul') && l.const2) x2 = l.const2;
  // the second input's element for output (h, w, c): a dimension of size 1 always reads index 0
  const at2 = (l2: { in_shape: Shape3; in2_shape?: Shape3 }, i: number): number => {
    const [, W, C] = l2.in_shape;
    const [H2, W2, C2] = l2.in2_shape ?? l2.in_shape;
    const [h, w, c] = [Math.floor(i / (W * C)), Math.floor(i / C) % W, i % C];
    return x2[((H2 === 1 ? 0 : h) * W2 + (W2 === 1 ? 0 : w)) * C2 + (C2 === 1 ? 0 : c)];
  };
  if (l.op === 'mul') {
    // reference_integer_ops/mul.h (BroadcastMul4DSlow), element by element
    return x.map((v, i) => clampBig(BigInt(l.out_zp) + tfliteMbqm((v - l.in_zp) * (at2(l, i) - l.in2_zp), l.multiplier[0], l.shift[0], arithmetic === 'tflite-single'), l.act_min, l.act_max));
  }
  if (l.op === 'mean') {
    // TFLite Micro reduce_common.cc EvalIntegerMean: reference_ops::Mean (C division) or QuantizedMeanOrSum
    const [H, W, C] = l.in_shape;
    for (let c = 0; c < C; c++) {
      let sum = 0n;
      for (let p = 0; p < H * W; p++) sum += BigInt(x[p * C + c]);
      const n = BigInt(H * W);
      y.push(l.multiplier === 0
        ? Number(sum / n) // BigInt division truncates, as C's
        : clampBig(tfliteMbqm(Number(sum - n * BigInt(l.in_zp)), l.multiplier, l.shift, arithmetic === 'tflite-single') + BigInt(l.out_zp), -128, 127));
    }
    return y;
  }
  if (l.op === 'concat') {
    const [H, W, C1] = l.in_shape;
    const C2 = l.in2_shape[2];
    for (let p = 0; p < H * W; p++) y.push(...x.slice(p * C1, (p + 1) * C1), ...x2.slice(p * C2, (p + 1) * C2));
    return y;
  }
  if (l.op === 'add') {
    // reference_integer_ops/add.h, element by element
    const single = arithmetic === 'tflite-single';
    for (let i = 0; i < x.length; i++) {
      const a = tfliteMbqm((x[i] - l.in_zp) * 2 ** l.left_shift, l.multiplier[0], l.shift[0], single);
      const b = tfliteMbqm((at2(l, i) - l.in2_zp) * 2 ** l.left_shift, l.multiplier[1], l.shift[1], single);
      y.push(clampBig(tfliteMbqm(Number(a + b), l.multiplier[2], l.shift[2], single) + BigInt(l.out_zp), l.act_min, l.act_max));
    }
    return y;
  }
  if (l.op === 'dense') {
    for (let o = 0; o < l.out_features; o++) {
      let acc = l.bias[o];
      for (let i = 0; i < l.in_features; i++) acc += (x[i] - l.in_zp) * l.weights[o * l.in_features + i];
      y.push(specRequant(acc, l.multiplier[o], l.shift[o], l.out_zp, l.act_min, l.act_max));
    }
    return y;
  }
  const [H, W, C] = l.in_shape;
  const [OH, OW, OC] = l.out_shape;
  const at = (iy: number, ix: number, c: number): number => x[(iy * W + ix) * C + c];
  if (l.op === 'avgpool_global') {
    for (let c = 0; c < C; c++) {
      let acc = 0;
      if (tfl) {
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) acc += at(h, w, c);
        y.push(tfliteAvg(acc, H * W));
        continue;
      }
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) acc += at(h, w, c) - l.in_zp;
      y.push(specRequant(acc, l.multiplier, l.shift, l.out_zp, -128, 127));
    }
    return y;
  }
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let oc = 0; oc < OC; oc++) {
        switch (l.op) {
          case 'conv2d':
          case 'depthwise_conv2d': {
            let acc = l.bias[oc];
            for (let ky = 0; ky < l.kh; ky++) {
              for (let kx = 0; kx < l.kw; kx++) {
                const iy = oy * l.stride_h - l.pad_top + ky;
                const ix = ox * l.stride_w - l.pad_left + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                if (l.op === 'conv2d') {
                  for (let ic = 0; ic < C; ic++) acc += (at(iy, ix, ic) - l.in_zp) * l.weights[((oc * l.kh + ky) * l.kw + kx) * C + ic];
                } else {
                  const ic = Math.floor(oc / l.depth_multiplier);
                  acc += (at(iy, ix, ic) - l.in_zp) * l.weights[(ky * l.kw + kx) * OC + oc];
                }
              }
            }
            y.push(specRequant(acc, l.multiplier[oc], l.shift[oc], l.out_zp, l.act_min, l.act_max));
            break;
          }
          case 'maxpool2d': {
            let best = -128;
            for (let ky = 0; ky < l.kh; ky++) for (let kx = 0; kx < l.kw; kx++) best = Math.max(best, at(oy * l.stride_h + ky, ox * l.stride_w + kx, oc));
            y.push(best);
            break;
          }
          case 'avgpool2d': {
            let acc = 0;
            if (tfl) {
              for (let ky = 0; ky < l.kh; ky++) for (let kx = 0; kx < l.kw; kx++) acc += at(oy * l.stride_h + ky, ox * l.stride_w + kx, oc);
              y.push(tfliteAvg(acc, l.kh * l.kw));
              break;
            }
            for (let ky = 0; ky < l.kh; ky++) for (let kx = 0; kx < l.kw; kx++) acc += at(oy * l.stride_h + ky, ox * l.stride_w + kx, oc) - l.in_zp;
            y.push(specRequant(acc, l.multiplier, l.shift, l.out_zp, -128, 127));
            break;
          }
        }
      }
    }
  }
  return y;
}

const ri = (r: Rng, lo: number, hi: number): number => lo + r.int(hi - lo + 1);
const ints = (r: Rng, n: number, lo: number, hi: number): number[] => Array.from({ length: n }, () => ri(r, lo, hi));

/** Per-channel requant that spreads a K-term random accumulator over int8 (std ~ 5400*sqrt(K)). */
function requantTables(r: Rng, oc: number, k: number): { multiplier: number[]; shift: number[] } {
  const t = Array.from({ length: oc }, () => quantizeMultiplier((40 / (5400 * Math.sqrt(k))) * (0.5 + r.next())));
  return { multiplier: t.map((q) => q.multiplier), shift: t.map((q) => q.shift) };
}

/** Output size of a padded window op whose last window starts inside the input. */
function outSize(inSize: number, k: number, stride: number, pad: number, r: Rng): number {
  // 'same'-like (any window overlapping the input) or 'valid'-like, chosen at random
  const full = Math.floor((inSize + pad - 1) / stride) + 1;
  const valid = Math.max(1, Math.floor((inSize + pad - k) / stride) + 1);
  return r.next() < 0.5 ? full : Math.min(full, valid);
}

function convLike(r: Rng, op: 'conv2d' | 'depthwise_conv2d'): Int8Layer {
  const kh = ri(r, 1, 4);
  const kw = ri(r, 1, 4);
  const [sh, sw] = [ri(r, 1, 3), ri(r, 1, 3)];
  const [pt, pl] = [ri(r, 0, kh - 1), ri(r, 0, kw - 1)];
  const in_shape: Shape3 = [ri(r, 1, 7), ri(r, 1, 9), ri(r, 1, 6)];
  const dm = op === 'depthwise_conv2d' ? ri(r, 1, 3) : 1;
  const oc = op === 'depthwise_conv2d' ? in_shape[2] * dm : ri(r, 1, 7);
  const out_shape: Shape3 = [outSize(in_shape[0], kh, sh, pt, r), outSize(in_shape[1], kw, sw, pl, r), oc];
  const k = op === 'conv2d' ? kh * kw * in_shape[2] : kh * kw;
  const out_zp = ri(r, -128, 127);
  const relu = r.next() < 0.4;
  const common = {
    in_shape, out_shape, kh, kw, stride_h: sh, stride_w: sw, pad_top: pt, pad_left: pl,
    in_zp: ri(r, -128, 127), out_zp,
    act_min: relu ? out_zp : ri(r, -128, -100), act_max: relu ? 127 : ri(r, 100, 127),
    weights: ints(r, oc * k, -128, 127),
    bias: ints(r, oc, -60000, 60000),
    ...requantTables(r, oc, k),
  };
  return op === 'conv2d' ? { op, ...common } : { op, ...common, depth_multiplier: dm };
}

function poolLike(r: Rng, op: 'maxpool2d' | 'avgpool2d'): Int8Layer {
  const kh = ri(r, 1, 3);
  const kw = ri(r, 1, 4);
  const [sh, sw] = [ri(r, 1, 3), ri(r, 1, 3)];
  const in_shape: Shape3 = [ri(r, kh, 7), ri(r, kw, 9), ri(r, 1, 5)];
  const out_shape: Shape3 = [Math.floor((in_shape[0] - kh) / sh) + 1, Math.floor((in_shape[1] - kw) / sw) + 1, in_shape[2]];
  const g = { in_shape, out_shape, kh, kw, stride_h: sh, stride_w: sw };
  if (op === 'maxpool2d') return { op, ...g };
  // 1/(kh*kw) times a random scale ratio, sometimes > 1 so outputs saturate
  const q = quantizeMultiplier((0.5 + 2 * r.next()) / (kh * kw));
  return { op, ...g, in_zp: ri(r, -128, 127), out_zp: ri(r, -128, 127), ...q };
}

function randomLayer(r: Rng, op: Exclude<Int8Layer['op'], 'add' | 'lut' | 'concat' | 'mul' | 'mean'>): Int8Layer {
  switch (op) {
    case 'conv2d':
    case 'depthwise_conv2d':
      return convLike(r, op);
    case 'maxpool2d':
    case 'avgpool2d':
      return poolLike(r, op);
    case 'avgpool_global': {
      const in_shape: Shape3 = [ri(r, 1, 6), ri(r, 1, 8), ri(r, 1, 6)];
      const q = quantizeMultiplier((0.5 + 2 * r.next()) / (in_shape[0] * in_shape[1]));
      return { op, in_shape, out_shape: [1, 1, in_shape[2]], in_zp: ri(r, -128, 127), out_zp: ri(r, -128, 127), ...q };
    }
    case 'dense': {
      const [n_in, n_out] = [ri(r, 1, 40), ri(r, 1, 12)];
      const out_zp = ri(r, -128, 127);
      const relu = r.next() < 0.4;
      return {
        op, in_features: n_in, out_features: n_out, in_zp: ri(r, -128, 127), out_zp,
        act_min: relu ? out_zp : -128, act_max: 127,
        weights: ints(r, n_in * n_out, -128, 127), bias: ints(r, n_out, -60000, 60000),
        ...requantTables(r, n_out, n_in),
      };
    }
  }
}

const inSize = (l: Int8Layer): number => (l.op === 'dense' ? l.in_features : l.in_shape[0] * l.in_shape[1] * l.in_shape[2]);

/** Every op, `perOp` seeded random cases each. */
export function makeOpVectors(perOp = 12, seed = 2026): OpVector[] {
  const r = new Rng(seed);
  const ops: Exclude<Int8Layer['op'], 'add' | 'lut' | 'concat' | 'mul' | 'mean'>[] = ['conv2d', 'depthwise_conv2d', 'maxpool2d', 'avgpool2d', 'avgpool_global', 'dense'];
  const out: OpVector[] = [];
  for (const op of ops) {
    for (let i = 0; i < perOp; i++) {
      const layer = randomLayer(r, op);
      const input = ints(r, inSize(layer), -128, 127);
      out.push({ name: `${op} #${i}`, layer, input, expected: naiveLayer(layer, input) });
    }
  }
  return out;
}

/** Per-channel TFLite multipliers: mostly the spread of requantTables, some channels dead
 * (multiplier 0, as TFLite makes for a zero weight scale) and some > 1 (a positive shift: the
 * accumulator is shifted left first). */
function requantTablesQ31(r: Rng, oc: number, k: number): { multiplier: number[]; shift: number[] } {
  const t = Array.from({ length: oc }, () => {
    const u = r.next();
    if (u < 0.1) return quantizeMultiplierQ31(0);
    if (u < 0.2) return quantizeMultiplierQ31(1 + 2.9 * r.next());
    return quantizeMultiplierQ31((40 / (5400 * Math.sqrt(k))) * (0.5 + r.next()));
  });
  return { multiplier: t.map((q) => q.multiplier), shift: t.map((q) => q.shift) };
}

/** A yono15 random layer recast in a TFLite arithmetic: TFLite multipliers; pools keep the zero point. */
function toTflite(r: Rng, l: Int8Layer): Int8Layer {
  switch (l.op) {
    case 'conv2d':
      return { ...l, ...requantTablesQ31(r, l.out_shape[2], l.kh * l.kw * l.in_shape[2]) };
    case 'depthwise_conv2d':
      return { ...l, ...requantTablesQ31(r, l.out_shape[2], l.kh * l.kw) };
    case 'dense':
      return { ...l, ...requantTablesQ31(r, l.out_features, l.in_features) };
    case 'avgpool2d':
    case 'avgpool_global':
      return { ...l, out_zp: l.in_zp, multiplier: 0, shift: 0 };
    case 'maxpool2d':
    case 'add':
    case 'lut':
    case 'concat':
    case 'mul':
    case 'mean':
      return l;
  }
}

/** A TFLite ADD as TFLite's Prepare makes it from three scales (left_shift 20). */
function randomAdd(r: Rng): Int8Layer {
  const shape: Shape3 = [ri(r, 1, 5), ri(r, 1, 6), ri(r, 1, 8)];
  const [s1, s2] = [0.01 + r.next(), 0.01 + r.next()];
  const so = (s1 + s2) * (0.3 + r.next());
  const twice = 2 * Math.max(s1, s2);
  const q = [s1 / twice, s2 / twice, twice / (2 ** 20 * so)].map(quantizeMultiplierQ31);
  const out_zp = ri(r, -128, 127);
  const relu = r.next() < 0.3;
  return {
    op: 'add', in_shape: shape, out_shape: shape, in_zp: ri(r, -128, 127), in2_zp: ri(r, -128, 127), out_zp,
    act_min: relu ? out_zp : -128, act_max: 127, left_shift: 20, multiplier: q.map((x) => x.multiplier), shift: q.map((x) => x.shift),
  };
}

/** The tflite-double and tflite-single vectors: every op with arithmetic, `perOp` cases each. */
export function makeTfliteOpVectors(perOp = 10, seed = 3031): OpVector[] {
  const out: OpVector[] = [];
  const ops: Exclude<Int8Layer['op'], 'add' | 'lut' | 'concat' | 'mul' | 'mean'>[] = ['conv2d', 'depthwise_conv2d', 'avgpool2d', 'avgpool_global', 'dense'];
  for (const [k, arithmetic] of (['tflite-double', 'tflite-single'] as const).entries()) {
    const r = new Rng(seed + k);
    for (const op of ops) {
      for (let i = 0; i < perOp; i++) {
        const layer = toTflite(r, randomLayer(r, op));
        const input = ints(r, inSize(layer), -128, 127);
        out.push({ name: `${arithmetic} ${op} #${i}`, arithmetic, layer, input, expected: naiveLayer(layer, input, arithmetic) });
      }
    }
    const ra = new Rng(seed + 100 + k);
    for (let i = 0; i < perOp; i++) {
      const layer = randomAdd(ra);
      const input = ints(ra, inSize(layer), -128, 127);
      const input2 = ints(ra, inSize(layer), -128, 127);
      out.push({ name: `${arithmetic} add #${i}`, arithmetic, layer, input, input2, expected: naiveLayer(layer, input, arithmetic, input2) });
    }
  }
  return out;
}

/** lut vectors (format 2, any arithmetic): random tables, one a logistic curve. */
export function makeLutVectors(n = 6, seed = 4041): OpVector[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const shape: Shape3 = [ri(r, 1, 4), ri(r, 1, 6), ri(r, 1, 5)];
    const table = i === 0
      ? Array.from({ length: 256 }, (_, k) => Math.max(-128, Math.min(127, Math.round(256 / (1 + Math.exp(-(k - 128) * 0.05))) - 128)))
      : ints(r, 256, -128, 127);
    const layer: Int8Layer = { op: 'lut', in_shape: shape, out_shape: shape, table };
    const input = ints(r, inSize(layer), -128, 127);
    return { name: `lut #${i}`, arithmetic: 'tflite-double' as const, layer, input, expected: naiveLayer(layer, input) };
  });
}

/** concat vectors (format 2 graphs, any arithmetic): random shapes and channel counts. */
export function makeConcatVectors(n = 6, seed = 5051): OpVector[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const [h, w, c1, c2] = [ri(r, 1, 4), ri(r, 1, 5), ri(r, 1, 6), ri(r, 1, 6)];
    const layer: Int8Layer = { op: 'concat', in_shape: [h, w, c1], in2_shape: [h, w, c2], out_shape: [h, w, c1 + c2] };
    const input = ints(r, h * w * c1, -128, 127);
    const input2 = ints(r, h * w * c2, -128, 127);
    return { name: `concat #${i}`, arithmetic: 'tflite-double' as const, layer, input, input2, expected: naiveLayer(layer, input, 'tflite-double', input2) };
  });
}

/** Every vector of the committed file: the yono15 ones (unchanged since format 1), then the TFLite ones, lut, concat. */
export function makeAllOpVectors(): OpVector[] {
  return [...makeOpVectors(), ...makeTfliteOpVectors(), ...makeLutVectors(), ...makeConcatVectors(), ...makeMulVectors(), ...makeMeanVectors(), ...makeBroadcastVectors(), ...makeConstVectors()];
}

/** mul vectors in both TFLite arithmetics: the multiplier of three random scales, sometimes > 1. */
export function makeMulVectors(perMode = 6, seed = 6061): OpVector[] {
  const out: OpVector[] = [];
  for (const [k, arithmetic] of (['tflite-double', 'tflite-single'] as const).entries()) {
    const r = new Rng(seed + k);
    for (let i = 0; i < perMode; i++) {
      const shape: Shape3 = [ri(r, 1, 4), ri(r, 1, 5), ri(r, 1, 6)];
      const q = quantizeMultiplierQ31((0.01 + r.next()) * (0.01 + r.next()) / ((0.2 + r.next()) * (i % 3 === 0 ? 1 : 60)));
      const out_zp = ri(r, -128, 127);
      const layer: Int8Layer = {
        op: 'mul', in_shape: shape, out_shape: shape, in_zp: ri(r, -128, 127), in2_zp: ri(r, -128, 127), out_zp,
        act_min: -128, act_max: 127, multiplier: [q.multiplier], shift: [q.shift],
      };
      const input = ints(r, inSize(layer), -128, 127);
      const input2 = ints(r, inSize(layer), -128, 127);
      out.push({ name: `${arithmetic} mul #${i}`, arithmetic, layer, input, input2, expected: naiveLayer(layer, input, arithmetic, input2) });
    }
  }
  return out;
}

/** mean vectors in both TFLite arithmetics: one quantization in and out (multiplier 0, C's truncating
 * division) on every third, else TFLite's mean multiplier of a random scale ratio; n odd and even
 * (ties), up to 10x10 windows. */
export function makeMeanVectors(perMode = 9, seed = 7071): OpVector[] {
  const out: OpVector[] = [];
  for (const [k, arithmetic] of (['tflite-double', 'tflite-single'] as const).entries()) {
    const r = new Rng(seed + k);
    for (let i = 0; i < perMode; i++) {
      const in_shape: Shape3 = [ri(r, 1, 10), ri(r, 1, 10), ri(r, 1, 6)];
      const in_zp = ri(r, -128, 127);
      const same = i % 3 === 0;
      const q = same ? { multiplier: 0, shift: 0 } : tfliteMeanMultiplier((0.2 + 3 * r.next()) * (i % 3 === 1 ? 1 : 0.05), in_shape[0] * in_shape[1]);
      const layer: Int8Layer = { op: 'mean', in_shape, out_shape: [1, 1, in_shape[2]], in_zp, out_zp: same ? in_zp : ri(r, -128, 127), ...q };
      const input = ints(r, inSize(layer), -128, 127);
      out.push({ name: `${arithmetic} mean #${i}`, arithmetic, layer, input, expected: naiveLayer(layer, input, arithmetic) });
    }
  }
  return out;
}

/** add and mul with a broadcast second input ([1,1,C], a scalar, [H,1,C], [1,W,1]), both TFLite arithmetics. */
export function makeBroadcastVectors(perMode = 8, seed = 8081): OpVector[] {
  const out: OpVector[] = [];
  for (const [k, arithmetic] of (['tflite-double', 'tflite-single'] as const).entries()) {
    const r = new Rng(seed + k);
    for (let i = 0; i < perMode; i++) {
      const shape: Shape3 = [ri(r, 1, 4), ri(r, 1, 5), ri(r, 1, 6)];
      const forms: Shape3[] = [[1, 1, shape[2]], [1, 1, 1], [shape[0], 1, shape[2]], [1, shape[1], 1]];
      const in2_shape = forms[i % forms.length];
      const base = i < perMode / 2 ? randomAdd(r) : undefined;
      let layer: Int8Layer;
      if (base && base.op === 'add') {
        layer = { ...base, in_shape: shape, out_shape: shape, in2_shape };
      } else {
        const q = quantizeMultiplierQ31(((0.01 + r.next()) * (0.01 + r.next())) / ((0.2 + r.next()) * (i % 2 ? 1 : 60)));
        layer = {
          op: 'mul', in_shape: shape, out_shape: shape, in2_shape, in_zp: ri(r, -128, 127), in2_zp: ri(r, -128, 127), out_zp: ri(r, -128, 127),
          act_min: -128, act_max: 127, multiplier: [q.multiplier], shift: [q.shift],
        };
      }
      const input = ints(r, inSize(layer), -128, 127);
      const input2 = ints(r, in2_shape[0] * in2_shape[1] * in2_shape[2], -128, 127);
      out.push({ name: `${arithmetic} broadcast ${layer.op} #${i}`, arithmetic, layer, input, input2, expected: naiveLayer(layer, input, arithmetic, input2) });
    }
  }
  return out;
}

/** add and mul whose second operand is a constant of the layer (const2): a scalar, per channel, full. */
export function makeConstVectors(perMode = 6, seed = 9091): OpVector[] {
  const out: OpVector[] = [];
  for (const [k, arithmetic] of (['tflite-double', 'tflite-single'] as const).entries()) {
    const r = new Rng(seed + k);
    for (const v of makeBroadcastVectors(perMode, seed + 10 * k).filter((x) => x.arithmetic === arithmetic)) {
      const l = v.layer as Extract<Int8Layer, { op: 'add' | 'mul' }>;
      const forms: (Shape3 | undefined)[] = [[1, 1, 1], [1, 1, l.in_shape[2]], undefined];
      const in2_shape = forms[out.length % 3];
      const const2 = ints(r, in2_shape ? in2_shape[0] * in2_shape[1] * in2_shape[2] : inSize(l), -128, 127);
      const layer = { ...l, in2_shape, const2 } as Int8Layer;
      if (!in2_shape) delete (layer as { in2_shape?: Shape3 }).in2_shape;
      out.push({ name: `${arithmetic} const ${l.op} #${out.length}`, arithmetic, layer, input: v.input, expected: naiveLayer(layer, v.input, arithmetic) });
    }
  }
  return out;
}

/** The committed file's text for a set of vectors: one vector per line, diff-friendly. */
export function opVectorsText(v: OpVector[]): string {
  return `[\n${v.map((x) => JSON.stringify(x)).join(',\n')}\n]\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const v = makeAllOpVectors();
  writeFileSync(OP_VECTORS_FILE, opVectorsText(v));
  console.log(`wrote ${OP_VECTORS_FILE}: ${v.length} vectors (synthetic)`);
}
