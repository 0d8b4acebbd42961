/**
 * The firmware's int8 kernels, compiled natively with the host gcc (plain C path and the
 * DSP/SIMD path with C stand-ins for SMLAD/SXTB16) and checked on hand-computed cases, on the
 * per-operator vectors the host reference is also checked against (test/vectors/ops.json), and
 * against a naive C transcription of firmware/SPEC.md section 3 on random cases.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Arithmetic, Int8Layer } from '../../harness/modeltools/int8-model.js';
import { OP_VECTORS_FILE, type OpVector } from '../vectors/op-vectors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/firmware -> repo
const KERNELS = join(ROOT, 'firmware', 'kernels');
const DRIVER = join(ROOT, 'test', 'firmware', 'kernel_driver.c');

/** yono_op_t numbers (firmware/kernels/yono_nn.h) */
const OP = { conv2d: 0, maxpool2d: 1, avgpool_global: 2, dense: 3, depthwise_conv2d: 4, avgpool2d: 5, add: 8, lut: 9, concat: 10, mul: 11, mean: 12 } as const;
/** yono_arith_t numbers */
const ARITH: Record<Arithmetic, number> = { yono15: 0, 'tflite-double': 1, 'tflite-single': 2 };

interface LayerCase {
  op: keyof typeof OP;
  arith?: Arithmetic;
  in: [number, number, number];
  out: [number, number, number];
  k?: [number, number];
  stride?: [number, number];
  pad?: [number, number];
  depthMultiplier?: number;
  inZp?: number;
  outZp?: number;
  act?: [number, number];
  weights?: number[];
  bias?: number[];
  mult?: number[];
  shift?: number[];
  x: number[];
  /** add: the second input */
  x2?: number[];
  /** add: in2_zp, left_shift */
  add?: [number, number];
  /** add/mul: the second input's shape (broadcast); absent = in */
  in2?: [number, number, number];
}

/** An Int8Layer (SPEC fields) as the driver's LayerCase. */
function toCase(l: Int8Layer, x: number[], arith: Arithmetic = 'yono15', x2?: number[]): LayerCase {
  if (l.op === 'add') {
    return {
      op: l.op, arith, in: l.in_shape, out: l.out_shape, inZp: l.in_zp, outZp: l.out_zp, act: [l.act_min, l.act_max],
      mult: l.multiplier, shift: l.shift, x, x2, add: [l.in2_zp, l.left_shift], in2: l.in2_shape, weights: l.const2,
    };
  }
  if (l.op === 'mean') return { op: l.op, arith, in: l.in_shape, out: l.out_shape, inZp: l.in_zp, outZp: l.out_zp, mult: [l.multiplier], shift: [l.shift], x };
  if (l.op === 'lut') return { op: l.op, arith, in: l.in_shape, out: l.out_shape, weights: l.table, x };
  if (l.op === 'mul') {
    return {
      op: l.op, arith, in: l.in_shape, out: l.out_shape, inZp: l.in_zp, outZp: l.out_zp, act: [l.act_min, l.act_max],
      mult: l.multiplier, shift: l.shift, x, x2, add: [l.in2_zp, 0], in2: l.in2_shape, weights: l.const2,
    };
  }
  if (l.op === 'concat') return { op: l.op, arith, in: l.in_shape, out: l.out_shape, x, x2 };
  if (l.op === 'dense') {
    return {
      op: l.op, arith, in: [1, 1, l.in_features], out: [1, 1, l.out_features], inZp: l.in_zp, outZp: l.out_zp,
      act: [l.act_min, l.act_max], weights: l.weights, bias: l.bias, mult: l.multiplier, shift: l.shift, x,
    };
  }
  const c: LayerCase = { op: l.op, arith, in: l.in_shape, out: l.out_shape, x };
  if (l.op !== 'avgpool_global') Object.assign(c, { k: [l.kh, l.kw], stride: [l.stride_h, l.stride_w] });
  if (l.op === 'conv2d' || l.op === 'depthwise_conv2d') {
    Object.assign(c, {
      pad: [l.pad_top, l.pad_left], inZp: l.in_zp, outZp: l.out_zp, act: [l.act_min, l.act_max],
      weights: l.weights, bias: l.bias, mult: l.multiplier, shift: l.shift,
    });
  }
  if (l.op === 'depthwise_conv2d') c.depthMultiplier = l.depth_multiplier;
  if (l.op === 'avgpool2d' || l.op === 'avgpool_global') Object.assign(c, { inZp: l.in_zp, outZp: l.out_zp, mult: [l.multiplier], shift: [l.shift] });
  return c;
}

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

