/**
 * `hil compress`: learn the shared codebooks over every trained model, compress each model
 * (indices + rescale), evaluate on the host reference, run leave-one-out, optionally fine-tune
 * (compress/finetune.ts) and then spend the bytes left under the target ratio on the most
 * sensitive layers of the models still short of the budget on validation (protectSensitive,
 * closed loop), and write models/<name>/pq.json, models/_codebooks/<id>.json and
 * models/compression.json.
 */
import { reportedFp32Top1 } from '../modeltools/model-report.js';
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
import { assignRows, BOOK_IDS, chooseLayers, DEFAULT_PQ_OPTIONS, learnCodebook, planProtection, toPqLayer } from './codebooks.js';
import type { BookId, LayerChoice, PqOptions, ProtectCandidate, ProtectMove, WeightLayer } from './codebooks.js';
import { DEFAULT_FINETUNE, finetuneOptions, validationSet } from './finetune.js';
import type { FinetuneResult } from './finetune-pool.js';
import { decodePqModel, deployHash, isPqLayer, packedRowBytes, PQ_FORMAT, pqFileJson, rowShape } from './pq-model.js';
import type { AnyLayer, Codebook, PqModel } from './pq-model.js';

export const COMPRESS_CODE_VERSION = 'yono-compress/1';
export const CODEBOOKS_DIR = (): string => join(MODELS_DIR, '_codebooks');
export const COMPRESSION_REPORT = (): string => join(MODELS_DIR, 'compression.json');

