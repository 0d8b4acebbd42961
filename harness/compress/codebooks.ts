/**
 * Shared codebooks (YONO): which layers are compressed (a stated heuristic), pooling their
 * sub-vectors over all models, k-means per codebook kind, and re-assigning a layer's sub-vectors
 * to the nearest codewords with a per-channel rescale.
 *
 * Everything happens in the int8 domain: an int8 weight row is already the channel's weights
 * normalised by its scale (w_float / w_scale[oc], max |.| = 127), so sub-vectors of all models are
 * comparable and the decoded weights are exact int8 integers that device and host share.
 */
import type { Conv2dLayer, DenseLayer, Int8Layer, Int8Model } from '../modeltools/int8-model.js';
import { quantizeMultiplier } from '../modeltools/quantize.js';
import { kmeans, nearest } from './kmeans.js';
import { CODEBOOK_FORMAT, codebookHash, indexBitsFor, rowShape, snapPqBias } from './pq-model.js';
import type { Codebook, CodebookKind, PqLayer } from './pq-model.js';

export interface PqOptions {
  /** sub-vector length and codebook size of the kxk (kh*kw > 1 conv) codebook */
  kxkD: number;
  kxkK: number;
  /** the same for the fc (1x1 conv + dense) codebook */
  fcD: number;
  fcK: number;
  /** layers with fewer weights stay int8 (indices + codebook would not pay, and they are sensitive) */
  minWeights: number;
  seed: number;
  /** rescale/re-assign alternations per channel */
  assignRounds: number;
  /** also compress a model's first weight layer when its row length allows (it is fine-tuned like the rest) */
  pqFirst: boolean;
  /**
   * Layers with fewer weights than this (and first layers) use the `fine` codebooks (kxk_fine,
   * fc_fine) of sub-vector length fineD: small layers are the most sensitive (measured on fmnist:
   * its 1152-weight conv alone costs 20 points as assigned, its 12800-weight dense 8) and cost
   * few bytes at any rate. 0 = no fine codebooks.
   */
  fineBelow: number;
  fineD: number;
  fineK: number;
  /**
   * Per-layer decisions of the sensitivity heuristic (planProtection; model -> layer index ->
   * 'fine' | 'int8'), applied on top of the rules above. Filled by `hil compress`.
   */
  layers: Record<string, Record<string, ProtectLevel>>;
  /**
   * Byte budget of the sensitivity heuristic: protect layers until the compressed set reaches
   * fp32 bytes / protectRatio (0 = off). protectMinGain: a move must buy at least this much
   * validation top-1 (a fraction).
   */
  protectRatio: number;
  protectMinGain: number;
}

/** A layer moved up by the sensitivity heuristic: to the fine (d = fineD) codebook, or kept int8. */
export type ProtectLevel = 'fine' | 'int8';

/**
 * Defaults chosen for a zoo of small models (2.8k-14k weights each): two codebooks of 16 codewords
 * of d = 4 (64 B each, 4-bit indices = 1 bit per weight). At the same 1 bit/weight, d = 8 / k = 256
 * reconstructs better (relative error ~0.22 vs ~0.33) but its 2 KiB codebooks alone are ~1/4 of the
 * zoo's budget at 16x; fine-tuning recovers the difference (see compression.json).
 */
export const DEFAULT_PQ_OPTIONS: PqOptions = {
  kxkD: 4, kxkK: 16, fcD: 4, fcK: 16, minWeights: 0, seed: 1, assignRounds: 3, pqFirst: true, fineBelow: 2048, fineD: 2, fineK: 16,
  layers: {}, protectRatio: 16.2, protectMinGain: 0.01,
};

/** Codebook ids (base names; leave-one-out codebooks add a suffix to the stored id). */
export type BookId = 'kxk' | 'fc' | 'kxk_fine' | 'fc_fine';
export const BOOK_IDS: readonly BookId[] = ['kxk', 'fc', 'kxk_fine', 'fc_fine'];

function bookKind(id: BookId): CodebookKind {
  return id.startsWith('kxk') ? 'kxk' : 'fc';
}