for (const variant of ['portable C', 'DSP path (emulated)'] as const) {
  describe(`firmware kernels, native build: ${variant}`, function () {
    let dir = '';
    let exe = '';

    before(function () {
      if (!hasGcc()) this.skip();
      dir = mkdtempSync(join(tmpdir(), 'yono-kernels-'));
      exe = join(dir, 'kernel_driver');
      const sources = readdirSync(KERNELS)
        .filter((f) => f.endsWith('.c'))
        .map((f) => join(KERNELS, f));
      const defs = variant === 'portable C' ? [] : ['-DYONO_EMULATE_DSP'];
      execFileSync('gcc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', ...defs, `-I${KERNELS}`, ...sources, DRIVER, '-o', exe], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    });

    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const run = (input: string): string => execFileSync(exe, [], { input, encoding: 'utf8' }).trim();

    const layer = (c: LayerCase): number[] => {
      const list = (a: number[] = []) => `${a.length} ${a.join(' ')}`;
      const [kh, kw] = c.k ?? [1, 1];
      const [sh, sw] = c.stride ?? [1, 1];
      const [pt, pl] = c.pad ?? [0, 0];
      const [lo, hi] = c.act ?? [-128, 127];
      const text = [
        'layer',
        OP[c.op],
        ARITH[c.arith ?? 'yono15'],
        ...c.in,
        ...c.out,
        kh,
        kw,
        sh,
        sw,
        pt,
        pl,
        c.depthMultiplier ?? 1,
        c.inZp ?? 0,
        c.outZp ?? 0,
        lo,
        hi,
        list(c.weights),
        list(c.bias),
        list(c.mult),
        list(c.shift),
        list(c.x),
        list(c.x2),
        ...(c.add ?? [0, 0]),
        ...(c.in2 ?? c.in),
      ].join(' ');
      return run(text).split(' ').map(Number);
    };

    const requant = (acc: number, m: number, s: number, zp = 0, lo = -128, hi = 127): number =>
      Number(run(`requant ${acc} ${m} ${s} ${zp} ${lo} ${hi}`));

    it('requant rounds half up with floor semantics, also for negative values', () => {
      // M = 16384, s = 15: multiply by 0.5
      expect(requant(1, 16384, 15)).to.equal(1); // 0.5 -> 1
      expect(requant(3, 16384, 15)).to.equal(2); // 1.5 -> 2
      expect(requant(-1, 16384, 15)).to.equal(0); // -0.5 -> 0 (floor(-0.5 + 0.5))
      expect(requant(-3, 16384, 15)).to.equal(-1); // -1.5 -> -1
      expect(requant(-2, 16384, 15)).to.equal(-1); // exact
      // M = 16384, s = 16: multiply by 0.25; -4*0.25 = -1 exactly, -5*0.25 = -1.25 -> -1, -6*0.25 = -1.5 -> -1, -7*.25 -> -2
      expect(requant(-5, 16384, 16)).to.equal(-1);
      expect(requant(-6, 16384, 16)).to.equal(-1);
      expect(requant(-7, 16384, 16)).to.equal(-2); // truncation would give -1
      // (acc*M + 2^(s-1)) / 2^s = -1.5 exactly -> floor -2 (C integer division would give -1)
      expect(requant(-4, 16384, 15)).to.equal(-2);
    });

    it('requant adds out_zp and saturates instead of wrapping', () => {
      expect(requant(100, 16384, 15, -20)).to.equal(30);
      expect(requant(2 ** 31 - 1, 32767, 1, 0)).to.equal(127);
      expect(requant(-(2 ** 31), 32767, 1, 0)).to.equal(-128);
      expect(requant(10, 16384, 14, 0, -3, 5)).to.equal(5); // act_max
      expect(requant(-10, 16384, 14, 0, -3, 5)).to.equal(-3); // act_min (fused ReLU style)
    });

    it('conv2d 1x1 with known numbers', () => {
      // x = [3, -2], in_zp = 1 -> (x - zp) = [2, -3]; multiplier 0.5
      const y = layer({
        op: 'conv2d',
        in: [1, 1, 2],
        out: [1, 1, 2],
        inZp: 1,
        outZp: 4,
        weights: [2, 5, -1, 4],
        bias: [10, -7],
        mult: [16384, 16384],
        shift: [15, 15],
        x: [3, -2],
      });
      // oc0: 10 + 4 - 15 = -1 -> 0 (+4); oc1: -7 - 2 - 12 = -21 -> -10 (+4)
      expect(y).to.deep.equal([4, -6]);
    });

    it('conv2d 3x3 stride 2: padding takes the value in_zp', () => {
      // 3x3 input x = in_zp + 1..9, all-ones kernel, multiplier 1.0 (M=16384, s=14)
      const inZp = 5;
      const y = layer({
        op: 'conv2d',
        in: [3, 3, 1],
        out: [2, 2, 1],
        k: [3, 3],
        stride: [2, 2],
        pad: [1, 1],
        inZp,
        outZp: -3,
        weights: Array(9).fill(1),
        bias: [0],
        mult: [16384],
        shift: [14],
        x: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => v + inZp),
      });
      // windows: (1+2+4+5), (2+3+5+6), (4+5+7+8), (5+6+8+9), then out_zp -3
      expect(y).to.deep.equal([12 - 3, 16 - 3, 24 - 3, 28 - 3]);
    });

    it('dense with fused ReLU (act_min = out_zp)', () => {
      const y = layer({
        op: 'dense',
        in: [1, 1, 3],
        out: [1, 1, 3],
        inZp: -1,
        outZp: -10,
        act: [-10, 127],
        weights: [1, 2, 3, -1, -2, -3, 0, 0, 1],
        bias: [0, 0, 5],
        mult: [16384, 16384, 16384],
        shift: [14, 14, 14],
        x: [0, 1, 2], // x - zp = [1, 2, 3]
      });
      // 14 -> 4; -14 -> -24 clamped to -10; 5 + 3 = 8 -> -2
      expect(y).to.deep.equal([4, -10, -2]);
    });

    it('maxpool2d 2x2 stride 2 per channel', () => {
      // [2][4][2]: channel 0 = 0..7, channel 1 = negatives
      const x = [0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6, -7, 7, -128];
      const y = layer({ op: 'maxpool2d', in: [2, 4, 2], out: [1, 2, 2], k: [2, 2], stride: [2, 2], x });
      expect(y).to.deep.equal([5, -1, 7, -3]);
    });

    it('avgpool_global sums (x - in_zp) and requantizes', () => {
      const y = layer({ op: 'avgpool_global', in: [2, 2, 2], out: [1, 1, 2], inZp: -1, outZp: 2, mult: [16384], shift: [16], x: [1, -10, 2, -10, 3, -10, 5, -11] });
      // c0: 2+3+4+6 = 15 * 0.25 = 3.75 -> 4 (+2); c1: -9-9-9-10 = -37 * .25 = -9.25 -> -9 (+2)
      expect(y).to.deep.equal([6, -7]);
    });

    it('depthwise_conv2d, depth_multiplier 2, padding 1, stride 2 (same case as test/unit)', () => {
      const inZp = -3;
      const weights: number[] = [];
      for (let t = 0; t < 9; t++) weights.push(1, t === 4 ? 2 : 0);
      const y = layer({
        op: 'depthwise_conv2d', in: [3, 3, 1], out: [2, 2, 2], k: [3, 3], stride: [2, 2], pad: [1, 1], depthMultiplier: 2,
        inZp, outZp: 1, act: [-128, 15], weights, bias: [0, -1], mult: [16384, 16384], shift: [14, 14],
        x: [0, 1, 2, 3, 4, 5, 6, 7, 8].map((v) => v + inZp),
      });
      expect(y).to.deep.equal([9, 0, 13, 4, 15, 12, 15, 15]);
    });

    it('avgpool2d 2x2 stride 1 per channel (same case as test/unit)', () => {
      const y = layer({
        op: 'avgpool2d', in: [2, 3, 2], out: [1, 2, 2], k: [2, 2], stride: [1, 1], inZp: 1, outZp: -2, mult: [16384], shift: [16],
        x: [1, -128, 2, -128, 3, 127, 4, -128, 5, -128, 6, -128],
      });
      expect(y).to.deep.equal([0, -128, 1, -67]);
    });

    it('every per-operator vector (test/vectors/ops.json, shared with the host reference)', () => {
      const vectors = JSON.parse(readFileSync(OP_VECTORS_FILE, 'utf8')) as OpVector[];
      expect(vectors.length).to.be.greaterThan(50);
      for (const v of vectors) expect(layer(toCase(v.layer, v.input, v.arithmetic, v.input2)), v.name).to.deep.equal(v.expected);
      expect(vectors.filter((v) => v.layer.op === 'add').length).to.be.greaterThan(10);
      expect(vectors.filter((v) => v.arithmetic === 'tflite-double').length).to.be.greaterThan(40);
      expect(vectors.filter((v) => v.arithmetic === 'tflite-single').length).to.be.greaterThan(40);
    });

    it('tflite-double / tflite-single requant == a literal transcription of TFLite\'s code (64-bit division) on random values', () => {
      expect(run('tflrandom 400000 20261206')).to.equal('mismatches 0');
    });

    it('tflite requant by hand: ties away from zero (double) or up (single), dead channel, left shift, saturation', () => {
      const tq = (a: Arithmetic, acc: number, m: number, s: number, zp = 0, lo = -128, hi = 127): number =>
        Number(run(`tflrequant ${ARITH[a]} ${acc} ${m} ${s} ${zp} ${lo} ${hi}`));
      expect(tq('tflite-double', -2, 2 ** 30, -1)).to.equal(-1); // -0.5 -> -1
      expect(tq('tflite-single', -2, 2 ** 30, -1)).to.equal(0); // -0.5 -> 0
      expect(tq('tflite-double', 3, 2 ** 30, -1)).to.equal(1); // 0.75 -> 1
      expect(tq('tflite-double', 123456, 0, 0, 7)).to.equal(7); // multiplier 0: out_zp
      expect(tq('tflite-double', 20, 2 ** 30, 2, 1)).to.equal(41); // x * 2 (left shift 2, M = 0.5)
      expect(tq('tflite-single', 2 ** 31 - 1, 2 ** 31 - 1, 30, 0)).to.equal(127);
      expect(tq('tflite-double', -(2 ** 31), 2 ** 31 - 1, 0, 0)).to.equal(-128);
    });

    it('tflite average pools: the rounded mean of the int8 values (half away from zero), no rescaling', () => {
      // avgpool2d 1x2 over [1, 2] = 1.5 -> 2, [-1, -2] = -1.5 -> -2, [3, 4] -> 4 (3.5), [-3, -3] -> -3
      const y = layer({ op: 'avgpool2d', arith: 'tflite-double', in: [1, 8, 1], out: [1, 4, 1], k: [1, 2], stride: [1, 2], inZp: 5, outZp: 5, x: [1, 2, -1, -2, 3, 4, -3, -3] });
      expect(y).to.deep.equal([2, -2, 4, -3]);
      const g = layer({ op: 'avgpool_global', arith: 'tflite-single', in: [1, 3, 1], out: [1, 1, 1], inZp: 0, outZp: 0, x: [127, 127, 126] });
      expect(g).to.deep.equal([127]); // 380 / 3 = 126.67 -> 127
    });

    it('conv2d, depthwise_conv2d, avgpool2d and requant match a naive SPEC transcription on random cases', () => {
      expect(run('random 2000 12345')).to.equal('mismatches 0');
    });

    it('conv2d_pq: the table path equals the direct path and the decoded conv2d on random layers (SPEC 4)', () => {
      // random shared codebooks (4-bit d=2/4 with k<=16, plus 8-bit and d=1/3/8 for the direct path), random
      // geometry incl. kws_dscnn's 10x4 first layer, odd chunk counts and odd out_c; each layer runs on the
      // direct path, on the table path and on the rule's choice (yono_layer_run), each with a scratch of
      // exactly the advertised size (guard bytes around it, misaligned to 4 mod 8 on every other layer),
      // and must equal the naive conv2d/dense of the decoded weights byte for byte.
      const [mism, nMis, tabled, nTab] = run('pqrandom 1500 20261122').split(' ');
      expect(`${mism} ${nMis}`).to.equal('mismatches 0');
      expect(tabled).to.equal('table');
      expect(Number(nTab), 'layers the rule sends to the table path').to.be.greaterThan(100);
    });
  });
}
