/**
 * A user's own test data (`hil import --dataset <folder|file.npy|file.npz|none>`), read into the
 * model's int8 input layout:
 * - a folder in MLPerf Tiny's layout (`*.bin` + `y_labels.csv`: `file, classes, label`
 *   [, bytes_to_send, stride]): each file (or, with bytes_to_send/stride as ad01 has them, each
 *   window of bytes_to_send bytes every stride bytes) is one sample, int8 bytes when its size is
 *   the input's element count, little-endian float32 when it is four times that;
 * - a `.npy` of inputs (first axis = samples), no labels;
 * - a `.npz` with inputs under `x` (or `x_test`, `inputs`, `arr_0`) and optional labels under `y`
 *   (or `y_test`, `labels`, `arr_1`); an archive of one array is inputs only;
 * - `none`: no data: NONE_SAMPLES inputs of deterministic pseudo-random int8 values, no labels.
 * Float inputs are quantized with the model's input quantization (TFLite's QUANTIZE: round half
 * away from zero of x / scale, plus the zero point, clamped to int8); int8 and uint8 arrays are the
 * input bytes as they are. Labels are class indices (or ad01's 0 normal / 1 anomaly), integers of
 * shape (N,) or (N, 1); one-hot (N, K) labels become their argmax.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { HilError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { MLPERF_TRUTH_FILE, openMlperfFolder } from './mlperf-folder.js';
import { parseNpy, type NpyArray } from './npy.js';
import { readNpz } from './npz.js';

export type UserDataKind = 'folder' | 'npy' | 'npz' | 'none';

/** A --dataset value that is not a built-in name. */
export interface UserDataSource {
  kind: UserDataKind;
  /** absolute path (not for none) */
  path?: string;
}

/** What the data must fit: the model's input tensor. */
export interface InputSpec {
  shape: number[];
  scale: number;
  zero_point: number;
}

export interface UserTestSet {
  /** the data set column of result rows, e.g. `npz:hello.npz`, `folder:ad01`, `none` */
  dataset: string;
  x: Int8Array;
  count: number;
  inputBytes: number;
  /** per-sample labels; undefined when the data has none */
  y?: number[];
  /** the class count a folder's y_labels.csv states */
  classes?: number;
  /** per sample, the input file it was cut from (ad01 windows): per-file scores average over it */
  groups?: number[];
  /** the shape of one sample as the data gives it */
  sampleShape: number[];
  /** sha256 of the data as read (files and labels) */
  sha256: string;
  /** what the reader decided that the user should know (dtype, quantization, one-hot) */
  notes: string[];
}

/** Samples of `--dataset none`. */
export const NONE_SAMPLES = 16;

export const NPZ_INPUT_KEYS = ['x', 'x_test', 'inputs', 'arr_0'];
export const NPZ_LABEL_KEYS = ['y', 'y_test', 'labels', 'arr_1'];

/** The kind of a --dataset value that names a folder, a .npy/.npz file or `none`; undefined otherwise. */
export function userDataSource(arg: string): UserDataSource | undefined {
  if (arg === 'none') return { kind: 'none' };
  const p = path.resolve(arg);
  const ext = path.extname(p).toLowerCase();
  if (ext === '.npy' || ext === '.npz') {
    if (!existsSync(p)) throw new HilError('no such file', arg);
    return { kind: ext === '.npy' ? 'npy' : 'npz', path: p };
  }
  if (existsSync(p) && statSync(p).isDirectory()) return { kind: 'folder', path: p };
  return undefined;
}

/** The data-set column of a source: `none`, or `<kind>:<file or folder name>`. */
export function userDataName(src: UserDataSource): string {
  return src.kind === 'none' ? 'none' : `${src.kind}:${path.basename(src.path ?? '')}`;
}

/** Reads the source into the input layout of `input` (of model `model`, for messages); one line naming the file on any mismatch. */
export function loadUserData(src: UserDataSource, input: InputSpec, model = 'the model'): UserTestSet {
  switch (src.kind) {
    case 'none':
      return noneData(input);
    case 'npy': {
      const where = src.path as string;
      const arr = parseNpy(readOrFail(where), where);
      return { ...arrayInputs(arr, input, where), dataset: userDataName(src) };
    }
    case 'npz':
      return npzData(src, input);
    case 'folder':
      return folderData(src, input, model);
  }
}

