/**
 * One harness run: plan -> build -> record -> per-variant session loop -> joins -> summary.
 * results/<run id>/ holds the CSVs (rows written as they are made), run.json and summary.txt.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MeasureChannel } from '../experiments/channels.js';
import { closeChannels, openChannels } from '../experiments/channels.js';
import type { AccuracyRow } from '../experiments/accuracy.js';
import { ACCURACY_TABLE, PREDICTION_TABLE } from '../experiments/accuracy.js';
import { COMPRESSION_TABLE, type CompressionRow } from '../experiments/compression.js';
import type { Experiment, ExperimentOptions, ResultStore, RunInfo, VariantContext, VariantPlan, VariantRow } from '../experiments/experiment.js';
import { LATENCY_TABLE, type LatencyRow } from '../experiments/latency.js';
import { EXPERIMENTS, findExperiment } from '../experiments/registry.js';
import { SCENARIO_TABLE, scenarioTotals, type ScenarioTotal } from '../experiments/scenario.js';
import { ENERGY_TABLE, SWITCH_TABLE, type EnergyResultRow, type SwitchRow } from '../experiments/switching.js';
import { CaptureStore, type CaptureRecord } from '../reports/captures.js';
import { createRunFolder, createRunFolderAt, openRunFolder } from '../reports/run-folder.js';
import { loadRig, type Rig } from '../rig/rig.js';
import type { Variant } from '../session/model-set.js';
import { openSession, type Session } from '../session/session.js';
import { lockRig } from '../dut/factory.js';
import { writePreloadImage, type PreloadImage } from '../session/preload.js';
import { createDut } from '../dut/factory.js';
import type { DutOptions } from '../dut/dut.js';
import { NO_TRAFFIC, type DeviceHello, type ProtocolStats } from '../protocol/device.js';
import { onCleanup } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { rel } from '../util/paths.js';
import { harnessVersion } from '../util/version.js';
import { loadDatasetFolder } from '../experiments/dataset-folder.js';
import { buildVariants, firmwareSource, orderVariants, planVariants, type FirmwareSource, type VariantBuild } from './plan.js';
import { shardRunOptions, type ShardSpec } from './shard-spec.js';
import { protocolCanPreload } from '../protocol/drivers.js';
import { CsvResultStore } from './result-store.js';
import { RunRecord, type RunJson } from './run-record.js';

export interface RunOptions extends ExperimentOptions {
  rig: string;
  /** models (default: every trained or imported model) */
  models?: string[];
  /** experiment names (default: every experiment the run's plan allows) */
  experiments?: string[];
  resultsDir?: string;
  /** forms of the models, one firmware and session each, run in the order int8, pq, int8-ext */
  variants?: Variant[];
  /**
   * A run folder to continue (interrupted, failed or killed): its own options are used, finished
   * experiments are kept, accuracy continues after the last prediction written.
   */
  resume?: string;
  /** where the device's serial port is opened (a fault-injecting proxy in tests and benchmarks) */
  route?: DutOptions['route'];
  /** called with every session the run opens (tests: a simulated instrument driven by the device's activity) */
  onSession?: (session: Session) => void;
  /** the device protocol (protocol/drivers.ts): our firmware is built with its front end (default: the rig's, else yono) */
  protocol?: string;
  /** a prebuilt image to boot instead of building (overrides the rig's dut.firmware) */
  firmware?: string;
  /** a .bin image's load address ("0x...") */
  loadAddress?: string;
  /** mlperf-tiny: the profile tag to build with / to require of the device */
  profile?: string;
  /**
   * This run is one shard of a sharded run (run/shard.ts): only the shard's models are measured
   * (the firmware still holds the whole run's models), accuracy covers the shard's sample range,
   * the firmware must be the one the plan expected, and run.json records the shard.
   */
  shard?: ShardSpec;
  /** write into this exact folder (created) instead of a new results/<id>/ */
  runDir?: string;
  /** stop between samples when this says so (a sharded run whose other shard failed) */
  stop?: () => boolean;
  log: Logger;
}

