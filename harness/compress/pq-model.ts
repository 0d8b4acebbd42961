/**
 * The compressed model format `yono-pq/1` and the shared codebook format `yono-codebook/1`
 * (firmware/SPEC.md section 4). A pq model is an int8 model in which some conv2d/dense layers
 * became `conv2d_pq`/`dense_pq`: their int8 weights are replaced by one index per sub-vector into
 * a codebook shared by all models. Sub-vector s of output channel oc is the d consecutive
 * weights [s*d, (s+1)*d) of that channel's int8 row (conv2d order [kh][kw][ic], dense [in]):
 * exactly the im2col column order, so a kernel decodes a row chunk by chunk at int8 speed.
 *
 * In memory a loaded PqModel carries its codebooks (`codebooks`, resolved by id and checked
 * against the hash the layer names), so the model hash covers everything the device holds.
 */
import { readFileSync } from 'node:fs';
import { HilError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { canonicalJson, modelHash, validateInt8Model } from '../modeltools/int8-model.js';
import type { Conv2dLayer, DenseLayer, Int8Layer, Int8Model, QuantTensor, Shape3 } from '../modeltools/int8-model.js';

export const PQ_FORMAT = 'yono-pq/1';
export const CODEBOOK_FORMAT = 'yono-codebook/1';

/** `kxk`: conv2d layers with kh*kw > 1; `fc`: 1x1 conv2d and dense (YONO's two codebooks). */
export type CodebookKind = 'kxk' | 'fc';

export interface Codebook {
  format: typeof CODEBOOK_FORMAT;
  id: string;
  kind: CodebookKind;
  /** sub-vector length */
  d: number;
  /** number of codewords */
  k: number;
  /** stored bits per index: 8 (k <= 256) or 4 (k <= 16, two per byte) */
  index_bits: 4 | 8;
  /** k*d int8 values in [-127, 127], codeword c at [c*d, (c+1)*d) */
  codewords: number[];
  /** models whose weights the k-means saw */
  learned_from: string[];
  /** first 16 hex of SHA-256 over canonical JSON of {id, kind, d, k, index_bits, codewords} */
  hash: string;
}

export interface CodebookRef {
  id: string;
  hash: string;
}

type PqFields = { codebook: CodebookRef; indices: number[] };
export type Conv2dPqLayer = Omit<Conv2dLayer, 'op' | 'weights'> & { op: 'conv2d_pq' } & PqFields;
export type DensePqLayer = Omit<DenseLayer, 'op' | 'weights'> & { op: 'dense_pq' } & PqFields;
export type PqLayer = Conv2dPqLayer | DensePqLayer;
export type AnyLayer = Int8Layer | PqLayer;

export interface PqModel {
  format: typeof PQ_FORMAT;
  name: string;
  dataset: string;
  classes: number;
  input: QuantTensor & { shape: Shape3 };
  output: QuantTensor;
  layers: AnyLayer[];
  /** resolved codebooks by id (not stored in pq.json; the layers name them by id + hash) */
  codebooks: Record<string, Codebook>;
}

/** What a firmware can hold: an uncompressed or a compressed model. */
export type DeployModel = Int8Model | PqModel;

export function isPqModel(m: DeployModel): m is PqModel {
  return m.format === PQ_FORMAT;
}

export function isPqLayer(l: AnyLayer): l is PqLayer {
  return l.op === 'conv2d_pq' || l.op === 'dense_pq';
}

export function codebookHash(cb: Pick<Codebook, 'id' | 'kind' | 'd' | 'k' | 'index_bits' | 'codewords'>): string {
  const { id, kind, d, k, index_bits, codewords } = cb;
  return sha256(canonicalJson({ id, kind, d, k, index_bits, codewords })).slice(0, 16);
}

export function indexBitsFor(k: number): 4 | 8 {
  return k <= 16 ? 4 : 8;
}

/** Row length (weights per output channel) and channel count of a conv2d/dense-like layer. */
export function rowShape(l: Conv2dLayer | DenseLayer | PqLayer): { oc: number; row: number } {
  if (l.op === 'dense' || l.op === 'dense_pq') return { oc: l.out_features, row: l.in_features };
  return { oc: l.out_shape[2], row: l.kh * l.kw * l.in_shape[2] };
}

/** Bytes of one output channel's packed index row (rows start on a byte boundary). */
export function packedRowBytes(subvectors: number, bits: 4 | 8): number {
  return bits === 8 ? subvectors : Math.ceil(subvectors / 2);
}

/** Packs indices row by row; 4-bit: index 2j in the low nibble, 2j+1 in the high nibble. */
export function packIndices(indices: readonly number[], rows: number, bits: 4 | 8): number[] {
  const s = indices.length / rows;
  const rb = packedRowBytes(s, bits);
  const out = new Array<number>(rows * rb).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < s; j++) {
      const v = indices[r * s + j];
      if (bits === 8) out[r * rb + j] = v;
      else out[r * rb + (j >> 1)] |= (j & 1) ? v << 4 : v;
    }
  }
  return out;
}

