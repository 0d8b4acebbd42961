/**
 * Three int8 TFLite graphs built by test/fixtures/tflite-models.ts (a ResNet-style residual model with
 * a squeeze-excitation gate, a MobileNetV1-style RGB model with a MEAN or AVERAGE_POOL_2D head, a
 * 640-output autoencoder): each is checked against the independent interpreter (Arm NN CpuRef,
 * Debian's python3-pyarmnn) under both TFLite arithmetics, imported, run on the emulated board
 * (QEMU mps2-an386, two inputs per model) and compared with the host reference element by element.
 * Arm NN computes in float32 and rounds once; TFLite's MEAN, ADD, MUL and LOGISTIC take integer steps
 * that are not one rounding of the real result, so only the models without those match `tflite-single`
 * on every vector (docs/models.md explains the rest).
 */
import { expect } from 'chai';
import { buildFirmware } from '../../harness/firmware/build.js';
import { importTflite } from '../../harness/modeltools/import/tflite.js';
import { shapeSize, type Arithmetic, type Int8Model } from '../../harness/modeltools/int8-model.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import { compareVectors, runArmnn } from '../../harness/reference/armnn.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession } from '../../harness/session/session.js';
import { makeAutoencoderTflite, makeConstOperandTflite, makeMobilenetTflite, makeResnetTflite } from '../fixtures/tflite-models.js';

/** Seeded inputs that differ in level and contrast from sample to sample (as images do), not only in noise. */
function seededInputs(count: number, bytes: number, seed: number): Int8Array {
  const x = new Int8Array(count * bytes);
  let s = seed >>> 0 || 1;
  for (let k = 0; k < count; k++) {
    const level = ((k * 37) % 200) - 100;
    const contrast = ((k % 4) + 1) / 4;
    for (let i = k * bytes; i < (k + 1) * bytes; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      x[i] = Math.max(-128, Math.min(127, Math.round((((s >>> 0) & 0xff) - 128) * contrast) + level));
    }
  }
  return x;
}

interface Case {
  name: string;
  bytes: Uint8Array;
  ops: string;
  /** identical output vectors against Arm NN expected under tflite-single (no float-computed op) */
  singleExact: boolean;
}

const CASES: Case[] = [
  { name: 'resnet', bytes: makeResnetTflite(), ops: 'conv2d conv2d conv2d add conv2d conv2d conv2d add mean dense dense lut mul mean dense', singleExact: false },
  { name: 'mobilenet_mean', bytes: makeMobilenetTflite('mean'), ops: 'conv2d depthwise_conv2d conv2d depthwise_conv2d conv2d depthwise_conv2d conv2d depthwise_conv2d conv2d mean dense', singleExact: false },
  { name: 'mobilenet_avgpool', bytes: makeMobilenetTflite('avgpool'), ops: 'conv2d depthwise_conv2d conv2d depthwise_conv2d conv2d depthwise_conv2d conv2d depthwise_conv2d conv2d avgpool_global dense', singleExact: true },
  { name: 'autoencoder', bytes: makeAutoencoderTflite(), ops: 'dense dense dense dense dense dense', singleExact: true },
  // a scalar constant ADD, a per-channel constant MUL (constant first): both operands in the layers
  { name: 'const_operands', bytes: makeConstOperandTflite(), ops: 'conv2d add mul mean dense', singleExact: false },
];

const imported = (c: Case, arithmetic: Arithmetic): Int8Model =>
  importTflite(c.bytes, `${c.name}.tflite`, { name: `${c.name}_${arithmetic.replace('-', '_')}`, dataset: 'none', arithmetic }).model;

describe('TFLite-writer models (ResNet-style, MobileNetV1-style, autoencoder) against Arm NN CpuRef', () => {
  const N = 24;
  for (const c of CASES) {
    it(`${c.name}: imports as a ${c.ops.split(' ').length}-layer model; host vs Arm NN in both TFLite arithmetics`, () => {
      const models = (['tflite-single', 'tflite-double'] as const).map((a) => imported(c, a));
      expect(models[0].layers.map((l) => l.op).join(' ')).to.equal(c.ops);
      const inBytes = shapeSize(models[0].input.shape);
      const x = seededInputs(N, inBytes, 7);
      const ref = runArmnn(c.bytes, x, N, true, c.name);
      const outs = new Set<string>();
      const [single, double] = models.map((m) => compareVectors(ref, N, m.classes, (i) => {
        const y = runInt8(m, x.subarray(i * inBytes, (i + 1) * inBytes));
        outs.add(Array.from(y).join());
        return y;
      }));
      process.stdout.write(`      ${c.name}: identical vectors vs Arm NN: tflite-single ${single.same}/${N} (max |diff| ${single.maxDiff}), tflite-double ${double.same}/${N} (max |diff| ${double.maxDiff})\n`);
      expect(outs.size, 'outputs vary with the input').to.be.greaterThan(N / 2);
      if (c.singleExact) expect(single.same, 'tflite-single: Arm NN rounds as it does').to.equal(N);
      // single: Arm NN's float ADD/MUL/MEAN/LOGISTIC, one step at most; double rounding drifts over depth
      expect(single.maxDiff).to.be.at.most(1);
      expect(double.maxDiff).to.be.at.most(4);
      expect(single.same + double.same).to.be.greaterThan(0);
    });
  }

  it('on the emulated board (qemu-mps2-an386): device == host on every output element', async function () {
    this.timeout(600000);
    const models = [...CASES.map((c) => imported(c, 'tflite-double')), imported(CASES[0], 'tflite-single')];
    const rig = loadRig('qemu-mps2-an386');
    const session = await openSession(rig, buildFirmware(rig.board, models));
    try {
      const client = session.device as ProtocolClient;
      for (const [id, m] of models.entries()) {
        const inBytes = shapeSize(m.input.shape);
        const x = seededInputs(2, inBytes, 11 + id);
        for (let k = 0; k < 2; k++) {
          const input = x.subarray(k * inBytes, (k + 1) * inBytes);
          await client.upload(input);
          const r = await client.infer(id, 1, 0);
          expect(r.logits.length, m.name).to.equal(m.classes);
          expect(Array.from(r.logits), `${m.name} input ${k}`).to.deep.equal(Array.from(runInt8(m, input)));
        }
      }
    } finally {
      await session.close();
    }
  });
});
