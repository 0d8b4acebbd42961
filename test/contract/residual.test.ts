/**
 * Graph models (SPEC section 2, layer "inputs") with TFLite's int8 ADD: a ResNet-style residual
 * model (test/fixtures/residual-model.ts) under tflite-double and tflite-single, next to chain
 * models in the same firmware. The static arena plan keeps skip tensors alive; device (QEMU
 * mps2-an386) and host reference agree bit for bit (the protocol contract), as for a 640-output
 * autoencoder whose whole output vector comes back (INFER's wide form, protocol version 5).
 */
import { expect } from 'chai';
import { buildFirmware } from '../../harness/firmware/build.js';
import { planArena } from '../../harness/codegen/codegen.js';
import { isGraph, layerInputs, layerOutSize, validateInt8Model, type Int8Model } from '../../harness/modeltools/int8-model.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import { runInt8, runInt8Layers } from '../../harness/reference/int8.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession, type Session } from '../../harness/session/session.js';
import { HilError } from '../../harness/util/errors.js';
import { FakeDeviceLink } from '../fakes/fake-device.js';
import { makeAutoencoder, makeLogisticTflite, makeResidualModel, makeResidualTflite } from '../fixtures/residual-model.js';
import { importTflite } from '../../harness/modeltools/import/tflite.js';
import { protocolContract, yonoClient } from './protocol.contract.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import { join } from 'node:path';
import { ROOT } from '../../harness/util/paths.js';

/** the residual .tflite written by test/helpers/tflite-writer.ts, imported as a user would */
const importedResidual = (): Int8Model => importTflite(makeResidualTflite(), 'residual.tflite', { name: 'residual_tflite', dataset: 'none' }).model;

const models = (): Int8Model[] => [
  makeResidualModel('tflite-double'),
  makeResidualModel('tflite-single', 11),
  importedResidual(),
  importTflite(makeLogisticTflite(), 'logistic.tflite', { name: 'logistic_tflite', dataset: 'none' }).model,
  importTflite(makeResidualTflite(5, true), 'concat.tflite', { name: 'concat_tflite', dataset: 'none' }).model,
  importTflite(makeResidualTflite(5, false, true), 'mul.tflite', { name: 'mul_tflite', dataset: 'none' }).model,
  makeAutoencoder(), // 640 outputs: INFER's wide form, compared element by element
  loadInt8Model(join(ROOT, 'test', 'fixtures', 'tiny-int8.json')), // a yono15 chain beside them
];

