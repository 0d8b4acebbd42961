/**
 * `hil import <file.tflite|file.onnx> --name <model> --dataset <set|folder|file.npy|file.npz|none>
 * [--task classifier|autoencoder|outputs] [--calibration n]`: imports a user's model into
 * models/<name>/{int8.json, report.json, dataset.json} after checking it against the data (shape,
 * element count, labels, quantization), after which it is an ordinary member of the model set
 * (`hil models`, `hil run --models <name>`).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DATASET_NAMES, ensurePrepared, loadPrepared } from '../datasets/prepared.js';
import { DATASET_RECORD_FORMAT, defaultTask, isBuiltinDataset, storedPath, TASKS, writeDatasetRecord, type DatasetRecord, type Task } from '../datasets/model-data.js';
import { loadUserData, userDataName, userDataSource, type UserDataSource } from '../datasets/user-data.js';
import { predictInt8, runInt8 } from '../reference/int8.js';
import { anomalyAuc, reconstructionError, type AucResult } from '../reference/task-metrics.js';
import { evaluateFloat } from '../modeltools/nn/trainer.js';
import { HilError } from '../util/errors.js';
import { MODELS_DIR, rel } from '../util/paths.js';
import { zooEntry } from '../modeltools/zoo.js';
import type { Sequential } from '../modeltools/nn/model.js';
import type { ImportResult } from '../modeltools/import/report.js';
import { importTfliteFile } from '../modeltools/import/tflite.js';
import { ARITHMETICS, shapeSize, type Arithmetic, type Int8Model } from '../modeltools/int8-model.js';
import type { Command } from './command.js';
import { positiveInt, required } from './options.js';

export interface ImportCommandOptions {
  file: string;
  name: string;
  dataset: string;
  /** ONNX: calibration samples from the data set's train split */
  calibration?: number;
  /** TFLite: requant arithmetic (default tflite-double; SPEC section 3) */
  arithmetic?: Arithmetic;
  /** what the outputs mean (default: from the model's shape, model-data.ts defaultTask) */
  task?: Task;
  /** default <repo>/models */
  modelsDir?: string;
  log?: (line: string) => void;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const SCALE_TOLERANCE = 1e-6;

