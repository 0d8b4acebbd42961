/**
 * RUN_PRELOADED on QEMU (SPEC section 1, version 4): real test inputs put in the board's preload
 * region by QEMU's loader, run by the real firmware, checked against the host reference; the
 * CRC-32 of each input the device read proves it ran the bytes the host meant.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { loadPrepared, type PreparedSplit } from '../../harness/datasets/prepared.js';
import { QemuDut } from '../../harness/dut/qemu.js';
import { readBoard } from '../../harness/firmware/board.js';
import { buildFirmware, type FirmwareBuild } from '../../harness/firmware/build.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { Cmd, MAX_PAYLOAD, PROTO_VERSION } from '../../harness/protocol/yono/frame.js';
import { checkFirmware, PRELOADED_ENTRY, type DeviceHello } from '../../harness/protocol/device.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import { predictInt8, runInt8 } from '../../harness/reference/int8.js';
import { loadRig, type Rig } from '../../harness/rig/rig.js';
import { loadDeploySet, loadModelSet } from '../../harness/session/model-set.js';
import { classifyStream } from '../../harness/experiments/inputs.js';
import { HilError } from '../../harness/util/errors.js';
import { rejection } from '../contract/protocol.contract.js';

const rig = loadRig('qemu-mps2-an386');
const board = readBoard(rig.board);
/** samples per model in the preload file; YONO_PRELOAD_BENCH_SAMPLES adds a throughput run of that many fmnist_cnn samples */
const N = 120;
const BENCH = Number(process.env.YONO_PRELOAD_BENCH_SAMPLES ?? 0);

type Hello = DeviceHello & { preload: number; preload_base: number };

interface Booted {
  dut: QemuDut;
  client: ProtocolClient;
  hello: Hello;
}

async function boot(fw: FirmwareBuild, preloadFile: string, on: Rig = rig): Promise<Booted> {
  const dut = new QemuDut(on);
  try {
    await dut.flash(fw.elf, fw.extImage);
    dut.preload(preloadFile);
    await dut.start();
    // one batch runs up to ~400 inferences before the reply: no re-send while it computes
    const client = new ProtocolClient(await dut.connect(), { replyTimeoutMs: 120000, retries: 0 });
    const hello = (await client.hello()) as Hello;
    checkFirmware(hello, { build: fw.buildHash, board: fw.board.name, models: fw.models }, dut.description);
    return { dut, client, hello };
  } catch (e) {
    await dut.close();
    throw e;
  }
}

function sample(data: PreparedSplit, i: number): Int8Array {
  return data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes);
}

