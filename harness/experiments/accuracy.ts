/**
 * Accuracy: every selected test sample of each model is streamed to the device, predicted
 * there, and compared with its label and with the bit-exact host reference prediction.
 */
import { loadPrepared } from '../datasets/prepared.js';
import { LinkFault } from '../protocol/device.js';
import { loadDatasetFolder, type TestInputs } from './dataset-folder.js';
import { classifyPreloaded, classifyStream } from './inputs.js';
import { predictInt8 } from '../reference/int8.js';
import { PROVENANCE_COLUMNS, type ExperimentContext, type Provenance } from './context.js';
import type { Experiment, Table, VariantRow } from './experiment.js';
import { LATENCY_TABLE } from './latency.js';
import { modelTable } from './model-table.js';

export interface AccuracyRow extends Provenance {
  model: string;
  dataset: string;
  samples: number;
  correct: number;
  top1: number;
  host_correct: number;
  host_top1: number;
  agreement: number;
  /** samples where the device answered and disagreed with the host reference (must be 0) */
  mismatches: number;
  /** samples the device could not answer even after resets (device -1 in predictions.csv) */
  failed: number;
}

export interface PredictionRow {
  model: string;
  sample: number;
  label: number;
  device: number;
  host: number;
}

export interface AccuracyOptions {
  /** Samples per model; undefined = the whole test split. */
  samples?: number;
  /** only samples [start, end) (a shard); within `samples` */
  range?: { start: number; end: number };
  /** an MLPerf Tiny data-set folder replacing the prepared test split (dataset-folder.ts) */
  datasetFolder?: string;
  /** Predictions already made (a resumed run): those samples are not run again. */
  done?: (model: string) => PredictionRow[];
  /** Each prediction as soon as it is made. */
  onPrediction?: (p: PredictionRow) => void;
  /** Each model's row once its samples are done, with all its predictions. */
  onRow?: (row: AccuracyRow, predictions: PredictionRow[]) => void;
}

/** Device resets per model before a run gives up (the link died, the device stopped answering). */
export const MAX_RESETS = 3;
/** A sample that takes the device down this many times is recorded as failed (device -1) and skipped. */
export const FAILS_PER_SAMPLE = 2;

export async function runAccuracy(ctx: ExperimentContext, options: AccuracyOptions = {}): Promise<AccuracyRow[]> {
  const rows: AccuracyRow[] = [];
  for (const model of ctx.models) {
    const data: TestInputs = options.datasetFolder ? loadDatasetFolder(options.datasetFolder, model) : { dataset: model.dataset, ...loadPrepared(model.dataset, 'test') };
    const first = options.range?.start ?? 0;
    const count = Math.min(data.count, options.samples ?? data.count, options.range?.end ?? data.count);
    const input = (i: number) => data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes);
    const predictions = [...(options.done?.(model.name) ?? [])].filter((p) => p.sample >= first && p.sample < count).sort((a, b) => a.sample - b.sample);
    const measured = new Set(predictions.map((p) => p.sample));
    // resumed runs continue from the first sample not measured yet (samples run in order)
    let next = first;
    while (measured.has(next)) next++;
    const progress = ctx.log.progress(`accuracy ${model.name}`, count - next);
    const record = (p: PredictionRow) => {
      predictions.push(p);
      options.onPrediction?.(p);
      progress.tick(1);
    };
    let resets = 0;
    const failures = new Map<number, number>();
    while (next < count && !ctx.cancelled()) {
      const id = ctx.session.modelId(model.name);
      const block = options.datasetFolder ? undefined : ctx.session.preload?.blocks.find((b) => b.dataset === model.dataset);
      const classify = block && ctx.session.device.runPreloaded ? classifyPreloaded.bind(undefined, ctx, block) : classifyStream.bind(undefined, ctx.session.device);
      try {
        await ctx.session.device.select(id); // loads it on the int8-ext baseline; a pointer change otherwise
        await classify(id, next, count, input, (i, result) => {
          record({ model: model.name, sample: i, label: data.y[i], device: result.predicted, host: predictInt8(model, input(i)) });
          next = i + 1;
        }, ctx.cancelled);
      } catch (e) {
        if (!(e instanceof LinkFault) || !ctx.resetDevice || resets >= MAX_RESETS) throw e;
        resets++;
        const fails = (failures.get(next) ?? 0) + 1;
        failures.set(next, fails);
        if (fails >= FAILS_PER_SAMPLE) {
          ctx.note(`${model.name} sample ${next} failed ${fails} times (${e.message}): recorded as failed (device -1)`);
          record({ model: model.name, sample: next, label: data.y[next], device: -1, host: predictInt8(model, input(next)) });
          next++;
        }
        ctx.note(`device reset ${resets}/${MAX_RESETS} during ${model.name} at sample ${next}: ${e.toLine()}`);
        await ctx.resetDevice();
      }
    }
    progress.stop();
    const row = accuracyRow(ctx.provenance(data.sha256), model.name, data.dataset, predictions.sort((a, b) => a.sample - b.sample));
    rows.push(row);
    options.onRow?.(row, predictions);
    if (ctx.cancelled()) break;
  }
  return rows;
}