export interface RunResult {
  id: string;
  dir: string;
  experiments: string[];
  accuracy: VariantRow<AccuracyRow>[];
  latency: VariantRow<LatencyRow>[];
  compression: CompressionRow[];
  switching: SwitchRow[];
  scenario: ScenarioTotal[];
  energy: EnergyResultRow[];
  summary: string;
}

/** What a run will do, decided before anything is built: rig, firmware source, variants and their models, experiments. */
export interface RunPlan {
  rig: Rig;
  source: FirmwareSource;
  plans: VariantPlan[];
  commonModels: string[];
  chosen: Experiment[];
  notes: string[];
}

/** Plans a run (shared by runExperiments and planShards): bad options fail here, before any build. */
export function planRun(options: RunOptions, notes: string[] = []): RunPlan {
  const rig = loadRig(options.rig);
  const variants = orderVariants(options.variants);
  const source = firmwareSource(rig, options);
  const plans = planVariants(rig, options.models ?? [], variants, options.log, notes);
  if (options.inputs === 'preload') {
    const dut = createDut(rig);
    if (dut.preloadCapacity() === 0) throw new HilError(`this rig cannot preload inputs (${dut.preloadUnavailable?.() ?? 'no preload region on its board'}); use --inputs stream`, rig.name);
  }
  if (options.inputs === 'preload' && !protocolCanPreload(source.protocol)) throw new HilError(`the ${source.protocol} protocol cannot run preloaded inputs; use --inputs stream (or auto)`, '--inputs');
  const commonModels = plans[0].models.map((m) => m.name).filter((n) => plans.every((p) => p.models.some((m) => m.name === n)));
  const probe = runInfo(rig, plans, commonModels, options, notes, source.protocol, () => false);
  const chosen = chooseExperiments(options.experiments, probe);
  if (options.datasetFolder !== undefined) checkDatasetFolder(options.datasetFolder, probe, chosen);
  source.energy = checkEnergyMode(chosen);
  return { rig, source, plans, commonModels, chosen, notes };
}

/** The RunInfo experiments see (results empty until the run folder exists). */
export function runInfo(rig: Rig, plans: VariantPlan[], commonModels: string[], options: RunOptions, notes: string[], protocol: string, cancelled: () => boolean): RunInfo {
  return {
    id: '', rig, harnessVersion: harnessVersion(), plans, commonModels, options, devices: {}, log: options.log, notes, protocol,
    results: { rows: () => [], append: () => undefined, remove: () => undefined },
    cancelled,
  };
}

export async function runExperiments(options: RunOptions): Promise<RunResult> {
  const { log } = options;
  const resumed = options.resume ? readResumable(options.resume) : undefined;
  if (resumed) options = { ...optionsOf(resumed.json), log, resume: options.resume, stop: options.stop };
  const notes: string[] = resumed ? [...((resumed.json.notes as string[] | undefined) ?? [])] : [];
  const { rig, source, plans, commonModels, chosen } = planRun(options, resumed ? [] : notes);

  let interrupted = false;
  const info = runInfo(rig, plans, commonModels, options, notes, source.protocol, () => interrupted || options.stop?.() === true);
  // one job per rig: refuse before building when another run holds it; held until the run ends
  const lock = lockRig(rig);
  try {
  const builds = buildVariants(rig, plans, log, source);
  if (options.shard) checkShardFirmware(options.shard, builds);

  const folder = resumed ? openRunFolder(resumed.dir) : options.runDir ? createRunFolderAt(options.runDir) : createRunFolder(rig.name, options.resultsDir);
  info.id = folder.id;
  const results = new CsvResultStore(folder, chosen.flatMap((e) => e.tables), resumed !== undefined);
  info.results = results;
  const record = new RunRecord(folder, resumed ? resumeRunJson(resumed.json, builds, info) : initialRunJson(folder.id, info, options, builds, chosen, notes));
  const captures = new CaptureStore(folder.dir, (record.json.captures as CaptureRecord[] | undefined) ?? []);
  if (resumed) {
    info.done = (variant, model) => results.rows(PREDICTION_TABLE).filter((p) => p.variant === variant && p.model === model);
    builds.forEach((b, k) => {
      const device = (record.json.variants as { device?: DeviceHello }[])[k]?.device;
      if (device) info.devices[b.variant] = device;
    });
  }

  const removeCleanup = onCleanup(() => {
    interrupted = true;
    record.finish('interrupted');
  });
  try {
    for (const [k, build] of builds.entries()) {
      if (info.cancelled()) break;
      await runVariant(info, build, chosen, record, k, options, captures);
    }
    if (!info.cancelled()) for (const e of chosen) await e.afterVariants?.(info);
    const summary = runSummary(info, chosen, record.json.link as Record<string, ProtocolStats>);
    folder.writeText('summary.txt', summary + '\n');
    record.finish(info.cancelled() ? 'interrupted' : 'complete');
    return runResult(folder, chosen, results, summary);
  } catch (e) {
    record.finish('failed', e instanceof HilError ? e.toLine() : String(e));
    throw e;
  } finally {
    removeCleanup();
  }
  } finally {
    lock?.release();
  }
}

