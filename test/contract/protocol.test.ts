import { expect } from 'chai';
import path from 'node:path';
import { buildFirmware } from '../../harness/firmware/build.js';
import { loadInt8Model, type Int8Model } from '../../harness/modeltools/int8-model.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession, type Session } from '../../harness/session/session.js';
import { HilError } from '../../harness/util/errors.js';
import { ROOT } from '../../harness/util/paths.js';
import { FakeDeviceLink } from '../fakes/fake-device.js';
import { protocolContract } from './protocol.contract.js';
import { yonoClient } from './protocol.contract.js';

const fixture = (): Int8Model => loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-int8.json'));
/** the contract's models: tiny (conv2d, maxpool2d, avgpool_global, dense) and tiny-dw
 * (depthwise_conv2d with depth multiplier 1 and 2, avgpool2d) */
const fixtures = (): Int8Model[] => [fixture(), loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-dw-int8.json'))];

protocolContract(
  'fake device',
  async () => {
    const models = fixtures();
    const client = new ProtocolClient(new FakeDeviceLink({ models }), { replyTimeoutMs: 200 });
    return { client, hello: await client.hello(), models };
  },
  async () => undefined,
);

protocolContract(
  'fake device (int8-ext)',
  async () => {
    const models = fixtures();
    const client = new ProtocolClient(new FakeDeviceLink({ models, variant: 'int8-ext' }), { replyTimeoutMs: 200 });
    return { client, hello: await client.hello(), models };
  },
  async () => undefined,
  'int8-ext',
);

{
  let session: Session | undefined;
  protocolContract(
    'int8-ext firmware on qemu-mps2-an386',
    async () => {
      const models = fixtures();
      const rig = loadRig('qemu-mps2-an386');
      session = await openSession(rig, buildFirmware(rig.board, models, { variant: 'int8-ext' }));
      return { client: yonoClient(session.device), hello: session.hello, models };
    },
    async () => {
      await session?.close();
    },
    'int8-ext',
  );
}

for (const rigName of ['qemu-mps2-an386', 'qemu-mps2-an500']) {
  let session: Session | undefined;
  protocolContract(
    `firmware on ${rigName}`,
    async () => {
      const models = fixtures();
      const rig = loadRig(rigName);
      session = await openSession(rig, buildFirmware(rig.board, models));
      return { client: yonoClient(session.device), hello: session.hello, models };
    },
    async () => {
      await session?.close();
    },
  );
}

describe('protocol client recovery (fake device)', () => {
  it('re-sends after a lost reply and after a corrupted command', async () => {
    const models = [fixture()];
    const link = new FakeDeviceLink({ models, dropReplies: new Set([1]), corruptRequests: new Set([3]) });
    const client = new ProtocolClient(link, { replyTimeoutMs: 100, retries: 3 });
    await client.hello();
    expect(await client.ping(Buffer.from('a'))).to.deep.equal(Buffer.from('a')); // reply dropped, re-sent
    expect(await client.ping(Buffer.from('b'))).to.deep.equal(Buffer.from('b')); // request corrupted, re-sent
    expect(client.stats.resends).to.be.greaterThanOrEqual(2);
    expect(client.stats.naks).to.equal(1);
    expect(client.stats.timeouts).to.equal(1);
  });

  it("acts on the device's NAK at once instead of waiting out the reply timeout", async () => {
    const link = new FakeDeviceLink({ models: [fixture()], corruptRequests: new Set([1]) });
    const client = new ProtocolClient(link, { replyTimeoutMs: 5000, retries: 3 });
    await client.hello();
    const t0 = Date.now();
    expect(await client.ping(Buffer.from('x'))).to.deep.equal(Buffer.from('x'));
    expect(Date.now() - t0, 'ms to recover').to.be.lessThan(1000);
    expect([client.stats.naks, client.stats.timeouts, client.stats.resends]).to.deep.equal([1, 0, 1]);
  });

  it('two samples in flight that both fail recover one at a time (no interleaved uploads)', async () => {
    const models = [fixture()];
    const bytes = models[0].input.shape.reduce((a, b) => a * b, 1);
    const a = new Int8Array(bytes).fill(5);
    const b = new Int8Array(bytes).fill(-9);
    // both samples' INFER replies are lost: both fall back to the acknowledged upload together
    const link = new FakeDeviceLink({ models, dropReplies: new Set([2, 4]) });
    const client = new ProtocolClient(link, { replyTimeoutMs: 100, retries: 3 });
    await client.hello();
    const [ra, rb] = await Promise.all([client.classify(0, a), client.classify(0, b)]);
    expect(Array.from(ra.logits)).to.deep.equal(Array.from(runInt8(models[0], a)));
    expect(Array.from(rb.logits)).to.deep.equal(Array.from(runInt8(models[0], b)));
    expect(client.stats.recoveries).to.equal(2);
  });

  it('a chunk corrupted in a pipelined classify never runs a stale input', async () => {
    const models = [fixture()];
    const bytes = models[0].input.shape.reduce((a, b) => a * b, 1);
    const first = new Int8Array(bytes).fill(3);
    const second = new Int8Array(bytes).fill(-7);
    // requests: 0 hello, 1 chunk(first), 2 infer, 3 chunk(second) <- corrupted, 4 infer (CRC refuses)
    const link = new FakeDeviceLink({ models, corruptRequests: new Set([3]) });
    const client = new ProtocolClient(link, { replyTimeoutMs: 100, retries: 2 });
    await client.hello();
    expect(Array.from((await client.classify(0, first)).logits)).to.deep.equal(Array.from(runInt8(models[0], first)));
    expect(Array.from((await client.classify(0, second)).logits)).to.deep.equal(Array.from(runInt8(models[0], second)));
    expect(client.stats.resends).to.be.greaterThanOrEqual(1);
  });

  it('gives one clear error for a silent board instead of hanging', async () => {
    const client = new ProtocolClient(new FakeDeviceLink({ models: [fixture()], silent: true }), { replyTimeoutMs: 50, retries: 1 });
    try {
      await client.hello(300);
      expect.fail('expected no handshake');
    } catch (e) {
      expect(e).to.be.instanceOf(HilError);
      expect((e as HilError).message).to.match(/no handshake from the firmware within 300 ms/);
    }
  });
});

describe('int8-ext firmware without its external image (QEMU)', () => {
  it('answers SELECT with one clear storage error instead of running garbage', async () => {
    const rig = loadRig('qemu-mps2-an386');
    const firmware = buildFirmware(rig.board, fixtures(), { variant: 'int8-ext' });
    // flashed without ext.bin: the PSRAM region holds zeros, not the YEXT header
    const session = await openSession(rig, { ...firmware, extImage: undefined });
    try {
      const e = await session.device.select(0).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(HilError);
      expect((e as HilError).message).to.match(/external storage error.*no model image/);
    } finally {
      await session.close();
    }
  });
});