/** Imports, checks the model against its data set, evaluates it on the host, writes the files. */
export async function importCommand(o: ImportCommandOptions): Promise<ImportResult & { dir: string }> {
  const log = o.log ?? (() => undefined);
  if (!NAME_RE.test(o.name)) throw new HilError(`must match ${NAME_RE.source}`, `--name ${o.name}`);
  if (zooEntry(o.name)) throw new HilError('is a trained zoo model; pick another name', `--name ${o.name}`);
  if (o.task !== undefined && !TASKS.includes(o.task)) throw new HilError(`must be one of ${TASKS.join(', ')}`, `--task ${o.task}`);
  const builtin = isBuiltinDataset(o.dataset);
  const user = builtin ? undefined : userDataSource(o.dataset);
  if (!builtin && !user) {
    throw new HilError(`neither a built-in data set (${DATASET_NAMES.join(', ')}), a folder, a .npy/.npz file nor none`, `--dataset ${o.dataset}`);
  }
  if (!existsSync(o.file)) throw new HilError('no such file', o.file);
  const manifest = builtin ? ensurePrepared(o.dataset) : undefined;
  const datasetName = user ? userDataName(user) : o.dataset;

  let result: ImportResult & { float?: Sequential };
  const ext = extname(o.file).toLowerCase();
  if (ext === '.tflite') {
    result = importTfliteFile(o.file, { name: o.name, dataset: datasetName, arithmetic: o.arithmetic });
  } else if (ext === '.onnx') {
    if (o.arithmetic && o.arithmetic !== 'yono15') throw new HilError('ONNX models are quantized here, with the yono15 arithmetic', `--arithmetic ${o.arithmetic}`);
    if (!builtin) throw new HilError("an ONNX model is quantized with a built-in data set's train split: give one of " + DATASET_NAMES.join(', '), `--dataset ${o.dataset}`);
    const { importOnnxFile } = await import('../modeltools/import/onnx.js');
    result = importOnnxFile(o.file, { name: o.name, dataset: o.dataset, calibrationSamples: o.calibration ?? 1000 });
  } else {
    throw new HilError('expected a .tflite or .onnx file', o.file);
  }
  const { model, report } = result;
  const task = o.task ?? (builtin ? 'classifier' : defaultTask(model));
  const where = `${o.file} vs data set ${o.dataset}`;
  let record: DatasetRecord;
  let test: { x: Int8Array; y?: ArrayLike<number>; count: number; groups?: number[] };

  if (manifest) {
    // the data set must be what the model takes: same layout, classes, and input quantization
    const ms = model.input.shape;
    if (manifest.input_shape.join('x') !== ms.join('x')) {
      throw new HilError(`model input ${ms.join('x')} but the data set's samples are ${manifest.input_shape.join('x')}`, where);
    }
    if (manifest.class_names.length !== model.classes) {
      throw new HilError(`model has ${model.classes} outputs but the data set has ${manifest.class_names.length} classes`, where);
    }
    if (Math.abs(manifest.input_scale / model.input.scale - 1) > SCALE_TOLERANCE || manifest.input_zero_point !== model.input.zero_point) {
      throw new HilError(
        `model input quantization (scale ${model.input.scale}, zero point ${model.input.zero_point}) differs from the data set's ` +
          `(scale ${manifest.input_scale}, zero point ${manifest.input_zero_point}): its samples would be fed with the wrong meaning`,
        where,
      );
    }
    const split = loadPrepared(o.dataset, 'test');
    test = split;
    record = { format: DATASET_RECORD_FORMAT, kind: 'builtin', name: o.dataset, sha256: split.sha256, samples: split.count, sample_shape: manifest.input_shape, labels: true, task };
    if (result.float && split.count > 0) {
      const data = { x: split.x, y: split.y, count: split.count, inputBytes: split.inputBytes, scale: manifest.input_scale, zeroPoint: manifest.input_zero_point };
      report.fp32_top1 = evaluateFloat(result.float, data).accuracy;
      log(`${o.name}: fp32 (the ONNX graph as imported) top-1 ${(100 * report.fp32_top1).toFixed(2)} %`);
    }
  } else {
    const src = user as UserDataSource;
    const data = loadUserData(src, model.input, o.name);
    for (const n of data.notes) log(`${o.name}: ${n}`);
    checkLabels(data.y, data.classes, model.classes, task, src.path ?? o.dataset);
    test = data;
    record = {
      format: DATASET_RECORD_FORMAT, kind: src.kind, name: data.dataset, ...(src.path ? { path: storedPath(src.path) } : {}),
      sha256: data.sha256, samples: data.count, sample_shape: data.sampleShape, labels: data.y !== undefined, task,
    };
  }

  const metrics = hostMetrics(model, task, test);
  if (metrics.top1 !== undefined) {
    report.int8_top1 = metrics.top1;
    log(`${o.name}: int8 host-reference top-1 ${(100 * metrics.top1).toFixed(2)} % on ${test.count} test samples of ${datasetName}`);
  }
  if (metrics.auc) {
    log(`${o.name}: int8 host-reference AUC ${metrics.auc.auc.toFixed(4)} (MLPerf Tiny runner's method; exact ${metrics.auc.exact.toFixed(4)}) of the reconstruction error, ${metrics.auc.files} files of ${datasetName}`);
  }
  log(`${o.name}: task ${task}${o.task ? '' : ' (from the model\'s shape; --task to change)'}, ${test.count} samples of ${datasetName}${test.y ? '' : ', no labels'}`);

  const dir = join(o.modelsDir ?? MODELS_DIR, o.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'int8.json'), JSON.stringify(model) + '\n');
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  writeDatasetRecord(dir, record);
  log(`${o.name}: ${model.layers.length} layers, ${report.params} params, ${report.macs} MACs; wrote ${rel(dir)}/{int8,report,dataset}.json`);
  for (const d of report.dropped_ops) log(`${o.name}: dropped ${d}`);
  return { model, report, dir };
}

