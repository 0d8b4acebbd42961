/**
 * Benchmark (prints figures; not a test): what a network serial link costs per sample against
 * the local pseudo-terminal. One QEMU netduinoplus2, halted behind its gdbstub on 127.0.0.1 and
 * flashed through it (flasher gdb-remote), its UART reached three ways in turn: the pty itself,
 * ser2net's RFC 2217 port (rfc2217://) and ser2net's raw port (tcp://). Each way streams the same
 * Fashion-MNIST test samples (ser2net twice: with its default chardelay, and with it off):
 *  - echo: each sample's bytes to the device and back (PING), one at a time: the link alone,
 *    median of the per-sample round trips
 *  - streamed: the accuracy experiment's pipelined path (two samples in flight), each result
 *    checked against the host reference; total time / samples
 *  - lock-step: upload, then infer, one sample at a time, checked likewise
 * Rounds alternate the order of the links; the table gives medians over the rounds and the
 * overhead over the pty. Everything stays on loopback: this is ser2net's and the TCP stack's cost,
 * not a network's (add the round-trip time of a real LAN per lock-step exchange).
 * Usage: node dist/harness/bench/remote-link.js [--samples 200] [--classify 50] [--rounds 2] [--model fmnist_cnn]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePrepared, loadPrepared } from '../datasets/prepared.js';
import { classifyStream } from '../experiments/inputs.js';
import { buildFirmware, type FirmwareBuild } from '../firmware/build.js';
import { startQemuGdbServer } from '../dut/qemu-gdb-server.js';
import { startSer2net } from '../link/ser2net.js';
import { ProtocolClient } from '../protocol/yono/client.js';
import { runInt8 } from '../reference/int8.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import { loadRig, type Rig } from '../rig/rig.js';
import { loadModelSet } from '../session/model-set.js';
import { openSession } from '../session/session.js';
import { runCleanups } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { median } from '../util/stats.js';
import { formatTable } from '../util/table.js';

const BOARD = 'netduinoplus2';

function remoteRig(link: { path?: string; url?: string }, gdb: { host: string; port: number }): Rig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-link-bench-'));
  const file = path.join(dir, 'remote-link-bench.yaml');
  const where = link.url ? `url: "${link.url}"` : `path: "${link.path}"`;
  fs.writeFileSync(
    file,
    `name: remote-link-bench
board: ${BOARD}
dut: { kind: board, probe: { kind: stlink }, boot_timeout_ms: 10000, reset_settle_ms: 0 }
link: { kind: serial, ${where}, baud: 115200, reply_timeout_ms: 5000, retries: 3 }
flasher: { kind: gdb-remote, host: ${gdb.host}, port: ${gdb.port} }
`,
  );
  return loadRig(file);
}

interface Timing {
  echo: number;
  streamed: number;
  lockstep: number;
  wireOut: number;
  wireIn: number;
}

async function measure(rig: Rig, firmware: FirmwareBuild, samples: number, classify: number, model: Int8Model): Promise<Timing> {
  const session = await openSession(rig, firmware);
  try {
    const client = session.device;
    if (!(client instanceof ProtocolClient)) throw new HilError('the link benchmark measures our own protocol (yono)', rig.name);
    const data = loadPrepared(model.dataset, 'test');
    const id = session.modelId(model.name);
    const n = Math.min(samples, data.count);
    const x = (i: number) => data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes);
    const expected = Array.from({ length: n }, (_, i) => Array.from(runInt8(model, x(i))));
    const check = (i: number, logits: Int8Array | number[]) => {
      if (Array.from(logits).join() !== expected[i].join()) throw new HilError(`sample ${i}: device logits differ from the host reference`, session.link.description);
    };
    // warm-up: one sample each way
    await client.classify(id, x(0));
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(x(i).buffer, x(i).byteOffset, x(i).byteLength);
      const t = process.hrtime.bigint();
      const back = await client.ping(bytes);
      times.push(Number(process.hrtime.bigint() - t) / 1e9);
      if (!back.equals(bytes)) throw new HilError(`sample ${i}: echo differs`, session.link.description);
    }
    const echo = median(times);
    const m = Math.min(classify, n);
    const out0 = session.link.stats.bytesOut;
    const in0 = session.link.stats.bytesIn;
    let t0 = process.hrtime.bigint();
    await classifyStream(client, id, m, x, (i, r) => check(i, r.logits));
    const streamed = Number(process.hrtime.bigint() - t0) / 1e9 / m;
    const wireOut = (session.link.stats.bytesOut - out0) / m;
    const wireIn = (session.link.stats.bytesIn - in0) / m;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < m; i++) {
      await client.upload(x(i));
      check(i, (await client.infer(id)).logits);
    }
    const lockstep = Number(process.hrtime.bigint() - t0) / 1e9 / m;
    return { echo, streamed, lockstep, wireOut, wireIn };
  } finally {
    await session.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string' }, classify: { type: 'string' }, rounds: { type: 'string' }, model: { type: 'string' } } });
  const samples = Number(values.samples ?? 200);
  const classify = Number(values.classify ?? 50);
  const rounds = Number(values.rounds ?? 2);
  const modelName = values.model ?? 'fmnist_cnn';
  const models = loadModelSet([modelName]);
  for (const d of new Set(models.map((m) => m.dataset))) ensurePrepared(d);
  const firmware = buildFirmware(BOARD, models);
  const qemu = await startQemuGdbServer(BOARD);
  const ser2net = await startSer2net(qemu.pty);
  const quick = await startSer2net(qemu.pty, { chardelay: false });
  const gdb = { host: qemu.host, port: qemu.gdbPort };
  const links: [string, Rig][] = [
    ['pty (local)', remoteRig({ path: qemu.pty }, gdb)],
    ['rfc2217:// (ser2net)', remoteRig({ url: ser2net.rfc2217Url }, gdb)],
    ['tcp:// (ser2net)', remoteRig({ url: ser2net.tcpUrl }, gdb)],
    ['rfc2217:// (chardelay off)', remoteRig({ url: quick.rfc2217Url }, gdb)],
    ['tcp:// (chardelay off)', remoteRig({ url: quick.tcpUrl }, gdb)],
  ];
  const results = new Map<string, Timing[]>(links.map(([name]) => [name, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? links : [...links].reverse();
      for (const [name, rig] of order) {
        const t = await measure(rig, firmware, samples, classify, models[0]);
        results.get(name)!.push(t);
        console.log(`round ${r + 1} ${name}: echo ${(t.echo * 1000).toFixed(3)} ms/sample, streamed ${(t.streamed * 1000).toFixed(3)} ms/sample, lock-step ${(t.lockstep * 1000).toFixed(3)} ms/sample`);
      }
    }
  } finally {
    await ser2net.stop();
    await quick.stop();
    await qemu.stop();
  }
  const med = (name: string, k: 'echo' | 'streamed' | 'lockstep') => median(results.get(name)!.map((t) => t[k]));
  const [pty] = links[0];
  const cells = (name: string, k: 'echo' | 'streamed' | 'lockstep') => {
    const d = med(name, k) - med(pty, k);
    return [(med(name, k) * 1000).toFixed(3), name === pty ? '-' : `${d >= 0 ? '+' : ''}${(d * 1000).toFixed(3)} (${d >= 0 ? '+' : ''}${((100 * d) / med(pty, k)).toFixed(1)}%)`];
  };
  const rows = links.map(([name]) => {
    const t = results.get(name)![0];
    return [name, `${t.wireOut.toFixed(0)} / ${t.wireIn.toFixed(0)}`, ...cells(name, 'echo'), ...cells(name, 'streamed'), ...cells(name, 'lockstep')];
  });
  console.log(`\n${modelName} on QEMU ${BOARD}, per link and round: ${samples} samples echoed (median round trip), ${classify} classified streamed and lock-step (each equal to the host reference); medians of ${rounds} rounds; all on 127.0.0.1`);
  console.log(formatTable(['link', 'classify wire B/sample out / in', 'echo ms', 'vs pty', 'streamed ms/sample', 'vs pty', 'lock-step ms/sample', 'vs pty'], rows));
}

main()
  .catch(async (e: unknown) => {
    process.stderr.write(`error: ${e instanceof HilError ? e.toLine() : String(e)}\n`);
    process.exitCode = 2;
  })
  .finally(() => runCleanups());
