import { expect } from 'chai';
import type { Int8Layer, Int8Model, Shape3 } from '../../harness/modeltools/int8-model.js';
import { evaluateInt8, predictInt8, requant, runInt8, runInt8Layers } from '../../harness/reference/int8.js';

/** A model holding just one layer, to check that layer's arithmetic by hand. */
function oneLayer(layer: Int8Layer, shape: Shape3, classes: number): Int8Model {
  return {
    format: 'yono-int8/1', name: 'hand', dataset: 'none', classes,
    input: { shape, scale: 1, zero_point: 0 }, output: { scale: 1, zero_point: 0 }, layers: [layer],
  };
}

describe('int8 reference: requant', () => {
  it('rounds half up with floor semantics, also for negative accumulators', () => {
    // M=16384, s=15 is exactly 0.5
    expect(requant(5, 16384, 15)).to.equal(3); // 2.5 -> 3
    expect(requant(-5, 16384, 15)).to.equal(-2); // -2.5 -> -2 (floor(-2.5 + 0.5))
    expect(requant(-3, 16384, 15)).to.equal(-1); // -1.5 -> -1
    expect(requant(-7, 16384, 15)).to.equal(-3); // -3.5 -> -3
    // M=16384, s=16 is 0.25: -4 -> -1, -2 -> -0.5 -> 0, -3 -> -0.75 -> -1, -1 -> -0.25 -> 0
    expect(requant(-4, 16384, 16)).to.equal(-1);
    expect(requant(-2, 16384, 16)).to.equal(0);
    expect(requant(-3, 16384, 16)).to.equal(-1);
    expect(requant(-1, 16384, 16)).to.equal(0);
    // -7 * 0.25 + 0.5 = -1.25: floor gives -2, truncation toward zero would give -1
    expect(requant(-7, 16384, 16)).to.equal(-2);
  });

  it('is exact for large accumulators (no float rounding)', () => {
    const acc = 2 ** 31 - 1;
    const M = 32767;
    const s = 46;
    const exact = (BigInt(acc) * BigInt(M) + (1n << BigInt(s - 1))) >> BigInt(s);
    expect(requant(acc, M, s)).to.equal(Number(exact));
    const neg = -(2 ** 31) + 12345;
    const exactNeg = (BigInt(neg) * BigInt(M) + (1n << 30n)) >> 31n; // BigInt >> is floor
    expect(requant(neg, M, 31)).to.equal(Number(exactNeg));
  });
});

