/**
 * Benchmark (prints figures; not a test): what a network serial link costs per sample against
 * the local pseudo-terminal. One QEMU netduinoplus2, halted behind its gdbstub on 127.0.0.1 and
 * flashed through it (flasher gdb-remote), its UART reached three ways in turn: the pty itself,
 * ser2net's RFC 2217 port (rfc2217://) and ser2net's raw port (tcp://). Each way streams the same
 * Fashion-MNIST test samples (ser2net in three configurations: TCP_NODELAY with chardelay off, as
 * docs/rig-files.md recommends; with chardelay on; ser2net's stock Nagle + chardelay):
 *  - echo: each sample's bytes to the device and back (PING), one at a time: the link alone,
 *    median of the per-sample round trips
 *  - streamed: the accuracy experiment's pipelined path (two samples in flight), each result
 *    checked against the host reference; total time / samples
 *  - lock-step: upload, then infer, one sample at a time, checked likewise
 * Then the link alone, without the emulator: a socat pty pair whose far end echoes every byte
 * (an ideal device), the same samples' bytes written and read back through the pty, rfc2217://
 * and tcp://.
 * Rounds alternate the order of the links; the table gives medians over the rounds and the
 * overhead over the pty. Everything stays on loopback: this is ser2net's and the TCP stack's cost,
 * not a network's (add the round-trip time of a real LAN per lock-step exchange).
 * Usage: node dist/harness/bench/remote-link.js [--samples 200] [--classify 50] [--rounds 2] [--model fmnist_cnn] [--link-only]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePrepared, loadPrepared } from '../datasets/prepared.js';
import { classifyStream } from '../experiments/inputs.js';
import { buildFirmware, type FirmwareBuild } from '../firmware/build.js';
import { startQemuGdbServer } from '../dut/qemu-gdb-server.js';
import { startSer2net } from '../link/ser2net.js';
import { SerialLink } from '../link/serial-link.js';
import { defaultPortFactory } from '../link/port.js';
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

/** ser2net configurations compared: ours (nodelay, no chardelay), chardelay as shipped, stock. */
const SER2NET = {
  recommended: { nodelay: true, chardelay: false },
  chardelay: { nodelay: true, chardelay: true },
  stock: { nodelay: false, chardelay: true },
} as const;
type LinkSetting = 'pty' | { scheme: 'rfc2217' | 'tcp'; config: keyof typeof SER2NET };
const LINKS: [string, LinkSetting][] = [
  ['pty (local)', 'pty'],
  ['rfc2217:// (nodelay, chardelay off)', { scheme: 'rfc2217', config: 'recommended' }],
  ['tcp:// (nodelay, chardelay off)', { scheme: 'tcp', config: 'recommended' }],
  ['rfc2217:// (nodelay, chardelay on)', { scheme: 'rfc2217', config: 'chardelay' }],
  ['rfc2217:// (stock: Nagle, chardelay on)', { scheme: 'rfc2217', config: 'stock' }],
  ['tcp:// (stock: Nagle, chardelay on)', { scheme: 'tcp', config: 'stock' }],
];

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
    await classifyStream(client, id, 0, m, x, (i, r) => check(i, r.logits));
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

/** A socat pty pair whose end `a` echoes every byte back (the ideal device); end `b` is the port. */
async function echoPty(): Promise<{ b: string; close: () => Promise<void> }> {
  const child = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const paths = await new Promise<string[]>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new HilError(`socat gave no pty pair: ${err}`, 'socat')), 5000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const found = [...err.matchAll(/PTY is (\S+)/g)].map((m) => m[1]);
      if (found.length >= 2 && /starting data transfer loop/.test(err)) {
        clearTimeout(t);
        resolve(found);
      }
    });
  });
  const a = defaultPortFactory({ path: paths[0], baudRate: 115200 });
  await new Promise<void>((resolve, reject) => a.open((e) => (e ? reject(e) : resolve())));
  a.on('data', (chunk: Buffer) => a.write(chunk));
  return {
    b: paths[1],
    close: async () => {
      await new Promise<void>((r) => a.close(() => r()));
      child.kill('SIGKILL');
    },
  };
}