export type WeightLayer = Conv2dLayer | DenseLayer;

export interface LayerChoice {
  layer: number;
  op: Int8Layer['op'];
  weights: number;
  /** the codebook kind, or null: the layer stays int8 */
  pq: CodebookKind | null;
  /** the codebook (base id) the layer uses */
  book: BookId | null;
  reason: string;
}

export function kindOf(l: WeightLayer): CodebookKind {
  return l.op === 'conv2d' && l.kh * l.kw > 1 ? 'kxk' : 'fc';
}

function dOf(id: BookId, o: PqOptions): number {
  return id.endsWith('_fine') ? o.fineD : id === 'kxk' ? o.kxkD : o.fcD;
}

function kOf(id: BookId, o: PqOptions): number {
  return id.endsWith('_fine') ? o.fineK : id === 'kxk' ? o.kxkK : o.fcK;
}

/**
 * The heuristic: a conv2d/dense layer is compressed unless it is the model's first weight layer
 * and pqFirst is off (it sees the raw input), has fewer than minWeights weights, or its
 * row length (kh*kw*ic or in_features) is not a multiple of the codebook's d. depthwise_conv2d
 * stays int8 (kh*kw weights per channel: nothing to share, and it is a small share of the bytes).
 */
export function chooseLayers(m: Int8Model, o: PqOptions): LayerChoice[] {
  const out: LayerChoice[] = [];
  let firstSeen = false;
  m.layers.forEach((l, i) => {
    if (l.op !== 'conv2d' && l.op !== 'dense' && l.op !== 'depthwise_conv2d') return;
    const weights = l.weights.length;
    const first = !firstSeen;
    firstSeen = true;
    const int8 = (reason: string) => out.push({ layer: i, op: l.op, weights, pq: null, book: null, reason });
    if (l.op === 'depthwise_conv2d') return int8('depthwise');
    if (first && !o.pqFirst) return int8('first weight layer');
    if (weights < o.minWeights) return int8(`< ${o.minWeights} weights`);
    const protect = o.layers?.[m.name]?.[String(i)];
    if (protect === 'int8') return int8('sensitive: kept int8 (sensitivity heuristic)');
    const kind = kindOf(l);
    const fine = first || weights < o.fineBelow || protect === 'fine';
    const book: BookId = fine && (o.fineBelow > 0 || protect === 'fine') ? `${kind}_fine` : kind;
    const { row } = rowShape(l);
    if (row % dOf(book, o) !== 0) return int8(`row ${row} not a multiple of d=${dOf(book, o)}`);
    const why = book === kind ? `${kind} codebook` : `${book} codebook (${protect === 'fine' ? 'sensitive: sensitivity heuristic' : first ? 'first weight layer' : `< ${o.fineBelow} weights`})`;
    return out.push({ layer: i, op: l.op, weights, pq: kind, book, reason: why });
  });
  return out;
}

/**
 * The sub-vectors of every chosen layer of the given models for one codebook, pooled. `anySize`:
 * every pq layer of the codebook's kind whose row fits its d (leave-one-out: when no other model
 * has a layer for this codebook, it is learned from their layers of the same kind).
 */
export function poolSubvectors(models: Int8Model[], book: BookId, o: PqOptions, anySize = false): Float64Array {
  const chunks: number[][] = [];
  for (const m of models) {
    for (const c of chooseLayers(m, o)) {
      const w = m.layers[c.layer] as WeightLayer;
      const fits = anySize && c.pq === bookKind(book) && rowShape(w).row % dOf(book, o) === 0;
      if (c.book === book || fits) chunks.push(w.weights);
    }
  }
  const total = chunks.reduce((a, w) => a + w.length, 0);
  const x = new Float64Array(total);
  let off = 0;
  for (const w of chunks) {
    x.set(w, off);
    off += w.length;
  }
  return x;
}