/** summary.txt: each experiment's part, the link's health and the notes. */
export function runSummary(info: RunInfo, chosen: Experiment[], link: Record<string, ProtocolStats>): string {
  const parts = chosen.map((e) => e.summarize?.(info, chosen.map((c) => c.name))).filter((p): p is string => Boolean(p));
  parts.push(linkHealth(link));
  if (info.notes.length) parts.push(info.notes.map((n) => `note: ${n}`).join('\n'));
  return parts.join('\n\n');
}

/** What a finished run hands back: its folder and the rows the command line checks. */
export function runResult(folder: { id: string; dir: string }, chosen: Experiment[], results: ResultStore, summary: string): RunResult {
  return {
    id: folder.id, dir: folder.dir, experiments: chosen.map((e) => e.name), summary,
    accuracy: results.rows(ACCURACY_TABLE), latency: results.rows(LATENCY_TABLE), compression: results.rows(COMPRESSION_TABLE),
    switching: results.rows(SWITCH_TABLE), scenario: scenarioTotals(results.rows(SCENARIO_TABLE)), energy: results.rows(ENERGY_TABLE),
  };
}

/** A shard runs the firmware its plan expected, or nothing: rows of another build would not merge. */
function checkShardFirmware(shard: ShardSpec, builds: VariantBuild[]): void {
  for (const b of builds) {
    const want = shard.firmware.find((f) => f.variant === b.variant)?.hash;
    if (want !== b.firmware.buildHash) {
      throw new HilError(`the ${b.variant} firmware built here is ${b.firmware.buildHash}, the shard's plan expects ${want ?? 'none'} (another harness version or model set): re-plan the run`, `shard ${shard.id}`);
    }
  }
}

/** One line per variant: what the link went through (a degrading cable shows here). */
function linkHealth(link: Record<string, ProtocolStats>): string {
  const lines = Object.entries(link).map(([v, s]) =>
    `  ${v}: ${s.commands} commands, ${s.resends} re-sent, ${s.recoveries} inputs re-uploaded, ${s.naks} NAKs, ${s.timeouts} timeouts, ${s.badFrames} bad frames from the device`);
  return `Link health\n${lines.join('\n')}`;
}

/** A data-set folder replaces one model's test split for accuracy: checked whole before anything is built or booted. */
/**
 * mlperf-energy needs the firmware of energy mode, which prints no m-lap-us: experiments that
 * time the device by its stamps cannot share the run.
 */
function checkEnergyMode(chosen: Experiment[]): boolean {
  if (!chosen.some((e) => e.name === 'mlperf-energy')) return false;
  const timed = chosen.filter((e) => e.name === 'mlperf-performance' || e.name === 'latency').map((e) => e.name);
  if (timed.length) throw new HilError(`mlperf-energy runs the firmware in energy mode, which prints no m-lap-us; run ${timed.join(' and ')} in another run`, '--experiments');
  return true;
}

function checkDatasetFolder(dir: string, info: RunInfo, chosen: Experiment[]): void {
  if (!chosen.some((e) => e.name === 'accuracy')) throw new HilError('only the accuracy experiment reads a data-set folder; add accuracy to --experiments', '--dataset-folder');
  const models = info.plans[0].models;
  if (models.length !== 1) throw new HilError(`a data-set folder holds one model's inputs; choose the model with --models (planned: ${models.map((m) => m.name).join(', ')})`, '--dataset-folder');
  loadDatasetFolder(dir, models[0]);
}

