/**
 * An MLPerf Tiny data-set folder (kws01, ic01, vww01, ad01 layout: .bin inputs + y_labels.csv)
 * given to `hil run --dataset-folder` as the accuracy experiment's test inputs, in place of the
 * model's own test data. It is read by the one folder reader (datasets/user-data.ts: int8 files,
 * or float32 files and ad01 windows quantized with the model's input quantization), and checked
 * against the model (every input's size, and a classifier's class count) before any device is
 * touched.
 */
import { modelTask, type ModelTestSet } from '../datasets/model-data.js';
import { MLPERF_TRUTH_FILE } from '../datasets/mlperf-folder.js';
import { loadUserData } from '../datasets/user-data.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import { HilError } from '../util/errors.js';
import path from 'node:path';

/** Reads and checks the folder for `model`; one line naming the file and both sizes on a mismatch. */
export function loadDatasetFolder(dir: string, model: Int8Model): ModelTestSet {
  const task = modelTask(model);
  const data = loadUserData({ kind: 'folder', path: dir }, model.input, model.name);
  if (task === 'classifier' && data.classes !== model.classes) {
    throw new HilError(`says ${data.classes} classes, model ${model.name} has ${model.classes}`, path.join(dir, MLPERF_TRUTH_FILE));
  }
  return {
    key: `folder:${dir}`, dataset: data.dataset, x: data.x, y: data.y, count: data.count, inputBytes: data.inputBytes,
    sha256: data.sha256, task, ...(data.groups ? { groups: data.groups } : {}),
  };
}
