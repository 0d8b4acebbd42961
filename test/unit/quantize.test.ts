import { expect } from 'chai';
import { quantizeMultiplier, chooseQParams, quantizeModel } from '../../harness/modeltools/quantize.js';
import { Sequential } from '../../harness/modeltools/nn/model.js';
import { DepthwiseConv2d } from '../../harness/modeltools/nn/depthwise.js';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import { dequantize, Int8Data } from '../../harness/modeltools/nn/trainer.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { validateInt8Model } from '../../harness/modeltools/int8-model.js';

describe('quantizer: multiplier/shift search', () => {
  it('finds exact powers of two and simple fractions', () => {
    expect(quantizeMultiplier(0.5)).to.deep.equal({ multiplier: 16384, shift: 15 });
    expect(quantizeMultiplier(1)).to.deep.equal({ multiplier: 16384, shift: 14 });
    expect(quantizeMultiplier(0.75)).to.deep.equal({ multiplier: 24576, shift: 15 });
    expect(quantizeMultiplier(2 ** -20)).to.deep.equal({ multiplier: 16384, shift: 34 });
  });

  it('steps the shift when rounding reaches 2^15', () => {
    expect(quantizeMultiplier(1 - 1e-9)).to.deep.equal({ multiplier: 16384, shift: 14 });
    expect(quantizeMultiplier(0.49999999)).to.deep.equal({ multiplier: 16384, shift: 15 });
  });

  it('keeps 16384 <= M < 32768 and relative error <= 2^-15 over many magnitudes', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 2000; i++) {
      const real = 2 ** (-30 + 40 * rng.next());
      const { multiplier: m, shift: s } = quantizeMultiplier(real);
      expect(m).to.be.within(16384, 32767);
      expect(s).to.be.within(1, 46);
      expect(Math.abs(m * 2 ** -s - real) / real).to.be.at.most(2 ** -15);
    }
  });

  it('rejects unrepresentable multipliers', () => {
    expect(() => quantizeMultiplier(2 ** 14)).to.throw(/not representable/);
    expect(() => quantizeMultiplier(2 ** -40)).to.throw(/not representable/);
    expect(() => quantizeMultiplier(0)).to.throw(/positive/);
  });

  it('chooses asymmetric params that represent 0 exactly', () => {
    const r = chooseQParams(0, 2.55);
    expect(r.scale).to.be.closeTo(0.01, 1e-15);
    expect(r.zero_point).to.equal(-128);
    const q = chooseQParams(-1, 3);
    expect(q.scale).to.be.closeTo(4 / 255, 1e-12);
    expect(q.zero_point).to.equal(Math.round(-128 + 255 / 4));
  });
});

describe('quantizer: end to end on a tiny random model', () => {
  it('int8 reference logits track the float logits', () => {
    const model = new Sequential([4, 6, 2], [
      { op: 'conv2d', filters: 4, kh: 3, kw: 3, padding: 'same', stride: [1, 2] },
      { op: 'relu' },
      { op: 'maxpool2d', kh: 2, kw: 1 },
      { op: 'avgpool_global' },
      { op: 'dense', units: 3 },
    ]);
    const rng = new Rng(3);
    model.init(rng);
    const count = 64;
    const x = new Int8Array(count * 48);
    for (let i = 0; i < x.length; i++) x[i] = rng.int(256) - 128;
    const data: Int8Data = { x, y: new Uint8Array(count), count, inputBytes: 48, scale: 1 / 64, zeroPoint: 0 };
    const q = validateInt8Model(
      quantizeModel(model, { name: 'tiny', dataset: 'none', input: { scale: 1 / 64, zero_point: 0 }, calibration: data, calibrationSamples: count, seed: 1 }),
      'test',
    );
    expect(q.layers.map((l) => l.op)).to.deep.equal(['conv2d', 'maxpool2d', 'avgpool_global', 'dense']);
    const conv = q.layers[0];
    if (conv.op !== 'conv2d') throw new Error('unreachable');
    expect(conv.act_min).to.equal(conv.out_zp); // fused ReLU
    expect(conv.pad_top).to.equal(1);
    const input = new Float32Array(48);
    let maxErr = 0;
    let range = 0;
    for (let i = 0; i < count; i++) {
      const f = model.forward(dequantize(data, i, input));
      const logits = runInt8(q, x.subarray(i * 48, (i + 1) * 48));
      for (let k = 0; k < 3; k++) {
        maxErr = Math.max(maxErr, Math.abs(q.output.scale * (logits[k] - q.output.zero_point) - f[k]));
        range = Math.max(range, Math.abs(f[k]));
      }
    }
    expect(maxErr).to.be.below(0.05 * range);
  });
});