/** The int8 weights a pq layer stands for (row-major [oc][row]). */
export function decodeWeights(l: PqLayer, cb: Codebook): number[] {
  const { oc, row } = rowShape(l);
  const s = row / cb.d;
  const w = new Array<number>(oc * row);
  for (let c = 0; c < oc; c++) {
    for (let j = 0; j < s; j++) {
      const base = l.indices[c * s + j] * cb.d;
      for (let t = 0; t < cb.d; t++) w[c * row + j * cb.d + t] = cb.codewords[base + t];
    }
  }
  return w;
}

/**
 * SPEC section 4: a pq layer stores its effective bias, bias - in_zp * sum(decoded w[oc]), as int16
 * values shifted left by one per-layer `bias_shift` (half the bytes of an int32 bias). The pq
 * model keeps the int32 bias it stands for, so the host reference needs nothing new.
 */
export function pqBiasEff(l: PqLayer, cb: Codebook): number[] {
  const { oc, row } = rowShape(l);
  const w = decodeWeights(l, cb);
  return l.bias.slice(0, oc).map((b, c) => {
    let sum = 0;
    for (let j = c * row; j < (c + 1) * row; j++) sum += w[j];
    return b - l.in_zp * sum;
  });
}

/** The smallest shift whose int16 values reach every effective bias (after rounding). */
export function pqBiasShift(biasEff: readonly number[]): number {
  const max = biasEff.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  let s = 0;
  while (Math.round(max / 2 ** s) > 32767) s++;
  return s;
}

/** The layer with its bias moved to the nearest one whose effective bias is int16 << shift. */
export function snapPqBias(l: PqLayer, cb: Codebook): PqLayer {
  const be = pqBiasEff(l, cb);
  const step = 2 ** pqBiasShift(be);
  const bias = l.bias.map((b, c) => b - be[c] + Math.round(be[c] / step) * step);
  return { ...l, bias } as PqLayer;
}

/** The stored form of a pq layer's effective bias, or null when it is not int16 << shift. */
export function pqBiasTable(l: PqLayer, cb: Codebook): { values: number[]; shift: number } | null {
  const be = pqBiasEff(l, cb);
  const shift = pqBiasShift(be);
  const values = be.map((v) => v / 2 ** shift);
  return values.every((v) => Number.isInteger(v) && v >= -32768 && v <= 32767) ? { values, shift } : null;
}

/** The int8 layer a pq layer decodes to (same integer arithmetic, SPEC section 3). */
export function decodeLayer(l: AnyLayer, books: Record<string, Codebook>): Int8Layer {
  if (!isPqLayer(l)) return l;
  const cb = books[l.codebook.id];
  if (!cb) throw new HilError(`codebook '${l.codebook.id}' not loaded`, 'pq');
  const { op: _op, codebook: _cb, indices: _ix, ...rest } = l;
  const weights = decodeWeights(l, cb);
  return l.op === 'conv2d_pq'
    ? ({ ...(rest as Omit<Conv2dPqLayer, 'op' | 'codebook' | 'indices'>), op: 'conv2d', weights } satisfies Conv2dLayer)
    : ({ ...(rest as Omit<DensePqLayer, 'op' | 'codebook' | 'indices'>), op: 'dense', weights } satisfies DenseLayer);
}

