/**
 * One harness run: plan -> build -> record -> per-variant session loop -> joins -> summary.
 * results/<run id>/ holds the CSVs (rows written as they are made), run.json and summary.txt.
 */
import os from 'node:os';
import type { MeasureChannel } from '../experiments/channels.js';
import { closeChannels, openChannels } from '../experiments/channels.js';
import type { AccuracyRow } from '../experiments/accuracy.js';
import { ACCURACY_TABLE } from '../experiments/accuracy.js';
import { COMPRESSION_TABLE, type CompressionRow } from '../experiments/compression.js';
import type { Experiment, ExperimentOptions, RunInfo, VariantContext, VariantRow } from '../experiments/experiment.js';
import { LATENCY_TABLE, type LatencyRow } from '../experiments/latency.js';
import { EXPERIMENTS, findExperiment } from '../experiments/registry.js';
import { SCENARIO_TOTALS, type ScenarioTotal } from '../experiments/scenario.js';
import { ENERGY_TABLE, SWITCH_TABLE, type EnergyResultRow, type SwitchRow } from '../experiments/switching.js';
import { createRunFolder } from '../reports/run-folder.js';
import { loadRig } from '../rig/rig.js';
import type { Variant } from '../session/model-set.js';
import { lockRig, openSession, type Session } from '../session/session.js';
import { writePreloadImage, type PreloadImage } from '../session/preload.js';
import { createDut } from '../dut/factory.js';
import type { ProtocolStats } from '../protocol/device.js';
import { onCleanup } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { rel } from '../util/paths.js';
import { harnessVersion } from '../util/version.js';
import { buildVariants, orderVariants, planVariants, type VariantBuild } from './plan.js';
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

export async function runExperiments(options: RunOptions): Promise<RunResult> {
  const { log } = options;
  const rig = loadRig(options.rig);
  const variants = orderVariants(options.variants);
  const notes: string[] = [];
  const plans = planVariants(rig, options.models ?? [], variants, log, notes);
  if (options.inputs === 'preload' && createDut(rig).preloadCapacity() === 0) throw new HilError('this rig cannot preload inputs (no preload region on its board); use --inputs stream', rig.name);
  const commonModels = plans[0].models.map((m) => m.name).filter((n) => plans.every((p) => p.models.some((m) => m.name === n)));

  const info: RunInfo = {
    id: '', rig, harnessVersion: harnessVersion(), plans, commonModels, options, devices: {}, log, notes,
    results: { rows: () => [], append: () => undefined },
    cancelled: () => false,
  };
  const chosen = chooseExperiments(options.experiments, info);
  // one job per rig: refuse before building when another run holds it; held until the run ends
  const lock = lockRig(rig);
  try {
    return await runLocked(info, chosen, options);
  } finally {
    lock?.release();
  }
}

async function runLocked(info: RunInfo, chosen: Experiment[], options: RunOptions): Promise<RunResult> {
  const { rig, plans, notes, log } = info;
  let interrupted = false;
  info.cancelled = () => interrupted;
  const builds = buildVariants(rig, plans, log);

  const folder = createRunFolder(rig.name, options.resultsDir);
  info.id = folder.id;
  const results = new CsvResultStore(folder, chosen.flatMap((e) => e.tables));
  info.results = results;
  const record = new RunRecord(folder, initialRunJson(folder.id, info, builds, chosen, notes));

  const removeCleanup = onCleanup(() => {
    interrupted = true;
    record.finish('interrupted');
  });
  try {
    for (const [k, build] of builds.entries()) {
      if (interrupted) break;
      await runVariant(info, build, chosen, record, k);
    }
    if (!interrupted) for (const e of chosen) await e.afterVariants?.(info);
    const parts = chosen.map((e) => e.summarize?.(info, chosen.map((c) => c.name))).filter((p): p is string => Boolean(p));
    if (notes.length) parts.push(notes.map((n) => `note: ${n}`).join('\n'));
    const summary = parts.join('\n\n');
    folder.writeText('summary.txt', summary + '\n');
    record.finish(interrupted ? 'interrupted' : 'complete');
    return {
      id: folder.id, dir: folder.dir, experiments: chosen.map((e) => e.name), summary,
      accuracy: results.rows(ACCURACY_TABLE), latency: results.rows(LATENCY_TABLE), compression: results.rows(COMPRESSION_TABLE),
      switching: results.rows(SWITCH_TABLE), scenario: results.rows(SCENARIO_TOTALS), energy: results.rows(ENERGY_TABLE),
    };
  } catch (e) {
    record.finish('failed', e instanceof HilError ? e.toLine() : String(e));
    throw e;
  } finally {
    removeCleanup();
  }
}

