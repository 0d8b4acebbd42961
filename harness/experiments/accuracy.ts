/**
 * Accuracy: every selected test sample of each model is streamed to the device, predicted
 * there, and compared with its label and with the bit-exact host reference prediction.
 */
import { loadPrepared } from '../datasets/prepared.js';
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
  mismatches: number;
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
  /** an MLPerf Tiny data-set folder replacing the prepared test split (dataset-folder.ts) */
  datasetFolder?: string;
  onRow?: (row: AccuracyRow, predictions: PredictionRow[]) => void;
}

export async function runAccuracy(ctx: ExperimentContext, options: AccuracyOptions = {}): Promise<AccuracyRow[]> {
  const rows: AccuracyRow[] = [];
  for (const model of ctx.models) {
    const data: TestInputs = options.datasetFolder ? loadDatasetFolder(options.datasetFolder, model) : { dataset: model.dataset, ...loadPrepared(model.dataset, 'test') };
    const count = Math.min(data.count, options.samples ?? data.count);
    const id = ctx.session.modelId(model.name);
    await ctx.session.device.select(id); // loads it on the int8-ext baseline; a pointer change otherwise
    const progress = ctx.log.progress(`accuracy ${model.name}`, count);
    const predictions: PredictionRow[] = [];
    let correct = 0;
    let hostCorrect = 0;
    let agree = 0;
    const input = (i: number) => data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes);
    const block = options.datasetFolder ? undefined : ctx.session.preload?.blocks.find((b) => b.dataset === model.dataset);
    const classify = block && ctx.session.device.runPreloaded ? classifyPreloaded.bind(undefined, ctx, block) : classifyStream.bind(undefined, ctx.session.device);
    await classify(
      id,
      count,
      input,
      (i, result) => {
        const host = predictInt8(model, input(i));
        const label = data.y[i];
        if (result.predicted === label) correct++;
        if (host === label) hostCorrect++;
        if (host === result.predicted) agree++;
        predictions.push({ model: model.name, sample: i, label, device: result.predicted, host });
        progress.tick(1, `top1 ${((100 * correct) / (i + 1)).toFixed(1)}%`);
      },
      ctx.cancelled,
    );
    progress.stop();
    const n = predictions.length;
    const row: AccuracyRow = {
      ...ctx.provenance(data.sha256),
      model: model.name,
      dataset: data.dataset,
      samples: n,
      correct,
      top1: n ? correct / n : 0,
      host_correct: hostCorrect,
      host_top1: n ? hostCorrect / n : 0,
      agreement: n ? agree / n : 0,
      mismatches: n - agree,
    };
    rows.push(row);
    options.onRow?.(row, predictions);
    if (ctx.cancelled()) break;
  }
  return rows;
}

export const ACCURACY_TABLE: Table<VariantRow<AccuracyRow>> = {
  file: 'accuracy.csv',
  columns: [...PROVENANCE_COLUMNS, 'variant', 'model', 'dataset', 'samples', 'correct', 'top1', 'host_correct', 'host_top1', 'agreement', 'mismatches'],
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
    await runAccuracy(ctx, {
      samples: ctx.run.options.samples,
      datasetFolder: ctx.run.options.datasetFolder,
      onRow: (row, predictions) => {
        ctx.run.results.append(ACCURACY_TABLE, [{ ...row, variant }]);
        ctx.run.results.append(PREDICTION_TABLE, predictions.map((p) => ({ ...p, variant })));
      },
    });
  },
  summarize: (run, chosen) => modelTable(run, run.results.rows(ACCURACY_TABLE), chosen.includes('latency') ? run.results.rows(LATENCY_TABLE) : []),
};
