/**
 * `hil compress`: learn the shared codebooks over every trained model, compress each model
 * (indices + rescale), evaluate on the host reference, run leave-one-out, optionally fine-tune
 * (compress/finetune.ts), and write models/<name>/pq.json, models/_codebooks/<id>.json and
 * models/compression.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrepared, loadPrepared } from '../datasets/prepared.js';
import { loadInt8Model, modelHash } from '../modeltools/int8-model.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import { evaluateInt8 } from '../reference/int8.js';
import { HilError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { MODELS_DIR } from '../util/paths.js';
import { accountSet } from './accounting.js';
import type { ModelBytes } from './accounting.js';
import { assignRows, BOOK_IDS, chooseLayers, DEFAULT_PQ_OPTIONS, learnCodebook, toPqLayer } from './codebooks.js';
import type { BookId, LayerChoice, PqOptions, WeightLayer } from './codebooks.js';
import { decodePqModel, deployHash, PQ_FORMAT, pqFileJson, rowShape } from './pq-model.js';
import type { AnyLayer, Codebook, PqModel } from './pq-model.js';

export const COMPRESS_CODE_VERSION = 'yono-compress/1';
export const CODEBOOKS_DIR = (): string => join(MODELS_DIR, '_codebooks');
export const COMPRESSION_REPORT = (): string => join(MODELS_DIR, 'compression.json');

/** Compresses one model with the given codebooks (one per kind). */
export function compressModel(m: Int8Model, books: Partial<Record<BookId, Codebook>>, o: PqOptions): { pq: PqModel; choices: LayerChoice[]; relError: number } {
  const choices = chooseLayers(m, o);
  let err = 0;
  let norm = 0;
  const used: Record<string, Codebook> = {};
  const layers: AnyLayer[] = m.layers.map((l, i) => {
    const c = choices.find((x) => x.layer === i);
    if (!c || c.book === null) return l;
    const wl = l as WeightLayer;
    const cb = books[c.book];
    if (!cb) throw new HilError(`no '${c.book}' codebook for layer ${i}`, m.name);
    const { oc, row } = rowShape(wl);
    const a = assignRows(wl.weights, oc, row, cb, o.assignRounds);
    const n2 = wl.weights.reduce((s, v) => s + v * v, 0);
    err += a.relError * n2;
    norm += n2;
    used[cb.id] = cb;
    return toPqLayer(wl, cb, a);
  });
  const pq: PqModel = { format: PQ_FORMAT, name: m.name, dataset: m.dataset, classes: m.classes, input: m.input, output: m.output, layers, codebooks: used };
  return { pq, choices, relError: norm > 0 ? err / norm : 0 };
}

/** The shared codebooks the models' chosen layers need, by base id (stored id = base id + suffix). */
export function learnCodebooks(models: Int8Model[], o: PqOptions, suffix = '', fallback = false): Partial<Record<BookId, Codebook>> {
  const out: Partial<Record<BookId, Codebook>> = {};
  for (const id of BOOK_IDS) {
    const cb = learnCodebook(id, models, o, suffix, fallback);
    if (cb) out[id] = cb;
  }
  return out;
}

export function hostTop1(m: Int8Model | PqModel, samples?: number): number {
  ensurePrepared(m.dataset);
  const t = loadPrepared(m.dataset, 'test');
  const n = Math.min(t.count, samples ?? t.count);
  const int8 = m.format === PQ_FORMAT ? decodePqModel(m) : m;
  return evaluateInt8(int8, t.x, t.y, n).accuracy;
}

export interface ModelReport {
  model: string;
  dataset: string;
  int8_hash: string;
  pq_hash: string;
  layers: LayerChoice[];
  weight_rel_error: number;
  bytes: ModelBytes;
  fp32_top1: number | null;
  int8_top1: number;
  pq_top1_assigned: number;
  pq_top1: number;
  finetuned: unknown;
  leave_one_out: { pq_top1: number; weight_rel_error: number; codebooks_from: string[] } | null;
}