/** Learns one shared codebook (k-means++ seeded, then codewords rounded to int8); null if no layer uses it. */
export function learnCodebook(book: BookId, models: Int8Model[], o: PqOptions, suffix = '', fallback = false): Codebook | null {
  const id = `${book}${suffix}`;
  const kind = bookKind(book);
  const d = dOf(book, o);
  const k = kOf(book, o);
  const own = poolSubvectors(models, book, o);
  const x = own.length > 0 || !fallback ? own : poolSubvectors(models, book, o, true);
  const codewords = new Array<number>(k * d).fill(0);
  if (x.length === 0) return null;
  {
    const r = kmeans(x, d, k, { seed: o.seed + 1000 * BOOK_IDS.indexOf(book), maxIter: 30 });
    for (let i = 0; i < k * d; i++) codewords[i] = Math.max(-127, Math.min(127, Math.round(r.centroids[i])));
  }
  const cb: Codebook = {
    format: CODEBOOK_FORMAT, id, kind, d, k, index_bits: indexBitsFor(k), codewords,
    learned_from: models.map((m) => m.name), hash: '',
  };
  cb.hash = codebookHash(cb);
  return cb;
}

export interface Assignment {
  indices: number[];
  /** per output channel: new weight scale / old weight scale */
  ratio: number[];
  /** sum of squared errors of the (rescaled) int8 rows, over the sum of squares of the rows */
  relError: number;
}

/**
 * Assigns each sub-vector of a row to its nearest codeword, alternating with the per-channel
 * least-squares scale r (row ~= r * decoded): r absorbs a row whose magnitudes the codebook does
 * not match. `target` is the row in int8 units (the original weights, or fine-tuned floats / scale).
 * `h` (optional, one weight per row position): distances and the scale are weighted by it, e.g. by
 * the second moment of the input each weight multiplies (fine-tuning), so the error lands where
 * the layer's inputs are small.
 */
export function assignRows(target: ArrayLike<number>, oc: number, row: number, cb: Codebook, rounds: number, h?: ArrayLike<number>): Assignment {
  const s = row / cb.d;
  const words = Float64Array.from(cb.codewords); // one array type for nearest(): keeps V8 monomorphic
  const indices = new Array<number>(oc * s);
  const ratio = new Array<number>(oc).fill(1);
  const scaled = new Float64Array(row);
  const hw = h ? Float64Array.from(h) : null;
  const d = cb.d;
  let err = 0;
  let norm = 0;
  for (let c = 0; c < oc; c++) {
    let r = 1;
    let rowErr = 0;
    for (let round = 0; round < Math.max(1, rounds); round++) {
      for (let t = 0; t < row; t++) scaled[t] = target[c * row + t] / r;
      let wc = 0;
      let cc = 0;
      for (let j = 0; j < s; j++) {
        let best = 0;
        if (hw) {
          let bestD = Infinity;
          for (let q = 0; q < cb.k; q++) {
            let dist = 0;
            for (let t = 0; t < d; t++) {
              const diff = scaled[j * d + t] - words[q * d + t];
              dist += hw[j * d + t] * diff * diff;
            }
            if (dist < bestD) {
              bestD = dist;
              best = q;
            }
          }
        } else [best] = nearest(scaled, j, words, cb.k, d);
        indices[c * s + j] = best;
        for (let t = 0; t < d; t++) {
          const cv = cb.codewords[best * d + t];
          const wt = hw ? hw[j * d + t] : 1;
          wc += wt * target[c * row + j * d + t] * cv;
          cc += wt * cv * cv;
        }
      }
      // r in [1/4, 4]: keeps the requant multiplier and bias well inside their ranges
      const next = cc > 0 && wc > 0 ? Math.max(0.25, Math.min(4, wc / cc)) : r;
      rowErr = 0;
      for (let j = 0; j < s; j++) {
        for (let t = 0; t < d; t++) {
          const diff = target[c * row + j * d + t] - next * cb.codewords[indices[c * s + j] * d + t];
          rowErr += diff * diff;
        }
      }
      r = next;
    }
    ratio[c] = r;
    err += rowErr;
    for (let t = 0; t < row; t++) norm += target[c * row + t] ** 2;
  }
  return { indices, ratio, relError: norm > 0 ? err / norm : 0 };
}

