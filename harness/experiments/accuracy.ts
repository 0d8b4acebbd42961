/**
 * Accuracy: every selected test sample of each model runs on the device and is compared with its
 * label and with the bit-exact host reference, on every output element. The task metric fits the
 * model (model-data.ts Task): top-1 for a classifier, AUC of the reconstruction error for an
 * autoencoder (MLPerf Tiny's ad01 figure), none for other outputs or unlabelled data.
 */
import { modelTestSet, type ModelTestSet, type Task } from '../datasets/model-data.js';
import { LinkFault } from '../protocol/device.js';
import { loadDatasetFolder } from './dataset-folder.js';
import { classifyPreloaded, classifyStream } from './inputs.js';
import { argmaxFirst, runInt8 } from '../reference/int8.js';
import { anomalyAuc, reconstructionError } from '../reference/task-metrics.js';
import { PROVENANCE_COLUMNS, type ExperimentContext, type Provenance } from './context.js';
import type { Experiment, Table, VariantRow } from './experiment.js';
import { LATENCY_TABLE } from './latency.js';
import { modelTable } from './model-table.js';

export interface AccuracyRow extends Provenance {
  model: string;
  dataset: string;
  /** classifier | autoencoder | outputs */
  task: Task;
  samples: number;
  /** top-1 figures: NaN (an empty cell) without labels or for a task other than classifier */
  correct: number;
  top1: number;
  host_correct: number;
  host_top1: number;
  /** samples whose device argmax equals the host's */
  agreement: number;
  /** samples where the device answered and disagreed with the host reference (must be 0) */
  mismatches: number;
  /** samples the device could not answer even after resets (device -1 in predictions.csv) */
  failed: number;
  /** output elements, over all samples, where the device's int8 value differs from the host's (must be 0); NaN when the protocol returns no vector */
  elements_differ: number;
  /** autoencoder with anomaly labels: MLPerf Tiny's AUC of the device's (host's) reconstruction errors; else NaN */
  auc: number;
  host_auc: number;
}

export interface PredictionRow {
  model: string;
  sample: number;
  /** -1: the data has no labels */
  label: number;
  device: number;
  host: number;
  /** output elements where device and host differ (NaN: unknown, the protocol returns no vector) */
  elements_differ: number;
  /** autoencoder: the reconstruction error of the device's (host's) output; else NaN */
  score: number;
  host_score: number;
}

export interface AccuracyOptions {
  /** Samples per model; undefined = the whole test split. */
  samples?: number;
  /** only samples [start, end) (a shard); within `samples` */
  range?: { start: number; end: number };
  /** an MLPerf Tiny data-set folder replacing the model's test data (dataset-folder.ts) */
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
    const data: ModelTestSet = options.datasetFolder ? loadDatasetFolder(options.datasetFolder, model) : modelTestSet(model);
    const first = options.range?.start ?? 0;
    const count = Math.min(data.count, options.samples ?? data.count, options.range?.end ?? data.count);
    const input = (i: number) => data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes);
    // the host reference's whole output vector of the sample in hand (the device's result of sample i is compared right after)
    let hostAt = -1;
    let hostVec = new Int8Array(0);
    const hostOutputs = (i: number): Int8Array => {
      if (hostAt !== i) [hostAt, hostVec] = [i, runInt8(model, input(i))];
      return hostVec;
    };
    const autoencoder = data.task === 'autoencoder';
    const label = (i: number) => (data.y ? data.y[i] : -1);
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
    const prediction = (i: number, device: number, outputs: Int8Array | undefined): PredictionRow => {
      const host = hostOutputs(i);
      // a protocol without output vectors (mlperf-tiny scores) or a failed sample: unknown
      const known = outputs !== undefined && outputs.length === host.length;
      let differ = 0;
      if (known) for (let k = 0; k < host.length; k++) if (outputs[k] !== host[k]) differ++;
      return {
        model: model.name, sample: i, label: label(i), device, host: argmaxFirst(host), elements_differ: known ? differ : NaN,
        score: autoencoder && known ? reconstructionError(model, input(i), outputs) : NaN,
        host_score: autoencoder ? reconstructionError(model, input(i), host) : NaN,
      };
    };
    let resets = 0;
    const failures = new Map<number, number>();
    while (next < count && !ctx.cancelled()) {
      const id = ctx.session.modelId(model.name);
      const block = options.datasetFolder ? undefined : ctx.session.preload?.blocks.find((b) => b.dataset === data.key);
      const onResult = (i: number, result: { predicted: number; logits: Int8Array }) => {
        record(prediction(i, result.predicted, result.logits));
        next = i + 1;
      };
      try {
        await ctx.session.device.select(id); // loads it on the int8-ext baseline; a pointer change otherwise
        if (block && ctx.session.device.runPreloaded) await classifyPreloaded(ctx, block, id, next, count, input, hostOutputs, onResult, ctx.cancelled);
        else await classifyStream(ctx.session.device, id, next, count, input, onResult, ctx.cancelled);
      } catch (e) {
        if (!(e instanceof LinkFault) || !ctx.resetDevice || resets >= MAX_RESETS) throw e;
        resets++;
        const fails = (failures.get(next) ?? 0) + 1;
        failures.set(next, fails);
        if (fails >= FAILS_PER_SAMPLE) {
          ctx.note(`${model.name} sample ${next} failed ${fails} times (${e.message}): recorded as failed (device -1)`);
          record(prediction(next, -1, undefined));
          next++;
        }
        ctx.note(`device reset ${resets}/${MAX_RESETS} during ${model.name} at sample ${next}: ${e.toLine()}`);
        await ctx.resetDevice();
      }
    }
    progress.stop();
    const row = accuracyRow(ctx.provenance(data.sha256), model.name, rowData(data), predictions.sort((a, b) => a.sample - b.sample));
    rows.push(row);
    options.onRow?.(row, predictions);
    if (ctx.cancelled()) break;
  }
  return rows;
}