export interface CompressionReport {
  format: 'yono-compression/1';
  code_version: string;
  options: PqOptions;
  inputs_hash: string;
  codebooks: { id: string; kind: string; d: number; k: number; index_bits: number; hash: string; bytes: number; learned_from: string[] }[];
  seconds: { codebooks_and_assign: number; leave_one_out: number; evaluation: number; finetune: number };
  models: ModelReport[];
  /** models left int8 (the pq firmware holds them uncompressed), with the reason */
  excluded: { model: string; reason: string }[];
  total: { params: number; fp32_bytes: number; int8_bytes: number; pq_bytes: number; ratio_fp32: number; ratio_int8: number };
}

export interface CompressOptions {
  models?: string[];
  pq?: Partial<PqOptions>;
  /** skip the leave-one-out study */
  noLeaveOneOut?: boolean;
  /** test samples for host evaluation (default all) */
  samples?: number;
  /** fine-tune models (needs float.json + train split) with this hook; see compress/finetune.ts */
  finetune?: (int8: Int8Model, pq: PqModel, ctx: { log: (s: string) => void; int8Top1: number; assignedTop1: number; evaluate: (pq: PqModel) => number }) => { pq: PqModel; info: unknown } | null;
  log?: (s: string) => void;
  modelsDir?: string;
}

function readFp32Top1(dir: string): number | null {
  const p = join(dir, 'report.json');
  if (!existsSync(p)) return null;
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as { fp32_top1?: unknown };
    return typeof r.fp32_top1 === 'number' ? r.fp32_top1 : null;
  } catch {
    return null;
  }
}

export function listInt8Models(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((d) => !d.startsWith('_') && existsSync(join(dir, d, 'int8.json'))).sort();
}

/**
 * The default compressed set: models with float.json. An imported model (no float weights, often
 * no training data) cannot be fine-tuned, so the <= 1 point budget cannot be enforced for it; it
 * stays int8 unless named with --models.
 */
export function defaultCompressSet(dir: string): { names: string[]; excluded: { model: string; reason: string }[] } {
  const all = listInt8Models(dir);
  const names = all.filter((n) => existsSync(join(dir, n, 'float.json')));
  const excluded = all.filter((n) => !names.includes(n)).map((model) => ({ model, reason: 'imported (no float.json): cannot be fine-tuned, stays int8' }));
  return { names, excluded };
}

/** Models the last `hil compress` left int8 on purpose (compression.json `excluded`). */
export function excludedModels(dir: string = MODELS_DIR): string[] {
  const p = join(dir, 'compression.json');
  if (!existsSync(p)) return [];
  try {
    const r = JSON.parse(readFileSync(p, 'utf8')) as { excluded?: { model?: unknown }[] };
    return (r.excluded ?? []).map((e) => e.model).filter((m): m is string => typeof m === 'string');
  } catch {
    return [];
  }
}