describe('int8 reference: layers by hand', () => {
  it('conv2d with padding 1, stride 2, two output channels and clamping', () => {
    // x - in_zp = [[0,1,2],[3,4,5],[6,7,8]]
    const x = Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const sobel = [1, 0, -1, 2, 0, -2, 1, 0, -1];
    const ones = [1, 1, 1, 1, 1, 1, 1, 1, 1];
    const m = oneLayer(
      {
        op: 'conv2d', in_shape: [3, 3, 1], out_shape: [2, 2, 2], kh: 3, kw: 3, stride_h: 2, stride_w: 2,
        pad_top: 1, pad_left: 1, in_zp: 1, out_zp: -3, act_min: -128, act_max: 20,
        weights: [...sobel, ...ones], bias: [10, 0],
        multiplier: [16384, 16384], shift: [14, 15], // x1 and x0.5
      },
      [3, 3, 1], 8,
    );
    // ch0 acc: 10-6=4, 10+6=16, 10-18=-8, 10+18=28 (-> 25 clamped to 20)
    // ch1 (all-ones kernel, x0.5): window sums
    //   (0,0): xs (0,0),(0,1),(1,0),(1,1) = 0+1+3+4 = 8 -> 4
    //   (0,1): xs (0,1),(0,2),(1,1),(1,2) = 1+2+4+5 = 12 -> 6
    //   (1,0): xs (1,0),(1,1),(2,0),(2,1) = 3+4+6+7 = 20 -> 10
    //   (1,1): xs (1,1),(1,2),(2,1),(2,2) = 4+5+7+8 = 24 -> 12
    const y = runInt8(m, x);
    expect(Array.from(y)).to.deep.equal([1, 1, 13, 3, -11, 7, 20, 9]);
  });

  it('dense with fused ReLU (act_min = out_zp) and negative requant', () => {
    const m = oneLayer(
      {
        op: 'dense', in_features: 3, out_features: 2, in_zp: -2, out_zp: 5, act_min: 5, act_max: 127,
        weights: [1, 2, 3, -1, 0, 1], bias: [100, -5], multiplier: [16384, 16384], shift: [15, 15],
      },
      [1, 1, 3], 2,
    );
    // xs = [12, -18, 7]; acc0 = 100+12-36+21 = 97 -> 49 -> 54; acc1 = -5-12+7 = -10 -> -5 -> 0 -> clamp 5
    expect(Array.from(runInt8(m, Int8Array.from([10, -20, 5])))).to.deep.equal([54, 5]);
  });

  it('maxpool2d 2x2 stride 2 and first-argmax prediction', () => {
    const m = oneLayer(
      { op: 'maxpool2d', in_shape: [2, 4, 1], out_shape: [1, 2, 1], kh: 2, kw: 2, stride_h: 2, stride_w: 2 },
      [2, 4, 1], 2,
    );
    const x = Int8Array.from([-128, -5, 7, 7, -9, -6, 3, -128]);
    expect(Array.from(runInt8(m, x))).to.deep.equal([-5, 7]);
    const tie = oneLayer(
      { op: 'maxpool2d', in_shape: [1, 4, 1], out_shape: [1, 4, 1], kh: 1, kw: 1, stride_h: 1, stride_w: 1 },
      [1, 4, 1], 4,
    );
    expect(predictInt8(tie, Int8Array.from([3, 9, 9, -1]))).to.equal(1);
  });

  it('avgpool_global per channel with output clamping', () => {
    const m = oneLayer(
      { op: 'avgpool_global', in_shape: [2, 2, 2], out_shape: [1, 1, 2], in_zp: -1, out_zp: -3, multiplier: 16384, shift: 16 },
      [2, 2, 2], 2,
    );
    // ch0: 3,5,-7,1 -> +1 -> sum 6 -> /4 -> 2 -> -1 ; ch1: sum -505 -> -126 -> -129 -> -128
    const x = Int8Array.from([3, -128, 5, -128, -7, -128, 1, -125]);
    expect(Array.from(runInt8(m, x))).to.deep.equal([-1, -128]);
  });

  it('chains layers and evaluates accuracy', () => {
    const m: Int8Model = {
      format: 'yono-int8/1', name: 'chain', dataset: 'none', classes: 2,
      input: { shape: [1, 4, 1], scale: 1, zero_point: 0 }, output: { scale: 1, zero_point: 0 },
      layers: [
        { op: 'maxpool2d', in_shape: [1, 4, 1], out_shape: [1, 2, 1], kh: 1, kw: 2, stride_h: 1, stride_w: 2 },
        {
          op: 'dense', in_features: 2, out_features: 2, in_zp: 0, out_zp: 0, act_min: -128, act_max: 127,
          weights: [1, -1, -1, 1], bias: [0, 0], multiplier: [16384, 16384], shift: [14, 14],
        },
      ],
    };
    const x = Int8Array.from([5, 1, 0, 2, /* */ 0, 0, 9, 1]);
    const layers = runInt8Layers(m, x.subarray(0, 4));
    expect(Array.from(layers[0])).to.deep.equal([5, 2]);
    expect(Array.from(layers[1])).to.deep.equal([3, -3]);
    const ev = evaluateInt8(m, x, Uint8Array.from([0, 0]), 2);
    expect(Array.from(ev.predictions)).to.deep.equal([0, 1]);
    expect(ev.accuracy).to.equal(0.5);
    expect(() => runInt8(m, new Int8Array(3))).to.throw(/expects 4/);
  });
});
