/**
 * Sharding a run over several rigs, engine-agnostic: a local pool (run/pool.ts), a CI matrix
 * (`hil run --shard i/n` + `hil merge`) or a job queue carry the same shards.
 *
 * The contract:
 * - planShards(options, count) -> ShardSpec[] (plain JSON, run/shard-spec.ts). Accuracy is split
 *   per variant, model and slice of the test split (`count` slices per model); latency per
 *   variant and model; the experiments that compare variants or span models (switching,
 *   scenario, mlperf-performance) form ONE shard that runs every variant; derived tables
 *   (compression) are computed once, at merge. Every shard expects the firmware hashes the plan
 *   built, and carries the plan's identity.
 * - runShard(spec, rigName, outDir, log) runs one shard on one rig (of the shard's board) and
 *   writes a shard folder: an ordinary run folder whose run.json has `shard`. A folder that
 *   already holds that shard complete is left as it is; an unfinished one (same rig) is resumed.
 * - mergeShards(shardFolders, intoDir) -> ONE run folder whose CSV rows equal a one-rig run of
 *   the same work, in the same order, apart from `run_id` (the merged run's id), `rig` (the rig
 *   that made the row; rigs joined with `+` where rows of several rigs were combined, plus a `rig`
 *   column in predictions.csv) and wall-clock columns. Accuracy rows are recomputed from the
 *   merged predictions; compression is derived once. Refused: shards of different plans or
 *   firmware, unfinished or missing shards. A shard id seen twice is merged once (the first
 *   folder; the others listed in run.json `duplicates_ignored`). run.json `shards` records which
 *   rig and host ran each shard, with its timings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrepared } from '../datasets/prepared.js';
import { ACCURACY_TABLE, accuracyRow, PREDICTION_TABLE, type PredictionRow } from '../experiments/accuracy.js';
import { TASKS, type Task } from '../datasets/model-data.js';
import type { Provenance } from '../experiments/context.js';
import type { AnyTable, Experiment } from '../experiments/experiment.js';
import { EXPERIMENTS } from '../experiments/registry.js';
import { NO_TRAFFIC, type DeviceHello, type ProtocolStats } from '../protocol/device.js';
import { readCsv } from '../reports/csv.js';
import { createRunFolderAt } from '../reports/run-folder.js';
import { loadRig, type Rig } from '../rig/rig.js';
import type { Variant } from '../session/model-set.js';
import { HilError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { createLogger, type Logger } from '../util/log.js';
import { rel } from '../util/paths.js';
import { harnessVersion } from '../util/version.js';
import { buildVariants, planVariants } from './plan.js';
import { CsvResultStore, typedRow } from './result-store.js';
import { RunRecord, type RunJson } from './run-record.js';
import { planRun, runExperiments, runInfo, runResult, runSummary, type RunOptions, type RunResult } from './run.js';
import { shardRunOptions, type ShardSpec } from './shard-spec.js';
import { checkShardSpec } from './shard-schema.js';

export { type ShardSpec, type ShardRunOptions } from './shard-spec.js';
export { checkShardSpec } from './shard-schema.js';

/** Experiments split per variant, model (and sample slice): each row depends on one model only. */
const PER_MODEL = ['accuracy', 'latency'];

/** Experiments that only join other experiments' rows after the variants: computed at merge. */
function derivedAtMerge(e: Experiment): boolean {
  return e.runVariant === undefined;
}

/**
 * The shards of a run, in merge order (a one-rig run's row order). `count` is how many slices
 * each model's accuracy is cut into (usually the number of rigs or CI jobs). The firmware is
 * built here (cached) so every shard carries the hashes it must run.
 */
