/**
 * One harness run: rig + model set -> firmware build -> device session -> experiments ->
 * results/<run id>/ (CSVs written row by row, run.json, summary.txt).
 */
import os from 'node:os';
import { ensurePrepared } from './datasets/prepared.js';
import { runAccuracy, type AccuracyRow, type PredictionRow } from './experiments/accuracy.js';
import type { ExperimentContext } from './experiments/context.js';
import { runLatency, type LatencyRow } from './experiments/latency.js';
import { buildFirmware } from './firmware/build.js';
import { readBoard } from './firmware/board.js';
import { markerStyle } from './power/factory.js';
import { CsvTable } from './reports/csv.js';
import { createRunFolder } from './reports/run-folder.js';
import { summarize, summarizeCompression } from './reports/summary.js';
import { COMPRESSION_COLUMNS, compressionRows, type CompressionRow } from './experiments/compression.js';
import type { DeployModel } from './compress/pq-model.js';
import type { Int8Model } from './modeltools/int8-model.js';
import { loadRig } from './rig/rig.js';
import { closeChannels, openChannels } from './experiments/channels.js';
import { ENERGY_RESULT_COLUMNS, runSwitching, SWITCH_COLUMNS, type EnergyResultRow, type SwitchRow } from './experiments/switching.js';
import { makeSchedules, runScenario, SCENARIO_COLUMNS, type ScenarioRow, type ScenarioTotal } from './experiments/scenario.js';
import { checkFootprint } from './modeltools/codegen.js';
import { summarizeSwitching } from './reports/summary.js';
import { loadDeploySet, type Variant } from './session/model-set.js';
import { decodePqModel, isPqModel } from './compress/pq-model.js';
import { openSession, type Session } from './session/session.js';
import { QemuDut } from './dut/qemu.js';
import { onCleanup } from './util/cleanup.js';
import { HilError } from './util/errors.js';
import type { Logger } from './util/log.js';
import { rel } from './util/paths.js';
import { harnessVersion } from './util/version.js';

export const EXPERIMENTS = ['accuracy', 'latency', 'switching', 'scenario'] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

export interface RunOptions {
  rig: string;
  models?: string[];
  experiments?: ExperimentName[];
  /** Accuracy samples per model (default: the whole test split). */
  samples?: number;
  latencyRuns?: number;
  latencyWarmup?: number;
  resultsDir?: string;
  /**
   * Which forms of the models to run, one firmware and session each, in this order: int8, pq
   * (issue #4; with int8: compression.csv), int8-ext (issue #5: the external-storage baseline;
   * its switching rows carry the reductions against the in-memory variant run before it).
   */
  variants?: Variant[];
  /** ordered-pair repetitions of the switching experiment (default 5) */
  switchReps?: number;
  /** events per schedule of the scenario (default 40) */
  scenarioEvents?: number;
  scenarioSeed?: number;
  log: Logger;
}

export interface RunResult {
  id: string;
  dir: string;
  accuracy: VariantRow<AccuracyRow>[];
  latency: VariantRow<LatencyRow>[];
  /** compression.csv rows (int8 and pq both run) */
  compression: CompressionRow[];
  switching: SwitchRow[];
  scenario: ScenarioTotal[];
  energy: EnergyResultRow[];
  summary: string;
}

/** A result row tagged with the form of the models the firmware held. */
export type VariantRow<R> = R & { variant: Variant };

const ACCURACY_COLUMNS: (keyof VariantRow<AccuracyRow>)[] = [
  'run_id', 'rig', 'board', 'firmware_hash', 'dataset_hash', 'harness_version', 'variant',
  'model', 'dataset', 'samples', 'correct', 'top1', 'host_correct', 'host_top1', 'agreement', 'mismatches',
];
const LATENCY_COLUMNS: (keyof VariantRow<LatencyRow>)[] = [
  'run_id', 'rig', 'board', 'firmware_hash', 'dataset_hash', 'harness_version', 'variant',
  'model', 'inputs', 'runs', 'warmup', 'instructions_median', 'instructions_min', 'instructions_max', 'instructions_resolution',
  'cycles_median', 'ms_median', 'ms_p10', 'ms_p90', 'cycles_class_model', 'ms_class_model', 'clock_hz', 'cost_model', 'source',
];
const PREDICTION_COLUMNS: (keyof VariantRow<PredictionRow>)[] = ['variant', 'model', 'sample', 'label', 'device', 'host'];

/** One firmware of a run: the variant it holds, its models as deployed, the host-reference twins. */
interface VariantBuild {
  variant: Variant;
  deploy: DeployModel[];
  models: Int8Model[];
  firmware: ReturnType<typeof buildFirmware>;
}

