/**
 * The test data of a model and what the model does with it. A model's `dataset` is a built-in
 * data set name (its prepared test split) or, for a model imported with its user's own data, the
 * name `hil import` gave that data (`npz:x.npz`, `folder:ad01`, `none`, ...), recorded in
 * models/<name>/dataset.json with the path, the sha256 of the data as imported and the task.
 * Every experiment reads a model's inputs through modelTestSet(), which refuses data that no
 * longer fit the model (both shapes in the message) or changed since the import.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HilError } from '../util/errors.js';
import { MODELS_DIR, ROOT, rel } from '../util/paths.js';
import { DATASET_NAMES } from './prepared.js';
import { loadPrepared } from './prepared-io.js';
import { loadUserData, type InputSpec, type UserDataKind } from './user-data.js';

/**
 * What the outputs mean, and so the metric: `classifier` (class scores: top-1), `autoencoder`
 * (a reconstruction of the input: AUC of the reconstruction error against anomaly labels, as MLPerf
 * Tiny reports ad01), `outputs` (anything else, e.g. hello_world's regression: no task metric).
 * Every task compares device and host on every output element.
 */
export type Task = 'classifier' | 'autoencoder' | 'outputs';
export const TASKS: readonly Task[] = ['classifier', 'autoencoder', 'outputs'];

export const DATASET_RECORD_FILE = 'dataset.json';
export const DATASET_RECORD_FORMAT = 'yono-dataset/1';

/** models/<name>/dataset.json */
export interface DatasetRecord {
  format: typeof DATASET_RECORD_FORMAT;
  kind: UserDataKind | 'builtin';
  /** the built-in name, or the user data's name (the model's `dataset`) */
  name: string;
  /** folder or file, relative to the repository when inside it */
  path?: string;
  sha256: string;
  samples: number;
  /** one sample's shape as the data gives it */
  sample_shape: number[];
  labels: boolean;
  task: Task;
}

/** The fields of a model this module reads (an Int8Model has them). */
export interface ModelLike {
  name: string;
  dataset: string;
  classes: number;
  input: InputSpec;
}

export interface ModelTestSet {
  /** identifies the inputs (built-in name, or model:data for a user's data): preload blocks */
  key: string;
  /** the data set column */
  dataset: string;
  x: Int8Array;
  /** labels, absent for unlabelled data */
  y?: ArrayLike<number>;
  count: number;
  inputBytes: number;
  sha256: string;
  task: Task;
  /** per sample, the input file it came from (ad01 windows) */
  groups?: number[];
}

export const isBuiltinDataset = (name: string): boolean => (DATASET_NAMES as readonly string[]).includes(name);

/** The task a model's shape implies: a reconstruction of a multi-value input, class scores, or one value. */
export function defaultTask(m: Pick<ModelLike, 'classes' | 'input'>): Task {
  const inputs = m.input.shape.reduce((a, b) => a * b, 1);
  if (m.classes > 1 && m.classes === inputs) return 'autoencoder';
  return m.classes > 1 ? 'classifier' : 'outputs';
}

export function recordPath(model: string, modelsDir = MODELS_DIR): string {
  return path.join(modelsDir, model, DATASET_RECORD_FILE);
}

export function writeDatasetRecord(modelDir: string, r: DatasetRecord): void {
  writeFileSync(path.join(modelDir, DATASET_RECORD_FILE), JSON.stringify(r, null, 2) + '\n');
}

/** The stored path of a data file: relative to the repository when inside it (portable), else absolute. */
export function storedPath(p: string): string {
  const r = path.relative(ROOT, p);
  return r.startsWith('..') || path.isAbsolute(r) ? p : r;
}

export function readDatasetRecord(model: string, modelsDir = MODELS_DIR): DatasetRecord | undefined {
  const file = recordPath(model, modelsDir);
  if (!existsSync(file)) return undefined;
  let r: Partial<DatasetRecord>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<DatasetRecord>;
  } catch (e) {
    throw new HilError(`not valid JSON: ${(e as Error).message}`, rel(file));
  }
  if (r.format !== DATASET_RECORD_FORMAT || typeof r.name !== 'string' || typeof r.sha256 !== 'string' || !TASKS.includes(r.task as Task)) {
    throw new HilError(`not a ${DATASET_RECORD_FORMAT} record (format, name, sha256, task); import the model again`, rel(file));
  }
  return r as DatasetRecord;
}

/** The task of a model: its record's, else the one its shape implies (trained zoo models: classifier). */
export function modelTask(m: ModelLike, modelsDir = MODELS_DIR): Task {
  return readDatasetRecord(m.name, modelsDir)?.task ?? (isBuiltinDataset(m.dataset) ? 'classifier' : defaultTask(m));
}

/**
 * The model's test inputs, checked against it. A user's data must still have the model's input
 * size and the sha256 recorded at import; a built-in set the model's input size.
 */
export function modelTestSet(m: ModelLike, modelsDir = MODELS_DIR): ModelTestSet {
  const record = readDatasetRecord(m.name, modelsDir);
  const want = m.input.shape.reduce((a, b) => a * b, 1);
  const where = `model ${m.name} vs data set ${m.dataset}`;
  if (isBuiltinDataset(m.dataset)) {
    const t = loadPrepared(m.dataset, 'test');
    if (t.inputBytes !== want) {
      throw new HilError(`model input [${m.input.shape.join(',')}] (${want} values) but the data set's samples are [${t.inputShape.join(',')}] (${t.inputBytes} values)`, where);
    }
    return { key: m.dataset, dataset: m.dataset, x: t.x, y: t.y, count: t.count, inputBytes: t.inputBytes, sha256: t.sha256, task: record?.task ?? 'classifier' };
  }
  if (!record || record.name !== m.dataset || record.kind === 'builtin') {
    throw new HilError(`data set '${m.dataset}' is neither built-in nor recorded in ${rel(recordPath(m.name, modelsDir))}; import the model with --dataset`, where);
  }
  const src = { kind: record.kind, path: record.path === undefined ? undefined : path.resolve(ROOT, record.path) };
  if (src.path !== undefined && !existsSync(src.path)) throw new HilError(`the data recorded at import is gone: ${record.path}`, where);
  const data = loadUserData(src, m.input, m.name);
  if (data.sha256 !== record.sha256) {
    throw new HilError(`${record.path ?? record.name} changed since the import (sha256 ${data.sha256.slice(0, 12)}..., recorded ${record.sha256.slice(0, 12)}...); import the model again`, where);
  }
  return {
    key: `${m.name}:${m.dataset}`, dataset: data.dataset, x: data.x, y: data.y, count: data.count, inputBytes: data.inputBytes, sha256: data.sha256,
    task: record.task, ...(data.groups ? { groups: data.groups } : {}),
  };
}