/** Median round trip of each sample's bytes through `path` to the echoing end and back. */
async function echoLink(path: string, inputs: Buffer[]): Promise<number> {
  const link = await SerialLink.open({ path, baudRate: 115200 });
  let got = 0;
  let waiting: (() => void) | undefined;
  let want = 0;
  link.onData((c) => {
    got += c.length;
    if (waiting && got >= want) waiting();
  });
  const times: number[] = [];
  try {
    for (const x of inputs) {
      want = got + x.length;
      const t = process.hrtime.bigint();
      const back = new Promise<void>((r) => (waiting = r));
      await link.write(x);
      await back;
      times.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
  } finally {
    await link.close();
  }
  return median(times);
}

async function linkOnly(inputs: Buffer[], rounds: number): Promise<string[][]> {
  const ways = [...LINKS.map(([w]) => w)];
  const results = new Map<string, number[]>(ways.map((w) => [w, []]));
  for (let r = 0; r < rounds; r++) {
    for (const way of r % 2 === 0 ? ways : [...ways].reverse()) {
      const pty = await echoPty();
      const setting = LINKS.find(([w]) => w === way)![1];
      const server = setting === 'pty' ? undefined : await startSer2net(pty.b, SER2NET[setting.config]);
      try {
        const path = !server || setting === 'pty' ? pty.b : setting.scheme === 'rfc2217' ? server.rfc2217Url : server.tcpUrl;
        results.get(way)!.push(await echoLink(path, inputs));
      } finally {
        await server?.stop();
        await pty.close();
      }
    }
  }
  const base = median(results.get(ways[0])!);
  return ways.map((w) => {
    const m = median(results.get(w)!);
    return [w, (m * 1000).toFixed(3), w === ways[0] ? '-' : `+${((m - base) * 1000).toFixed(3)}`];
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string' }, classify: { type: 'string' }, rounds: { type: 'string' }, model: { type: 'string' }, 'link-only': { type: 'boolean' } } });
  const samples = Number(values.samples ?? 200);
  const classify = Number(values.classify ?? 50);
  const rounds = Number(values.rounds ?? 2);
  const modelName = values.model ?? 'fmnist_cnn';
  const models = loadModelSet([modelName]);
  for (const d of new Set(models.map((m) => m.dataset))) ensurePrepared(d);
  const firmware = buildFirmware(BOARD, models);
  const data = loadPrepared(models[0].dataset, 'test');
  const inputs = Array.from({ length: Math.min(samples, data.count) }, (_, i) => Buffer.from(data.x.buffer, data.x.byteOffset + i * data.inputBytes, data.inputBytes));
  const alone = await linkOnly(inputs, rounds);
  console.log(`link alone (socat pty pair echoing, no emulator), ${inputs.length} samples of ${data.inputBytes} B each way, median round trip, medians of ${rounds} rounds:`);
  console.log(formatTable(['link', 'echo ms/sample', 'vs pty'], alone));
  if (values['link-only']) return;
  const qemu = await startQemuGdbServer(BOARD);
  const servers = {
    recommended: await startSer2net(qemu.pty, SER2NET.recommended),
    chardelay: await startSer2net(qemu.pty, SER2NET.chardelay),
    stock: await startSer2net(qemu.pty, SER2NET.stock),
  };
  const gdb = { host: qemu.host, port: qemu.gdbPort };
  const links: [string, Rig][] = LINKS.filter(([name]) => !name.startsWith('tcp:// (stock')).map(([name, setting]) => [
    name,
    setting === 'pty' ? remoteRig({ path: qemu.pty }, gdb) : remoteRig({ url: setting.scheme === 'rfc2217' ? servers[setting.config].rfc2217Url : servers[setting.config].tcpUrl }, gdb),
  ]);
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
    for (const server of Object.values(servers)) await server.stop();
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