describe('graph models: residual ADD and the static arena plan', () => {
  it('the residual model is a graph whose skip connections reach back', () => {
    const m = makeResidualModel();
    expect(isGraph(m)).to.equal(true);
    expect(m.layers.map((l, i) => layerInputs(l, i))).to.deep.equal([[0], [1], [2], [1, 3], [4], [4, 5], [6], [7]]);
    // not degenerate: the logits vary with the input and are not all saturated
    const outs = new Set<string>();
    for (let k = 0; k < 8; k++) {
      const x = Int8Array.from({ length: 256 }, (_, i) => ((i * (7 + k) + k * 13) % 256) - 128);
      const y = runInt8(m, x);
      outs.add(Array.from(y).join());
      expect(Array.from(y).filter((v) => v === 127 || v === -128).length).to.be.lessThan(5);
    }
    expect(outs.size).to.equal(8);
  });

  it('the arena plan never overlaps two live tensors and beats one buffer per tensor', () => {
    const m = makeResidualModel();
    const plan = planArena(m);
    const n = m.layers.length;
    const last = Array.from({ length: n + 1 }, (_, t) => (t === n ? n : t));
    m.layers.forEach((l, i) => layerInputs(l, i).forEach((t) => (last[t] = Math.max(last[t], i))));
    const size = (t: number): number => layerOutSize(m.layers[t - 1]);
    for (let a = 1; a <= n; a++) {
      for (let b = a + 1; b <= n; b++) {
        const live = a - 1 <= last[b] && b - 1 <= last[a];
        const apart = plan.offsets[a] + size(a) <= plan.offsets[b] || plan.offsets[b] + size(b) <= plan.offsets[a];
        if (live) expect(apart, `tensors ${a} and ${b}`).to.equal(true);
      }
      expect(plan.offsets[a] % 4).to.equal(0);
    }
    expect(plan.naive).to.equal(m.layers.reduce((s, l) => s + ((layerOutSize(l) + 3) & ~3), 0));
    // three 512 B tensors are live at once (t1 over t2, t3 is being written), never all seven
    expect(plan.bytes).to.equal(3 * 512);
    expect(plan.bytes).to.be.lessThan(plan.naive);
  });

  it('a graph (per-layer inputs) runs like its chain when the inputs are the chain', () => {
    const m = makeResidualModel();
    const layers = runInt8Layers(m, new Int8Array(256).fill(3));
    expect(layers).to.have.length(8);
    expect(Array.from(layers[7])).to.deep.equal(Array.from(runInt8(m, new Int8Array(256).fill(3))));
  });

  it('imports a residual .tflite (CONV, CONV, ADD skip, pool, reshape, FC, softmax) as a graph', () => {
    const m = importedResidual();
    expect(m.format).to.equal('yono-int8/2');
    expect(m.layers.map((l) => `${l.op}${JSON.stringify(l.inputs)}`)).to.deep.equal(['conv2d[0]', 'conv2d[1]', 'add[1,2]', 'avgpool_global[3]', 'dense[4]']);
    const add = m.layers[2];
    if (add.op !== 'add') throw new Error('add');
    // TFLM's Prepare: left shift 20, input multipliers s_i / (2 max(s1, s2)): the larger one is exactly 0.5
    expect(add.left_shift).to.equal(20);
    expect([add.multiplier[0], add.shift[0]]).to.deep.equal([2 ** 30, 0]); // 0.08 / 0.16
    expect(add.shift.every((x) => x <= 0)).to.equal(true);
    expect(add.in_zp).to.equal(-128); // the RELU conv's output
    const y = Array.from(runInt8(m, Int8Array.from({ length: 256 }, (_, i) => (i % 200) - 100)));
    expect(new Set(y).size).to.be.greaterThan(3);
    // yono15 cannot express TFLite's ADD
    try {
      importTflite(makeResidualTflite(), 'residual.tflite', { name: 'r', dataset: 'none', arithmetic: 'yono15' });
      expect.fail('imported');
    } catch (e) {
      expect((e as HilError).message).to.match(/operator 2 \(ADD, output "add"\): ADD needs a tflite-\* arithmetic/);
    }
  });

  it('imports LOGISTIC as TFLite\'s int8 table (a lut layer): a monotone sigmoid within one output step', () => {
    const { model } = importTflite(makeLogisticTflite(), 'logistic.tflite', { name: 'l', dataset: 'none' });
    expect(model.layers.map((l) => l.op)).to.deep.equal(['dense', 'lut']);
    const lut = model.layers[1];
    if (lut.op !== 'lut') throw new Error('lut');
    for (let k = 1; k < 256; k++) expect(lut.table[k]).to.be.at.least(lut.table[k - 1]);
    for (let k = 0; k < 256; k++) {
      const real = 1 / (1 + Math.exp(-0.08 * (k - 128 + 2)));
      expect(Math.abs((lut.table[k] + 128) / 256 - real)).to.be.at.most(1 / 256 + 1e-9);
    }
    expect(lut.table[0]).to.equal(-128);
    expect(lut.table[255]).to.equal(127);
    expect(model.output).to.deep.include({ scale: 1 / 256, zero_point: -128 });
  });

  it('imports CONCATENATION (channel axis, one quantization) as a concat layer of a graph', () => {
    const m = importTflite(makeResidualTflite(5, true), 'concat.tflite', { name: 'c', dataset: 'none' }).model;
    expect(m.layers.map((l) => `${l.op}${JSON.stringify(l.inputs)}`)).to.deep.equal(['conv2d[0]', 'conv2d[1]', 'concat[1,2]', 'avgpool_global[3]', 'dense[4]']);
    const layers = runInt8Layers(m, Int8Array.from({ length: 256 }, (_, i) => (i % 100) - 50));
    // pixel 5 of the concat: the first conv's 8 channels, then the second's
    expect(Array.from(layers[2].subarray(5 * 16, 6 * 16))).to.deep.equal([...layers[0].subarray(5 * 8, 6 * 8), ...layers[1].subarray(5 * 8, 6 * 8)]);
  });

  it('imports MUL (same shapes) as TFLite\'s int8 MUL: one multiplier s1*s2/s_out', () => {
    const m = importTflite(makeResidualTflite(5, false, true), 'mul.tflite', { name: 'm', dataset: 'none' }).model;
    expect(m.layers.map((l) => `${l.op}${JSON.stringify(l.inputs)}`)).to.deep.equal(['conv2d[0]', 'conv2d[1]', 'mul[1,2]', 'avgpool_global[3]', 'dense[4]']);
    const mul = m.layers[2];
    if (mul.op !== 'mul') throw new Error('mul');
    const real = (mul.multiplier[0] / 2 ** 31) * 2 ** mul.shift[0];
    expect(real / ((0.08 * 0.07) / 0.1) - 1).to.be.within(-1e-6, 1e-6); // the scales are float32 in the file
  });

  it('a 640-output model: not degenerate; a model may have up to 65535 outputs (INFER u16; READ_OUTPUT beyond a frame, proto 7)', () => {
    const m = makeAutoencoder();
    expect(m.classes).to.equal(640);
    const y = runInt8(m, Int8Array.from({ length: 640 }, (_, i) => ((i * 7) % 256) - 128));
    expect(new Set(y).size).to.be.greaterThan(8); // a spread around the output zero point, no saturation
    expect(Array.from(y).some((v) => v === 127 || v === -128)).to.equal(false);
    expect(() => validateInt8Model({ ...m, classes: 65536, layers: [] }, 'x')).to.throw(/\$\.classes: must be in \[1, 65535\], got 65536/);
  });

  it('refuses what a graph cannot be: inputs in format 1, a forward reference, add in yono15, a shape mismatch', () => {
    const m = JSON.parse(JSON.stringify(makeResidualModel())) as Record<string, unknown> & { layers: Record<string, unknown>[] };
    const err = (v: unknown): string => {
      try {
        validateInt8Model(v, 'g.json');
      } catch (e) {
        if (e instanceof HilError) return e.toLine();
        throw e;
      }
      return 'accepted';
    };
    expect(err({ ...m, format: 'yono-int8/1', arithmetic: undefined })).to.match(/layer "inputs" \(a graph\) need "format": "yono-int8\/2"/);
    const fwd = structuredClone(m);
    fwd.layers[3].inputs = [1, 5];
    expect(err(fwd)).to.match(/\$\.layers\[3\]\.inputs\[1\]: must be an integer in \[0, 3\]/);
    expect(err({ ...m, arithmetic: 'yono15' })).to.match(/add needs a tflite-\* arithmetic|multiplier/);
    const bad = structuredClone(m);
    bad.layers[3].inputs = [1, 0];
    expect(err(bad)).to.match(/\$\.layers\[3\]\.inputs\[1\]: \[8,8,4\] does not match in_shape \[8,8,8\]/);
  });
});

protocolContract(
  'fake device, graph models',
  async () => {
    const ms = models();
    const client = new ProtocolClient(new FakeDeviceLink({ models: ms }), { replyTimeoutMs: 2000 });
    return { client, hello: await client.hello(), models: ms };
  },
  async () => undefined,
);

let session: Session | undefined;
protocolContract(
  'firmware on qemu-mps2-an386, graph models (residual ADD, planned arena) beside a chain',
  async () => {
    const ms = models();
    const rig = loadRig('qemu-mps2-an386');
    session = await openSession(rig, buildFirmware(rig.board, ms));
    return { client: yonoClient(session.device), hello: session.hello, models: ms };
  },
  async () => {
    await session?.close();
  },
);