/** Compresses one model with the given codebooks (one per kind). */
export function compressModel(m: Int8Model, books: Partial<Record<BookId, Codebook>>, o: PqOptions): { pq: PqModel; choices: LayerChoice[]; relError: number } {
  if (m.arithmetic && m.arithmetic !== 'yono15') throw new HilError(`PQ compression takes yono15 models only (this one is ${m.arithmetic}; SPEC section 4)`, m.name);
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

/** Validation samples used by the sensitivity heuristic (the head of the fine-tuner's hold-out). */
export const SENSITIVITY_SAMPLES = 1000;

export interface ProtectionReport {
  rule: string;
  ratio: number;
  budget_bytes: number;
  spent_bytes: number;
  min_gain: number;
  candidates: ProtectCandidate[];
  moves: ProtectMove[];
  seconds: number;
  /** per moved model: validation gap (int8 minus pq top-1) before/after, and whether the move was kept */
  outcome: { model: string; layers: Record<string, string>; gap_before: number; gap_after: number; kept: boolean }[];
}

/** int8 minus best pq validation top-1 recorded by the fine-tuner (0 when it did not report one). */
function validationGap(info: unknown): number {
  const g = (info as { validation_gap?: unknown } | null)?.validation_gap;
  return typeof g === 'number' ? g : 0;
}

function pqLayerBytes(l: WeightLayer, d: number, bits: 4 | 8): number {
  const { oc, row } = rowShape(l);
  return oc * packedRowBytes(row / d, bits);
}

/**
 * Measures each compressed layer's sensitivity (validation top-1 of the int8 model minus that with
 * only this layer compressed, as assigned: at its codebook, at the fine codebook) on the
 * fine-tuner's validation hold-out of the train split (never the test split), and plans which
 * layers move up (planProtection) within the bytes left under fp32 / protectRatio.
 */
export function protectSensitive(models: Int8Model[], books: Partial<Record<BookId, Codebook>>, o: PqOptions, currentPqBytes: number, fp32Bytes: number, log: (s: string) => void): ProtectionReport {
  const t0 = Date.now();
  const cands: ProtectCandidate[] = [];
  for (const m of models) {
    ensurePrepared(m.dataset);
    const train = loadPrepared(m.dataset, 'train');
    const data = { x: train.x, y: train.y, count: train.count, inputBytes: train.inputBytes, scale: train.manifest.input_scale, zeroPoint: train.manifest.input_zero_point };
    const v = validationSet(data, train.inputShape, finetuneOptions(m.name));
    const n = Math.min(v.count, SENSITIVITY_SAMPLES);
    const top1 = (mm: Int8Model) => evaluateInt8(mm, v.x, v.y, n).accuracy;
    const base = top1(m);
    const full = compressModel(m, books, o);
    const fineBooks = { kxk: books.kxk_fine, fc: books.fc_fine };
    const fineO: PqOptions = { ...o, layers: { ...o.layers, [m.name]: {} } };
    for (const c of full.choices) {
      if (c.pq && books[`${c.pq}_fine`]) fineO.layers[m.name][String(c.layer)] = 'fine';
    }
    const fine = compressModel(m, books, fineO);
    const only = (pq: PqModel, i: number) => top1(decodePqModel({ ...pq, layers: m.layers.map((l, j) => (j === i ? pq.layers[i] : l)) }));
    for (const c of full.choices) {
      if (!c.book) continue;
      const l = m.layers[c.layer] as WeightLayer;
      const cb = books[c.book] as Codebook;
      const options: ProtectCandidate['options'] = [{ level: 'assigned', bytes: pqLayerBytes(l, cb.d, cb.index_bits), loss: base - only(full.pq, c.layer) }];
      const fb = c.pq ? fineBooks[c.pq] : undefined;
      if (!c.book.endsWith('_fine') && fb && isPqLayer(fine.pq.layers[c.layer])) {
        options.push({ level: 'fine', bytes: pqLayerBytes(l, fb.d, fb.index_bits), loss: base - only(fine.pq, c.layer) });
      }
      options.push({ level: 'int8', bytes: l.weights.length, loss: 0 });
      cands.push({ model: m.name, layer: c.layer, options });
    }
  }
  const budget = Math.max(0, Math.floor(fp32Bytes / o.protectRatio - currentPqBytes));
  const plan = planProtection(cands, budget, o.protectMinGain);
  const seconds = (Date.now() - t0) / 1000;
  for (const mv of plan.moves) log(`sensitivity heuristic: ${mv.model} layer ${mv.layer} -> ${mv.level} (+${mv.bytes} B, removes ${(100 * mv.gain).toFixed(1)} points of validation top-1 loss as assigned)`);
  log(`sensitivity heuristic: ${plan.spent} of ${budget} B spent (fp32 / ${o.protectRatio}), ${seconds.toFixed(1)} s`);
  return {
    rule: 'models whose validation top-1 after fine-tuning is more than the budget below int8 (validation = train-split hold-out, never test); per compressed layer of those: loss = validation top-1 of int8 minus that with only this layer compressed as assigned; greedily move the layer (to the fine codebook or int8) with the most loss removed per extra byte, at least min_gain, while the compressed set stays within fp32 bytes / ratio; re-compress + fine-tune, keep if the validation gap shrinks',
    ratio: o.protectRatio, budget_bytes: budget, spent_bytes: plan.spent, min_gain: o.protectMinGain, candidates: cands, moves: plan.moves, seconds, outcome: [],
  };
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
  seconds: { codebooks_and_assign: number; sensitivity: number; leave_one_out: number; evaluation: number; finetune: number };
  models: ModelReport[];
  /** models left int8 (the pq firmware holds them uncompressed), with the reason */
  excluded: { model: string; reason: string }[];
  total: { params: number; fp32_bytes: number; int8_bytes: number; pq_bytes: number; ratio_fp32: number; ratio_int8: number };
  /** the sensitivity heuristic's measurements and moves (null: off) */
  protection: ProtectionReport | null;
}

/** One model to fine-tune: its int8 self, the pq model as assigned, their test top-1 (for the log). */
export interface FinetuneJob {
  int8: Int8Model;
  pq: PqModel;
  int8Top1: number;
  assignedTop1: number;
}

export interface CompressOptions {
  models?: string[];
  pq?: Partial<PqOptions>;
  /** skip the leave-one-out study */
  noLeaveOneOut?: boolean;
  /** test samples for host evaluation (default all) */
  samples?: number;
  /**
   * fine-tunes models (needs float.json + train split), results in job order (null: left as
   * assigned); see compress/finetune.ts and finetune-pool.ts (one worker thread per model)
   */
  finetune?: (jobs: FinetuneJob[], log: (s: string) => void) => Promise<FinetuneResult[]>;
  log?: (s: string) => void;
  modelsDir?: string;
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

export async function runCompress(opts: CompressOptions = {}): Promise<CompressionReport> {
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

  // 3. host evaluation, 4. optional fine-tuning (all models at once, one worker each)
  let tEval = 0;
  let tFt = 0;
  const timed = <T>(f: () => T, add: (s: number) => void): T => {
    const t = Date.now();
    const r = f();
    add((Date.now() - t) / 1000);
    return r;
  };
  const ctxs = models.map((m, i) => timed(() => ({ int8Top1: hostTop1(m, opts.samples), assigned: hostTop1(compressed[i].pq, opts.samples) }), (s) => (tEval += s)));
  const tuneAll = async (jobs: FinetuneJob[]): Promise<FinetuneResult[]> => {
    if (!opts.finetune || jobs.length === 0) return jobs.map(() => null);
    const t = Date.now();
    const r = await opts.finetune(jobs, log);
    tFt += (Date.now() - t) / 1000;
    return r;
  };
  const tuned = await tuneAll(models.map((m, i) => ({ int8: m, pq: compressed[i].pq, int8Top1: ctxs[i].int8Top1, assignedTop1: ctxs[i].assigned })));
  const finals: PqModel[] = [];
  const gaps: number[] = [];
  const reports: ModelReport[] = models.map((m, i) => {
    const r = tuned[i];
    const pq = r ? r.pq : compressed[i].pq;
    const top1 = r ? timed(() => hostTop1(pq, opts.samples), (s) => (tEval += s)) : ctxs[i].assigned;
    gaps.push(r ? validationGap(r.info) : 0);
    finals.push(pq);
    log(`${m.name}: int8 ${(100 * ctxs[i].int8Top1).toFixed(2)} %, pq assigned ${(100 * ctxs[i].assigned).toFixed(2)} %, final ${(100 * top1).toFixed(2)} %`);
    return {
      model: m.name, dataset: m.dataset, int8_hash: modelHash(m), pq_hash: deployHash(pq), layers: compressed[i].choices,
      weight_rel_error: compressed[i].relError, bytes: undefined as unknown as ModelBytes,
      fp32_top1: reportedFp32Top1(join(dir, m.name)), int8_top1: ctxs[i].int8Top1, pq_top1_assigned: ctxs[i].assigned, pq_top1: top1,
      finetuned: r ? r.info : null, leave_one_out: loo[i],
    };
  });

  // 5. the sensitivity heuristic (closed loop): models still short of the budget on validation after
  // fine-tuning get the bytes left under fp32 / protectRatio, spent on their most sensitive layers
  // (same codebooks); they are re-compressed and fine-tuned again, and the better of the two (by
  // validation top-1) is kept.
  let protection: ProtectionReport | null = null;
  const budget = DEFAULT_FINETUNE.budget;
  const short = models.filter((_, i) => gaps[i] > budget + 1e-9);
  if (opts.finetune && o.protectRatio > 0 && short.length > 0) {
    const b0 = accountSet(models.map((m, i) => ({ int8: m, pq: finals[i] })));
    protection = protectSensitive(short, books, o, b0.reduce((a, b) => a + b.pqBytes, 0), b0.reduce((a, b) => a + b.fp32Bytes, 0), log);
    const levels: PqOptions['layers'] = {};
    for (const mv of protection.moves) (levels[mv.model] ??= {})[String(mv.layer)] = mv.level;
    const moved = Object.keys(levels).map((name) => {
      const i = models.findIndex((m) => m.name === name);
      const c = compressModel(models[i], books, { ...o, layers: levels });
      const assigned = timed(() => hostTop1(c.pq, opts.samples), (s) => (tEval += s));
      return { name, i, c, assigned };
    });
    const again = await tuneAll(moved.map(({ i, c, assigned }) => ({ int8: models[i], pq: c.pq, int8Top1: ctxs[i].int8Top1, assignedTop1: assigned })));
    moved.forEach(({ name, i, c, assigned }, j) => {
      const m = models[i];
      const r = again[j];
      const gap = r ? validationGap(r.info) : 0;
      const keep = gap < gaps[i];
      log(`${m.name}: with layers ${Object.entries(levels[name]).map(([l, v]) => `${l} ${v}`).join(', ')}: validation gap ${(100 * gap).toFixed(2)} points (was ${(100 * gaps[i]).toFixed(2)}): ${keep ? 'kept' : 'discarded'}`);
      protection?.outcome.push({ model: name, layers: levels[name], gap_before: gaps[i], gap_after: gap, kept: keep });
      if (!keep) return;
      const pq = r ? r.pq : c.pq;
      const top1 = timed(() => hostTop1(pq, opts.samples), (s) => (tEval += s));
      log(`${m.name}: int8 ${(100 * ctxs[i].int8Top1).toFixed(2)} %, pq assigned ${(100 * assigned).toFixed(2)} %, final ${(100 * top1).toFixed(2)} %`);
      finals[i] = pq;
      gaps[i] = gap;
      reports[i] = {
        ...reports[i], pq_hash: deployHash(pq), layers: c.choices, weight_rel_error: c.relError, pq_top1_assigned: assigned, pq_top1: top1,
        finetuned: r ? r.info : null,
      };
    });
  }
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
    seconds: { codebooks_and_assign: tAssign, sensitivity: protection?.seconds ?? 0, leave_one_out: tLoo, evaluation: tEval, finetune: tFt },
    models: reports,
    protection,
    excluded: set.excluded,
    total,
  };
  writeFileSync(join(dir, 'compression.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}
