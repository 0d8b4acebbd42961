/**
 * `hil submit` / `hil run --queue`: plans a run's shards (run/shard.ts), enqueues one BullMQ job
 * per shard on the board's queue, and collects the finished shards' files from the jobs' return
 * values into shard folders under `<run folder>/shards/`, then merges them into the run folder.
 *
 * A shard's job id is `<plan>-<index>`-based and unique, so enqueuing twice adds nothing, and a
 * shard is collected once however often its completion is seen (event, poll, or a retried job).
 * The collected shard folders stay on disk whatever happens next (a Redis that goes away, a
 * refused shard): the rows already collected are kept, and `hil merge` can merge them later.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRunFolder, openRunFolder } from '../reports/run-folder.js';
import { shardFolderName } from '../run/pool.js';
import { loadRig } from '../rig/rig.js';
import type { RunOptions, RunResult } from '../run/run.js';
import { mergeShards, planShards, type ShardSpec } from '../run/shard.js';
import { onCleanup } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { rel, RESULTS_DIR } from '../util/paths.js';
import { describeQueueError, type QueueConnection } from './connection.js';
import { boardQueue, QUEUE_PREFIX, shardJobId } from './names.js';
import { validateShardSpec } from '../run/shard-schema.js';
import { checkQueue } from './reach.js';
import { checkShardResult, type ShardResult } from './result.js';

export interface SubmitOptions {
  connection: QueueConnection;
  run: RunOptions;
  /** accuracy slices per model (default: the number of workers serving the board now) */
  shards?: number;
  /** how long to wait for a worker of the board (at the start, and when all have gone), seconds */
  waitWorkersSeconds?: number;
  /** how long the queue may be unreachable before the run gives up, seconds */
  lostSeconds?: number;
  /** attempts per shard (a device failure runs again, possibly on another rig) */
  attempts?: number;
  /** a queued run folder to finish (its shards/plan.json): shards collected are kept, the others go to the queue again */
  resume?: string;
}

/** When each shard's job was enqueued, started, finished and collected (ms since epoch). */
export interface ShardTiming {
  shard: string;
  job: string;
  worker?: string;
  attempts: number;
  enqueued: number;
  started?: number;
  finished?: number;
  collected: number;
  /** the shard's own run (its run.json started -> finished), ms */
  runMs?: number;
}

export interface SubmitResult {
  result: RunResult;
  timings: ShardTiming[];
}

export const DEFAULT_WAIT_WORKERS_SECONDS = 60;
export const DEFAULT_LOST_SECONDS = 30;