/** Explicit names must all be possible; by default every experiment the plan allows runs. */
function chooseExperiments(names: string[] | undefined, info: RunInfo): Experiment[] {
  if (names === undefined) return EXPERIMENTS.filter((e) => !e.optIn && e.requires?.(info) === undefined);
  const chosen = [...new Set(names)].map(findExperiment);
  for (const e of chosen) {
    const why = e.requires?.(info);
    if (why) throw new HilError(why, `experiment ${e.name}`);
  }
  return EXPERIMENTS.filter((e) => chosen.includes(e));
}

/**
 * One variant: its firmware boots, handshakes and is checked, then every chosen experiment runs
 * on it. A session starts without the emulator's instruction counting (a 5x slowdown) and is
 * restarted with it for the first experiment that reads it.
 */
async function runVariant(info: RunInfo, build: VariantBuild, chosen: Experiment[], record: RunRecord<RunJson>, k: number, options: Pick<RunOptions, 'route' | 'onSession'>, captures: CaptureStore): Promise<void> {
  const { route } = options;
  const progress = record.json.progress as Record<string, string[]>;
  const finished = (progress[build.variant] ??= []);
  const todo = chosen.filter((e) => e.runVariant && !finished.includes(e.name));
  if (todo.length === 0) return;
  const preload = preloadFor(info, build, todo);
  const variants = record.json.variants as Record<string, unknown>[];
  variants[k].inputs = preload ? { preloaded: preload.blocks.map((b) => b.dataset), streamed: preload.left } : 'stream';
  let session: Session | undefined;
  let channels: Promise<MeasureChannel[]> | undefined;
  const link = record.json.link as Record<string, ProtocolStats & { resets: number }>;
  const health = (link[build.variant] ??= { ...NO_TRAFFIC, resets: 0 });
  const closeSession = async () => {
    if (channels) await closeChannels(await channels.catch(() => []));
    channels = undefined;
    if (session) for (const key of Object.keys(NO_TRAFFIC) as (keyof ProtocolStats)[]) health[key] += session.device.stats[key];
    const s = session;
    session = undefined;
    await s?.close();
    record.save();
  };
  const open = async (windows: boolean) => {
    session = await openSession(info.rig, build.firmware, { instructionWindows: windows, preload, route, models: build.models, log: info.log });
    if (build.firmware.prebuilt || session.hello.build === '') {
      const why = build.firmware.prebuilt ? 'a prebuilt image' : `the ${session.device.protocol} protocol reports no build`;
      if (!info.notes.some((n) => n.startsWith(`${build.variant}: firmware not checked`))) info.notes.push(`${build.variant}: firmware not checked against a build (${why}); firmware_hash is ${build.firmware.prebuilt ? "the image file's SHA-256" : 'the build the harness booted'}`);
    }
    if (session.preloadWrite) variants[k].inputs = { ...(variants[k].inputs as object), external_flash: session.preloadWrite };
    options.onSession?.(session);
    info.devices[build.variant] = session.hello;
    variants[k].device = session.hello;
    variants[k].dut = session.dut.describe();
    record.update(k === 0 ? { device: session.hello, dut: session.dut.describe() } : {});
    return session;
  };
  // the experiment whose captures a measured channel is taking (channels outlive one experiment)
  let experiment = '';
  try {
    for (const e of todo) {
      if (info.cancelled()) break;
      const windows = e.needs?.instructionWindows === true;
      // experiments that do not read the windows run on whatever session is up
      if (session && windows && session.dut.windows === undefined && session.dut.canCountInstructions) await closeSession();
      // a resumed variant: rows of an experiment that did not finish are made again
      for (const t of e.tables) info.results.remove(t, (r) => (r as { variant?: string }).variant === build.variant && e.name !== 'accuracy' && (e.ownsRow?.(t, r as Record<string, unknown>) ?? true));
      const ctx: VariantContext = {
        session: session ?? (await open(windows)),
        models: measured(info, build),
        log: info.log,
        run: info,
        plan: build,
        cancelled: info.cancelled,
        note: (line) => {
          info.log.warn(line);
          info.notes.push(line);
          record.save();
        },
        provenance: (datasetHash) => ({
          run_id: info.id, rig: info.rig.name, board: ctx.session.hello.board, firmware_hash: ctx.session.firmware.buildHash,
          dataset_hash: datasetHash.slice(0, 16), harness_version: info.harnessVersion,
        }),
        channels: () => {
          channels ??= openChannels(ctx, build.variant === 'int8-ext').then((c) => {
            (record.json.channels as Record<string, string[]>)[build.variant] = c.map((x) => x.description);
            // a measured channel's raw captures go into the run folder, for the report's current trace
            for (const ch of c) {
              if (ch.source !== 'measured' || !ch.monitor) continue;
              ch.keep = (capture) => {
                ((record.json.captures as CaptureRecord[] | undefined) ?? (record.json.captures = [])).push(captures.save(experiment, build.variant, capture));
                record.save();
              };
            }
            record.save();
            return c;
          });
          return channels;
        },
        // the emulator restarted, or the board reset through its flasher: a fresh session
        resetDevice: async () => {
          health.resets++;
          await closeSession();
          ctx.session = await open(windows);
        },
      };
      experiment = e.name;
      await e.runVariant?.(ctx);
      if (!info.cancelled()) {
        finished.push(e.name);
        record.save();
      }
    }
  } finally {
    await closeSession();
    preload?.remove();
  }
}

