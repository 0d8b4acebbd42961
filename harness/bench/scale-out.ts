/**
 * Benchmark (prints figures; not a test): the accuracy experiment over the streaming path
 * (`--inputs stream`), sharded over 1, 2 and 4 copies of an emulated rig (`hil run --parallel N`),
 * end to end (plan, QEMU boots, every sample, merge): samples/s, speed-up over one rig and
 * efficiency against linear scaling. Every merged run's predictions are checked equal to the
 * one-rig run's. Then the per-sample cost of a network link against the local pty, from
 * bench/remote-link.ts (run as it is, its table printed). The machine's load average is printed
 * before and after: the emulators share its cores with everything else running.
 * Usage: node dist/harness/bench/scale-out.js [--samples 300] [--models fmnist_cnn,hapt_cnn] [--rigs 1,2,4] [--rounds 1] [--no-link]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readCsv } from '../reports/csv.js';
import { runPool } from '../run/pool.js';
import type { RunOptions } from '../run/run.js';
import { HilError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { ROOT } from '../util/paths.js';
import { runScript } from '../util/script.js';
import { median } from '../util/stats.js';
import { formatTable } from '../util/table.js';

const RIG = 'qemu-mps2-an386';

function load(): string {
  const [a, b, c] = os.loadavg();
  return `load average ${a.toFixed(2)}, ${b.toFixed(2)}, ${c.toFixed(2)} on ${os.cpus().length} cores`;
}

/** variant, model, sample, device, host of every prediction (what must not change with the rig count). */
function predictions(dir: string): string {
  return readCsv(fs.readFileSync(path.join(dir, 'predictions.csv'), 'utf8')).map((r) => `${r.variant},${r.model},${r.sample},${r.device},${r.host}`).join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { samples: { type: 'string' }, models: { type: 'string' }, rigs: { type: 'string' }, rounds: { type: 'string' }, 'no-link': { type: 'boolean' } } });
  const samples = Number(values.samples ?? 300);
  const models = (values.models ?? 'fmnist_cnn,hapt_cnn').split(',');
  const counts = (values.rigs ?? '1,2,4').split(',').map(Number);
  const rounds = Number(values.rounds ?? 1);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-scale-out-'));
  const log = createLogger({ quiet: true });
  const options: RunOptions = { rig: RIG, models, samples, experiments: ['accuracy'], inputs: 'stream', log };
  const total = samples * models.length;
  console.log(`before: ${load()}`);
  const times = new Map<number, number[]>(counts.map((n) => [n, []]));
  let reference: string | undefined;
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 === 0 ? counts : [...counts].reverse()) {
      const t0 = process.hrtime.bigint();
      const [result] = await runPool({ ...options, resultsDir: path.join(root, `r${r}-x${n}`) }, { rigs: [RIG], parallel: n });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      times.get(n)!.push(s);
      const got = predictions(result.dir);
      reference ??= got;
      if (got !== reference) throw new HilError(`the predictions with ${n} rigs differ from the first run's`, result.dir);
      console.log(`round ${r + 1}, ${n} rig(s): ${total} samples in ${s.toFixed(1)} s (${(total / s).toFixed(1)} samples/s); ${load()}`);
    }
  }
  const base = median(times.get(counts[0])!);
  const rows = counts.map((n) => {
    const s = median(times.get(n)!);
    const speedup = (base / s) * counts[0];
    return [String(n), s.toFixed(1), (total / s).toFixed(1), `${speedup.toFixed(2)}x`, `${((100 * speedup) / n).toFixed(0)}%`];
  });
  console.log(`\naccuracy over the streaming path, ${models.join(' + ')}, ${samples} samples each, ${RIG} x N (hil run --parallel N), end to end incl. QEMU boots and merge; medians of ${rounds} round(s); every run's predictions equal`);
  console.log(formatTable(['rigs', 'wall s', 'samples/s', 'speed-up', 'efficiency vs linear'], rows));
  console.log(`after: ${load()}`);
  if (values['no-link']) return 0;
  console.log('\nper-sample cost of a network link against the local pty (bench/remote-link.ts):');
  const link = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'harness', 'bench', 'remote-link.js'), '--samples', '100', '--classify', '40', '--rounds', '1'], { stdio: 'inherit' });
  return link.status ?? 1;
}

runScript(main);