/** Runs a whole run through the queue; throws one HilError line when it cannot finish. */
export async function submitRun(options: SubmitOptions): Promise<SubmitResult> {
  const { connection, run } = options;
  const log = run.log;
  const resumed = options.resume !== undefined ? readQueuedRun(options.resume) : undefined;
  const board = resumed?.board ?? loadRig(run.rig).board;
  await checkQueue(connection);
  const queue = new Queue<ShardSpec, ShardResult>(boardQueue(board), { connection: connection.redis, prefix: QUEUE_PREFIX });
  const events = new QueueEvents(boardQueue(board), { connection: connection.redis, prefix: QUEUE_PREFIX });
  // connection errors are followed by watchConnection; an 'error' event without a listener would throw
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  const watch = watchConnection([queue.client, events.client], connection.label, (options.lostSeconds ?? DEFAULT_LOST_SECONDS) * 1000);
  const waitWorkersMs = (options.waitWorkersSeconds ?? DEFAULT_WAIT_WORKERS_SECONDS) * 1000;
  let folderDir: string | undefined;
  const collected = new Map<string, string>();
  let total = 0;
  const removeCleanup = onCleanup(() => closeWithin([queue.close(), events.close()], 3000));
  try {
    await watch.guard(events.waitUntilReady());
    const workers = await waitForWorkers(queue, waitWorkersMs, board, connection, watch);
    const specs = resumed?.specs ?? planShards(run, options.shards ?? Math.max(1, workers));
    total = specs.length;
    const folder = resumed ? openRunFolder(resumed.dir) : createRunFolder(`queue-${board}`, run.resultsDir ?? RESULTS_DIR);
    folderDir = folder.dir;
    const shardsDir = path.join(folder.dir, 'shards');
    fs.mkdirSync(shardsDir, { recursive: true });
    if (!resumed) fs.writeFileSync(path.join(shardsDir, PLAN_FILE), JSON.stringify({ queue: connection.label, board, shards: specs }, null, 2) + '\n');
    for (const [id, dir] of resumed?.collected ?? []) collected.set(id, dir);
    const todo = specs.filter((s) => !collected.has(s.id));
    log.info(`run ${folder.id}: ${todo.length} ${resumed ? `of ${specs.length} ` : ''}shards on queue ${boardQueue(board)} at ${connection.label} (${workers} worker${workers === 1 ? '' : 's'} serving ${board})`);

    const enqueued = Date.now();
    const jobIds = new Map(todo.map((s) => [shardJobId(folder.id, s.id), s]));
    // a resumed run: a shard whose job failed before runs again (a completed one is collected as it is)
    for (const id of resumed ? jobIds.keys() : []) {
      const old = await watch.guard(Job.fromId(queue, id));
      if (old && (await watch.guard(old.getState())) === 'failed') await watch.guard(old.remove());
    }
    await watch.guard(queue.addBulk(
      todo.map((s) => ({
        name: 'shard',
        data: s,
        opts: {
          jobId: shardJobId(folder.id, s.id),
          attempts: options.attempts ?? 3,
          backoff: { type: 'fixed', delay: 1000 },
          // results stay until collected; a forgotten run's jobs go after a week
          removeOnComplete: { age: 7 * 86400 },
          removeOnFail: { age: 7 * 86400 },
        },
      })),
    ));

    const timings: ShardTiming[] = [];
    const failures: string[] = [];
    const progress = log.progress('shards', specs.length);
    if (collected.size > 0) progress.tick(collected.size, 'collected before');
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (e?: unknown) => {
        if (settled) return;
        settled = true;
        clearInterval(ticker);
        if (e) reject(e);
        else resolve();
      };
      if (jobIds.size === 0) return resolve();
      const pending = () => [...jobIds.keys()].filter((id) => !collected.has(jobIds.get(id)!.id) && !failures.some((f) => f.startsWith(`${id}\u0000`)));
      const check = async (jobId: string) => {
        const spec = jobIds.get(jobId);
        if (!spec || collected.has(spec.id) || failures.some((f) => f.startsWith(`${jobId}\u0000`))) return;
        const job = await watch.guard(Job.fromId<ShardSpec, ShardResult>(queue, jobId));
        if (!job) return;
        const state = await watch.guard(job.getState());
        if (state === 'completed') {
          // a completion seen twice (event and poll) is collected once
          if (collected.has(spec.id)) return;
          const where = `shard ${spec.index + 1}/${spec.of} (${spec.label})`;
          const result = checkShardResult(job.returnvalue, spec.id, where);
          collected.set(spec.id, writeShardFolder(path.join(shardsDir, shardFolderName(spec)), result));
          timings.push({ shard: spec.id, job: jobId, worker: result.worker, attempts: job.attemptsMade, enqueued, started: job.processedOn, finished: job.finishedOn, collected: Date.now(), runMs: shardRunMs(result) });
          progress.tick(1, `${spec.label} on ${result.worker}`);
        } else if (state === 'failed') {
          if (failures.some((f) => f.startsWith(`${jobId}\u0000`))) return;
          failures.push(`${jobId}\u0000shard ${spec.index + 1}/${spec.of} (${spec.label}): ${job.failedReason}`);
          progress.tick(1, `${spec.label} FAILED`);
        }
        if (pending().length === 0) finish();
      };
      const checkAll = () => Promise.all(pending().map((id) => check(id))).catch((e: unknown) => finish(e instanceof HilError ? e : new HilError(describeQueueError(e, connection.label))));
      events.on('completed', ({ jobId }) => void check(jobId).catch(finish));
      events.on('failed', ({ jobId }) => void check(jobId).catch(finish));
      events.on('stalled', ({ jobId }) => {
        const spec = jobIds.get(jobId);
        if (spec) log.warn(`shard ${spec.index + 1}/${spec.of} (${spec.label}): its worker stopped answering; the job goes back to the queue`);
      });
      let noWorkersSince: number | undefined;
      let ticks = 0;
      const ticker = setInterval(() => {
        const lost = watch.lost();
        if (lost) return finish(new HilError(lost));
        if (watch.down()) return;
        // a safety net for missed events; also notices when every worker of the board has gone
        if (++ticks % 4 === 0) void checkAll();
        if (ticks % 4 === 2)
          void queue
            .getWorkersCount()
            .then((n) => {
              if (n > 0) noWorkersSince = undefined;
              else if ((noWorkersSince ??= Date.now()) + waitWorkersMs < Date.now()) finish(new HilError(`no worker serves board ${board} any more at ${connection.label}`));
            })
            .catch(() => undefined);
      }, 500);
      void checkAll();
    }).finally(() => {
      // leave the progress bar before any other line
      progress.stop();
    });
    if (failures.length > 0) {
      const lines = failures.map((f) => f.split('\u0000')[1]);
      throw new HilError(`${lines.length} of ${total} shards failed: ${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more: ${lines.slice(1).join('; ')})` : ''}`, `run ${folder.id}`);
    }
    fs.writeFileSync(path.join(shardsDir, 'queue.json'), JSON.stringify({ queue: connection.label, board, shards: timings }, null, 2) + '\n');
    const result = await mergeShards([...collected.values()], folder.dir, log);
    // collected and merged: the jobs' copies in Redis are no longer needed
    await watch.guard(Promise.all([...jobIds.keys()].map((id) => queue.remove(id).catch(() => 0)))).catch(() => undefined);
    return { result, timings };
  } catch (e) {
    const line = e instanceof HilError ? e.toLine() : describeQueueError(e, connection.label);
    const kept = folderDir && collected.size > 0 ? `; ${collected.size} of ${total} shards collected and kept in ${rel(path.join(folderDir, 'shards'))}/ (finish with: hil submit --queue ${connection.address.url} --resume ${rel(folderDir)})` : '';
    throw new HilError(`${line}${kept}`, undefined, e instanceof HilError ? e.exitCode : 2);
  } finally {
    watch.stop();
    removeCleanup();
    await closeWithin([queue.close(), events.close()], 3000);
  }
}

/** How long the shard itself ran on its worker (from its run.json), ms. */
function shardRunMs(result: ShardResult): number | undefined {
  try {
    const json = JSON.parse(result.files['run.json']) as { started?: string; finished?: string };
    return json.started && json.finished ? Date.parse(json.finished) - Date.parse(json.started) : undefined;
  } catch {
    return undefined;
  }
}

const PLAN_FILE = 'plan.json';

/** A queued run folder not merged yet: its plan and the shards already collected. */
function readQueuedRun(dir: string): { dir: string; board: string; specs: ShardSpec[]; collected: Map<string, string> } {
  const shardsDir = path.join(dir, 'shards');
  if (fs.existsSync(path.join(dir, 'run.json'))) throw new HilError('this run is merged already (run.json): nothing to finish', dir);
  let plan: { board?: unknown; shards?: unknown[] };
  try {
    plan = JSON.parse(fs.readFileSync(path.join(shardsDir, PLAN_FILE), 'utf8')) as typeof plan;
  } catch {
    throw new HilError(`not a queued run folder (no readable shards/${PLAN_FILE}); a local run resumes without --queue`, dir);
  }
  const specs = (plan.shards ?? []).map((s, i) => {
    const checked = validateShardSpec(s);
    if ('refused' in checked) throw new HilError(`shard ${i + 1}: ${checked.refused}`, path.join(shardsDir, PLAN_FILE));
    return checked.spec;
  });
  if (specs.length === 0 || typeof plan.board !== 'string') throw new HilError('holds no shards', path.join(shardsDir, PLAN_FILE));
  const collected = new Map<string, string>();
  for (const spec of specs) {
    const folder = path.join(shardsDir, shardFolderName(spec));
    try {
      const json = JSON.parse(fs.readFileSync(path.join(folder, 'run.json'), 'utf8')) as { status?: string; shard?: { id?: string } };
      if (json.status === 'complete' && json.shard?.id === spec.id) collected.set(spec.id, folder);
    } catch {
      // not collected: it runs again
    }
  }
  return { dir: path.resolve(dir), board: plan.board, specs, collected };
}

/** Closes the queue handles; a Redis that is gone must not keep the process waiting. */
async function closeWithin(closing: Promise<unknown>[], ms: number): Promise<void> {
  await Promise.race([Promise.all(closing.map((c) => c.catch(() => undefined))), new Promise((r) => setTimeout(r, ms).unref())]);
}

/** A shard's files as an ordinary shard folder (the result was checked), written whole or not at all. */
function writeShardFolder(dir: string, result: ShardResult): string {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const [name, text] of Object.entries(result.files)) fs.writeFileSync(path.join(tmp, name), text);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

async function waitForWorkers(queue: Queue, waitMs: number, board: string, connection: QueueConnection, watch: ConnectionWatch): Promise<number> {
  const until = Date.now() + waitMs;
  for (;;) {
    const lost = watch.lost();
    if (lost) throw new HilError(lost);
    const n = await watch.guard(queue.getWorkersCount());
    if (n > 0) return n;
    if (Date.now() >= until) {
      throw new HilError(`no worker serves board ${board} (waited ${Math.round(waitMs / 1000)} s): start 'hil worker --queue ${connection.address.url} --rig <a ${board} rig>' on a rig host`, connection.label);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface ConnectionWatch {
  /** the connection is down right now */
  down(): boolean;
  /** one line once it has been down longer than allowed */
  lost(): string | undefined;
  /** `p`, or the lost line as a HilError when the queue stays away (a command would wait for ever) */
  guard<T>(p: Promise<T>): Promise<T>;
  stop(): void;
}

/** Follows the Redis connections: down since when, and the last error seen (for the one line). */
function watchConnection(clients: Promise<unknown>[], label: string, lostMs: number): ConnectionWatch {
  let downSince: number | undefined;
  let lastError: unknown;
  let lostLine: string | undefined;
  let onLost: (e: HilError) => void = () => undefined;
  const lostPromise = new Promise<never>((_, reject) => (onLost = reject));
  lostPromise.catch(() => undefined);
  const detach: (() => void)[] = [];
  for (const c of clients) {
    void (c as Promise<Redis>)
      .then((client) => {
        const onClose = () => (downSince ??= Date.now());
        const onReady = () => (downSince = undefined);
        const onError = (e: unknown) => (lastError = e);
        client.on('close', onClose);
        client.on('ready', onReady);
        client.on('error', onError);
        detach.push(() => {
          client.off('close', onClose);
          client.off('ready', onReady);
          client.off('error', onError);
        });
      })
      .catch((e: unknown) => (lastError = e));
  }
  const timer = setInterval(() => {
    if (lostLine || downSince === undefined || Date.now() - downSince <= lostMs) return;
    lostLine = `lost the queue: ${lastError ? describeQueueError(lastError, label) : `the queue at ${label} went away`} for ${Math.round((Date.now() - downSince) / 1000)} s`;
    onLost(new HilError(lostLine));
  }, 200);
  return {
    down: () => downSince !== undefined,
    lost: () => lostLine,
    guard: (p) => Promise.race([p, lostPromise]),
    stop: () => {
      clearInterval(timer);
      detach.forEach((d) => d());
    },
  };
}
