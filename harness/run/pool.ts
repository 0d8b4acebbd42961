/**
 * A sharded run on the rigs of this host: `hil run --rig a --rig b ...` or `--parallel N` copies
 * of an emulated rig. Rigs are grouped by board and firmware (only such rigs serve the same
 * shard); each group gets its own plan and its own merged run folder (a run over different boards
 * reports per board). A simple local pool: one worker per rig slot takes the next shard; a real
 * board serves one shard at a time and is locked (util/rig-lock.ts) for the whole run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockRig, ownDevicePerSession } from '../dut/factory.js';
import { createRunFolder } from '../reports/run-folder.js';
import { loadRig, type Rig } from '../rig/rig.js';
import { onCleanup } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { prefixedLogger } from '../util/log.js';
import { rel } from '../util/paths.js';
import { buildVariants } from './plan.js';
import { planRun, type RunOptions, type RunResult } from './run.js';
import { mergeShards, planShards, runShard, type ShardOutcome, type ShardSpec } from './shard.js';

export interface PoolOptions {
  /** rig names or files (each used by one shard at a time) */
  rigs: string[];
  /** copies of each emulated rig (default 1); refused for a real board */
  parallel?: number;
}

/** The rigs of a run in groups that can serve the same shards: same board, same firmware. */
function groupRigs(options: RunOptions, rigs: Rig[]): Rig[][] {
  const groups = new Map<string, Rig[]>();
  for (const rig of rigs) {
    const plan = planRun({ ...options, rig: rig.file });
    const firmware = buildVariants(rig, plan.plans, options.log, plan.source).map((b) => `${b.variant}:${b.firmware.buildHash}`);
    const key = `${rig.board} ${firmware.join(',')}`;
    groups.set(key, [...(groups.get(key) ?? []), rig]);
  }
  return [...groups.values()];
}