export function planShards(options: RunOptions, count: number): ShardSpec[] {
  if (!Number.isInteger(count) || count < 1) throw new HilError(`expected a positive number of shards, got ${count}`, 'shards');
  if (options.resume !== undefined) throw new HilError('a sharded run resumes from its run folder (hil run --resume <folder>), or shard by shard (hil run --resume <shard folder>, then hil merge)', '--resume');
  if (options.firmware !== undefined) throw new HilError('a sharded run builds its own firmware (a shard carries no paths)', '--firmware');
  if (options.datasetFolder !== undefined) throw new HilError('a sharded run reads prepared test splits (a shard carries no paths)', '--dataset-folder');
  const plan = planRun(options);
  const builds = buildVariants(plan.rig, plan.plans, options.log, plan.source);
  const firmware = builds.map((b) => ({ variant: b.variant, hash: b.firmware.buildHash }));
  const chosen = plan.chosen;
  const names = chosen.map((e) => e.name);
  const run: ShardSpec['run'] = {
    models: [...new Set(plan.plans.flatMap((p) => p.models.map((m) => m.name)))],
    variants: plan.plans.map((p) => p.variant),
    experiments: names,
    options: pick(options),
  };
  const inputs = options.inputs ?? 'auto';
  const id = sha256(JSON.stringify({ v: harnessVersion(), board: plan.rig.board, firmware, run, count, protocol: plan.source.protocol, inputs })).slice(0, 12);
  type Draft = Omit<ShardSpec, 'id' | 'plan' | 'index' | 'of' | 'board' | 'firmware' | 'protocol' | 'inputs' | 'run'>;
  const drafts: Draft[] = [];
  for (const p of plan.plans) {
    const v = p.variant;
    if (names.includes('accuracy')) {
      for (const m of p.models) {
        const n = Math.min(ensurePrepared(m.dataset).counts.test, options.samples ?? Infinity);
        for (const s of slices(n, count)) drafts.push({ label: `${v} ${m.name} accuracy ${s.start}-${s.end}`, variants: [v], models: [m.name], experiments: ['accuracy'], samples: s });
      }
    }
    if (names.includes('latency')) {
      for (const m of p.models) drafts.push({ label: `${v} ${m.name} latency`, variants: [v], models: [m.name], experiments: ['latency'] });
    }
  }
  const whole = chosen.filter((e) => !PER_MODEL.includes(e.name) && !derivedAtMerge(e)).map((e) => e.name);
  if (whole.length) drafts.push({ label: `${run.variants.join(',')} ${whole.join(',')}`, variants: run.variants, models: run.models, experiments: whole });
  return drafts.map((d, index) => ({
    id: `${id}-${index}`, plan: id, index, of: drafts.length, board: plan.rig.board, firmware, protocol: plan.source.protocol, inputs, run, ...d,
  }));
}

/** [0, n) cut into at most `count` contiguous non-empty slices of near-equal size. */
export function slices(n: number, count: number): { start: number; end: number }[] {
  const k = Math.max(1, Math.min(count, n));
  const out: { start: number; end: number }[] = [];
  for (let i = 0; i < k; i++) {
    const start = Math.floor((i * n) / k);
    const end = Math.floor(((i + 1) * n) / k);
    if (end > start) out.push({ start, end });
  }
  return out;
}

