/**
 * Output vectors longer than one INFER reply can carry (protocol 7): the device leaves them out of
 * the reply and the client reads them back with READ_OUTPUT, one sample at a time even when the
 * caller pipelines (fake device; the firmware's side runs in test/integration/user-data.test.ts).
 */
import { expect } from 'chai';
import { importTflite } from '../../harness/modeltools/import/tflite.js';
import { ProtocolClient, INLINE_OUTPUTS } from '../../harness/protocol/yono/client.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { FakeDeviceLink } from '../fakes/fake-device.js';
import { makeAutoencoderTflite } from '../fixtures/autoencoder-tflite.js';

describe('outputs beyond one reply frame (fake device, protocol 7)', () => {
  const model = importTflite(makeAutoencoderTflite(9, 3000), 'ae3000.tflite', { name: 'ae3000', dataset: 'none' }).model;
  const input = (seed: number) => Int8Array.from({ length: 3000 }, (_, i) => ((i * 31 + seed * 17) % 256) - 128);

  it('a 3000-output model is more than INFER carries, and its outputs are not degenerate', () => {
    expect(model.classes).to.equal(3000);
    expect(model.classes).to.be.greaterThan(INLINE_OUTPUTS);
    expect(new Set(runInt8(model, input(1))).size).to.be.greaterThan(16);
  });

  it('infer (timed runs) and pipelined classify return the whole vector, each sample its own', async () => {
    const client = new ProtocolClient(new FakeDeviceLink({ models: [model] }), { replyTimeoutMs: 2000 });
    await client.hello();
    await client.upload(input(1));
    const r = await client.infer(0, 5, 1);
    expect(r.ticks).to.have.length(5);
    expect(Array.from(r.logits)).to.deep.equal(Array.from(runInt8(model, input(1))));
    const results = await Promise.all([2, 3, 4].map((s) => client.classify(0, input(s))));
    results.forEach((res, k) => expect(Array.from(res.logits), `sample ${k}`).to.deep.equal(Array.from(runInt8(model, input(2 + k)))));
  });
});