/** The models this run measures: a shard's, else every model of the firmware. */
function measured(info: RunInfo, build: VariantBuild): VariantBuild['models'] {
  const only = (info.options as RunOptions).shard?.models;
  return only ? build.models.filter((m) => only.includes(m.name)) : build.models;
}

/** The variant's test inputs in device memory, when accuracy runs and the DUT and options allow. */
function preloadFor(info: RunInfo, build: VariantBuild, chosen: Experiment[]): PreloadImage | undefined {
  const mode = info.options.inputs ?? 'auto';
  if (mode === 'stream' || info.options.datasetFolder !== undefined || !chosen.some((e) => e.name === 'accuracy') || !protocolCanPreload(info.protocol)) return undefined;
  const dut = createDut(info.rig);
  const capacity = dut.preloadCapacity();
  if (capacity === 0) {
    const why = dut.preloadUnavailable?.();
    if (mode === 'preload') throw new HilError(`this rig cannot preload inputs (${why ?? 'no preload region on its board'}); use --inputs stream`, info.rig.name);
    // a region the rig cannot fill: said once (a board without one streams quietly)
    const line = `${why}: accuracy inputs stream over the link`;
    if (why && !info.notes.includes(line)) {
      info.log.warn(line);
      info.notes.push(line);
    }
    return undefined;
  }
  const image = writePreloadImage(measured(info, build), capacity);
  if (image?.left.length) info.notes.push(`${build.variant}: test splits of ${image.left.join(', ')} do not fit the ${capacity} B preload region and stream over the link`);
  return image;
}