const decoded = new WeakMap<PqModel, Int8Model>();

/** The int8 model a pq model computes exactly (cached per object): the host reference runs it. */
export function decodePqModel(m: PqModel): Int8Model {
  const hit = decoded.get(m);
  if (hit) return hit;
  const int8: Int8Model = {
    format: 'yono-int8/1', name: m.name, dataset: m.dataset, classes: m.classes, input: m.input, output: m.output,
    layers: m.layers.map((l) => decodeLayer(l, m.codebooks)),
  };
  decoded.set(m, int8);
  return int8;
}

/** Hash that identifies a deployable model on the device (SPEC 1: first 16 hex of SHA-256). */
export function deployHash(m: DeployModel): string {
  return isPqModel(m) ? sha256(canonicalJson(m)).slice(0, 16) : modelHash(m);
}

/** The JSON written to pq.json: the model without its resolved codebooks. */
export function pqFileJson(m: PqModel): Omit<PqModel, 'codebooks'> {
  const { codebooks: _c, ...rest } = m;
  return rest;
}

type Obj = Record<string, unknown>;

function fail(source: string, path: string, msg: string): never {
  throw new HilError(`${path}: ${msg}`, source);
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HilError(`cannot read ${what}: ${(e as Error).message}`, path);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HilError(`not valid JSON: ${(e as Error).message}`, path);
  }
}