function readOrFail(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new HilError(`cannot read: ${(e as Error).message}`, file);
  }
}

const elements = (s: number[]) => s.reduce((a, b) => a * b, 1);
const fmt = (s: number[]) => `[${s.join(',')}]`;

/** TFLite's QUANTIZE of one float: round(x / scale) half away from zero, + zero point, clamped. */
export function quantizeValue(v: number, scale: number, zeroPoint: number): number {
  const r = v / scale;
  const q = (r < 0 ? -Math.round(-r) : Math.round(r)) + zeroPoint;
  return q < -128 ? -128 : q > 127 ? 127 : q;
}

function arrayInputs(arr: NpyArray, input: InputSpec, where: string): Omit<UserTestSet, 'dataset'> {
  const want = elements(input.shape);
  if (arr.shape.length === 0) throw new HilError(`a scalar, not an array of samples (model input ${fmt(input.shape)})`, where);
  const count = arr.shape[0];
  const sampleShape = arr.shape.slice(1);
  if (elements(sampleShape) !== want) {
    throw new HilError(
      `inputs of shape ${fmt(arr.shape)}: each sample is ${fmt(sampleShape)} (${elements(sampleShape)} values) but the model input is ${fmt(input.shape)} (${want} values)`,
      where,
    );
  }
  if (count === 0) throw new HilError('no samples (first axis is 0)', where);
  const x = new Int8Array(count * want);
  const notes: string[] = [];
  if (arr.kind === 'float') {
    for (let i = 0; i < x.length; i++) {
      const v = arr.get(i);
      if (!Number.isFinite(v)) throw new HilError(`input value ${i} is ${v}`, where);
      x[i] = quantizeValue(v, input.scale, input.zero_point);
    }
    notes.push(`${arr.descr} inputs quantized with the model's input scale ${input.scale} and zero point ${input.zero_point}`);
  } else if (arr.kind === 'bool') {
    throw new HilError(`dtype ${arr.descr}: inputs must be float, int8 or uint8`, where);
  } else if (arr.itemBytes === 1) {
    // int8 and uint8: the input bytes as they are
    x.set(new Int8Array(arr.data.buffer, arr.data.byteOffset, x.length));
  } else {
    for (let i = 0; i < x.length; i++) {
      const v = arr.get(i);
      if (v < -128 || v > 127) throw new HilError(`${arr.descr} input value ${i} is ${v}, outside int8; give float inputs to have them quantized`, where);
      x[i] = v;
    }
  }
  return { x, count, inputBytes: want, sampleShape, sha256: sha256(arr.data), notes };
}

/** Class labels of `count` samples: integers (N,) or (N, 1), or one-hot (N, K) as their argmax. */
function labelsOf(arr: NpyArray, count: number, where: string, notes: string[]): number[] {
  if (arr.shape[0] !== count) throw new HilError(`labels of shape ${fmt(arr.shape)} for ${count} input samples`, where);
  const per = elements(arr.shape.slice(1));
  const y: number[] = [];
  for (let i = 0; i < count; i++) {
    if (per === 1) {
      const v = arr.get(i);
      if (!Number.isInteger(v) || v < 0) throw new HilError(`label ${i} is ${v}: labels are class indices (integers >= 0)`, where);
      y.push(v);
    } else {
      let best = 0;
      for (let k = 1; k < per; k++) if (arr.get(i * per + k) > arr.get(i * per + best)) best = k;
      y.push(best);
    }
  }
  if (per !== 1) notes.push(`labels of shape ${fmt(arr.shape)} read as one-hot: their argmax`);
  return y;
}

function npzData(src: UserDataSource, input: InputSpec): UserTestSet {
  const where = src.path as string;
  const arrays = readNpz(where);
  const keys = [...arrays.keys()];
  const inputKey = arrays.size === 1 ? keys[0] : NPZ_INPUT_KEYS.find((k) => arrays.has(k));
  if (inputKey === undefined) {
    throw new HilError(`no inputs: expected an array named ${NPZ_INPUT_KEYS.join(', ')} (the archive has ${keys.join(', ')})`, where);
  }
  const labelKey = arrays.size === 1 ? undefined : NPZ_LABEL_KEYS.find((k) => arrays.has(k) && k !== inputKey);
  const data = arrayInputs(arrays.get(inputKey) as NpyArray, input, `${where}: ${inputKey}`);
  const notes = [...data.notes];
  const labels = labelKey === undefined ? undefined : (arrays.get(labelKey) as NpyArray);
  const y = labels && labelsOf(labels, data.count, `${where}: ${labelKey}`, notes);
  if (arrays.size > 1 && labelKey === undefined) notes.push(`no labels (no array named ${NPZ_LABEL_KEYS.join(', ')}): outputs are checked, no top-1`);
  const hash = createHash('sha256').update(data.sha256);
  if (labels) hash.update(labels.data);
  return { ...data, y, notes, sha256: hash.digest('hex'), dataset: userDataName(src) };
}

