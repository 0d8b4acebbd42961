/**
 * Byte accounting of compression.csv / compression.json (the same definitions as the train
 * report's int8_bytes): weights plus biases as stored; requant tables (multiplier/shift, the same
 * in both variants) and layer descriptors are not counted.
 * - fp32 bytes = 4 * params (weights + biases)
 * - int8 bytes = int8 weights + 4 * biases
 * - pq bytes = packed indices + this model's share of each shared codebook it uses (codebook
 *   bytes * its indices / all indices of the model set in that codebook) + int8 weights of the
 *   layers that stay int8 + 4 * their biases + 2 * the biases of pq layers (the device stores
 *   a pq layer's effective bias as int16 << shift, SPEC section 4)
 */
import type { Int8Model } from '../modeltools/int8-model.js';
import { isPqLayer, packedRowBytes, rowShape } from './pq-model.js';
import type { Codebook, PqModel } from './pq-model.js';

export interface ModelBytes {
  params: number;
  fp32Bytes: number;
  int8Bytes: number;
  /** packed indices */
  indexBytes: number;
  /** this model's share of the shared codebooks */
  codebookShare: number;
  /** int8 weights of uncompressed layers */
  int8PartBytes: number;
  biasBytes: number;
  pqBytes: number;
}

export function codebookBytes(cb: Codebook): number {
  return cb.k * cb.d;
}

function indexCount(m: PqModel, id: string): number {
  let n = 0;
  for (const l of m.layers) if (isPqLayer(l) && l.codebook.id === id) n += l.indices.length;
  return n;
}

export function int8Bytes(m: Int8Model): { params: number; bytes: number } {
  let params = 0;
  let bytes = 0;
  for (const l of m.layers) {
    if (l.op === 'conv2d' || l.op === 'dense' || l.op === 'depthwise_conv2d') {
      params += l.weights.length + l.bias.length;
      bytes += l.weights.length + 4 * l.bias.length;
    }
  }
  return { params, bytes };
}

/** Bytes of each pq model in a set that shares codebooks (shares sum to the codebooks' size). */
export function accountSet(pairs: { int8: Int8Model; pq: PqModel }[]): ModelBytes[] {
  const totals: Record<string, number> = {};
  const books: Record<string, Codebook> = {};
  for (const { pq } of pairs) {
    for (const cb of Object.values(pq.codebooks)) {
      books[cb.id] = cb;
      totals[cb.id] = (totals[cb.id] ?? 0) + indexCount(pq, cb.id);
    }
  }
  return pairs.map(({ int8, pq }) => {
    const { params, bytes } = int8Bytes(int8);
    let indexBytes = 0;
    let int8PartBytes = 0;
    let biasBytes = 0;
    for (const l of pq.layers) {
      if (isPqLayer(l)) {
        const cb = books[l.codebook.id];
        const { oc, row } = rowShape(l);
        indexBytes += oc * packedRowBytes(row / cb.d, cb.index_bits);
        biasBytes += 2 * l.bias.length; // effective bias as int16 << shift (SPEC section 4)
      } else if (l.op === 'conv2d' || l.op === 'dense' || l.op === 'depthwise_conv2d') {
        int8PartBytes += l.weights.length;
        biasBytes += 4 * l.bias.length;
      }
    }
    let codebookShare = 0;
    for (const id of Object.keys(pq.codebooks)) {
      if (totals[id] > 0) codebookShare += (codebookBytes(books[id]) * indexCount(pq, id)) / totals[id];
    }
    return {
      params, fp32Bytes: 4 * params, int8Bytes: bytes, indexBytes, codebookShare, int8PartBytes, biasBytes,
      pqBytes: indexBytes + codebookShare + int8PartBytes + biasBytes,
    };
  });
}
