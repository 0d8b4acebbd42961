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
import { CsvTable } from './reports/csv.js';
import { createRunFolder } from './reports/run-folder.js';
import { summarize } from './reports/summary.js';
import { loadRig } from './rig/rig.js';
import { loadModelSet } from './session/model-set.js';
import { openSession, type Session } from './session/session.js';
import { QemuDut } from './dut/qemu.js';
import { onCleanup } from './util/cleanup.js';
import { HilError } from './util/errors.js';
import type { Logger } from './util/log.js';
import { rel } from './util/paths.js';
import { harnessVersion } from './util/version.js';

export const EXPERIMENTS = ['accuracy', 'latency'] as const;
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
  log: Logger;
}

export interface RunResult {
  id: string;
  dir: string;
  accuracy: AccuracyRow[];
  latency: LatencyRow[];
  summary: string;
}

const ACCURACY_COLUMNS: (keyof AccuracyRow)[] = [
  'run_id', 'rig', 'board', 'firmware_hash', 'dataset_hash', 'harness_version',
  'model', 'dataset', 'samples', 'correct', 'top1', 'host_correct', 'host_top1', 'agreement', 'mismatches',
];
const LATENCY_COLUMNS: (keyof LatencyRow)[] = [
  'run_id', 'rig', 'board', 'firmware_hash', 'dataset_hash', 'harness_version',
  'model', 'inputs', 'runs', 'warmup', 'instructions_median', 'instructions_min', 'instructions_max', 'instructions_resolution',
  'cycles_median', 'ms_median', 'ms_p10', 'ms_p90', 'clock_hz', 'cost_model', 'source',
];
const PREDICTION_COLUMNS: (keyof PredictionRow)[] = ['model', 'sample', 'label', 'device', 'host'];

export async function runExperiments(options: RunOptions): Promise<RunResult> {
  const { log } = options;
  const experiments = options.experiments ?? [...EXPERIMENTS];
  const rig = loadRig(options.rig);
  const models = loadModelSet(options.models ?? []);
  for (const dataset of new Set(models.map((m) => m.dataset))) ensurePrepared(dataset);
  const firmware = buildFirmware(rig.board, models, { log: log.info });
  const mem = firmware.memory;
  log.info(
    `firmware ${firmware.buildHash}${firmware.cached ? ' (cached)' : ''}: flash ${mem.flashBytes} / ${mem.flashBudget} B (${pct(mem.flashBytes, mem.flashBudget)}), ` +
      `SRAM ${mem.ramBytes} / ${mem.ramBudget} B (${pct(mem.ramBytes, mem.ramBudget)})`,
  );

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
    board: firmware.board,
    firmware: { build_hash: firmware.buildHash, elf: rel(firmware.elf), memory: firmware.memory, models: firmware.models },
    qemu_args: rig.dut.kind === 'qemu' ? new QemuDut(rig).args(rel(firmware.elf)) : undefined,
    experiments,
    options: { models: models.map((m) => m.name), samples: options.samples ?? 'all', latency_runs: options.latencyRuns, latency_warmup: options.latencyWarmup },
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
  const accuracy: AccuracyRow[] = [];
  const latency: LatencyRow[] = [];
  try {
    session = await openSession(rig, firmware);
    runJson.device = session.hello;
    folder.writeJson('run.json', runJson);
    const s = session;
    const ctx: ExperimentContext = {
      session: s,
      models,
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
    if (experiments.includes('accuracy')) {
      const table = new CsvTable<AccuracyRow>(folder.file('accuracy.csv'), ACCURACY_COLUMNS);
      const preds = new CsvTable<PredictionRow>(folder.file('predictions.csv'), PREDICTION_COLUMNS);
      accuracy.push(
        ...(await runAccuracy(ctx, {
          samples: options.samples,
          onRow: (row, p) => {
            table.append([row]);
            preds.append(p);
          },
        })),
      );
    }
    if (experiments.includes('latency') && !interrupted) {
      const table = new CsvTable<LatencyRow>(folder.file('latency.csv'), LATENCY_COLUMNS);
      latency.push(...(await runLatency(ctx, { runs: options.latencyRuns, warmup: options.latencyWarmup, onRow: (row) => table.append([row]) })));
    }
    const summary = summarize(models.map((m) => m.name), accuracy, latency);
    folder.writeText('summary.txt', summary + '\n');
    finish(interrupted ? 'interrupted' : 'complete');
    return { id: folder.id, dir: folder.dir, accuracy, latency, summary };
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