function folderData(src: UserDataSource, input: InputSpec, model: string): UserTestSet {
  const dir = src.path as string;
  const folder = openMlperfFolder(dir);
  const truth = path.join(dir, MLPERF_TRUTH_FILE);
  const want = elements(input.shape);
  const h = createHash('sha256').update(readFileSync(truth));
  const parts: Int8Array[] = [];
  const y: number[] = [];
  const groups: number[] = [];
  let floats = false;
  const classes = folder.entries[0].classes;
  for (const [i, e] of folder.entries.entries()) {
    const where = `${truth}:${e.line}`;
    if (e.classes !== classes) throw new HilError(`says ${e.classes} classes, line ${folder.entries[0].line} says ${classes}`, where);
    const bytes = folder.read(i);
    h.update(bytes);
    // ad01: windows of bytes_to_send bytes every stride bytes; otherwise the whole file
    const [sendText, strideText] = e.extra;
    const send = sendText !== undefined && sendText !== '' ? Number(sendText) : bytes.length;
    const stride = strideText !== undefined && strideText !== '' ? Number(strideText) : send;
    if (!(Number.isInteger(send) && send > 0 && Number.isInteger(stride) && stride > 0)) {
      throw new HilError(`bytes_to_send '${sendText}' and stride '${strideText}' must be positive integers`, where);
    }
    const isFloat = send === 4 * want && want > 0 && send !== want;
    if (send !== want && !isFloat) {
      throw new HilError(
        `${send} bytes, ${model === 'the model' ? model : `model ${model}`} takes ${want} (int8 ${input.shape.join('x')}) or ${4 * want} (float32): not an input of this model`,
        path.join(dir, e.file),
      );
    }
    if (bytes.length < send) throw new HilError(`${bytes.length} bytes, shorter than one sample of ${send}`, path.join(dir, e.file));
    floats ||= isFloat;
    for (let start = 0; start + send <= bytes.length; start += stride) {
      const sample = new Int8Array(want);
      if (isFloat) {
        for (let k = 0; k < want; k++) sample[k] = quantizeValue(bytes.readFloatLE(start + 4 * k), input.scale, input.zero_point);
      } else sample.set(new Int8Array(bytes.buffer, bytes.byteOffset + start, want));
      parts.push(sample);
      y.push(e.label);
      groups.push(i);
    }
  }
  const x = new Int8Array(parts.length * want);
  parts.forEach((p, k) => x.set(p, k * want));
  const notes = floats ? [`float32 inputs quantized with the model's input scale ${input.scale} and zero point ${input.zero_point}`] : [];
  if (parts.length > folder.entries.length) notes.push(`${folder.entries.length} files cut into ${parts.length} windows (bytes_to_send, stride): scores are averaged per file`);
  return {
    dataset: userDataName(src), x, count: parts.length, inputBytes: want, y, classes,
    ...(parts.length > folder.entries.length ? { groups } : {}),
    sampleShape: input.shape, sha256: h.digest('hex'), notes,
  };
}

/** `none`: deterministic int8 inputs (SHA-256 blocks of a counter), so runs repeat exactly. */
function noneData(input: InputSpec): UserTestSet {
  const want = elements(input.shape);
  const x = new Int8Array(NONE_SAMPLES * want);
  for (let at = 0, block = 0; at < x.length; block++) {
    const d = createHash('sha256').update(`yono-none/${block}`).digest();
    for (let k = 0; k < d.length && at < x.length; k++) x[at++] = (d[k] << 24) >> 24;
  }
  return {
    dataset: 'none', x, count: NONE_SAMPLES, inputBytes: want, sampleShape: input.shape,
    sha256: sha256(new Uint8Array(x.buffer)), notes: [`no data: ${NONE_SAMPLES} pseudo-random int8 inputs, no labels`],
  };
}
