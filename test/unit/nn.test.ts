import { expect } from 'chai';
import { Conv2d, convGeometry } from '../../harness/modeltools/nn/conv2d.js';
import { DepthwiseConv2d } from '../../harness/modeltools/nn/depthwise.js';
import { AvgPool2d, Dense } from '../../harness/modeltools/nn/layers.js';
import { Sequential, softmaxCrossEntropy } from '../../harness/modeltools/nn/model.js';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import { trainModel, Int8Data } from '../../harness/modeltools/nn/trainer.js';
import type { Layer } from '../../harness/modeltools/nn/types.js';

describe('nn: seeded PRNG', () => {
  it('repeats its stream for the same seed and differs for another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.next());
    const sb = Array.from({ length: 100 }, () => b.next());
    const sc = Array.from({ length: 100 }, () => c.next());
    expect(sa).to.deep.equal(sb);
    expect(sa).to.not.deep.equal(sc);
    expect(Math.min(...sa)).to.be.at.least(0);
    expect(Math.max(...sa)).to.be.below(1);
  });

  it('gives identical trained weights for identical seeds', () => {
    const spec = [{ op: 'conv2d' as const, filters: 2, kh: 1, kw: 3, padding: 'same' as const }, { op: 'relu' as const }, { op: 'flatten' as const }, { op: 'dense' as const, units: 3 }];
    const count = 40;
    const rng = new Rng(5);
    const x = Int8Array.from({ length: count * 8 }, () => rng.int(256) - 128);
    const y = Uint8Array.from({ length: count }, () => rng.int(3));
    const data: Int8Data = { x, y, count, inputBytes: 8, scale: 1 / 64, zeroPoint: 0 };
    const run = (seed: number): number[] => {
      const m = new Sequential([1, 4, 2], spec);
      trainModel(m, data, { epochs: 2, batchSize: 8, lr: 0.01, seed });
      return m.params().flatMap((p) => Array.from(p.w));
    };
    expect(run(9)).to.deep.equal(run(9));
    expect(run(9)).to.not.deep.equal(run(10));
  });
});

/** Loss = sum(out * r): dL/dout = r, so analytic grads can be checked by central differences. */
function gradCheck(layer: Layer, x: Float32Array, rng: Rng, checkInput: boolean): void {
  const outLen = layer.outShape[0] * layer.outShape[1] * layer.outShape[2];
  const r = Float32Array.from({ length: outLen }, () => rng.normal());
  const loss = (): number => {
    const out = layer.forward(x);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * r[i];
    return s;
  };
  for (const p of layer.params()) p.g.fill(0);
  layer.forward(x);
  const dx = Float32Array.from(layer.backward(r));
  const eps = 1e-2;
  const check = (buf: Float32Array, analytic: ArrayLike<number>, what: string): void => {
    for (let i = 0; i < buf.length; i++) {
      const old = buf[i];
      buf[i] = old + eps;
      const lp = loss();
      buf[i] = old - eps;
      const lm = loss();
      buf[i] = old;
      const num = (lp - lm) / (2 * eps);
      expect(analytic[i], `${what}[${i}]`).to.be.closeTo(num, 1e-3 * Math.max(1, Math.abs(num)));
    }
  };
  for (const p of layer.params()) check(p.w, Float32Array.from(p.g), p.name);
  if (checkInput) check(x, dx, 'x');
}

