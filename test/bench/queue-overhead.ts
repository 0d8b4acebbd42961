/**
 * Benchmark (prints figures; not a test): what the job queue costs per shard on loopback. A
 * redis-server (test/helpers), one `hil worker` process on the default emulated rig, and
 * `hil submit` of one model cut into many one-sample-slice shards, so the shards' own work is
 * small and the queue's share shows. From the run's shards/queue.json: per shard, the pickup
 * (the worker free -> the job started; the first shard: enqueue -> start), the work in the job
 * beyond the shard's own run (job check, firmware check in a thread, folder packing), and
 * finish -> collected by the submitter; and the whole run against the sum of the shards' runs.
 * Usage: node dist/test/bench/queue-overhead.js [--shards 10] [--model fmnist_cnn]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ShardTiming } from '../../harness/queue/submit.js';
import { ROOT } from '../../harness/util/paths.js';
import { runScript } from '../../harness/util/script.js';
import { median } from '../../harness/util/stats.js';
import { formatTable } from '../../harness/util/table.js';
import { startRedis } from '../helpers/redis-server.js';

const CLI = path.join(ROOT, 'dist', 'harness', 'cli.js');

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { shards: { type: 'string' }, model: { type: 'string' } } });
  const shards = Number(values.shards ?? 10);
  const model = values.model ?? 'fmnist_cnn';
  const redis = await startRedis();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-queue-bench-'));
  const env = { ...process.env, ...redis.env, YONO_LOCK_DIR: path.join(tmp, 'locks') };
  const worker = spawn(process.execPath, [CLI, 'worker', '--queue', redis.url, '--rig', 'qemu-mps2-an386', '--quiet'], { env, stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    const submit = spawn(process.execPath, [CLI, 'submit', '--queue', redis.url, '--models', model, '--samples', String(shards), '--shards', String(shards), '--experiments', 'accuracy', '--inputs', 'stream', '--results', tmp, '--quiet'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const code = await new Promise<number | null>((r) => submit.once('exit', r));
    const wall = Date.now() - t0;
    if (code !== 0) return 2;
    const [dir] = fs.readdirSync(tmp).filter((d) => d !== 'locks');
    const t = (JSON.parse(fs.readFileSync(path.join(tmp, dir, 'shards', 'queue.json'), 'utf8')) as { shards: ShardTiming[] }).shards.sort((a, b) => (a.started ?? 0) - (b.started ?? 0));
    const pickup = t.map((x, i) => (x.started ?? 0) - (i === 0 ? x.enqueued : (t[i - 1].finished ?? 0)));
    const inJob = t.map((x) => (x.finished ?? 0) - (x.started ?? 0) - (x.runMs ?? 0));
    const collect = t.map((x) => x.collected - (x.finished ?? 0));
    const runs = t.map((x) => x.runMs ?? 0);
    const ms = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs)}-${Math.max(...xs)})`;
    process.stdout.write(
      `queue overhead per shard, ${t.length} shards of 1 ${model} sample on 1 worker (loopback redis-server, ms: median (min-max))\n` +
        formatTable(
          ['step', 'ms'],
          [
            ['pickup: worker free (or enqueue) -> job started', ms(pickup)],
            ['in the job beyond the shard run: checks, firmware check thread, packing', ms(inJob)],
            ["the shard's own run (its run.json)", ms(runs)],
            ['job finished -> collected by the submitter', ms(collect)],
          ],
        ) +
        `\nwhole submit ${(wall / 1000).toFixed(1)} s (planning, the worker waiting, merging included); sum of shard runs ${(runs.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await redis.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

runScript(main);