/** Inputs as raw bytes, back to back (what the loader copies into the region). */
function writePreload(file: string, parts: { data: PreparedSplit; count: number }[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  const bufs: Buffer[] = [];
  for (const p of parts) {
    offsets.push(at);
    const bytes = p.data.x.subarray(0, p.count * p.data.inputBytes);
    bufs.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    at += bytes.byteLength;
  }
  fs.writeFileSync(file, Buffer.concat(bufs));
  return offsets;
}

/** Runs `count` samples from `offset` in batches that fit one reply frame. */
async function runAll(client: ProtocolClient, model: number, classes: number, offset: number, inputBytes: number, count: number, withLogits: boolean) {
  const perBatch = Math.floor((MAX_PAYLOAD - 3) / (PRELOADED_ENTRY + (withLogits ? classes : 0)));
  const out: { predicted: number; crc: number; outputCrc: number; logits?: Int8Array }[] = [];
  for (let i = 0; i < count; i += perBatch) {
    const n = Math.min(perBatch, count - i);
    out.push(...(await client.runPreloaded(model, offset + i * inputBytes, n, withLogits)));
  }
  return out;
}

describe('RUN_PRELOADED: inputs preloaded by QEMU on qemu-mps2-an386', function () {
  this.timeout(10 * 60 * 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-preload-'));
  let models: Int8Model[];
  let fw: FirmwareBuild;
  let data: PreparedSplit[];

  before(() => {
    models = loadModelSet(['fmnist_cnn', 'hapt_cnn']);
    fw = buildFirmware(rig.board, models);
    data = models.map((m) => loadPrepared(m.dataset, 'test'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the board states a preload region of at least 12 MiB after the external storage, in PSRAM', () => {
    expect(board.preloadBytes).to.be.at.least(12 * 1024 * 1024);
    expect(board.preloadBase).to.equal((board.extStorageBase ?? 0) + (board.extStorageBytes ?? 0));
    // QEMU maps 16 MiB of PSRAM at 0x21000000 on mps2-an386
    expect((board.preloadBase ?? 0) + (board.preloadBytes ?? 0)).to.be.at.most(0x21000000 + 16 * 1024 * 1024);
  });

  it('two models back to back: every prediction == host reference, every CRC == the host input', async () => {
    const file = path.join(dir, 'good.bin');
    const offsets = writePreload(file, data.map((d) => ({ data: d, count: N })));
    const { dut, client, hello } = await boot(fw, file);
    try {
      expect(hello.proto).to.equal(PROTO_VERSION); // RUN_PRELOADED since version 4
      expect(hello.preload).to.equal(board.preloadBytes);
      expect(hello.preload_base).to.equal(board.preloadBase);
      for (const [k, m] of models.entries()) {
        const id = hello.models.find((d) => d.name === m.name)?.id ?? -1;
        const withLogits = k === 0; // fmnist_cnn with its logits, hapt_cnn without
        const got = await runAll(client, id, m.classes, offsets[k], data[k].inputBytes, N, withLogits);
        expect(got).to.have.length(N);
        for (let i = 0; i < N; i++) {
          const x = sample(data[k], i);
          expect(got[i].crc, `${m.name} sample ${i} CRC`).to.equal(crc32(x));
          expect(got[i].predicted, `${m.name} sample ${i}`).to.equal(predictInt8(m, x));
          expect(got[i].outputCrc, `${m.name} sample ${i} output CRC (proto 7)`).to.equal(crc32(runInt8(m, x)));
          if (withLogits) expect(Array.from(got[i].logits ?? []), `${m.name} sample ${i} logits`).to.deep.equal(Array.from(runInt8(m, x)));
          else expect(got[i].logits).to.equal(undefined);
        }
      }
      // the samples ran through the input buffer: INFER needs a new upload
      expect((await rejection(client.infer(0))).message).to.match(/device error 4 /);
    } finally {
      await dut.close();
    }
  });

  it('a byte flipped in one preloaded input shows in that sample\'s CRC, and only there', async () => {
    const file = path.join(dir, 'flipped.bin');
    writePreload(file, [{ data: data[0], count: 8 }]);
    const bytes = fs.readFileSync(file);
    const bad = 5;
    bytes[bad * data[0].inputBytes + 300] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const { dut, client } = await boot(fw, file);
    try {
      const got = await client.runPreloaded(0, 0, 8, false);
      for (let i = 0; i < 8; i++) {
        const host = crc32(sample(data[0], i));
        if (i === bad) expect(got[i].crc, 'corrupted sample').to.not.equal(host);
        else expect(got[i].crc, `sample ${i}`).to.equal(host);
      }
    } finally {
      await dut.close();
    }
  });

  it('refuses a range outside the region (3), a reply that cannot fit one frame (6), an unknown model (2), unknown flags (6); PRELOAD_CRC of ranges', async () => {
    const file = path.join(dir, 'small.bin');
    writePreload(file, [{ data: data[0], count: 2 }]);
    const { dut, client } = await boot(fw, file);
    try {
      const size = board.preloadBytes ?? 0;
      const ib = data[0].inputBytes;
      // the last whole input of the region runs (past the file, QEMU's RAM reads as zeros)
      expect(await client.runPreloaded(0, size - ib, 1, false)).to.have.length(1);
      expect((await rejection(client.runPreloaded(0, size - ib + 1, 1, false))).message).to.match(/device error 3 \(input overflow\)/);
      expect((await rejection(client.runPreloaded(0, 0xfffffff0, 1, false))).message).to.match(/device error 3 /);
      // 10 classes: (2048 - 3) / (10 + 10) = 102 results with outputs, 204 without (proto 7)
      expect(await client.runPreloaded(0, 0, 102, true)).to.have.length(102);
      expect((await rejection(client.runPreloaded(0, 0, 103, true))).message).to.match(/device error 6 \(bad payload\)/);
      expect(await client.runPreloaded(0, 0, 204, false)).to.have.length(204);
      expect((await rejection(client.runPreloaded(0, 0, 205, false))).message).to.match(/device error 6 /);
      expect((await rejection(client.runPreloaded(0, 0, 0, false))).message).to.match(/device error 6 /);
      expect((await rejection(client.runPreloaded(7, 0, 1, false))).message).to.match(/device error 2 /);
      const flags = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0x02]);
      expect((await rejection(client.request(Cmd.RUN_PRELOADED, flags))).message).to.match(/device error 6 .*flags/);
      expect((await rejection(client.request(Cmd.RUN_PRELOADED, Buffer.alloc(7)))).message).to.match(/device error 6 /);
      // PRELOAD_CRC (version 6): the CRC of a range, from the start, inside, and over the whole region
      const image = fs.readFileSync(file);
      expect(await client.preloadCrc(0, image.length)).to.equal(crc32(image));
      expect(await client.preloadCrc(ib, ib)).to.equal(crc32(sample(data[0], 1)));
      expect(await client.preloadCrc(0, 0)).to.equal(0);
      expect(await client.preloadCrc(0, size, 60000)).to.equal(crc32(Buffer.concat([image, Buffer.alloc(size - image.length)])));
      expect((await rejection(client.preloadCrc(1, size))).message).to.match(/device error 3 \(input overflow\)/);
      expect((await rejection(client.preloadCrc(0xfffffff0, 0x20))).message).to.match(/device error 3 /);
      expect((await rejection(client.request(Cmd.PRELOAD_CRC, Buffer.alloc(7)))).message).to.match(/device error 6 .*PRELOAD_CRC/);
      // the device still answers after every refusal
      expect((await client.runPreloaded(0, 0, 2, false)).map((r) => r.crc)).to.deep.equal([0, 1].map((i) => crc32(sample(data[0], i))));
    } finally {
      await dut.close();
    }
  });

  it('int8-ext: ERR 8 until SELECT loads the model; then the external image and the preload region coexist', async () => {
    const ext = buildFirmware(rig.board, loadDeploySet(['fmnist_cnn'], 'int8-ext'), { variant: 'int8-ext' });
    const file = path.join(dir, 'ext.bin');
    writePreload(file, [{ data: data[0], count: 20 }]);
    const { dut, client } = await boot(ext, file);
    try {
      expect((await rejection(client.runPreloaded(0, 0, 20, false))).message).to.match(/device error 8 /);
      await client.select(0);
      const got = await client.runPreloaded(0, 0, 20, false);
      for (let i = 0; i < 20; i++) {
        expect(got[i].crc).to.equal(crc32(sample(data[0], i)));
        expect(got[i].predicted, `sample ${i}`).to.equal(predictInt8(models[0], sample(data[0], i)));
      }
    } finally {
      await dut.close();
    }
  });

  it('mps2-an500 (Cortex-M7): its own region (0x60400000) reaches the firmware through HELLO and RUN_PRELOADED', async () => {
    const an500 = loadRig('qemu-mps2-an500');
    const b = readBoard(an500.board);
    const fw500 = buildFirmware(an500.board, [models[0]]);
    const file = path.join(dir, 'an500.bin');
    writePreload(file, [{ data: data[0], count: 40 }]);
    const { dut, client, hello } = await boot(fw500, file, an500);
    try {
      expect([hello.preload, hello.preload_base]).to.deep.equal([b.preloadBytes, b.preloadBase]);
      const got = await client.runPreloaded(0, 20 * data[0].inputBytes, 20, false);
      for (let i = 0; i < 20; i++) {
        const x = sample(data[0], 20 + i);
        expect(got[i].crc).to.equal(crc32(x));
        expect(got[i].predicted, `sample ${20 + i}`).to.equal(predictInt8(models[0], x));
      }
    } finally {
      await dut.close();
    }
  });

  it('a board without a preload region refuses a preload file, naming the board', () => {
    const dut = new QemuDut(loadRig('qemu-netduinoplus2'));
    expect(() => dut.preload(path.join(dir, 'good.bin'))).to.throw(HilError, /netduinoplus2 has no preload region/);
  });

  // Figures, not a check of speed: streamed (the accuracy experiment's path) vs preloaded, same
  // firmware and QEMU, with the rig's cycle plugin (as in a run) and without it.
  (BENCH > 0 ? it : it.skip)(`throughput: ${BENCH} fmnist_cnn samples through RUN_PRELOADED vs streamed (YONO_PRELOAD_BENCH_SAMPLES)`, async () => {
    const d = data[0];
    const count = Math.min(BENCH, d.count);
    const streamed = Math.min(300, count);
    const file = path.join(dir, 'bench.bin');
    writePreload(file, [{ data: d, count }]);
    for (const [label, on] of [['with the cycle plugin', rig], ['without the cycle plugin', { ...rig, estimate: undefined }]] as const) {
      const { dut, client } = await boot(fw, file, on);
      try {
        let t0 = performance.now();
        const got = await runAll(client, 0, models[0].classes, 0, d.inputBytes, count, false);
        const pre = count / ((performance.now() - t0) / 1000);
        let bad = 0;
        for (let i = 0; i < count; i++) if (got[i].crc !== crc32(sample(d, i)) || got[i].predicted !== predictInt8(models[0], sample(d, i))) bad++;
        t0 = performance.now();
        await classifyStream(client, 0, 0, streamed, (i) => sample(d, i), () => undefined);
        const str = streamed / ((performance.now() - t0) / 1000);
        console.log(`      fmnist_cnn ${label}: RUN_PRELOADED ${count} samples ${pre.toFixed(1)}/s (mismatches ${bad}); streamed ${streamed} samples ${str.toFixed(1)}/s; ${(pre / str).toFixed(1)}x`);
        expect(bad).to.equal(0);
      } finally {
        await dut.close();
      }
    }
  });
});