/** A model's accuracy row from its predictions (a failed sample, device -1, counts as neither correct nor in agreement). */
export function accuracyRow(provenance: Provenance, model: string, dataset: string, predictions: Pick<PredictionRow, 'label' | 'device' | 'host'>[]): AccuracyRow {
  const n = predictions.length;
  const correct = predictions.filter((p) => p.device === p.label).length;
  const hostCorrect = predictions.filter((p) => p.host === p.label).length;
  const failed = predictions.filter((p) => p.device === -1).length;
  const agree = predictions.filter((p) => p.device === p.host).length;
  return {
    ...provenance,
    model,
    dataset,
    samples: n,
    correct,
    top1: n ? correct / n : 0,
    host_correct: hostCorrect,
    host_top1: n ? hostCorrect / n : 0,
    agreement: n ? agree / n : 0,
    mismatches: n - agree - failed,
    failed,
  };
}

export const ACCURACY_TABLE: Table<VariantRow<AccuracyRow>> = {
  file: 'accuracy.csv',
  columns: [...PROVENANCE_COLUMNS, 'variant', 'model', 'dataset', 'samples', 'correct', 'top1', 'host_correct', 'host_top1', 'agreement', 'mismatches', 'failed'],
};
export const PREDICTION_TABLE: Table<VariantRow<PredictionRow>> = {
  file: 'predictions.csv',
  columns: ['variant', 'model', 'sample', 'label', 'device', 'host'],
};

export const accuracyExperiment: Experiment = {
  name: 'accuracy',
  summary: 'every test sample on the device: top-1 and agreement with the bit-exact host reference',
  tables: [ACCURACY_TABLE, PREDICTION_TABLE],
  async runVariant(ctx) {
    const variant = ctx.plan.variant;
    const done = ctx.run.done;
    // a resumed variant: every model's row is made again from its predictions, old and new
    ctx.run.results.remove(ACCURACY_TABLE, (r) => r.variant === variant);
    await runAccuracy(ctx, {
      samples: ctx.run.options.samples,
      range: ctx.run.options.sampleRange,
      datasetFolder: ctx.run.options.datasetFolder,
      done: done && ((model) => done(variant, model)),
      // every prediction is durable when it is made
      onPrediction: (p) => ctx.run.results.append(PREDICTION_TABLE, [{ ...p, variant }]),
      onRow: (row) => ctx.run.results.append(ACCURACY_TABLE, [{ ...row, variant }]),
    });
  },
  summarize: (run, chosen) => modelTable(run, run.results.rows(ACCURACY_TABLE), chosen.includes('latency') ? run.results.rows(LATENCY_TABLE) : []),
};
