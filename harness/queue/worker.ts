/**
 * `hil worker`: serves the rigs of this host to the lab's job queue. One BullMQ worker per rig,
 * each taking one job at a time from its board's queue. A job is a shard spec: checked strictly
 * (job-schema.ts), its firmware built here and compared with the hash the submitter expects, then
 * run by runShard into a temporary folder whose CSVs and run.json go back as the job's return
 * value (no shared filesystem). A refused job fails at once and is not retried; a job whose worker
 * dies is found stalled by the other workers and runs again elsewhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { loadRig, type Rig } from '../rig/rig.js';
import { runShard } from '../run/shard.js';
import type { ShardSpec } from '../run/shard-spec.js';
import { HilError } from '../util/errors.js';
import { prefixedLogger, type Logger } from '../util/log.js';
import { rigLockHolder, describeHolder } from '../util/rig-lock.js';
import { onCleanup } from '../util/cleanup.js';
import { describeQueueError, type QueueConnection } from './connection.js';
import { buildShardFirmware } from './firmware-thread.js';
import { validateShardSpec } from '../run/shard-schema.js';
import { boardQueue, QUEUE_PREFIX, workerName } from './names.js';
import { checkQueue } from './reach.js';
import { RESULT_FILE, type ShardResult } from './result.js';

export interface ServeOptions {
  connection: QueueConnection;
  rigs: string[];
  /** seconds a job's lock lives without renewal: how soon a dead worker's job runs elsewhere */
  lockSeconds?: number;
  log: Logger;
}

export const DEFAULT_LOCK_SECONDS = 30;

/** Serves until SIGINT/SIGTERM; the active job of each rig finishes or goes back to the queue. */
export async function serveRigs(options: ServeOptions): Promise<void> {
  const { connection, log } = options;
  const rigs = [...new Set(options.rigs)].map((r) => loadRig(r));
  if (rigs.length === 0) throw new HilError('which rigs does this host serve? give --rig <name> (once per rig)', 'hil worker');
  await checkQueue(connection);
  const host = os.hostname();
  const lockDuration = Math.round((options.lockSeconds ?? DEFAULT_LOCK_SECONDS) * 1000);
  const workers = rigs.map((rig) => {
    const name = workerName(rig.name, host);
    const worker: Worker<ShardSpec, ShardResult> = new Worker(boardQueue(rig.board), (job, token) => runJob(job, token, rig, name, worker, log), {
      connection: connection.redis,
      prefix: QUEUE_PREFIX,
      concurrency: 1,
      name,
      lockDuration,
      // other workers look for dead workers' jobs this often
      stalledInterval: Math.max(1000, Math.round(lockDuration / 2)),
      maxStalledCount: 2,
      autorun: false,
    });
    let down = false;
    worker.on('error', (e) => {
      // one line per outage, not one per reconnect attempt
      if (down) return;
      down = true;
      log.warn(`${name}: ${describeQueueError(e, connection.label)}; retrying`);
    });
    worker.on('ready', () => {
      if (down) log.info(`${name}: the queue at ${connection.label} is back`);
      down = false;
    });
    worker.on('failed', (job, e) => log.warn(`${name}: shard ${job?.data?.id ?? job?.id} failed: ${e.message}`));
    return worker;
  });
  log.info(`serving ${rigs.map((r) => `${r.name} (${r.board})`).join(', ')} from ${connection.label}; one job per rig at a time`);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const removeCleanup = onCleanup(async () => {
    // an active job goes back to the queue when its lock expires; close() waits for it otherwise
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    stop();
  });
  for (const w of workers) void w.run().catch((e: unknown) => log.warn(`${w.name}: ${describeQueueError(e, connection.label)}`));
  await stopped;
  removeCleanup();
}

/** rig, plan and expected hashes whose firmware this process built and found as expected */
const firmwareChecked = new Set<string>();

async function runJob(job: Job<ShardSpec, ShardResult>, token: string | undefined, rig: Rig, name: string, worker: Worker, log: Logger): Promise<ShardResult> {
  const checked = validateShardSpec(job.data);
  if ('refused' in checked) throw refuse(name, checked.refused, log, job);
  const spec = checked.spec;
  if (spec.board !== rig.board) throw refuse(name, `the shard is for board ${spec.board}, rig ${rig.name} is ${rig.board}`, log, job);
  // the rig is busy with a local run: the job goes back for another rig (no attempt used), and
  // this rig takes no job until its lock is free again
  const holder = rigLockHolder(rig.name);
  if (holder && holder.pid !== process.pid) {
    log.warn(`${name}: rig in use by ${describeHolder(holder)}; shard ${spec.id} goes back to the queue, and this rig waits`);
    waitForRig(rig, name, worker, log);
    await job.moveToDelayed(Date.now() + 1000, token);
    throw new DelayedError();
  }
  const started = Date.now();
  // the firmware a plan expects is built (in a thread) and checked once per worker; runShard
  // checks every shard's firmware again against its own (cached) build before it runs
  const key = JSON.stringify([rig.name, spec.plan, spec.firmware]);
  if (!firmwareChecked.has(key)) {
    log.info(`${name}: shard ${spec.id} (${spec.label}): building firmware`);
    let built;
    try {
      built = await buildShardFirmware(spec, rig.file);
    } catch (e) {
      throw refuse(name, e instanceof HilError ? e.toLine() : String(e), log, job);
    }
    const wrong = spec.firmware.filter((f) => built.some((b) => b.variant === f.variant && b.hash !== f.hash));
    if (wrong.length > 0) {
      const w = wrong[0];
      const here = built.find((b) => b.variant === w.variant)?.hash;
      throw refuse(name, `firmware hash mismatch for ${w.variant}: the job expects ${w.hash}, this worker builds ${here} (different harness, firmware or models on ${os.hostname()})`, log, job);
    }
    firmwareChecked.add(key);
  }
  const checked_s = (Date.now() - started) / 1000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `yono-shard-${spec.id}-`));
  try {
    log.info(`${name}: shard ${spec.id} (${spec.label}): running`);
    const t0 = Date.now();
    await runShard(spec, rig.file, path.join(dir, 'run'), prefixedLogger(log, `${name}:`));
    const files: Record<string, string> = {};
    for (const f of fs.readdirSync(path.join(dir, 'run')).sort()) {
      if (RESULT_FILE.test(f) && fs.statSync(path.join(dir, 'run', f)).isFile()) files[f] = fs.readFileSync(path.join(dir, 'run', f), 'utf8');
    }
    log.info(`${name}: shard ${spec.id} done in ${((Date.now() - started) / 1000).toFixed(1)} s (checks and firmware ${checked_s.toFixed(1)} s, runShard ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return { shard: spec.id, rig: rig.name, host: os.hostname(), worker: name, files };
  } catch (e) {
    // a device or rig failure: another attempt (here or on another rig) may succeed
    throw new Error(e instanceof HilError ? e.toLine() : String(e));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function refuse(name: string, why: string, log: Logger, job: Job): UnrecoverableError {
  log.warn(`${name}: refused job ${job.id}: ${why}`);
  return new UnrecoverableError(`refused by ${name}: ${why}`);
}

/** Pauses this rig's worker (not the queue) until the rig's lock is free, then resumes it. */
function waitForRig(rig: Rig, name: string, worker: Worker, log: Logger): void {
  if (worker.isPaused()) return;
  void worker.pause(true);
  const timer = setInterval(() => {
    if (rigLockHolder(rig.name) !== undefined) return;
    clearInterval(timer);
    log.info(`${name}: rig free again; taking jobs`);
    worker.resume();
  }, 2000);
  timer.unref();
}
