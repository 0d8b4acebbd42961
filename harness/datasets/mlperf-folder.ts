/**
 * An MLPerf Tiny data set as the benchmark distributes it (mlcommons/tiny benchmark/runner,
 * datasets.py): a folder of input files (.bin, the bytes the runner sends with `db`) and a
 * truth file, y_labels.csv, without header, one row per input: `file, classes, label` (newer
 * runners add columns, e.g. bytes_to_send and stride for ad01; they are kept as `extra`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HilError } from '../util/errors.js';

export const MLPERF_TRUTH_FILE = 'y_labels.csv';

export interface MlperfEntry {
  file: string;
  classes: number;
  label: number;
  /** columns after the third, as written */
  extra: string[];
  /** 1-based line in the truth file */
  line: number;
}

export interface MlperfFolder {
  dir: string;
  entries: MlperfEntry[];
  /** The input bytes of entry i. */
  read(i: number): Buffer;
}

/**
 * Reads and checks the truth file: every row has a file that exists in the folder, an integer
 * class count >= 1 and a label in 0..classes-1. Problems are HilErrors naming the file and line.
 */
export function openMlperfFolder(dir: string, options: { truthFile?: string; inputBytes?: number } = {}): MlperfFolder {
  const truthPath = join(dir, options.truthFile ?? MLPERF_TRUTH_FILE);
  if (!existsSync(truthPath)) throw new HilError('no truth file: an MLPerf Tiny data set folder holds y_labels.csv', truthPath);
  const entries: MlperfEntry[] = [];
  readFileSync(truthPath, 'utf8')
    .split(/\r?\n/)
    .forEach((text, i) => {
      const line = i + 1;
      if (text.trim() === '') return;
      const where = `${truthPath}:${line}`;
      const cols = text.split(',').map((c) => c.trim());
      if (cols.length < 3) throw new HilError(`expected 'file, classes, label', got '${text.slice(0, 80)}'`, where);
      const [file, classesText, labelText, ...extra] = cols;
      const classes = /^\d+$/.test(classesText) ? Number(classesText) : NaN;
      const label = /^\d+$/.test(labelText) ? Number(labelText) : NaN;
      if (!(classes >= 1)) throw new HilError(`classes '${classesText}' is not an integer >= 1`, where);
      if (!(label >= 0 && label < classes)) throw new HilError(`label '${labelText}' is not an integer in 0..${classes - 1}`, where);
      if (file === '' || file.includes('/') || file.includes('\\') || file === '..') throw new HilError(`'${file}' is not a file name in the folder`, where);
      const path = join(dir, file);
      if (!existsSync(path) || !statSync(path).isFile()) throw new HilError(`names ${file}, which is not in the folder`, where);
      entries.push({ file, classes, label, extra, line });
    });
  if (entries.length === 0) throw new HilError('truth file lists no inputs', truthPath);
  return {
    dir,
    entries,
    read(i: number): Buffer {
      const e = entries[i];
      if (!e) throw new HilError(`no entry ${i}; the folder has ${entries.length}`, truthPath);
      const bytes = readFileSync(join(dir, e.file));
      if (options.inputBytes !== undefined && bytes.length !== options.inputBytes) {
        throw new HilError(`${bytes.length} bytes, the model input has ${options.inputBytes}`, join(dir, e.file));
      }
      return bytes;
    },
  };
}