function pick(o: RunOptions): ShardSpec['run']['options'] {
  const all = { samples: o.samples, latencyRuns: o.latencyRuns, latencyWarmup: o.latencyWarmup, switchReps: o.switchReps, scenarioEvents: o.scenarioEvents, scenarioSeed: o.scenarioSeed, perfWindowSec: o.perfWindowSec, profile: o.profile };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

/** Where and when a shard ran (read back from its folder's run.json). */
export interface ShardOutcome {
  id: string;
  index: number;
  label: string;
  dir: string;
  rig: string;
  host: string;
  status: string;
  started: string;
  finished?: string;
  seconds?: number;
  error?: string;
}

/**
 * Runs one shard on one rig into `outDir` (a run folder with `shard` in its run.json). A folder
 * already holding this shard complete is returned untouched (a shard is never run twice); an
 * unfinished one is resumed on the same rig.
 */
export async function runShard(spec: ShardSpec, rigName: string, outDir: string, log: Logger, stop?: () => boolean): Promise<ShardOutcome> {
  checkShardSpec(spec);
  const rig = loadRig(rigName);
  if (rig.board !== spec.board) throw new HilError(`rig ${rig.name} has board ${rig.board}; shard ${spec.id} (${spec.label}) needs board ${spec.board}`, rigName);
  const existing = readShardJson(outDir, false);
  if (existing) {
    if (existing.shard.id !== spec.id) throw new HilError(`holds shard ${existing.shard.id}, not ${spec.id}: choose another folder`, outDir);
    if (existing.json.status === 'complete') return outcome(outDir, existing.json);
    const was = (existing.json.rig as { name: string }).name;
    if (was !== rig.name) throw new HilError(`this unfinished shard ran on rig ${was}: resume it there, or delete the folder to run it on ${rig.name}`, outDir);
    await runExperiments({ rig: rigName, resume: outDir, log, stop });
  } else {
    await runExperiments({ rig: rigName, ...shardRunOptions(spec), runDir: outDir, log, stop });
  }
  return outcome(outDir, (readShardJson(outDir, true) as ShardJson).json);
}

interface ShardJson {
  dir: string;
  json: RunJson;
  shard: ShardSpec;
}

function readShardJson(dir: string, must: boolean): ShardJson | undefined {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) {
    if (must) throw new HilError('not a run folder (no run.json)', dir);
    return undefined;
  }
  let json: RunJson;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as RunJson;
  } catch {
    throw new HilError('run.json is not valid JSON', file);
  }
  if (json.shard === undefined) throw new HilError("not a shard folder (its run.json has no shard: made by 'hil run --shard i/n' or a pool of rigs)", dir);
  return { dir: path.resolve(dir), json, shard: checkShardSpec(json.shard, `${rel(dir)}: run.json`) };
}

function outcome(dir: string, json: RunJson): ShardOutcome {
  const shard = json.shard as ShardSpec;
  const finished = json.finished;
  return {
    id: shard.id, index: shard.index, label: shard.label, dir: path.resolve(dir),
    rig: (json.rig as { name: string }).name, host: (json.host as { hostname?: string }).hostname ?? '',
    status: json.status, started: json.started, finished,
    seconds: finished ? Math.round((Date.parse(finished) - Date.parse(json.started)) / 100) / 10 : undefined,
    ...(json.error ? { error: json.error } : {}),
  };
}

/** Shard folders given on the command line: each a shard folder, or a folder of shard folders (CI artifacts). */
export function expandShardFolders(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (!fs.existsSync(a) || !fs.statSync(a).isDirectory()) throw new HilError('no such folder', a);
    if (fs.existsSync(path.join(a, 'run.json'))) out.push(a);
    else {
      const inner = fs.readdirSync(a).sort().map((d) => path.join(a, d)).filter((d) => fs.existsSync(path.join(d, 'run.json')));
      if (inner.length === 0) throw new HilError('neither a shard folder nor a folder of shard folders (no run.json)', a);
      out.push(...inner);
    }
  }
  return out;
}

/**
 * Merges the shard folders of one run into `intoDir` (created; it must not hold a run yet): the
 * one-rig run's tables, derived tables, summary.txt and a run.json with `shards`.
 */
