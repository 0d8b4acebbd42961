/**
 * The protocol contract: one suite, run against the fake device and against the real firmware
 * on QEMU (see protocol.test.ts). Whatever passes here on both is what the harness relies on.
 */
import { expect } from 'chai';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import type { DeviceHello } from '../../harness/protocol/device.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import type { DeviceProtocol } from '../../harness/protocol/device.js';
import { Cmd, MAX_PAYLOAD, PROTO_VERSION } from '../../harness/protocol/yono/frame.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { HilError } from '../../harness/util/errors.js';

export interface ContractTarget {
  client: ProtocolClient;
  hello: DeviceHello;
  models: Int8Model[];
}

/** The contract is our protocol's: a session's device must be the yono driver. */
export function yonoClient(device: DeviceProtocol): ProtocolClient {
  if (!(device instanceof ProtocolClient)) throw new Error(`the yono contract needs the yono driver, got ${device.protocol}`);
  return device;
}

function seededInput(bytes: number, seed: number): Int8Array {
  const out = new Int8Array(bytes);
  let s = seed >>> 0;
  for (let i = 0; i < bytes; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 16) & 0xff;
  }
  return out;
}

/** The HilError a command was refused with (the device's ERR code is in its message). */
export async function rejection(p: Promise<unknown>): Promise<HilError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  throw new Error('expected the device to refuse');
}

/** `variant`: the form the target's firmware holds; int8-ext targets also run the external-storage case. */
export function protocolContract(name: string, setup: () => Promise<ContractTarget>, teardown: () => Promise<void>, variant = 'int8'): void {
  describe(`protocol contract: ${name}`, function () {
    let t: ContractTarget;
    before(async function () {
      t = await setup();
    });
    after(teardown);

    it('the handshake lists every model with its input size and class count', () => {
      expect(t.hello.proto).to.equal(PROTO_VERSION);
      expect(t.hello.max_payload).to.equal(MAX_PAYLOAD);
      for (const m of t.models) {
        const d = t.hello.models.find((x) => x.name === m.name);
        expect(d, m.name).to.not.equal(undefined);
        expect(d?.input_bytes).to.equal(m.input.shape.reduce((a, b) => a * b, 1));
        expect(d?.classes).to.equal(m.classes);
      }
    });

    it('echoes binary payloads with zeros and 0xff bytes intact', async () => {
      const data = Buffer.from([0, 0, 255, 1, 0, 254, 0]);
      expect(await t.client.ping(data)).to.deep.equal(data);
      const big = Buffer.alloc(MAX_PAYLOAD); // the largest frame both sides accept
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
      expect(await t.client.ping(big)).to.deep.equal(big);
    });

    it('computes the same logits as the host reference, for every model', async () => {
      for (const m of t.models) {
        const id = t.hello.models.find((x) => x.name === m.name)?.id ?? -1;
        await t.client.select(id); // a no-op switch for in-memory variants, a load for int8-ext
        for (let seed = 1; seed <= 3; seed++) {
          const input = seededInput(m.input.shape.reduce((a, b) => a * b, 1), seed);
          await t.client.upload(input, 300); // several chunks
          const r = await t.client.infer(id, 2, 1);
          expect(Array.from(r.logits), `${m.name} seed ${seed}`).to.deep.equal(Array.from(runInt8(m, input)));
          expect(r.ticks).to.have.length(2);
        }
      }
    });

    it('pipelined classify (chunks and INFER back to back) equals the host reference', async () => {
      for (const m of t.models) {
        const id = t.hello.models.find((x) => x.name === m.name)?.id ?? -1;
        await t.client.select(id);
        const results = await Promise.all(
          [11, 12, 13].map((seed) => t.client.classify(id, seededInput(m.input.shape.reduce((a, b) => a * b, 1), seed), 300)),
        );
        results.forEach((r, i) => {
          const expected = runInt8(m, seededInput(m.input.shape.reduce((a, b) => a * b, 1), 11 + i));
          expect(Array.from(r.logits), `${m.name} seed ${11 + i}`).to.deep.equal(Array.from(expected));
        });
      }
    });

    it('READ_OUTPUT returns the last output vector whole, in slices, and refuses a slice past its end (proto 7)', async () => {
      for (const m of t.models) {
        const id = t.hello.models.find((x) => x.name === m.name)?.id ?? -1;
        await t.client.select(id);
        const x = seededInput(m.input.shape.reduce((a, b) => a * b, 1), 21);
        await t.client.upload(x);
        const r = await t.client.infer(id);
        expect(Array.from(await t.client.readOutputs(m.classes)), m.name).to.deep.equal(Array.from(r.logits));
        const e = await rejection(t.client.request(Cmd.READ_OUTPUT, Buffer.from([m.classes & 0xff, m.classes >> 8, 0, 0, 1, 0])));
        expect(e.message).to.match(/bad payload.*beyond the outputs/);
      }
    });

    it('refuses an unknown model', async () => {
      const m = t.models[0];
      await t.client.upload(seededInput(m.input.shape.reduce((a, b) => a * b, 1), 9));
      expect((await rejection(t.client.infer(200, 1, 0))).message).to.contain('unknown model');
    });

    it('refuses an input of the wrong size', async () => {
      await t.client.select(0);
      await t.client.upload(new Int8Array(3));
      expect((await rejection(t.client.infer(0, 1, 0))).message).to.contain('input size mismatch');
    });

    it('SELECT makes a model ready; in-memory models touch no external storage', async () => {
      for (const [id, m] of t.models.entries()) {
        const r = await t.client.select(id, 3);
        expect(r.model).to.equal(id);
        expect(r.repeat).to.equal(3);
        if (t.hello.variant === 'int8-ext') {
          expect(r.storage_reads).to.equal(3);
          expect(r.storage_bytes).to.be.greaterThan(0);
          expect(r.storage_ticks).to.be.at.most(r.ticks);
        } else {
          expect([r.storage_ticks, r.storage_bytes, r.storage_reads]).to.deep.equal([0, 0, 0]);
        }
        const x = seededInput(m.input.shape.reduce((a, b) => a * b, 1), 11 + id);
        await t.client.upload(x);
        expect(Array.from((await t.client.infer(id)).logits)).to.deep.equal(Array.from(runInt8(m, x)));
      }
    });

    it('refuses SELECT of an unknown model and a zero repeat', async () => {
      expect((await rejection(t.client.select(t.hello.models.length))).message).to.contain('unknown model');
      expect((await rejection(t.client.select(0, 0))).message).to.contain('bad payload');
    });

    if (variant === 'int8-ext') it('an external-storage model runs only after SELECT (int8-ext)', async () => {
      expect(t.hello.variant).to.equal('int8-ext');
      expect(t.models.length).to.be.at.least(2);
      const [a, b] = [0, 1];
      await t.client.select(a);
      const x = seededInput(t.models[b].input.shape.reduce((p, q) => p * q, 1), 5);
      await t.client.upload(x);
      expect((await rejection(t.client.infer(b))).message).to.contain('model not loaded');
      await t.client.select(b);
      expect(Array.from((await t.client.infer(b)).logits)).to.deep.equal(Array.from(runInt8(t.models[b], x)));
    });

    it('refuses an input larger than its buffer', async () => {
      const e = await rejection(t.client.upload(new Int8Array(t.hello.input_buffer + 1)));
      expect(e.message).to.contain('input overflow');
    });
  });
}