/** Labels must be classes the model has (a classifier) or 0/1 normal/anomaly (an autoencoder). */
function checkLabels(y: ArrayLike<number> | undefined, statedClasses: number | undefined, outputs: number, task: Task, where: string): void {
  if (task === 'classifier' && statedClasses !== undefined && statedClasses !== outputs) {
    throw new HilError(`the labels name ${statedClasses} classes, the model has ${outputs} outputs`, where);
  }
  if (!y) return;
  const limit = task === 'classifier' ? outputs : task === 'autoencoder' ? 2 : Infinity;
  for (let i = 0; i < y.length; i++) {
    if (y[i] >= limit) {
      throw new HilError(`label ${y[i]} of sample ${i}: ${task === 'classifier' ? `the model has ${outputs} classes` : 'an autoencoder takes 0 (normal) or 1 (anomaly)'}`, where);
    }
  }
}

/** The host reference's task metric on the data: top-1 (a labelled classifier) or AUC (a labelled autoencoder). */
function hostMetrics(model: Int8Model, task: Task, t: { x: Int8Array; y?: ArrayLike<number>; count: number; groups?: number[] }): { top1?: number; auc?: AucResult } {
  if (!t.y || t.count === 0) return {};
  const bytes = shapeSize(model.input.shape);
  const input = (i: number) => t.x.subarray(i * bytes, (i + 1) * bytes);
  if (task === 'classifier') {
    let correct = 0;
    for (let i = 0; i < t.count; i++) if (predictInt8(model, input(i)) === t.y[i]) correct++;
    return { top1: correct / t.count };
  }
  if (task === 'autoencoder') {
    const scores = Array.from({ length: t.count }, (_, i) => reconstructionError(model, input(i), runInt8(model, input(i))));
    return { auc: anomalyAuc(scores, t.y, t.groups) };
  }
  return {};
}

export const importCommandSpec: Command = {
  name: 'import',
  usage: `import <file.tflite|file.onnx> --name <model> --dataset <set|folder|file.npy|file.npz|none>
       [--task classifier|autoencoder|outputs] [--calibration n] [--arithmetic tflite-double|tflite-single|yono15]
                               import a user's int8 TFLite or float ONNX model into models/<model>/
                               with its test data (a built-in set, an MLPerf Tiny folder, an array
                               file, or none); TFLite's double-rounding arithmetic unless --arithmetic`,
  options: { name: { type: 'string' }, dataset: { type: 'string' }, task: { type: 'string' }, calibration: { type: 'string' }, arithmetic: { type: 'string' }, quiet: { type: 'boolean' } },
  async run(values, positionals, ctx) {
    const file = positionals[0];
    if (!file) throw new HilError('which file? e.g. hil import model.tflite --name my_model --dataset <set>', 'import');
    const r = await importCommand({
      file,
      name: required(values, 'name', 'the model name under models/', 'import'),
      dataset: required(values, 'dataset', "the model's test data: a built-in set, a folder, a .npy/.npz file or none", 'import'),
      task: values.task as Task | undefined,
      calibration: positiveInt(values, 'calibration'),
      arithmetic: arithmeticOption(values.arithmetic),
      log: ctx.log.info,
    });
    process.stdout.write(`${rel(r.dir)}/: ${r.model.layers.length} layers, ${r.report.macs} MACs, hash ${r.report.int8_model_hash}\n`);
    return 0;
  },
};

function arithmeticOption(v: unknown): Arithmetic | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !ARITHMETICS.includes(v as Arithmetic)) throw new HilError(`must be one of ${ARITHMETICS.join(', ')}`, `--arithmetic ${String(v)}`);
  return v as Arithmetic;
}