describe('nn: gradient check (finite differences)', () => {
  it('conv2d same padding, stride 2, 2 input channels', () => {
    const rng = new Rng(11);
    const conv = new Conv2d({ inShape: [5, 4, 2], outCh: 3, kh: 3, kw: 2, strideH: 2, strideW: 2, padding: 'same' });
    conv.weight.w.forEach((_, i) => (conv.weight.w[i] = rng.normal()));
    conv.bias.w.forEach((_, i) => (conv.bias.w[i] = rng.normal()));
    expect(conv.outShape).to.deep.equal([3, 2, 3]);
    gradCheck(conv, Float32Array.from({ length: 40 }, () => rng.normal()), rng, true);
  });

  it('conv2d valid padding', () => {
    const rng = new Rng(12);
    const conv = new Conv2d({ inShape: [4, 4, 1], outCh: 2, kh: 3, kw: 3, padding: 'valid' });
    conv.weight.w.forEach((_, i) => (conv.weight.w[i] = rng.normal()));
    gradCheck(conv, Float32Array.from({ length: 16 }, () => rng.normal()), rng, true);
  });

  it('depthwise_conv2d same padding, stride 2, depth multiplier 2', () => {
    const rng = new Rng(14);
    const dw = new DepthwiseConv2d({ inShape: [5, 4, 3], kh: 3, kw: 2, depthMultiplier: 2, strideH: 2, strideW: 2, padding: 'same' });
    dw.weight.w.forEach((_, i) => (dw.weight.w[i] = rng.normal()));
    dw.bias.w.forEach((_, i) => (dw.bias.w[i] = rng.normal()));
    expect(dw.outShape).to.deep.equal([3, 2, 6]);
    gradCheck(dw, Float32Array.from({ length: 60 }, () => rng.normal()), rng, true);
  });

  it('depthwise_conv2d valid padding, depth multiplier 1', () => {
    const rng = new Rng(15);
    const dw = new DepthwiseConv2d({ inShape: [4, 5, 2], kh: 3, kw: 3, padding: 'valid' });
    dw.weight.w.forEach((_, i) => (dw.weight.w[i] = rng.normal()));
    expect(dw.outShape).to.deep.equal([2, 3, 2]);
    gradCheck(dw, Float32Array.from({ length: 40 }, () => rng.normal()), rng, true);
  });

  it('depthwise_conv2d forward: channel oc filters input channel oc / depth multiplier only', () => {
    const dw = new DepthwiseConv2d({ inShape: [1, 1, 2], kh: 1, kw: 1, depthMultiplier: 2, padding: 'valid' });
    dw.weight.w.set([1, 2, 3, 4]); // [kh][kw][oc]
    dw.bias.w.set([0, 0, 0, 1]);
    expect(Array.from(dw.forward(Float32Array.from([10, 100])))).to.deep.equal([10, 20, 300, 401]);
  });

  it('avgpool2d with overlapping windows (stride < kernel)', () => {
    const rng = new Rng(16);
    const p = new AvgPool2d([4, 5, 2], 2, 3, 1, 2);
    expect(p.outShape).to.deep.equal([3, 2, 2]);
    const x = Float32Array.from({ length: 40 }, () => rng.normal());
    gradCheck(p, x, rng, true);
    const q = new AvgPool2d([1, 4, 1], 1, 2);
    expect(Array.from(q.forward(Float32Array.from([1, 3, 5, 9])))).to.deep.equal([2, 7]);
  });

  it('dense', () => {
    const rng = new Rng(13);
    const d = new Dense([1, 1, 5], 3);
    d.weight.w.forEach((_, i) => (d.weight.w[i] = rng.normal()));
    gradCheck(d, Float32Array.from({ length: 5 }, () => rng.normal()), rng, true);
  });

  it('softmax cross-entropy', () => {
    const logits = Float32Array.from([0.3, -1.2, 2.0, 0.5]);
    const g = new Float32Array(4);
    softmaxCrossEntropy(logits, 2, g);
    const tmp = new Float32Array(4);
    for (let i = 0; i < 4; i++) {
      const p = Float32Array.from(logits);
      const m = Float32Array.from(logits);
      p[i] += 1e-2;
      m[i] -= 1e-2;
      const num = (softmaxCrossEntropy(p, 2, tmp) - softmaxCrossEntropy(m, 2, tmp)) / 2e-2;
      expect(g[i]).to.be.closeTo(num, 1e-3);
    }
  });

  it('computes TensorFlow-style same padding', () => {
    expect(convGeometry(28, 3, 1, 'valid')).to.deep.equal({ out: 26, pad: 0 });
    expect(convGeometry(128, 5, 1, 'same')).to.deep.equal({ out: 128, pad: 2 });
    expect(convGeometry(5, 2, 2, 'same')).to.deep.equal({ out: 3, pad: 0 });
    expect(convGeometry(6, 3, 2, 'same')).to.deep.equal({ out: 3, pad: 0 });
  });
});