/** A folder name for a shard: its position and what it does. */
export function shardFolderName(spec: ShardSpec): string {
  return `${String(spec.index + 1).padStart(3, '0')}-${spec.label.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
}

/** Runs the sharded run and merges each group's shards; one result per group (board and firmware). */
export async function runPool(options: RunOptions, pool: PoolOptions): Promise<RunResult[]> {
  const { log } = options;
  const parallel = pool.parallel ?? 1;
  const rigs = pool.rigs.map((r) => loadRig(r));
  const names = rigs.map((r) => r.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new HilError(`rig ${twice} given twice: one job per rig at a time (--parallel N runs copies of an emulated rig)`, '--rig');
  const real = rigs.find((r) => !ownDevicePerSession(r));
  if (parallel > 1 && real) throw new HilError(`--parallel ${parallel} copies an emulated rig; ${real.name} is a real board (one job at a time): give each board its own --rig`, '--parallel');
  // every real board is ours for the whole run, or the run does not start
  const locks = rigs.map((r) => lockRig(r));
  try {
    const emulators = rigs.filter(ownDevicePerSession).length * parallel;
    // an emulator streaming inputs needs much of a host core: more of them than cores only take turns
    if (emulators > os.cpus().length) log.warn(`${emulators} emulators on ${os.cpus().length} cores: a streaming emulator needs much of a core, so more emulators than cores do not speed the run up (docs/scale-out.md)`);
    // every group planned (and its firmware built) first, then all groups' shards at once
    const planned = groupRigs(options, rigs).map((group) => {
      const slots = group.flatMap((r) => Array.from({ length: ownDevicePerSession(r) ? parallel : 1 }, (_, k) => ({ rig: r, copy: k + 1 })));
      const specs = planShards({ ...options, rig: group[0].file }, slots.length);
      const into = createRunFolder(`${group[0].name}${slots.length > 1 ? `-x${slots.length}` : ''}`, options.resultsDir);
      const pool: PoolFile = { plan: specs[0].plan, rigs: group.map((r) => r.file), parallel, specs };
      fs.writeFileSync(path.join(into.dir, POOL_FILE), JSON.stringify(pool, null, 2) + '\n');
      log.info(`${specs.length} shards of plan ${specs[0].plan} on ${slots.length} rig slot(s) (${group.map((r) => r.name).join(', ')}, board ${group[0].board}); shard folders in ${rel(into.dir)}/shards/`);
      return { specs, slots, dir: into.dir };
    });
    const settled = await Promise.allSettled(planned.map((g) => runAndMerge(g.specs, g.slots, g.dir, options)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const results = settled.map((s) => (s as PromiseFulfilledResult<RunResult>).value);
    return results;
  } finally {
    for (const l of locks) l?.release();
  }
}

/** The pool's plan in its run folder (pool.json): what `hil run --resume <folder>` finishes. */
interface PoolFile {
  plan: string;
  rigs: string[];
  parallel: number;
  specs: ShardSpec[];
}
const POOL_FILE = 'pool.json';

/** A sharded run folder that was interrupted or failed before its merge (has pool.json, no run.json). */
export function isPoolFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, POOL_FILE)) && !fs.existsSync(path.join(dir, 'run.json'));
}

/** Finishes an interrupted sharded run on the rigs it had: finished shards kept, unfinished resumed, missing run; then the merge. */
export async function resumePool(dir: string, log: RunOptions['log']): Promise<RunResult> {
  const pool = JSON.parse(fs.readFileSync(path.join(dir, POOL_FILE), 'utf8')) as PoolFile;
  const rigs = pool.rigs.map((r) => loadRig(r));
  const locks = rigs.map((r) => lockRig(r));
  try {
    const slots = rigs.flatMap((r) => Array.from({ length: ownDevicePerSession(r) ? pool.parallel : 1 }, (_, k) => ({ rig: r, copy: k + 1 })));
    return await runAndMerge(pool.specs, slots, path.resolve(dir), { rig: pool.rigs[0], log });
  } finally {
    for (const l of locks) l?.release();
  }
}

async function runAndMerge(specs: ShardSpec[], slots: Slot[], into: string, options: RunOptions): Promise<RunResult> {
  // Ctrl-C: each shard marks its run.json interrupted and keeps its rows; say how to finish
  const removeCleanup = onCleanup(() => {
    process.stderr.write(`shard folders kept in ${rel(into)}/shards/: finish the run with 'hil run --resume ${rel(into)}'\n`);
  });
  const outcomes = await runShards(specs, slots, path.join(into, 'shards'), options).finally(removeCleanup);
  const failed = outcomes.find((o) => o.status !== 'complete');
  if (failed) {
    throw new HilError(`shard ${failed.index + 1}/${specs.length} (${failed.label}) on ${failed.rig} is ${failed.status}${failed.error ? `: ${failed.error}` : ''}; rows kept: finish the run with 'hil run --resume ${rel(into)}'`, rel(into));
  }
  const merged = await mergeShards(outcomes.sort((a, b) => a.index - b.index).map((o) => o.dir), into, options.log);
  options.log.info(`merged ${outcomes.length} shards into ${rel(merged.dir)}/`);
  return merged;
}

type Slot = { rig: Rig; copy: number };

/**
 * One worker per slot takes the next shard until none is left; the longest (the shard of whole
 * experiments) goes first. When a shard fails, the others stop between samples and keep their rows.
 */
async function runShards(specs: ShardSpec[], slots: Slot[], dir: string, options: RunOptions): Promise<ShardOutcome[]> {
  const { log } = options;
  const whole = (s: ShardSpec) => Number(s.experiments.some((e) => e !== 'accuracy' && e !== 'latency'));
  const queue = [...specs].sort((a, b) => whole(b) - whole(a) || a.index - b.index);
  // an unfinished shard (a resumed pool) continues on the rig it started on
  const startedOn = new Map<string, string>();
  for (const s of specs) {
    const file = path.join(dir, shardFolderName(s), 'run.json');
    if (fs.existsSync(file)) startedOn.set(s.id, (JSON.parse(fs.readFileSync(file, 'utf8')) as { rig: { name: string } }).rig.name);
  }
  const next = (slot: Slot) => {
    const i = queue.findIndex((s) => (startedOn.get(s.id) ?? slot.rig.name) === slot.rig.name);
    return i < 0 ? undefined : queue.splice(i, 1)[0];
  };
  const outcomes: ShardOutcome[] = [];
  let stop = false;
  let firstError: unknown;
  const started = Date.now();
  const worker = async (slot: Slot) => {
    for (let spec = next(slot); spec && !stop; spec = next(slot)) {
      const who = `${slot.rig.name}${slots.filter((s) => s.rig === slot.rig).length > 1 ? `#${slot.copy}` : ''}`;
      const shardLog = prefixedLogger(log, `[${spec.index + 1}/${spec.of} ${who}]`);
      shardLog.info(`${spec.label}`);
      try {
        const o = await runShard(spec, slot.rig.file, path.join(dir, shardFolderName(spec)), shardLog, () => stop);
        outcomes.push(o);
        const done = outcomes.filter((x) => x.status === 'complete').length;
        log.info(`shard ${spec.index + 1}/${spec.of} (${spec.label}) ${o.status} on ${who} in ${o.seconds ?? '?'} s; ${done}/${specs.length} shards done after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        if (o.status !== 'complete') stop = true;
      } catch (e) {
        stop = true;
        firstError ??= e;
      }
    }
  };
  await Promise.all(slots.map(worker));
  if (firstError) throw firstError;
  return outcomes;
}