describe('quantizer: depthwise_conv2d and avgpool2d', () => {
  it('quantizes [kh][kw][oc] weights per output channel and tracks the float logits', () => {
    const model = new Sequential([6, 5, 2], [
      { op: 'conv2d', filters: 3, kh: 3, kw: 3, padding: 'same' },
      { op: 'relu' },
      { op: 'depthwise_conv2d', kh: 3, kw: 3, depth_multiplier: 2, stride: [2, 1], padding: 'same' },
      { op: 'relu' },
      { op: 'avgpool2d', kh: 3, kw: 1, stride: [1, 1] },
      { op: 'flatten' },
      { op: 'dense', units: 4 },
    ]);
    const rng = new Rng(4);
    model.init(rng);
    // one depthwise channel gets tiny weights: per-channel scales must keep it accurate
    const dwF = model.layers[2];
    if (!(dwF instanceof DepthwiseConv2d)) throw new Error('unreachable');
    for (let t = 0; t < 9; t++) dwF.weight.w[t * 6 + 1] *= 0.01;
    const count = 64;
    const n = 60;
    const x = new Int8Array(count * n);
    for (let i = 0; i < x.length; i++) x[i] = rng.int(256) - 128;
    const data: Int8Data = { x, y: new Uint8Array(count), count, inputBytes: n, scale: 1 / 64, zeroPoint: 0 };
    const q = validateInt8Model(
      quantizeModel(model, { name: 'dw', dataset: 'none', input: { scale: 1 / 64, zero_point: 0 }, calibration: data, calibrationSamples: count, seed: 1 }),
      'test',
    );
    expect(q.layers.map((l) => l.op)).to.deep.equal(['conv2d', 'depthwise_conv2d', 'avgpool2d', 'dense']);
    const dw = q.layers[1];
    const ap = q.layers[2];
    if (dw.op !== 'depthwise_conv2d' || ap.op !== 'avgpool2d') throw new Error('unreachable');
    expect(dw.depth_multiplier).to.equal(2);
    expect(dw.act_min).to.equal(dw.out_zp); // fused ReLU
    // channel 1's largest |weight| still maps to 127 (per-channel scale)
    expect(Math.max(...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((t) => Math.abs(dw.weights[t * 6 + 1])))).to.equal(127);
    // avgpool2d keeps the input quantization: requant is exactly 1/3 rounded to M/2^s
    expect(ap.in_zp).to.equal(dw.out_zp);
    expect(ap.out_zp).to.equal(dw.out_zp);
    expect(ap.multiplier / 2 ** ap.shift).to.be.closeTo(1 / 3, 1e-4);
    const input = new Float32Array(n);
    let maxErr = 0;
    let range = 0;
    for (let i = 0; i < count; i++) {
      const f = model.forward(dequantize(data, i, input));
      const logits = runInt8(q, x.subarray(i * n, (i + 1) * n));
      for (let k = 0; k < 4; k++) {
        maxErr = Math.max(maxErr, Math.abs(q.output.scale * (logits[k] - q.output.zero_point) - f[k]));
        range = Math.max(range, Math.abs(f[k]));
      }
    }
    expect(maxErr).to.be.below(0.05 * range);
  });
});