export function runCompress(opts: CompressOptions = {}): CompressionReport {
  const log = opts.log ?? (() => undefined);
  const dir = opts.modelsDir ?? MODELS_DIR;
  const o: PqOptions = { ...DEFAULT_PQ_OPTIONS, ...opts.pq };
  const named = opts.models && opts.models.length > 0;
  const set = named ? { names: opts.models ?? [], excluded: [] } : defaultCompressSet(dir);
  const names = set.names;
  if (names.length === 0) throw new HilError("no trained models (models/<name>/int8.json); run 'hil train <model>'", dir);
  const models = names.map((n) => loadInt8Model(join(dir, n, 'int8.json')));
  const inputsHash = sha256([COMPRESS_CODE_VERSION, JSON.stringify(o), ...models.map(modelHash)].join('\n'));

  // 1. codebooks over all models + assignment (the part with a 1-minute budget)
  const t0 = Date.now();
  const books = learnCodebooks(models, o);
  const compressed = models.map((m) => compressModel(m, books, o));
  const tAssign = (Date.now() - t0) / 1000;
  log(`codebooks ${Object.values(books).map((cb) => `${cb.id} (d=${cb.d}, k=${cb.k})`).join(', ')} learned and ${models.length} models assigned in ${tAssign.toFixed(1)} s`);

  // 2. leave-one-out: codebooks learned without model i, then model i compressed with them
  const t1 = Date.now();
  const loo: ModelReport['leave_one_out'][] = models.map((m, i) => {
    if (opts.noLeaveOneOut || models.length < 2) return null;
    const others = models.filter((_, j) => j !== i);
    const b = learnCodebooks(others, o, '_loo', true);
    const c = compressModel(m, b, o);
    const top1 = hostTop1(c.pq, opts.samples);
    log(`leave-one-out ${m.name}: host top-1 ${(100 * top1).toFixed(2)} % (weight rel. error ${c.relError.toFixed(4)})`);
    return { pq_top1: top1, weight_rel_error: c.relError, codebooks_from: others.map((x) => x.name) };
  });
  const tLoo = (Date.now() - t1) / 1000;

  // 3. host evaluation, 4. optional fine-tuning
  let tEval = 0;
  let tFt = 0;
  const reports: ModelReport[] = [];
  const finals: PqModel[] = [];
  models.forEach((m, i) => {
    const te = Date.now();
    const int8Top1 = hostTop1(m, opts.samples);
    const assigned = hostTop1(compressed[i].pq, opts.samples);
    tEval += (Date.now() - te) / 1000;
    let pq = compressed[i].pq;
    let info: unknown = null;
    let top1 = assigned;
    if (opts.finetune) {
      const tf = Date.now();
      const r = opts.finetune(m, pq, { log, int8Top1, assignedTop1: assigned, evaluate: (p) => hostTop1(p, opts.samples) });
      tFt += (Date.now() - tf) / 1000;
      if (r) {
        pq = r.pq;
        info = r.info;
        top1 = hostTop1(pq, opts.samples);
      }
    }
    log(`${m.name}: int8 ${(100 * int8Top1).toFixed(2)} %, pq assigned ${(100 * assigned).toFixed(2)} %, final ${(100 * top1).toFixed(2)} %`);
    finals.push(pq);
    reports.push({
      model: m.name, dataset: m.dataset, int8_hash: modelHash(m), pq_hash: deployHash(pq), layers: compressed[i].choices,
      weight_rel_error: compressed[i].relError, bytes: undefined as unknown as ModelBytes,
      fp32_top1: readFp32Top1(join(dir, m.name)), int8_top1: int8Top1, pq_top1_assigned: assigned, pq_top1: top1,
      finetuned: info, leave_one_out: loo[i],
    });
  });
  const bytes = accountSet(models.map((m, i) => ({ int8: m, pq: finals[i] })));
  reports.forEach((r, i) => (r.bytes = bytes[i]));
  const sum = (f: (b: ModelBytes) => number) => bytes.reduce((a, b) => a + f(b), 0);
  const total = {
    params: sum((b) => b.params), fp32_bytes: sum((b) => b.fp32Bytes), int8_bytes: sum((b) => b.int8Bytes), pq_bytes: Math.round(sum((b) => b.pqBytes)),
    ratio_fp32: sum((b) => b.fp32Bytes) / sum((b) => b.pqBytes), ratio_int8: sum((b) => b.int8Bytes) / sum((b) => b.pqBytes),
  };

  // write: codebooks, pq models, report
  mkdirSync(join(dir, '_codebooks'), { recursive: true });
  for (const cb of Object.values(books)) writeFileSync(join(dir, '_codebooks', `${cb.id}.json`), JSON.stringify(cb) + '\n');
  finals.forEach((pq) => writeFileSync(join(dir, pq.name, 'pq.json'), JSON.stringify(pqFileJson(pq)) + '\n'));
  // a stale pq.json of an excluded model would name codebooks that no longer exist
  for (const e of set.excluded) rmSync(join(dir, e.model, 'pq.json'), { force: true });
  const report: CompressionReport = {
    format: 'yono-compression/1', code_version: COMPRESS_CODE_VERSION, options: o, inputs_hash: inputsHash,
    codebooks: Object.values(books).map((cb) => ({ id: cb.id, kind: cb.kind, d: cb.d, k: cb.k, index_bits: cb.index_bits, hash: cb.hash, bytes: cb.k * cb.d, learned_from: cb.learned_from })),
    seconds: { codebooks_and_assign: tAssign, leave_one_out: tLoo, evaluation: tEval, finetune: tFt },
    models: reports,
    excluded: set.excluded,
    total,
  };
  writeFileSync(join(dir, 'compression.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}