/**
 * A conv2d/dense int8 layer as a pq layer: weights -> indices; the per-channel rescale r moves
 * into the requant multiplier (M' ~= M * r) and the bias (b' = b / r), so the layer still computes
 * real = in_scale * w_scale * r * (acc).
 */
export function toPqLayer(l: WeightLayer, cb: Codebook, a: Assignment): PqLayer {
  const bias = l.bias.map((b, c) => Math.round(b / a.ratio[c]));
  const mult: number[] = [];
  const shift: number[] = [];
  l.multiplier.forEach((m, c) => {
    const q = quantizeMultiplier(m * 2 ** -l.shift[c] * a.ratio[c]);
    mult.push(q.multiplier);
    shift.push(q.shift);
  });
  const codebook = { id: cb.id, hash: cb.hash };
  const { weights: _w, op, ...rest } = l;
  const base = { ...rest, bias, multiplier: mult, shift, codebook, indices: a.indices };
  const pq = op === 'conv2d' ? ({ ...(base as Omit<typeof base, 'in_features' | 'out_features'>), op: 'conv2d_pq' } as PqLayer) : ({ ...base, op: 'dense_pq' } as PqLayer);
  return snapPqBias(pq, cb); // the device stores the effective bias as int16 << shift
}

/** One rung of a layer's ladder for the sensitivity heuristic: its bytes and measured top-1 loss. */
export interface ProtectOption {
  level: 'assigned' | ProtectLevel;
  /** index (or int8 weight) bytes of the layer at this level */
  bytes: number;
  /** validation top-1 of the int8 model minus that with only this layer compressed at this level (int8: 0) */
  loss: number;
}

export interface ProtectCandidate {
  model: string;
  layer: number;
  /** rungs by increasing bytes; [0] is the layer as the rules above compress it */
  options: ProtectOption[];
}

export interface ProtectMove {
  model: string;
  layer: number;
  level: ProtectLevel;
  gain: number;
  bytes: number;
}

/**
 * The sensitivity heuristic: greedily take the move (a layer from its current rung to a costlier
 * one) with the most top-1 loss removed per extra byte, while it removes at least minGain and
 * fits in the remaining bytes; repeat until none fits. Deterministic (ties: earlier candidate,
 * cheaper move). Returns the moves in the order taken and each layer's final level.
 */
export function planProtection(cands: ProtectCandidate[], budgetBytes: number, minGain: number): { moves: ProtectMove[]; levels: Record<string, Record<string, ProtectLevel>>; spent: number } {
  const at = cands.map(() => 0);
  const moves: ProtectMove[] = [];
  let left = budgetBytes;
  for (;;) {
    let best: { c: number; j: number; gain: number; cost: number } | null = null;
    cands.forEach((cand, c) => {
      const cur = cand.options[at[c]];
      for (let j = at[c] + 1; j < cand.options.length; j++) {
        const gain = cur.loss - cand.options[j].loss;
        const cost = cand.options[j].bytes - cur.bytes;
        if (gain < minGain - 1e-12 || cost > left) continue;
        const rate = gain / Math.max(cost, 1);
        if (!best || rate > best.gain / Math.max(best.cost, 1) + 1e-12) best = { c, j, gain, cost };
      }
    });
    if (!best) break;
    const { c, j, gain, cost } = best as { c: number; j: number; gain: number; cost: number };
    at[c] = j;
    left -= cost;
    moves.push({ model: cands[c].model, layer: cands[c].layer, level: cands[c].options[j].level as ProtectLevel, gain, bytes: cost });
  }
  const levels: Record<string, Record<string, ProtectLevel>> = {};
  cands.forEach((cand, c) => {
    if (at[c] === 0) return;
    (levels[cand.model] ??= {})[String(cand.layer)] = cand.options[at[c]].level as ProtectLevel;
  });
  return { moves, levels, spent: budgetBytes - left };
}
