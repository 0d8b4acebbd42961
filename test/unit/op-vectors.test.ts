/**
 * Per-operator vectors (test/vectors/ops.json) against the host reference; the same file feeds
 * the C kernels in test/firmware/kernels.test.ts. Plus hand-computed depthwise_conv2d and
 * avgpool2d cases and the new ops' validation errors.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { validateInt8Layer, validateInt8Model, type Int8Layer } from '../../harness/modeltools/int8-model.js';
import { quantizeMultiplierQ31, tfliteMeanMultiplier } from '../../harness/modeltools/quantize.js';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import { runInt8Layer, tfliteRequantDouble, tfliteRequantSingle } from '../../harness/reference/int8.js';
import { HilError } from '../../harness/util/errors.js';
import { makeAllOpVectors, naiveLayer, OP_VECTORS_FILE, opVectorsText, tfliteMbqm, type OpVector } from '../vectors/op-vectors.js';

const prevShape = (l: Int8Layer): [number, number, number] => (l.op === 'dense' ? [1, 1, l.in_features] : l.in_shape);

describe('per-operator test vectors (shared with the C kernel tests)', () => {
  const vectors = JSON.parse(readFileSync(OP_VECTORS_FILE, 'utf8')) as OpVector[];

  it('the committed file is what the generator makes (regenerate: node dist/test/vectors/op-vectors.js)', () => {
    expect(readFileSync(OP_VECTORS_FILE, 'utf8')).to.equal(opVectorsText(makeAllOpVectors()));
  });

  it('cover every op with valid layers and non-trivial outputs', () => {
    const ops = new Set(vectors.map((v) => v.layer.op));
    expect([...ops].sort()).to.deep.equal(['add', 'avgpool2d', 'avgpool_global', 'concat', 'conv2d', 'dense', 'depthwise_conv2d', 'lut', 'maxpool2d', 'mean', 'mul']);
    for (const v of vectors) validateInt8Layer(v.layer, prevShape(v.layer), v.name, v.arithmetic);
    const all = vectors.flatMap((v) => v.expected);
    expect(all).to.include(-128).and.include(127); // saturation is exercised
    expect(new Set(all).size).to.be.greaterThan(200);
    expect(vectors.some((v) => v.layer.op === 'depthwise_conv2d' && v.layer.depth_multiplier > 1)).to.equal(true);
  });

  for (const op of ['conv2d', 'depthwise_conv2d', 'maxpool2d', 'avgpool2d', 'avgpool_global', 'dense', 'add', 'lut', 'concat', 'mul', 'mean']) {
    it(`host reference == expected on every ${op} vector`, () => {
      for (const v of vectors.filter((x) => x.layer.op === op)) {
        expect(Array.from(runInt8Layer(v.layer, Int8Array.from(v.input), v.arithmetic, v.input2 ? Int8Array.from(v.input2) : undefined)), v.name).to.deep.equal(v.expected);
      }
    });
  }

  it('cover both TFLite arithmetics on every op with multipliers, with dead channels and left shifts', () => {
    for (const a of ['tflite-double', 'tflite-single']) {
      const ops = new Set(vectors.filter((v) => v.arithmetic === a).map((v) => v.layer.op));
      expect([...ops].sort(), a).to.include.members(['add', 'avgpool2d', 'avgpool_global', 'conv2d', 'dense', 'depthwise_conv2d']);
    }
    const tfl = vectors.filter((v) => v.arithmetic);
    const tables = tfl.map((v) => v.layer).filter((l) => l.op === 'conv2d' || l.op === 'dense' || l.op === 'depthwise_conv2d');
    expect(tables.some((l) => l.multiplier.includes(0)), 'a dead channel').to.equal(true);
    expect(tables.some((l) => l.shift.some((x) => x > 0)), 'a left shift').to.equal(true);
    // the same layer and input under the other arithmetics gives other outputs somewhere
    let differ = 0;
    for (const v of tfl) {
      const other = v.arithmetic === 'tflite-double' ? 'tflite-single' : 'tflite-double';
      if (naiveLayer(v.layer, v.input, other, v.input2).join() !== v.expected.join()) differ++;
    }
    expect(differ, 'vectors where double and single rounding differ').to.be.greaterThan(0);
  });

  it('cover broadcast add and mul ([1,1,C], scalar, [H,1,C], [1,W,1]) and both MEAN paths in both arithmetics', () => {
    for (const a of ['tflite-double', 'tflite-single']) {
      const of = vectors.filter((v) => v.arithmetic === a);
      const bc = of.map((v) => v.layer).filter((l): l is Extract<Int8Layer, { op: 'add' | 'mul' }> => (l.op === 'add' || l.op === 'mul') && l.in2_shape !== undefined);
      const size = (x: number[]): number => x[0] * x[1] * x[2];
      for (const op of ['add', 'mul']) {
        const b = bc.filter((l) => l.op === op && size(l.in2_shape ?? []) < size(l.in_shape));
        expect(b.length, `${a} ${op}: broadcasting vectors`).to.be.greaterThan(1);
      }
      expect(bc.some((l) => size(l.in2_shape ?? []) === 1 && size(l.in_shape) > 1), `${a}: a scalar second input`).to.equal(true);
      const consts = of.map((v) => v.layer).filter((l): l is Extract<Int8Layer, { op: 'add' | 'mul' }> => (l.op === 'add' || l.op === 'mul') && l.const2 !== undefined);
      expect(new Set(consts.map((l) => l.op)).size, `${a}: constant second operands of add and mul`).to.equal(2);
      expect(consts.some((l) => l.const2?.length === 1) && consts.some((l) => !l.in2_shape), `${a}: a scalar and a full-shape constant`).to.equal(true);
      const means = of.map((v) => v.layer).filter((l): l is Extract<Int8Layer, { op: 'mean' }> => l.op === 'mean');
      expect(means.some((l) => l.multiplier === 0) && means.some((l) => l.multiplier > 0 && l.multiplier < 2 ** 30), a).to.equal(true);
    }
  });

  it('TFLite\'s mean multiplier folds 1/n into QuantizeMultiplier(in/out) as QuantizedMeanOrSum does', () => {
    // ratio 1: (2^30, 1); n = 49: k = 5, M = trunc(2^30 * 32 / 49) = 701219150, s = 1 - 5
    expect(tfliteMeanMultiplier(1, 49)).to.deep.equal({ multiplier: 701219150, shift: -4 });
    // n a power of two: exact, M unchanged and the shift absorbs it
    expect(tfliteMeanMultiplier(0.75, 64)).to.deep.equal({ multiplier: 0.75 * 2 ** 31, shift: -6 });
    // k is capped at 31 + s so that s' >= -31
    expect(quantizeMultiplierQ31(2 ** -29)).to.deep.equal({ multiplier: 2 ** 30, shift: -28 });
    expect(tfliteMeanMultiplier(2 ** -29, 16)).to.deep.equal({ multiplier: 2 ** 29, shift: -31 }); // k = min(4, 31 - 28) = 3: 2^30 * 8 / 16
  });
});

describe('TFLite requantization (tflite-double, tflite-single)', () => {
  it('host doubles == a BigInt transcription of TFLite\'s code, also where a*M exceeds 2^53', () => {
    const r = new Rng(77);
    for (let i = 0; i < 200000; i++) {
      const big = i % 3 === 0;
      let acc = big ? Math.floor((r.next() - 0.5) * 2 ** 32) : Math.floor((r.next() - 0.5) * 4e6);
      acc = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, acc));
      const m = i % 11 === 0 ? 0 : 2 ** 30 + Math.floor(r.next() * 2 ** 30);
      let s = m === 0 ? 0 : Math.floor(r.next() * 36) - 31;
      if (s > 0 && Math.abs(acc) * 2 ** s >= 2 ** 31) s = 0;
      expect(tfliteRequantDouble(acc, m, s), `double ${acc} ${m} ${s}`).to.equal(Number(tfliteMbqm(acc, m, s, false)));
      expect(tfliteRequantSingle(acc, m, s), `single ${acc} ${m} ${s}`).to.equal(Number(tfliteMbqm(acc, m, s, true)));
    }
  });

  it('double rounding rounds ties away from zero, single rounding half up', () => {
    // M = 2^30, shift -1: x * 0.25; x = -2 -> -0.5
    expect(tfliteRequantDouble(-2, 2 ** 30, -1)).to.equal(-1);
    expect(tfliteRequantSingle(-2, 2 ** 30, -1)).to.equal(0);
    expect(tfliteRequantDouble(2, 2 ** 30, -1)).to.equal(1);
    expect(tfliteRequantSingle(2, 2 ** 30, -1)).to.equal(1);
    // the double rounding itself: 0.5 * 2^31 + 2^30 - 1 ... rounded twice
    expect(tfliteRequantDouble(5, 2 ** 30 + 2 ** 28, -2)).to.equal(Number(tfliteMbqm(5, 2 ** 30 + 2 ** 28, -2, false)));
  });

  it('QuantizeMultiplier as TFLite: frexp, round, 2^31 carried, too small -> 0', () => {
    expect(quantizeMultiplierQ31(0.5)).to.deep.equal({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplierQ31(1)).to.deep.equal({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplierQ31(0.001)).to.deep.equal({ multiplier: 1099511628, shift: -9 });
    expect(quantizeMultiplierQ31(1 - 2 ** -40)).to.deep.equal({ multiplier: 2 ** 30, shift: 1 }); // rounds to 2^31
    expect(quantizeMultiplierQ31(0)).to.deep.equal({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplierQ31(2 ** -33)).to.deep.equal({ multiplier: 0, shift: 0 }); // shift -32: dead
    expect(quantizeMultiplierQ31(2 ** -32).shift).to.equal(-31);
  });

  it('a format 2 model names its arithmetic; format 1 models cannot, and keep their fields', () => {
    const base = {
      name: 'a', dataset: 'none', classes: 2, input: { shape: [1, 1, 3], scale: 1, zero_point: 0 }, output: { scale: 1, zero_point: 0 },
      layers: [{ op: 'dense', in_features: 3, out_features: 2, in_zp: 0, out_zp: 0, act_min: -128, act_max: 127, weights: [1, 2, 3, 4, 5, 6], bias: [0, 0], multiplier: [2 ** 30, 0], shift: [-3, 0] }],
    };
    const m = validateInt8Model({ ...base, format: 'yono-int8/2', arithmetic: 'tflite-double' }, 'm.json');
    expect(m.arithmetic).to.equal('tflite-double');
    const err = (v: unknown): string => {
      try {
        validateInt8Model(v, 'm.json');
      } catch (e) {
        return (e as HilError).toLine();
      }
      return 'accepted';
    };
    expect(err({ ...base, format: 'yono-int8/1', arithmetic: 'tflite-double' })).to.match(/\$\.arithmetic: needs "format": "yono-int8\/2"/);
    expect(err({ ...base, format: 'yono-int8/2', arithmetic: 'tflite' })).to.match(/\$\.arithmetic: must be one of yono15, tflite-double, tflite-single/);
    expect(err({ ...base, format: 'yono-int8/2' })).to.match(/multiplier\[0\]: must be an integer in \[16384, 32767\]/); // absent = yono15
    const bad = structuredClone(base);
    bad.layers[0].multiplier = [2 ** 29, 0];
    expect(err({ ...bad, format: 'yono-int8/2', arithmetic: 'tflite-single' })).to.match(/multiplier\[0\]: must be 0 or in \[2\^30, 2\^31\)/);
  });
});

describe('int8 reference: depthwise_conv2d and avgpool2d by hand', () => {
  it('depthwise_conv2d, depth_multiplier 2, padding 1, stride 2: channel oc reads input oc/2', () => {
    // 3x3 input, 1 channel, x - in_zp = 0..8; OC = 2: a 3x3 all-ones and a centre-only filter
    const inZp = -3;
    const x = Int8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8].map((v) => v + inZp));
    const ones = 1;
    // weights [kh][kw][oc]: tap t holds (ones, centre ? 2 : 0)
    const weights: number[] = [];
    for (let t = 0; t < 9; t++) weights.push(ones, t === 4 ? 2 : 0);
    const l: Int8Layer = {
      op: 'depthwise_conv2d', in_shape: [3, 3, 1], out_shape: [2, 2, 2], kh: 3, kw: 3, stride_h: 2, stride_w: 2,
      pad_top: 1, pad_left: 1, depth_multiplier: 2, in_zp: inZp, out_zp: 1, act_min: -128, act_max: 15,
      weights, bias: [0, -1], multiplier: [16384, 16384], shift: [14, 14], // x1
    };
    // windows centred at (0,0),(0,2),(2,0),(2,2): sums 0+1+3+4=8, 1+2+4+5=12, 3+4+6+7=20, 4+5+7+8=24
    // ch1 = 2 * centre - 1: centres 0, 2, 6, 8 -> -1, 3, 11, 15
    // + out_zp 1, act_max 15: [9, 0], [13, 4], [15 (21), 12], [15 (25), 15 (16)]
    expect(Array.from(runInt8Layer(l, x))).to.deep.equal([9, 0, 13, 4, 15, 12, 15, 15]);
  });

  it('depthwise_conv2d keeps input channels apart (depth_multiplier 1, 1x1 kernel)', () => {
    const l: Int8Layer = {
      op: 'depthwise_conv2d', in_shape: [1, 2, 3], out_shape: [1, 2, 3], kh: 1, kw: 1, stride_h: 1, stride_w: 1,
      pad_top: 0, pad_left: 0, depth_multiplier: 1, in_zp: 0, out_zp: 0, act_min: 0, act_max: 127,
      weights: [1, -2, 3], bias: [0, 0, 1], multiplier: [16384, 16384, 16384], shift: [14, 14, 14],
    };
    // pixel 0 = [5, 6, 7] -> [5, -12 -> 0 (ReLU), 22]; pixel 1 = [-1, -2, -3] -> [-1 -> 0, 4, -8 -> 0]
    expect(Array.from(runInt8Layer(l, Int8Array.from([5, 6, 7, -1, -2, -3])))).to.deep.equal([5, 0, 22, 0, 4, 0]);
  });

  it('avgpool2d 2x2 stride 1, per channel, rounding half up and saturating', () => {
    // [2][3][2]: channel 0 = 1..6, channel 1 = -128s and a 127
    const x = Int8Array.from([1, -128, 2, -128, 3, 127, 4, -128, 5, -128, 6, -128]);
    const l: Int8Layer = {
      op: 'avgpool2d', in_shape: [2, 3, 2], out_shape: [1, 2, 2], kh: 2, kw: 2, stride_h: 1, stride_w: 1,
      in_zp: 1, out_zp: -2, multiplier: 16384, shift: 16, // 1/4
    };
    // c0: (0+1+3+4)/4 = 2 -> 0; (1+2+4+5)/4 = 3 -> 1
    // c1: (-129*4)/4 = -129 -> -131 -> -128; (-129*3 + 126)/4 = -65.25 -> -65 -> -67
    expect(Array.from(runInt8Layer(l, x))).to.deep.equal([0, -128, 1, -67]);
    // the naive SPEC transcription that produced ops.json agrees
    expect(naiveLayer(l, Array.from(x))).to.deep.equal([0, -128, 1, -67]);
  });
});

describe('int8 model validation: depthwise_conv2d and avgpool2d', () => {
  const dw = (over: Record<string, unknown>): Record<string, unknown> => ({
    op: 'depthwise_conv2d', in_shape: [4, 4, 2], out_shape: [4, 4, 4], kh: 3, kw: 3, stride_h: 1, stride_w: 1,
    pad_top: 1, pad_left: 1, depth_multiplier: 2, in_zp: 0, out_zp: 0, act_min: -128, act_max: 127,
    weights: new Array(36).fill(1), bias: [0, 0, 0, 0], multiplier: [16384, 16384, 16384, 16384], shift: [14, 14, 14, 14],
    ...over,
  });
  const fails = (v: unknown, prev: [number, number, number], re: RegExp): void => {
    try {
      validateInt8Layer(v, prev, 'm.json');
    } catch (e) {
      expect(e).to.be.instanceOf(HilError);
      expect((e as HilError).toLine()).to.match(re);
      return;
    }
    expect.fail(`accepted ${JSON.stringify(v).slice(0, 80)}`);
  };

  it('accepts a well-formed layer and names the field of a bad one', () => {
    expect(validateInt8Layer(dw({}), [4, 4, 2], 'm.json').op).to.equal('depthwise_conv2d');
    fails(dw({ out_shape: [4, 4, 3] }), [4, 4, 2], /^m\.json: \$\.out_shape: channels must be .*depth_multiplier/);
    fails(dw({ weights: new Array(35).fill(1) }), [4, 4, 2], /\$\.weights: must have 36 entries/);
    fails(dw({ depth_multiplier: 0 }), [4, 4, 2], /\$\.depth_multiplier/);
    fails(dw({ pad_top: 3 }), [4, 4, 2], /\$\.pad_top/);
    fails(dw({ out_shape: [6, 4, 4] }), [4, 4, 2], /out_h: last window starts below/);
    fails(dw({}), [4, 4, 3], /\$\.in_shape/);
  });

  it('checks the int32 accumulator bound per channel over the [kh][kw][oc] layout', () => {
    // channel 3 only: bias near 2^31 with 9 weights of 127
    fails(dw({ bias: [0, 0, 0, 2 ** 31 - 1 - 256 * 9 * 1 + 1] }), [4, 4, 2], /\$\.bias\[3\]: int32 accumulator/);
    validateInt8Layer(dw({ bias: [0, 0, 0, 2 ** 31 - 1 - 256 * 9 * 1] }), [4, 4, 2], 'm.json');
  });

  it('avgpool2d: window inside the input, scalar requant, channels unchanged', () => {
    const ap = (over: Record<string, unknown>): Record<string, unknown> => ({
      op: 'avgpool2d', in_shape: [1, 8, 3], out_shape: [1, 4, 3], kh: 1, kw: 2, stride_h: 1, stride_w: 2,
      in_zp: 0, out_zp: 0, multiplier: 16384, shift: 15, ...over,
    });
    expect(validateInt8Layer(ap({}), [1, 8, 3], 'm.json').op).to.equal('avgpool2d');
    fails(ap({ out_shape: [1, 5, 3] }), [1, 8, 3], /out_w: window runs past the input/);
    fails(ap({ out_shape: [1, 4, 2] }), [1, 8, 3], /channels must equal/);
    fails(ap({ multiplier: [16384] }), [1, 8, 3], /\$\.multiplier: must be an integer/);
    fails(ap({ shift: 47 }), [1, 8, 3], /\$\.shift/);
    fails({ op: 'conv3d' }, [1, 8, 3], /unknown op "conv3d" \(conv2d, depthwise_conv2d, maxpool2d, avgpool2d, avgpool_global, dense, add, lut, concat, mul, mean\)/);
  });
});
