/**
 * Benchmark (prints figures; not a test): harness throughput on the default emulated rig.
 *  - link capacity: maximum-size CHUNK frames written back to back (device-bound bytes per second)
 *  - per model: samples/s streaming real test inputs the way the accuracy experiment does (pipelined
 *    upload + infer with an input CRC, two samples in flight), wire bytes per
 *    sample, and the same input as MLPerf Tiny's hex text ("db <hex>%" lines of 31 bytes)
 *  - efficiency: achieved samples/s over the bound the link capacity and inference time allow
 *  - emulated rigs, preloaded inputs: the accuracy experiment's samples/s (device == host checked
 *    on each) against the compute bound, QEMU's own instructions/s / instructions per sample,
 *    both measured in this run on a QEMU without the cycle plugin
 * Usage: npm run bench -- [--rig name] [--samples n] [--preloaded n]
 */
import { parseArgs } from 'node:util';
import { loadPrepared, ensurePrepared } from '../datasets/prepared.js';
import { buildFirmware } from '../firmware/build.js';
import { Cmd, encodeFrame, UPLOAD_CHUNK_BYTES as MAX_CHUNK } from '../protocol/yono/frame.js';
import { ProtocolClient } from '../protocol/yono/client.js';
import { classifyStream } from '../experiments/inputs.js';
import { formatTable } from '../util/table.js';
import { DEFAULT_RIG, loadRig } from '../rig/rig.js';
import { loadModelSet } from '../session/model-set.js';
import { openSession } from '../session/session.js';
import { runCleanups } from '../util/cleanup.js';
import { createDut } from '../dut/factory.js';
import { runAccuracy } from '../experiments/accuracy.js';
import type { ExperimentContext } from '../experiments/context.js';
import type { FirmwareBuild } from '../firmware/build.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import type { Rig } from '../rig/rig.js';
import { writePreloadImage } from '../session/preload.js';
import { createLogger } from '../util/log.js';
import { median } from '../util/stats.js';
import { HilError } from '../util/errors.js';

/** Host->device bytes MLPerf Tiny's runner sends for one input of n bytes, and the replies. */
export function mlperfHexBytes(n: number): { out: number; in: number } {
  const ready = 'm-ready\r\n'.length;
  let out = `db load ${n}%`.length;
  let replies = ready;
  for (let off = 0; off < n; off += 31) {
    out += 'db '.length + 2 * Math.min(31, n - off) + '%'.length;
    replies += ready;
  }
  out += 'infer 1 0%'.length;
  replies += 'm-results-[0.000,0.000,0.000,0.000,0.000,0.000,0.000,0.000,0.000,0.000]\r\n'.length + ready;
  return { out, in: replies };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rig: { type: 'string' }, samples: { type: 'string' }, preloaded: { type: 'string' } } });
  const samples = Number(values.samples ?? 300);
  const rig = loadRig(values.rig ?? DEFAULT_RIG);
  const models = loadModelSet();
  for (const d of new Set(models.map((m) => m.dataset))) ensurePrepared(d);
  const firmware = buildFirmware(rig.board, models);
  const session = await openSession(rig, firmware);
  try {
    const { device: client, link } = session;
    if (!(client instanceof ProtocolClient)) throw new HilError('the link benchmark measures our own protocol (yono)', rig.name);
    // Link capacity: raw device-bound bytes per second. Maximum-size CHUNK frames are written
    // back to back without waiting for their (small) acknowledgements, so no round trip is
    // counted: this is what the UART (or QEMU's emulation of it) can carry.
    const frames = 40;
    const chunk = Buffer.alloc(MAX_CHUNK + 4, 0x5a);
    chunk.writeUInt32LE(0, 0);
    const wire = encodeFrame({ type: Cmd.CHUNK, seq: 0x42, payload: chunk });
    let acked = 0;
    // each acknowledgement ends with the frame delimiter
    const allAcked = new Promise<void>((resolve) => link.onData((c) => {
      for (const b of c) if (b === 0 && ++acked === frames) resolve();
    }));
    let t0 = process.hrtime.bigint();
    // Two frames in flight, like the streaming path: one write per frame keeps the pty's
    // small buffer from stalling, and never waiting for a write to drain keeps the line busy.
    for (let i = 0; i < frames; i += 2) await Promise.all([link.write(wire), link.write(wire)]);
    await allAcked;
    const capacity = (frames * wire.length) / (Number(process.hrtime.bigint() - t0) / 1e9);
    console.log(`rig ${rig.name}: raw link capacity ${(capacity / 1024).toFixed(1)} KiB/s device-bound (${frames} pipelined ${wire.length}-byte frames)`);

    // Fixed cost of one round trip (empty PING), subtracted from the inference round trip to
    // get the device's compute time, which the pipelined stream cannot hide (the emulated
    // UART takes no bytes while the core computes).
    t0 = process.hrtime.bigint();
    for (let i = 0; i < 20; i++) await client.ping(Buffer.alloc(0));
    const pingSeconds = Number(process.hrtime.bigint() - t0) / 1e9 / 20;

    const rows: string[][] = [];
    for (const model of models) {
      const data = loadPrepared(model.dataset, 'test');
      const id = session.modelId(model.name);
      const n = Math.min(samples, data.count);
      // Inference round trip alone (input already on the device).
      await client.upload(data.x.subarray(0, data.inputBytes));
      t0 = process.hrtime.bigint();
      for (let i = 0; i < 20; i++) await client.infer(id, 1, 0);
      const inferSeconds = Number(process.hrtime.bigint() - t0) / 1e9 / 20;

      const outBefore = link.stats.bytesOut;
      const inBefore = link.stats.bytesIn;
      t0 = process.hrtime.bigint();
      // The accuracy experiment's own streaming path.
      await classifyStream(client, id, 0, n, (i) => data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes), () => undefined);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const outPerSample = (link.stats.bytesOut - outBefore) / n;
      const inPerSample = (link.stats.bytesIn - inBefore) / n;
      const achieved = n / seconds;
      // Bound: the upload's wire bytes at link capacity, then one inference round trip.
      const computeSeconds = Math.max(0, inferSeconds - pingSeconds);
      const bound = 1 / (outPerSample / capacity + computeSeconds);
      const hex = mlperfHexBytes(data.inputBytes);
      const hexRate = 1 / (hex.out / capacity + computeSeconds);
      rows.push([
        model.name,
        String(data.inputBytes),
        outPerSample.toFixed(0),
        inPerSample.toFixed(0),
        String(hex.out),
        (hex.out / outPerSample).toFixed(2) + 'x',
        (computeSeconds * 1000).toFixed(2),
        achieved.toFixed(1),
        bound.toFixed(1),
        `${((100 * achieved) / bound).toFixed(1)}%`,
        hexRate.toFixed(1),
      ]);
    }
    console.log(
      formatTable(
        ['model', 'input B', 'wire out B/sample', 'wire in B/sample', 'MLPerf hex out B', 'hex/ours', 'compute ms', 'samples/s', 'bound/s', 'efficiency', 'hex est. samples/s'],
        rows,
      ),
    );
    console.log(`bound = 1 / (device-bound wire bytes per sample / link capacity + device compute time); compute = inference round trip - empty round trip (${(pingSeconds * 1000).toFixed(2)} ms); hex est. = the same bound for MLPerf's hex text`);
  } finally {
    await session.close();
  }
  await preloadedEfficiency(rig, firmware, models, Number(values.preloaded ?? 3000));
}