export async function mergeShards(shardFolders: string[], intoDir: string, log: Logger = createLogger({ quiet: true })): Promise<RunResult> {
  if (shardFolders.length === 0) throw new HilError('no shard folders to merge', 'hil merge');
  const read = shardFolders.map((d) => readShardJson(d, true) as ShardJson);
  // one folder per shard id: a shard run twice (a retried job, a folder given twice) counts once
  const byId = new Map<string, ShardJson>();
  const ignored: string[] = [];
  for (const s of read) {
    if (byId.has(s.shard.id)) ignored.push(rel(s.dir));
    else byId.set(s.shard.id, s);
  }
  const shards = [...byId.values()].sort((a, b) => a.shard.index - b.shard.index);
  checkSameFirmware(shards);
  const first = shards[0];
  for (const s of shards) {
    if (s.shard.plan !== first.shard.plan) throw new HilError(`a shard of another run (plan ${s.shard.plan}, not ${first.shard.plan} of ${rel(first.dir)}): merge the shards of one run`, rel(s.dir));
  }
  for (const s of shards) {
    if (s.json.status !== 'complete') throw new HilError(`shard ${s.shard.index + 1}/${s.shard.of} (${s.shard.label}) is ${s.json.status}: finish it with 'hil run --resume ${rel(s.dir)}'`, rel(s.dir));
  }
  const missing = Array.from({ length: first.shard.of }, (_, i) => i).filter((i) => !shards.some((s) => s.shard.index === i));
  if (missing.length) throw new HilError(`missing shards ${missing.map((i) => `${i + 1}`).join(', ')} of ${first.shard.of} of plan ${first.shard.plan}: pass every shard's folder`, 'hil merge');

  const spec = first.shard;
  const rigNames = [...new Set(shards.map((s) => (s.json.rig as { name: string }).name))];
  const rigConfig = (first.json.rig as { config: Rig; file: string });
  const rig: Rig = { ...rigConfig.config, file: rigConfig.file, name: rigNames.join('+') };
  const folder = createRunFolderAt(intoDir);
  const chosen = EXPERIMENTS.filter((e) => spec.run.experiments.includes(e.name));
  const predictions: AnyTable = { file: PREDICTION_TABLE.file, columns: [...PREDICTION_TABLE.columns, 'rig'] };
  const tables = chosen.flatMap((e) => e.tables).map((t) => (t === PREDICTION_TABLE ? predictions : t));
  const results = new CsvResultStore(folder, tables);
  const shardRig = (s: ShardJson) => (s.json.rig as { name: string }).name;

  // rows copied in plan order (a one-rig run's order), with the merged run's id
  const copied = new Set<string>();
  for (const t of tables) {
    if (copied.has(t.file) || t.file === ACCURACY_TABLE.file) continue;
    copied.add(t.file);
    for (const s of shards) {
      const file = path.join(s.dir, t.file);
      if (!fs.existsSync(file)) continue;
      const rows = readCsv(fs.readFileSync(file, 'utf8')).map(typedRow).map((r) => ({ ...r, ...('run_id' in r ? { run_id: folder.id } : {}), ...(t === predictions ? { rig: shardRig(s) } : {}) }));
      results.append(t, rows);
    }
  }
  // accuracy rows from the merged predictions: one per variant and model, over every slice
  if (chosen.some((e) => e.name === 'accuracy')) {
    const groups = new Map<string, { head: Record<string, string | number>; rigs: string[] }>();
    for (const s of shards) {
      const file = path.join(s.dir, ACCURACY_TABLE.file);
      if (!fs.existsSync(file)) continue;
      for (const r of readCsv(fs.readFileSync(file, 'utf8')).map(typedRow)) {
        const key = `${r.variant}\u0000${r.model}`;
        const g = groups.get(key) ?? { head: r, rigs: [] };
        if (!g.rigs.includes(shardRig(s))) g.rigs.push(shardRig(s));
        groups.set(key, g);
      }
    }
    const all = results.rows(predictions) as (PredictionRow & { variant: string })[];
    for (const { head, rigs } of groups.values()) {
      const provenance: Provenance = {
        run_id: folder.id, rig: rigs.join('+'), board: String(head.board), firmware_hash: String(head.firmware_hash), dataset_hash: String(head.dataset_hash), harness_version: String(head.harness_version),
      };
      const mine = all.filter((p) => p.variant === head.variant && p.model === head.model);
      // the task and whether there are labels, from the shards' rows (a shard-merged autoencoder's AUC is over samples, not ad01 files)
      const data = { dataset: String(head.dataset), task: (TASKS.includes(head.task as Task) ? head.task : 'classifier') as Task, labelled: mine.some((p) => p.label !== -1) };
      results.append(ACCURACY_TABLE, [{ ...accuracyRow(provenance, String(head.model), data, mine), variant: head.variant as Variant }]);
    }
  }

  const notes = [...new Set(shards.flatMap((s) => (s.json.notes as string[] | undefined) ?? []))];
  const options: RunOptions = { rig: rig.file, log, ...shardRunOptions(spec), shard: undefined, variants: spec.run.variants, experiments: spec.run.experiments, sampleRange: undefined };
  const plans = planVariants(rig, spec.run.models, spec.run.variants, log, []);
  const commonModels = plans[0].models.map((m) => m.name).filter((n) => plans.every((p) => p.models.some((m) => m.name === n)));
  const info = runInfo(rig, plans, commonModels, options, notes, spec.protocol, () => false);
  info.id = folder.id;
  info.results = results;
  const variantJson = (v: Variant) => {
    for (const s of shards) {
      const found = (s.json.variants as { variant: string; device?: DeviceHello }[]).find((x) => x.variant === v);
      if (found) return found;
    }
    return undefined;
  };
  for (const v of spec.run.variants) {
    const device = variantJson(v)?.device;
    if (device) info.devices[v] = device;
  }
  for (const e of chosen) await e.afterVariants?.(info);

  const link: Record<string, ProtocolStats & { resets: number }> = {};
  for (const v of spec.run.variants) {
    for (const s of shards) {
      const l = (s.json.link as Record<string, Record<string, number>>)[v];
      if (!l) continue;
      const sum = (link[v] ??= { ...NO_TRAFFIC, resets: 0 }) as unknown as Record<string, number>;
      for (const [k, n] of Object.entries(l)) sum[k] = (sum[k] ?? 0) + n;
    }
  }
  const summary = runSummary(info, chosen, link);
  folder.writeText('summary.txt', summary + '\n');
  const outcomes = shards.map((s) => ({ ...outcome(s.dir, s.json), dir: rel(s.dir) }));
  const json: RunJson = {
    ...first.json,
    id: folder.id,
    status: 'complete',
    started: shards.map((s) => s.json.started).sort()[0],
    finished: new Date().toISOString(),
    host: { ...(first.json.host as object), hostname: os.hostname() },
    rig: { name: rig.name, rigs: rigNames, file: rigConfig.file, config: rigConfig.config },
    experiments: spec.run.experiments,
    variant: spec.run.variants.join(','),
    variants: spec.run.variants.map((v) => variantJson(v) ?? { variant: v }),
    options: { ...(first.json.options as object), models: spec.run.models, samples: spec.run.options.samples ?? 'all' },
    notes,
    link,
    progress: Object.fromEntries(spec.run.variants.map((v) => [v, spec.run.experiments])),
    shard: undefined,
    sharded: { plan: spec.plan, of: spec.of, board: spec.board, firmware: spec.firmware },
    /** which rig and host ran each shard, and when */
    shards: outcomes,
    ...(ignored.length ? { duplicates_ignored: ignored } : {}),
  };
  new RunRecord(folder, json);
  return runResult(folder, chosen, results, summary);
}

/** Every shard ran the same firmware per variant, or the merge is refused naming both. */
function checkSameFirmware(shards: ShardJson[]): void {
  const seen = new Map<string, { hash: string; dir: string }>();
  for (const s of shards) {
    const ran = (s.json.variants as { variant: string; firmware: { build_hash: string } }[]).map((v) => ({ variant: v.variant, hash: v.firmware.build_hash }));
    for (const f of [...ran, ...s.shard.firmware]) {
      const before = seen.get(f.variant);
      if (before && before.hash !== f.hash) {
        throw new HilError(`ran ${f.variant} firmware ${f.hash}, but ${before.dir} ran ${before.hash}: shards of different firmware cannot be merged`, rel(s.dir));
      }
      if (!before) seen.set(f.variant, { hash: f.hash, dir: rel(s.dir) });
    }
  }
}