/** Explicit names must all be possible; by default every experiment the plan allows runs. */
function chooseExperiments(names: string[] | undefined, info: RunInfo): Experiment[] {
  if (names === undefined) return EXPERIMENTS.filter((e) => e.requires?.(info) === undefined);
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
async function runVariant(info: RunInfo, build: VariantBuild, chosen: Experiment[], record: RunRecord<RunJson>, k: number): Promise<void> {
  const preload = preloadFor(info, build, chosen);
  const variants = record.json.variants as Record<string, unknown>[];
  variants[k].inputs = preload ? { preloaded: preload.blocks.map((b) => b.dataset), streamed: preload.left } : 'stream';
  let session: Session | undefined;
  let channels: Promise<MeasureChannel[]> | undefined;
  const health: ProtocolStats = { commands: 0, resends: 0, badFrames: 0 };
  const closeSession = async () => {
    if (channels) await closeChannels(await channels.catch(() => []));
    channels = undefined;
    if (session) for (const key of Object.keys(health) as (keyof ProtocolStats)[]) health[key] += session.device.stats[key];
    await session?.close();
    session = undefined;
  };
  try {
    for (const e of chosen) {
      if (info.cancelled()) break;
      if (!e.runVariant) continue;
      const windows = e.needs?.instructionWindows === true;
      // experiments that do not read the windows run on whatever session is up
      if (session && windows && session.dut.windows === undefined && session.dut.canCountInstructions) await closeSession();
      if (!session) {
        session = await openSession(info.rig, build.firmware, { instructionWindows: windows, preload });
        info.devices[build.variant] = session.hello;
        variants[k].device = session.hello;
        variants[k].dut = session.dut.describe();
        record.update(k === 0 ? { device: session.hello, dut: session.dut.describe() } : {});
      }
      const s = session;
      const ctx: VariantContext = {
        session: s,
        models: build.models,
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
          run_id: info.id, rig: info.rig.name, board: s.hello.board, firmware_hash: s.hello.build,
          dataset_hash: datasetHash.slice(0, 16), harness_version: info.harnessVersion,
        }),
        channels: () => {
          channels ??= openChannels(ctx, build.variant === 'int8-ext').then((c) => {
            (record.json.channels as Record<string, string[]>)[build.variant] = c.map((x) => x.description);
            record.save();
            return c;
          });
          return channels;
        },
      };
      await e.runVariant(ctx);
    }
  } finally {
    await closeSession();
    preload?.remove();
    record.update({ link: { ...(record.json.link as object), [build.variant]: health } });
  }
}

/** The variant's test inputs in device memory, when accuracy runs and the DUT and options allow. */
function preloadFor(info: RunInfo, build: VariantBuild, chosen: Experiment[]): PreloadImage | undefined {
  const mode = info.options.inputs ?? 'auto';
  if (mode === 'stream' || !chosen.some((e) => e.name === 'accuracy')) return undefined;
  const capacity = createDut(info.rig).preloadCapacity();
  if (capacity === 0) {
    if (mode === 'preload') throw new HilError('this rig cannot preload inputs (no preload region on its board); use --inputs stream', info.rig.name);
    return undefined;
  }
  const image = writePreloadImage(build.models, capacity);
  if (image?.left.length) info.notes.push(`${build.variant}: test splits of ${image.left.join(', ')} do not fit the ${capacity} B preload region and stream over the link`);
  return image;
}

function initialRunJson(id: string, info: RunInfo, builds: VariantBuild[], chosen: Experiment[], notes: string[]): RunJson {
  const { rig, options } = info;
  const firmwareJson = (b: VariantBuild) => ({ build_hash: b.firmware.buildHash, elf: rel(b.firmware.elf), memory: b.firmware.memory, models: b.firmware.models });
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
    variant: builds.map((b) => b.variant).join(','),
    variants: builds.map((b) => ({ variant: b.variant, firmware: firmwareJson(b), device: undefined, dut: undefined, inputs: undefined })),
    options: {
      models: builds[0].models.map((m) => m.name), samples: options.samples ?? 'all', latency_runs: options.latencyRuns, latency_warmup: options.latencyWarmup,
      switch_reps: options.switchReps, scenario_events: options.scenarioEvents, scenario_seed: options.scenarioSeed, inputs: options.inputs ?? 'auto',
    },
    notes,
    /** per variant: how its time and energy figures are made (one entry per storage channel) */
    channels: {},
    /** per variant: the link's health as the device protocol saw it (commands, re-sends, bad frames) */
    link: {},
    device: undefined,
  };
}
