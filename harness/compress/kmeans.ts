/**
 * Seeded k-means (Lloyd) with k-means++ seeding over n points of dimension d, stored flat.
 * Deterministic for a given seed: the PRNG is the nn library's mulberry32 and every loop runs in
 * a fixed order, so the same weights give the same codebook on any machine.
 */
import { Rng } from '../modeltools/nn/prng.js';

export interface KMeansResult {
  /** k*d float centroids */
  centroids: Float64Array;
  assign: Int32Array;
  /** mean squared distance per point (per sub-vector, not per element) */
  inertia: number;
  iterations: number;
}

/** Index of the nearest of k centroids (first on ties) and its squared distance. */
export function nearest(points: Float64Array, p: number, centroids: Float64Array, k: number, d: number): [number, number] {
  let best = 0;
  let bestD = Infinity;
  const base = p * d;
  for (let c = 0; c < k; c++) {
    let dist = 0;
    const cb = c * d;
    for (let t = 0; t < d && dist < bestD; t++) {
      const diff = points[base + t] - centroids[cb + t];
      dist += diff * diff;
    }
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  return [best, bestD];
}

/** k-means++: first centre uniform, then each next one with probability ~ D(x)^2. */
function seedPlusPlus(x: Float64Array, n: number, d: number, k: number, rng: Rng): Float64Array {
  const cent = new Float64Array(k * d);
  const dist = new Float64Array(n).fill(Infinity);
  let first = rng.int(n);
  for (let c = 0; c < k; c++) {
    if (c > 0) {
      let total = 0;
      for (let i = 0; i < n; i++) total += dist[i];
      // all points already coincide with a centre: duplicate one (kept distinct by Lloyd's rule)
      let r = rng.next() * total;
      first = n - 1;
      if (total > 0) {
        for (let i = 0; i < n; i++) {
          r -= dist[i];
          if (r < 0) {
            first = i;
            break;
          }
        }
      } else first = rng.int(n);
    }
    for (let t = 0; t < d; t++) cent[c * d + t] = x[first * d + t];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = x[i * d + t] - cent[c * d + t];
        s += diff * diff;
      }
      if (s < dist[i]) dist[i] = s;
    }
  }
  return cent;
}

export function kmeans(x: Float64Array, d: number, k: number, o: { seed: number; maxIter?: number; tol?: number }): KMeansResult {
  const n = x.length / d;
  if (!Number.isInteger(n) || n === 0) throw new Error(`kmeans: ${x.length} values is not a positive multiple of d = ${d}`);
  const rng = new Rng(o.seed);
  const kk = Math.min(k, n);
  const cent = new Float64Array(k * d);
  cent.set(seedPlusPlus(x, n, d, kk, rng));
  const assign = new Int32Array(n);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  let inertia = Infinity;
  let it = 0;
  for (; it < (o.maxIter ?? 50); it++) {
    let total = 0;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const [c, dist] = nearest(x, i, cent, kk, d);
      assign[i] = c;
      total += dist;
      counts[c]++;
      for (let t = 0; t < d; t++) sums[c * d + t] += x[i * d + t];
    }
    for (let c = 0; c < kk; c++) {
      if (counts[c] === 0) {
        // empty cluster: move it to the point farthest from its centre (deterministic)
        let far = 0;
        let farD = -1;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let t = 0; t < d; t++) s += (x[i * d + t] - cent[assign[i] * d + t]) ** 2;
          if (s > farD) {
            farD = s;
            far = i;
          }
        }
        for (let t = 0; t < d; t++) cent[c * d + t] = x[far * d + t];
      } else {
        for (let t = 0; t < d; t++) cent[c * d + t] = sums[c * d + t] / counts[c];
      }
    }
    const prev = inertia;
    inertia = total / n;
    if (prev - inertia <= (o.tol ?? 1e-4) * Math.max(inertia, 1e-12)) {
      it++;
      break;
    }
  }
  // unused codewords (k > n) repeat the first so the codebook stays k long
  for (let c = kk; c < k; c++) for (let t = 0; t < d; t++) cent[c * d + t] = cent[t];
  return { centroids: cent, assign, inertia, iterations: it };
}
