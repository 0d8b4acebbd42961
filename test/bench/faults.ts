/**
 * Benchmark (prints figures; not a test): the accuracy experiment over the streaming path with a
 * fault-injecting proxy between the harness and QEMU's UART (test/sims/fault-proxy.ts): seeded
 * per-byte drops, bit flips and duplicates at 1e-5, 1e-4 and 1e-3 in both directions, a 10 s
 * stall of the link, and the emulator killed mid-run. Per case: faults injected, what the
 * harness did about them, rows expected / written / wrong, throughput against a clean run.
 * Usage: npm run bench:faults -- [--samples n] [--model fmnist_cnn] [--seed n]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePrepared } from '../../harness/datasets/prepared.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import { markerStyle } from '../../harness/power/factory.js';
import { readCsv } from '../../harness/reports/csv.js';
import { DEFAULT_RIG, loadRig } from '../../harness/rig/rig.js';
import { runExperiments } from '../../harness/run/run.js';
import { loadDeploySet } from '../../harness/session/model-set.js';
import { runScript } from '../../harness/util/script.js';
import { HilError } from '../../harness/util/errors.js';
import { createLogger } from '../../harness/util/log.js';
import { formatTable } from '../../harness/util/table.js';
import { FaultProxy, type FaultLinkOptions } from '../sims/fault-proxy.js';

interface Case {
  name: string;
  proxy?: Omit<FaultLinkOptions, 'seed'>;
  /** kill the emulator this many ms after the run starts */
  killAtMs?: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { samples: { type: 'string' }, model: { type: 'string' }, seed: { type: 'string' } } });
  const samples = Number(values.samples ?? 352);
  const model = values.model ?? 'fmnist_cnn';
  const seed = Number(values.seed ?? 1);
  const rig = loadRig(DEFAULT_RIG);
  const deploy = loadDeploySet([model], 'int8');
  for (const m of deploy) ensurePrepared(m.dataset);
  const elf = buildFirmware(rig.board, deploy, { marker: markerStyle(rig) }).elf;
  const cases: Case[] = [
    { name: 'clean' },
    ...[1e-5, 1e-4, 1e-3].map((r) => ({ name: `bytes ${r.toExponential(0)}`, proxy: { rates: { drop: r / 3, flip: r / 3, dup: r / 3 } } })),
    { name: 'stall 10 s', proxy: { stalls: [{ ms: 10000, atMs: 4000 }] } },
    { name: 'emulator killed', killAtMs: 5000 },
  ];
  const rows: string[][] = [];
  let cleanRate = NaN;
  for (const c of cases) {
    const proxies: FaultProxy[] = [];
    const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-faults-'));
    const killer = c.killAtMs === undefined ? undefined : setTimeout(() => {
      try {
        execFileSync('pkill', ['-KILL', '-f', `qemu-system-arm.*${elf}`]);
      } catch {
        // nothing to kill yet
      }
    }, c.killAtMs);
    const started = Date.now();
    let outcome = 'complete';
    let dir = '';
    try {
      const r = await runExperiments({
        rig: rig.file, models: [model], experiments: ['accuracy'], samples, inputs: 'stream', resultsDir, log: createLogger({ quiet: true }),
        route: c.proxy ? async (pty) => {
          const p = await FaultProxy.start({ devicePath: pty, seed: seed + proxies.length, ...c.proxy });
          proxies.push(p);
          return p.harnessPath;
        } : undefined,
      });
      dir = r.dir;
    } catch (e) {
      outcome = `stopped: ${e instanceof HilError ? e.toLine() : String(e)}`;
      dir = path.join(resultsDir, fs.readdirSync(resultsDir)[0] ?? '');
    } finally {
      if (killer) clearTimeout(killer);
      for (const p of proxies) await p.close();
    }
    const seconds = (Date.now() - started) / 1000;
    const predictions = fs.existsSync(path.join(dir, 'predictions.csv')) ? readCsv(fs.readFileSync(path.join(dir, 'predictions.csv'), 'utf8')) : [];
    const unique = new Set(predictions.map((p) => p.sample)).size;
    const wrong = predictions.filter((p) => p.device !== p.host).length;
    const run = fs.existsSync(path.join(dir, 'run.json')) ? (JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { link?: Record<string, Record<string, number>> }) : {};
    const h = run.link?.int8 ?? {};
    const faults = proxies.reduce((s, p) => s + p.stats().faults, 0) + (c.killAtMs === undefined ? 0 : 1);
    const rate = predictions.length / seconds;
    if (c.name === 'clean') cleanRate = rate;
    rows.push([
      c.name, String(faults), String(h.resends ?? '-'), String(h.recoveries ?? '-'), String(h.naks ?? '-'), String(h.timeouts ?? '-'), String(h.resets ?? '-'),
      `${samples}/${predictions.length}/${unique}/${wrong}`, rate.toFixed(1), `${((100 * rate) / cleanRate).toFixed(0)}%`, outcome,
    ]);
  }
  console.log(`accuracy of ${model}, ${samples} samples over the streaming path on ${rig.name}, faults both ways (seed ${seed})`);
  console.log(formatTable(['case', 'faults', 're-sent', 're-uploaded', 'NAKs', 'timeouts', 'resets', 'rows exp/written/unique/wrong', 'samples/s', 'vs clean', 'outcome'], rows));
  console.log('wrong = rows whose device prediction differs from the host reference (a failed sample, device -1, counts here too)');
  return 0;
}

runScript(main);