/** The preloaded path's samples/s against what the emulator's own speed allows. */
async function preloadedEfficiency(rig: Rig, firmware: FirmwareBuild, models: Int8Model[], samples: number): Promise<void> {
  const dut = createDut(rig);
  const capacity = dut.preloadCapacity();
  if (capacity === 0) {
    console.log(`rig ${rig.name}: no preload region, no preloaded figures`);
    return;
  }
  const image = writePreloadImage(models, capacity);
  if (!image) return;
  const session = await openSession(rig, firmware, { preload: image, instructionWindows: false });
  try {
    const rows: string[][] = [];
    const client = session.device;
    for (const model of models) {
      const data = loadPrepared(model.dataset, 'test');
      if (!image.blocks.some((b) => b.dataset === model.dataset) || data.count < 100) continue;
      const id = session.modelId(model.name);
      // the emulator's speed: many timed runs inside one command, no link traffic between them
      await client.upload(data.x.subarray(0, data.inputBytes));
      const runs = 200;
      let t0 = process.hrtime.bigint();
      await client.infer(id, 1, 0);
      const oneSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      t0 = process.hrtime.bigint();
      const r = await client.infer(id, runs, 0, 300000);
      const loopSeconds = Number(process.hrtime.bigint() - t0) / 1e9 - oneSeconds;
      const perSample = median(r.ticks.map((t) => session.ticks.instructions(t) ?? NaN));
      const instrPerSecond = (perSample * (runs - 1)) / loopSeconds;
      const n = Math.min(samples, data.count);
      const ctx: ExperimentContext = {
        session, models: [model], log: createLogger({ quiet: true }), cancelled: () => false, note: (l) => console.log(`note: ${l}`),
        provenance: (h) => ({ run_id: 'bench', rig: rig.name, board: rig.board, firmware_hash: firmware.buildHash, dataset_hash: h, harness_version: 'bench' }),
      };
      t0 = process.hrtime.bigint();
      const [row] = await runAccuracy(ctx, { samples: n });
      const achieved = n / (Number(process.hrtime.bigint() - t0) / 1e9);
      const bound = instrPerSecond / perSample;
      if (row.mismatches !== 0) throw new HilError(`${model.name}: device and host disagree on ${row.mismatches} samples`, rig.name);
      rows.push([model.name, String(n), String(Math.round(perSample)), (instrPerSecond / 1e6).toFixed(0), bound.toFixed(0), achieved.toFixed(0), `${((100 * achieved) / bound).toFixed(1)}%`]);
    }
    console.log(`\npreloaded inputs (accuracy experiment path, device == host on every sample), rig ${rig.name}, QEMU without the cycle plugin:`);
    console.log(formatTable(['model', 'samples', 'instructions/sample', 'QEMU M instr/s', 'compute bound/s', 'samples/s', 'efficiency'], rows));
    console.log('compute bound = QEMU instructions/s (200 timed runs inside one INFER) / instructions per sample; efficiency = samples/s / compute bound');
  } finally {
    await session.close();
    image.remove();
  }
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`error: ${e instanceof HilError ? e.toLine() : String(e)}\n`);
    process.exitCode = 2;
  })
  .finally(() => void runCleanups());