/** A number column of a prediction; an empty cell read back by a resumed run (NaN when written) is NaN. */
const cell = (v: number | string | undefined): number => (v === '' || v === undefined ? NaN : Number(v));

/** What a model's accuracy row needs of its data beyond the predictions. */
export interface AccuracyRowData {
  dataset: string;
  task: Task;
  /** the data have labels (top-1, AUC) */
  labelled: boolean;
  /** per sample, the input file it came from (ad01 windows: AUC per file) */
  groups?: ArrayLike<number>;
}

export const rowData = (d: Pick<ModelTestSet, 'dataset' | 'task' | 'y' | 'groups'>): AccuracyRowData => ({ dataset: d.dataset, task: d.task, labelled: d.y !== undefined, ...(d.groups ? { groups: d.groups } : {}) });

/**
 * A model's accuracy row from its predictions (a failed sample, device -1, counts as neither
 * correct nor in agreement). Top-1 needs labels and a classifier; AUC labels and an autoencoder.
 */
export function accuracyRow(
  provenance: Provenance,
  model: string,
  data: AccuracyRowData,
  predictions: (Pick<PredictionRow, 'sample' | 'label' | 'device' | 'host'> & Partial<Pick<PredictionRow, 'elements_differ' | 'score' | 'host_score'>>)[],
): AccuracyRow {
  const n = predictions.length;
  const top1 = data.task === 'classifier' && data.labelled;
  const correct = predictions.filter((p) => p.device === p.label).length;
  const hostCorrect = predictions.filter((p) => p.host === p.label).length;
  const failed = predictions.filter((p) => p.device === -1).length;
  const agree = predictions.filter((p) => p.device === p.host).length;
  const known = predictions.map((p) => cell(p.elements_differ)).filter((d) => Number.isFinite(d));
  const auc = (score: 'score' | 'host_score'): number => {
    if (data.task !== 'autoencoder' || !data.labelled || n === 0) return NaN;
    const scores = predictions.map((p) => cell(p[score]));
    if (scores.some((s) => !Number.isFinite(s))) return NaN;
    const groups = data.groups;
    return anomalyAuc(scores, predictions.map((p) => p.label), groups && predictions.map((p) => groups[p.sample])).auc;
  };
  return {
    ...provenance,
    model,
    dataset: data.dataset,
    task: data.task,
    samples: n,
    correct: top1 ? correct : NaN,
    top1: top1 ? (n ? correct / n : 0) : NaN,
    host_correct: top1 ? hostCorrect : NaN,
    host_top1: top1 ? (n ? hostCorrect / n : 0) : NaN,
    agreement: n ? agree / n : 0,
    mismatches: n - agree - failed,
    failed,
    elements_differ: known.length ? known.reduce((a, b) => a + b, 0) : NaN,
    auc: auc('score'),
    host_auc: auc('host_score'),
  };
}

export const ACCURACY_TABLE: Table<VariantRow<AccuracyRow>> = {
  file: 'accuracy.csv',
  columns: [...PROVENANCE_COLUMNS, 'variant', 'model', 'dataset', 'task', 'samples', 'correct', 'top1', 'host_correct', 'host_top1', 'agreement', 'mismatches', 'failed', 'elements_differ', 'auc', 'host_auc'],
};
export const PREDICTION_TABLE: Table<VariantRow<PredictionRow>> = {
  file: 'predictions.csv',
  columns: ['variant', 'model', 'sample', 'label', 'device', 'host', 'elements_differ', 'score', 'host_score'],
};

export const accuracyExperiment: Experiment = {
  name: 'accuracy',
  summary: 'every test sample on the device: top-1 (or AUC) and every output element against the bit-exact host reference',
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