function initialRunJson(id: string, info: RunInfo, options: RunOptions, builds: VariantBuild[], chosen: Experiment[], notes: string[]): RunJson {
  const { rig } = info;
  const firmwareJson = (b: VariantBuild) => {
    const pre = b.firmware.prebuilt;
    return {
      build_hash: b.firmware.buildHash, elf: rel(b.firmware.elf), memory: b.firmware.memory, models: b.firmware.models, protocol: b.firmware.protocol ?? 'yono',
      ...(b.firmware.profile ? { profile: b.firmware.profile } : {}),
      ...(b.firmware.mlperfEnergy ? { mlperf_mode: 'energy' } : {}),
      ...(pre ? { prebuilt: { image: pre.file, format: pre.format, load_address: pre.loadAddress, sha256: pre.sha256, bytes: pre.bytes } } : {}),
    };
  };
  return {
    id,
    status: 'running',
    started: new Date().toISOString(),
    harness_version: info.harnessVersion,
    host: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, hostname: os.hostname() },
    rig: { name: rig.name, file: rel(rig.file), config: { ...rig, file: undefined } },
    board: builds[0].firmware.board,
    // firmware / device / dut: the first variant's; `variants` has each one's
    firmware: firmwareJson(builds[0]),
    experiments: chosen.map((e) => e.name),
    protocol: info.protocol,
    variant: builds.map((b) => b.variant).join(','),
    variants: builds.map((b) => ({ variant: b.variant, firmware: firmwareJson(b), device: undefined, dut: undefined, inputs: undefined })),
    options: {
      models: builds[0].models.map((m) => m.name), samples: options.samples ?? 'all', latency_runs: options.latencyRuns, latency_warmup: options.latencyWarmup,
      switch_reps: options.switchReps, scenario_events: options.scenarioEvents, scenario_seed: options.scenarioSeed, inputs: options.inputs ?? 'auto',
      perf_window_s: options.perfWindowSec, dataset_folder: options.datasetFolder,
      protocol: options.protocol, firmware: options.firmware, load_address: options.loadAddress, profile: options.profile,
    },
    notes,
    /** per variant: how its time and energy figures are made (one entry per storage channel) */
    channels: {},
    /** per variant: the link's health as the device protocol saw it (commands, re-sends, bad frames), and device resets */
    link: {},
    /** per variant: the experiments that finished (a resumed run skips them) */
    progress: {},
    device: undefined,
    ...(options.shard ? { shard: options.shard } : {}),
  };
}

interface Resumable {
  dir: string;
  json: RunJson;
}

/** A run folder that can be continued: its run.json, checked. */
function readResumable(dir: string): Resumable {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) throw new HilError('not a run folder (no run.json)', dir);
  let json: RunJson;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as RunJson;
  } catch {
    throw new HilError('run.json is not valid JSON', file);
  }
  if (json.status === 'complete') throw new HilError('this run is complete: nothing to resume', dir);
  if (!json.progress) throw new HilError('this run was made by an older harness and cannot be resumed', file);
  return { dir: path.resolve(dir), json };
}

/** The options a run was started with, from its run.json. */
function optionsOf(json: RunJson): Omit<RunOptions, 'log'> {
  const o = json.options as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    rig: (json.rig as { file: string }).file,
    models: o.models as string[],
    experiments: json.experiments as string[],
    variants: String(json.variant).split(',') as Variant[],
    samples: num(o.samples),
    latencyRuns: num(o.latency_runs), latencyWarmup: num(o.latency_warmup), switchReps: num(o.switch_reps),
    scenarioEvents: num(o.scenario_events), scenarioSeed: num(o.scenario_seed), inputs: o.inputs as RunOptions['inputs'],
    perfWindowSec: num(o.perf_window_s), datasetFolder: str(o.dataset_folder),
    protocol: str(o.protocol), firmware: str(o.firmware), loadAddress: str(o.load_address), profile: str(o.profile),
    ...(json.shard ? shardRunOptions(json.shard as ShardSpec) : {}),
  };
}

/** run.json of a resumed run: the same firmware required, the interruption recorded. */
function resumeRunJson(json: RunJson, builds: VariantBuild[], info: RunInfo): RunJson {
  const kept = (json.variants as { variant: string; firmware: { build_hash: string } }[]).map((v) => `${v.variant} ${v.firmware.build_hash}`);
  const now = builds.map((b) => `${b.variant} ${b.firmware.buildHash}`);
  if (kept.join() !== now.join()) throw new HilError(`the firmware differs from the interrupted run's (${kept.join(', ')} then, ${now.join(', ')} now): start a new run`, String(json.id));
  // 'running' in run.json: the harness died without a word (SIGKILL, power loss)
  const previous = json.status === 'running' ? 'killed' : json.status;
  const resumes = [...((json.resumes as unknown[] | undefined) ?? []), { at: new Date().toISOString(), previous_status: previous, previous_error: json.error }];
  info.notes.push(`resumed after the run was ${previous}${json.error ? ` (${json.error})` : ''}`);
  return { ...json, status: 'running', error: undefined, finished: undefined, resumes, notes: info.notes };
}