export function validateCodebook(v: unknown, source: string): Codebook {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(source, '$', 'must be an object');
  const o = v as Obj;
  if (o.format !== CODEBOOK_FORMAT) fail(source, '$.format', `must be "${CODEBOOK_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (typeof o.id !== 'string' || !/^[A-Za-z0-9_]{1,40}$/.test(o.id)) fail(source, '$.id', 'must match [A-Za-z0-9_]{1,40} (it becomes a C identifier)');
  if (o.kind !== 'kxk' && o.kind !== 'fc') fail(source, '$.kind', 'must be "kxk" or "fc"');
  const int = (key: string, lo: number, hi: number): number => {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) fail(source, `$.${key}`, `must be an integer in [${lo}, ${hi}]`);
    return x;
  };
  const d = int('d', 1, 64);
  const k = int('k', 2, 256);
  const bits = int('index_bits', 4, 8);
  if (bits !== indexBitsFor(k)) fail(source, '$.index_bits', `must be ${indexBitsFor(k)} for k = ${k}`);
  const cw = o.codewords;
  if (!Array.isArray(cw) || cw.length !== k * d) fail(source, '$.codewords', `must hold k*d = ${k * d} integers`);
  cw.forEach((x: unknown, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < -127 || x > 127) fail(source, `$.codewords[${i}]`, 'must be an integer in [-127, 127]');
  });
  const from = Array.isArray(o.learned_from) ? o.learned_from.filter((x): x is string => typeof x === 'string') : [];
  const cb: Codebook = { format: CODEBOOK_FORMAT, id: o.id, kind: o.kind, d, k, index_bits: bits as 4 | 8, codewords: cw as number[], learned_from: from, hash: '' };
  cb.hash = codebookHash(cb);
  if (o.hash !== cb.hash) fail(source, '$.hash', `is ${JSON.stringify(o.hash)} but the content hashes to ${cb.hash}`);
  return cb;
}

export function loadCodebook(path: string): Codebook {
  return validateCodebook(readJson(path, 'codebook'), path);
}

/**
 * Validates a pq model against its codebooks: every pq layer must name a loaded codebook with
 * the same hash, the right kind and a d dividing its rows, and indices < k. The decoded model must
 * pass the int8 validator (shapes chain, accumulator bound), so a pq model is valid iff the int8
 * model it stands for is.
 */
export function validatePqModel(v: unknown, source: string, books: Record<string, Codebook>): PqModel {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(source, '$', 'must be an object');
  const o = v as Obj;
  if (o.format !== PQ_FORMAT) fail(source, '$.format', `must be "${PQ_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (!Array.isArray(o.layers)) fail(source, '$.layers', 'must be an array');
  const used: Record<string, Codebook> = {};
  const asInt8 = (o.layers as unknown[]).map((lv, i): unknown => {
    const p = `$.layers[${i}]`;
    if (lv === null || typeof lv !== 'object') fail(source, p, 'must be an object');
    const l = lv as Obj;
    if (l.op !== 'conv2d_pq' && l.op !== 'dense_pq') {
      if (l.op === 'conv2d' || l.op === 'dense' || l.op === 'depthwise_conv2d' || l.op === 'maxpool2d' || l.op === 'avgpool2d' || l.op === 'avgpool_global') return l;
      fail(source, `${p}.op`, `unknown op ${JSON.stringify(l.op)}`);
    }
    const ref = l.codebook as Obj | undefined;
    if (!ref || typeof ref.id !== 'string' || typeof ref.hash !== 'string') fail(source, `${p}.codebook`, 'must be {id, hash}');
    const cb = books[ref.id];
    if (!cb) fail(source, `${p}.codebook.id`, `codebook '${ref.id}' not found (models/_codebooks/${ref.id}.json)`);
    if (cb.hash !== ref.hash) fail(source, `${p}.codebook.hash`, `is ${ref.hash} but codebook '${ref.id}' has hash ${cb.hash} (recompress)`);
    const conv = l.op === 'conv2d_pq';
    const kind: CodebookKind = conv && Number(l.kh) * Number(l.kw) > 1 ? 'kxk' : 'fc';
    if (cb.kind !== kind) fail(source, `${p}.codebook`, `a ${kind} layer cannot use the ${cb.kind} codebook '${cb.id}'`);
    const inC = conv && Array.isArray(l.in_shape) ? Number(l.in_shape[2]) : Number(l.in_features);
    const oc = conv && Array.isArray(l.out_shape) ? Number(l.out_shape[2]) : Number(l.out_features);
    const row = conv ? Number(l.kh) * Number(l.kw) * inC : inC;
    if (!Number.isInteger(row) || !Number.isInteger(oc) || row % cb.d !== 0) fail(source, p, `row length ${row} is not a multiple of d = ${cb.d}`);
    const ix = l.indices;
    if (!Array.isArray(ix) || ix.length !== (oc * row) / cb.d) fail(source, `${p}.indices`, `must hold ${(oc * row) / cb.d} indices (OC * row / d)`);
    ix.forEach((x: unknown, j) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= cb.k) fail(source, `${p}.indices[${j}]`, `must be an integer in [0, ${cb.k})`);
    });
    used[cb.id] = cb;
    if (!Array.isArray(l.bias) || l.bias.length !== oc) fail(source, `${p}.bias`, `must hold ${oc} values`);
    if (!pqBiasTable(l as unknown as PqLayer, cb)) fail(source, `${p}.bias`, 'its effective bias is not int16 << shift (SPEC section 4): recompress');
    return decodeLayer(l as unknown as PqLayer, books);
  });
  const int8 = validateInt8Model({ ...o, format: 'yono-int8/1', layers: asInt8 }, source);
  const layers = (o.layers as AnyLayer[]).map((l, i) => (isPqLayer(l) ? l : int8.layers[i]));
  const m: PqModel = { format: PQ_FORMAT, name: int8.name, dataset: int8.dataset, classes: int8.classes, input: int8.input, output: int8.output, layers, codebooks: used };
  decoded.set(m, int8);
  return m;
}

export function loadPqModel(path: string, books: Record<string, Codebook>): PqModel {
  return validatePqModel(readJson(path, 'pq model'), path, books);
}