export async function runExperiments(options: RunOptions): Promise<RunResult> {
  const { log } = options;
  const experiments = options.experiments ?? [...EXPERIMENTS];
  const rig = loadRig(options.rig);
  const order: Variant[] = ['int8', 'pq', 'int8-ext'];
  const variants = order.filter((v) => (options.variants ?? ['int8']).includes(v));
  const variant = variants.join(',');
  const notes: string[] = [];
  // build every firmware first: a model set that does not fit fails before any session starts
  const builds: VariantBuild[] = variants.map((v) => {
    let deploy = loadDeploySet(options.models ?? [], v);
    if (v === 'int8-ext') {
      // a model whose tables cannot be loaded into SRAM next to its arena cannot run on this
      // baseline at all: leave it out of the baseline (and of the switching comparison), say why
      const board = readBoard(rig.board);
      const budget = { flashBytes: board.flashBytes, ramBytes: board.ramBytes, board: `board ${board.name}`, extStorageBytes: board.extStorageBytes };
      deploy = deploy.filter((m) => {
        try {
          checkFootprint([m], budget, 'int8-ext');
          return true;
        } catch (e) {
          if (!(e instanceof HilError) || !/RAM/.test(e.message) || deploy.length === 1) throw e;
          const note = `int8-ext baseline leaves out ${m.name}: ${e.message}`;
          notes.push(note);
          log.info(note);
          return false;
        }
      });
    }
    // experiments run the host reference on the int8 model a pq model decodes to (bit-exact twin)
    const models = deploy.map((m) => (isPqModel(m) ? decodePqModel(m) : m));
    for (const dataset of new Set(models.map((m) => m.dataset))) ensurePrepared(dataset);
    const firmware = buildFirmware(rig.board, deploy, { log: log.info, variant: v, marker: markerStyle(rig) });
    const mem = firmware.memory;
    log.info(
      `${v} firmware ${firmware.buildHash}${firmware.cached ? ' (cached)' : ''}: flash ${mem.flashBytes} / ${mem.flashBudget} B (${pct(mem.flashBytes, mem.flashBudget)}), ` +
        `SRAM ${mem.ramBytes} / ${mem.ramBudget} B (${pct(mem.ramBytes, mem.ramBudget)})`,
    );
    return { variant: v, deploy, models, firmware };
  });
  const first = builds[0];
  const firmwareJson = (b: VariantBuild) => ({ build_hash: b.firmware.buildHash, elf: rel(b.firmware.elf), memory: b.firmware.memory, models: b.firmware.models });

  const folder = createRunFolder(rig.name, options.resultsDir);
  const version = harnessVersion();
  const runJson = {
    id: folder.id,
    status: 'running' as 'running' | 'complete' | 'failed' | 'interrupted',
    error: undefined as string | undefined,
    started: new Date().toISOString(),
    finished: undefined as string | undefined,
    harness_version: version,
    host: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length },
    rig: { name: rig.name, file: rel(rig.file), config: { ...rig, file: undefined } },
    board: first.firmware.board,
    // firmware / device / qemu_args: the first variant's; `variants` has each one's
    firmware: firmwareJson(first),
    qemu_args: rig.dut.kind === 'qemu' ? new QemuDut(rig).args(rel(first.firmware.elf)) : undefined,
    experiments,
    variant,
    variants: builds.map((b) => ({ variant: b.variant, firmware: firmwareJson(b), device: undefined as unknown })),
    options: {
      models: first.models.map((m) => m.name), samples: options.samples ?? 'all', latency_runs: options.latencyRuns, latency_warmup: options.latencyWarmup,
      switch_reps: options.switchReps, scenario_events: options.scenarioEvents, scenario_seed: options.scenarioSeed,
    },
    notes,
    /** per variant: how its time and energy figures are made (one entry per storage channel) */
    channels: {} as Record<string, string[]>,
    device: undefined as unknown,
  };
  folder.writeJson('run.json', runJson);
  const finish = (status: typeof runJson.status, error?: string) => {
    runJson.status = status;
    runJson.error = error;
    runJson.finished = new Date().toISOString();
    folder.writeJson('run.json', runJson);
  };

  let interrupted = false;
  const removeCleanup = onCleanup(() => {
    interrupted = true;
    finish('interrupted');
  });
  let session: Session | undefined;
  const accuracy: VariantRow<AccuracyRow>[] = [];
  const latency: VariantRow<LatencyRow>[] = [];
  const accTable = experiments.includes('accuracy') ? new CsvTable<VariantRow<AccuracyRow>>(folder.file('accuracy.csv'), ACCURACY_COLUMNS) : undefined;
  const predTable = experiments.includes('accuracy') ? new CsvTable<VariantRow<PredictionRow>>(folder.file('predictions.csv'), PREDICTION_COLUMNS) : undefined;
  const latTable = experiments.includes('latency') ? new CsvTable<VariantRow<LatencyRow>>(folder.file('latency.csv'), LATENCY_COLUMNS) : undefined;
  const hashes: Partial<Record<Variant, string>> = {};
  const switching: SwitchRow[] = [];
  const scenarioTotals: ScenarioTotal[] = [];
  const energy: EnergyResultRow[] = [];
  const swTable = experiments.includes('switching') ? new CsvTable<SwitchRow>(folder.file('switching.csv'), SWITCH_COLUMNS) : undefined;
  const scTable = experiments.includes('scenario') ? new CsvTable<ScenarioRow>(folder.file('scenario.csv'), SCENARIO_COLUMNS) : undefined;
  const enTable = swTable || scTable ? new CsvTable<EnergyResultRow>(folder.file('energy.csv'), ENERGY_RESULT_COLUMNS) : undefined;
  // switching and the scenario compare like with like: the models every variant of the run holds
  const common = first.models.map((m) => m.name).filter((n) => builds.every((b) => b.models.some((m) => m.name === n)));
  const schedules = makeSchedules(common, options.scenarioEvents ?? 40, options.scenarioSeed ?? 1);
  try {
    for (const [k, b] of builds.entries()) {
      if (interrupted) break;
      // one session per variant: each firmware boots, handshakes and is checked on its own
      session = await openSession(rig, b.firmware);
      if (k === 0) runJson.device = session.hello;
      runJson.variants[k].device = session.hello;
      hashes[b.variant] = session.hello.build;
      folder.writeJson('run.json', runJson);
      const s = session;
      const tag = <R extends object>(r: R): VariantRow<R> => ({ ...r, variant: b.variant });
      const ctx: ExperimentContext = {
        session: s,
        models: b.models,
        log,
        cancelled: () => interrupted,
        provenance: (datasetHash) => ({
          run_id: folder.id,
          rig: rig.name,
          board: s.hello.board,
          firmware_hash: s.hello.build,
          dataset_hash: datasetHash.slice(0, 16),
          harness_version: version,
        }),
      };
      if (accTable && predTable) {
        accuracy.push(
          ...(await runAccuracy(ctx, {
            samples: options.samples,
            onRow: (row, p) => {
              accTable.append([tag(row)]);
              predTable.append(p.map(tag));
            },
          })).map(tag),
        );
      }
      if (latTable && !interrupted) {
        latency.push(...(await runLatency(ctx, { runs: options.latencyRuns, warmup: options.latencyWarmup, onRow: (row) => latTable.append([tag(row)]) })).map(tag));
      }
      if ((swTable || scTable) && enTable && !interrupted) {
        const channels = await openChannels(ctx, b.variant === 'int8-ext');
        runJson.channels[b.variant] = channels.map((c) => c.description);
        folder.writeJson('run.json', runJson);
        const onEnergy = (row: EnergyResultRow) => enTable.append([row]);
        const sub: ExperimentContext = { ...ctx, models: b.models.filter((m) => common.includes(m.name)) };
        try {
          if (swTable && !interrupted) {
            // reductions against the in-memory variant run before this one (pq preferred: YONO)
            const reference = switching.filter((r) => r.variant === 'pq').length ? switching.filter((r) => r.variant === 'pq') : switching.filter((r) => r.variant === 'int8');
            const sw = await runSwitching(sub, { variant: b.variant, channels, reps: options.switchReps, reference, onRow: (row) => swTable.append([row]), onEnergy });
            switching.push(...sw.rows);
            energy.push(...sw.energy);
          }
          if (scTable && !interrupted) {
            const sc = await runScenario(sub, { variant: b.variant, channels, schedules, onRow: (row) => scTable.append([row]), onEnergy });
            scenarioTotals.push(...sc.totals);
            energy.push(...sc.energy);
          }
        } finally {
          await closeChannels(channels);
        }
      }
      await session.close();
      session = undefined;
    }
    let compression: CompressionRow[] = [];
    const pqBuild = builds.find((b) => b.variant === 'pq');
    const int8Build = builds.find((b) => b.variant === 'int8');
    if (pqBuild && int8Build && !interrupted) {
      // joins both variants' rows: bytes, top-1 on both firmwares, instruction ratio
      compression = compressionRows({
        int8: int8Build.models, pq: pqBuild.deploy, accuracy, latency, int8FirmwareHash: hashes.int8 ?? '',
        provenance: (model) => ({
          run_id: folder.id, rig: rig.name, board: runJson.variants[1].device ? (runJson.variants[1].device as { board: string }).board : '',
          firmware_hash: hashes.pq ?? '', dataset_hash: accuracy.find((r) => r.model === model && r.variant === 'pq')?.dataset_hash ?? '', harness_version: version,
        }),
      });
      new CsvTable<CompressionRow>(folder.file('compression.csv'), COMPRESSION_COLUMNS).append(compression);
    }
    const names = first.models.map((m) => m.name);
    const parts = [variants.length === 1 ? summarize(names, accuracy, latency) : summarize(names, accuracy, latency, variants)];
    if (compression.length) parts.push(summarizeCompression(compression));
    if (switching.length || scenarioTotals.length) parts.push(summarizeSwitching(switching, energy, scenarioTotals, rig));
    if (notes.length) parts.push(notes.map((n) => `note: ${n}`).join('\n'));
    const summary = parts.join('\n\n');
    folder.writeText('summary.txt', summary + '\n');
    finish(interrupted ? 'interrupted' : 'complete');
    return { id: folder.id, dir: folder.dir, accuracy, latency, compression, switching, scenario: scenarioTotals, energy, summary };
  } catch (e) {
    finish('failed', e instanceof HilError ? e.toLine() : String(e));
    throw e;
  } finally {
    removeCleanup();
    await session?.close();
  }
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(1)}%`;
}
