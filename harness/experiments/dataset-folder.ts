/**
 * An MLPerf Tiny data-set folder (kws01, ic01, vww01, ad01 layout: .bin inputs + y_labels.csv)
 * as the accuracy experiment's test inputs, in place of the model's prepared test split. Every
 * input must be exactly the model's int8 input (its size is checked for every file, and the
 * class count of y_labels.csv against the model's) before any device is touched.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { openMlperfFolder, MLPERF_TRUTH_FILE } from '../datasets/mlperf-folder.js';
import { shapeSize, type Int8Model } from '../modeltools/int8-model.js';
import { HilError } from '../util/errors.js';
import { readFileSync } from 'node:fs';

export interface TestInputs {
  /** the data set column of the rows */
  dataset: string;
  x: Int8Array;
  y: ArrayLike<number>;
  count: number;
  inputBytes: number;
  sha256: string;
}

/** Reads and checks the folder for `model`; one line naming the file and both sizes on a mismatch. */
export function loadDatasetFolder(dir: string, model: Int8Model): TestInputs {
  const folder = openMlperfFolder(dir);
  const inputBytes = shapeSize(model.input.shape);
  const shape = model.input.shape.join('x');
  const h = createHash('sha256').update(readFileSync(path.join(dir, MLPERF_TRUTH_FILE)));
  const x = new Int8Array(folder.entries.length * inputBytes);
  const y: number[] = [];
  for (const [i, e] of folder.entries.entries()) {
    if (e.classes !== model.classes) {
      throw new HilError(`says ${e.classes} classes, model ${model.name} has ${model.classes}`, `${path.join(dir, MLPERF_TRUTH_FILE)}:${e.line}`);
    }
    const bytes = folder.read(i);
    if (bytes.length !== inputBytes) {
      throw new HilError(`${bytes.length} bytes, model ${model.name} takes ${inputBytes} (int8 ${shape}): not an input of this model`, path.join(dir, e.file));
    }
    x.set(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), i * inputBytes);
    h.update(bytes);
    y.push(e.label);
  }
  return { dataset: `folder:${path.basename(path.resolve(dir))}`, x, y, count: y.length, inputBytes, sha256: h.digest('hex') };
}
