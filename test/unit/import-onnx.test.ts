import { expect } from 'chai';
import { join } from 'node:path';
import { loadPrepared } from '../../harness/datasets/prepared.js';
import { loadFloatModel } from '../../harness/modeltools/float-model.js';
import { importOnnx } from '../../harness/modeltools/import/onnx.js';
import { Sequential } from '../../harness/modeltools/nn/model.js';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import type { Int8Data } from '../../harness/modeltools/nn/trainer.js';
import { quantizeModel } from '../../harness/modeltools/quantize.js';
import { evaluateInt8 } from '../../harness/reference/int8.js';
import { HilError } from '../../harness/util/errors.js';
import { MODELS_DIR } from '../../harness/util/paths.js';
import { onnxModel, onnxTensor, sequentialToOnnx, type OnnxNodeSpec } from '../helpers/onnx-writer.js';

const CAL = 200;

function data(name: string, split: 'train' | 'test'): Int8Data {
  const d = loadPrepared(name, split);
  return { x: d.x, y: d.y, count: d.count, inputBytes: d.inputBytes, scale: d.manifest.input_scale, zeroPoint: d.manifest.input_zero_point };
}

/** Our own quantization of the float model, with the options the importer uses. */
function ownQuantization(model: Sequential, name: string, dataset: string, cal: Int8Data) {
  return quantizeModel(model, { name, dataset, input: { scale: cal.scale, zero_point: cal.zeroPoint }, calibration: cal, calibrationSamples: CAL, seed: 1 });
}

function hilError(fn: () => unknown): HilError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  throw new Error('expected a HilError');
}

describe('ONNX import: round trip from our own float models', () => {
  for (const [zoo, dataset, matmulAt] of [['fmnist_cnn', 'fashion_mnist', 9], ['hapt_cnn', 'uci_hapt', -1]] as const) {
    it(`${zoo} -> ONNX (NCHW) -> import == our own quantization, same predictions`, () => {
      const { model: float } = loadFloatModel(join(MODELS_DIR, zoo, 'float.json'));
      const cal = data(dataset, 'train');
      const onnx = sequentialToOnnx(float, { matmulAt });
      const r = importOnnx(onnx, `${zoo}.onnx`, { name: zoo, dataset, calibration: cal, calibrationSamples: CAL });
      const own = ownQuantization(float, zoo, dataset, cal);
      // bit-identical int8 model: every transpose and the flatten permutation undone exactly
      expect(r.model).to.deep.equal(own);
      expect(r.report.dropped_ops.join()).to.match(/Softmax/);
      const test = data(dataset, 'test');
      const n = 300;
      const a = evaluateInt8(r.model, test.x, test.y, n);
      const b = evaluateInt8(own, test.x, test.y, n);
      expect(Array.from(a.predictions)).to.deep.equal(Array.from(b.predictions));
      expect(a.accuracy).to.be.greaterThan(0.8);
    });
  }

  it('a synthetic model with depthwise (multiplier 2), average pooling, TF-SAME pads and MatMul+Add', () => {
    const float = new Sequential([8, 10, 3], [
      { op: 'conv2d', filters: 4, kh: 3, kw: 3, padding: 'same', stride: [2, 1] },
      { op: 'relu' },
      { op: 'depthwise_conv2d', kh: 3, kw: 3, depth_multiplier: 2, padding: 'same' },
      { op: 'relu' },
      { op: 'avgpool2d', kh: 2, kw: 2 },
      { op: 'flatten' },
      { op: 'dense', units: 5 },
    ]);
    float.init(new Rng(5));
    const rng = new Rng(9);
    const count = 64;
    const x = Int8Array.from({ length: count * 240 }, () => Math.floor(rng.next() * 256) - 128);
    const cal: Int8Data = { x, y: new Uint8Array(count), count, inputBytes: 240, scale: 1 / 64, zeroPoint: 0 };
    const r = importOnnx(sequentialToOnnx(float, { matmulAt: 6 }), 'synthetic.onnx', { name: 's', dataset: 'd', calibration: cal, calibrationSamples: CAL });
    expect(r.model.layers.map((l) => l.op)).to.deep.equal(['conv2d', 'depthwise_conv2d', 'avgpool2d', 'dense']);
    expect(r.model).to.deep.equal(ownQuantization(float, 's', 'd', cal));
  });
});

describe('ONNX import: errors', () => {
  const cal: Int8Data = { x: new Int8Array(4), y: new Uint8Array(1), count: 1, inputBytes: 4, scale: 1, zeroPoint: 0 };
  const opts = { name: 'm', dataset: 'd', calibration: cal, calibrationSamples: 1 };
  const gemm = (input: string): [ReturnType<typeof onnxTensor>, OnnxNodeSpec] => [
    onnxTensor('w', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]),
    { op: 'Gemm', inputs: [input, 'w'], outputs: ['y'], name: 'fc', attrs: [{ name: 'transB', i: 1 }] },
  ];

  it('names the op type and node of an unsupported operator', () => {
    const [w, fc] = gemm('h');
    const bytes = onnxModel({
      nodes: [{ op: 'Sigmoid', inputs: ['x'], outputs: ['h'], name: 'act/sigmoid' }, fc],
      inits: [w], input: ['x', [1, 4]], output: ['y', [1, 2]],
    });
    const e = hilError(() => importOnnx(bytes, 'net.onnx', opts));
    expect(e.where).to.equal('net.onnx');
    expect(e.message).to.match(/^node 0 \(Sigmoid, "act\/sigmoid"\): not supported; supported: Conv/);
  });

  it('refuses Clip(0, 6) (ReLU6) with the reason, and accepts Clip(0, inf) as ReLU', () => {
    const [w, fc] = gemm('x');
    const clip = (max?: number) => onnxModel({
      nodes: [fc, { op: 'Clip', inputs: max === undefined ? ['y', 'lo'] : ['y', 'lo', 'hi'], outputs: ['z'], name: 'clip' }],
      inits: [w, onnxTensor('lo', [], [0]), ...(max === undefined ? [] : [onnxTensor('hi', [], [max])])],
      input: ['x', [1, 4]], output: ['z', [1, 2]],
    });
    expect(hilError(() => importOnnx(clip(6), 'r6.onnx', opts)).message).to.match(/^node 1 \(Clip, "clip"\): Clip\(0, 6\) not supported/);
    const r = importOnnx(clip(), 'relu.onnx', opts);
    expect(r.model.layers).to.have.length(1);
    if (r.model.layers[0].op !== 'dense') throw new Error('dense');
    expect(r.model.layers[0].act_min).to.equal(r.model.layers[0].out_zp); // fused ReLU
  });

  it('refuses a branching graph and a corrupt file', () => {
    const [w, fc] = gemm('x');
    const bytes = onnxModel({
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['a'], name: 'r' }, fc],
      inits: [w], input: ['x', [1, 4]], output: ['y', [1, 2]],
    });
    expect(hilError(() => importOnnx(bytes, 'b.onnx', opts)).message).to.match(/node 1 \(Gemm, "fc"\): not a linear chain/);
    expect(hilError(() => importOnnx(Buffer.from([0x3a, 0x50, 1, 2]), 'c.onnx', opts)).message).to.match(/corrupt protobuf/);
  });
});
