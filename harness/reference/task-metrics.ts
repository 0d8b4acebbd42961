/**
 * Metrics of tasks other than classification, from int8 output vectors: an autoencoder's
 * reconstruction error and the AUC of anomaly detection, as MLPerf Tiny reports it for ad01.
 */
import type { Int8Model } from '../modeltools/int8-model.js';

/**
 * Mean squared error between the input and its reconstruction, both dequantized (the ad01 DUT's
 * score: the mean over the 640 values of (input - output)^2). The input is the int8 the device ran.
 */
export function reconstructionError(model: Pick<Int8Model, 'input' | 'output'>, input: Int8Array, output: Int8Array): number {
  const n = Math.min(input.length, output.length);
  const { scale: si, zero_point: zi } = model.input;
  const { scale: so, zero_point: zo } = model.output;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = (input[i] - zi) * si - (output[i] - zo) * so;
    sum += d * d;
  }
  return n ? sum / n : 0;
}

export interface AucResult {
  /**
   * MLPerf Tiny's runner (benchmark/runner main.py, calculate_auc): per-file scores min-max
   * normalized, 101 thresholds 0, 0.01 .. 1, a sample positive when its score is above the
   * threshold, the ROC curve integrated by trapezoids, averaged over the two classes (anomaly
   * scored by the normalized error, normal by 1 - it). NaN when one class is missing.
   */
  auc: number;
  /** the exact ROC AUC (Mann-Whitney, ties half), sklearn's roc_auc_score: the training-side figure */
  exact: number;
  /** files (or samples) scored */
  files: number;
}

/**
 * AUC of anomaly scores (higher = more anomalous) against labels 0 normal / 1 anomaly. With
 * `groups` (ad01: windows of one file), a file's score is the mean of its windows' scores and its
 * label the first window's, as the runner averages a file's results.
 */
export function anomalyAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, groups?: ArrayLike<number>): AucResult {
  const byFile = new Map<number, { sum: number; n: number; label: number }>();
  for (let i = 0; i < scores.length; i++) {
    const g = groups ? groups[i] : i;
    const f = byFile.get(g) ?? { sum: 0, n: 0, label: labels[i] };
    f.sum += scores[i];
    f.n++;
    byFile.set(g, f);
  }
  const files = [...byFile.values()];
  const s = files.map((f) => f.sum / f.n);
  const y = files.map((f) => (f.label === 0 ? 0 : 1));
  return { auc: runnerAuc(s, y), exact: exactAuc(s, y), files: files.length };
}

function runnerAuc(s: number[], y: number[]): number {
  const pos = y.filter((v) => v === 1).length;
  if (pos === 0 || pos === y.length) return NaN;
  const min = Math.min(...s);
  const max = Math.max(...s);
  const v = s.map((x) => (x - min) / (max - min + 1e-10));
  const curve = (score: number[], positive: number) => {
    const p = y.filter((l) => l === positive).length;
    const n = y.length - p;
    const fpr = [1];
    const tpr = [1];
    for (let k = 1; k <= 100; k++) {
      const t = k / 100;
      let tp = 0;
      let fp = 0;
      score.forEach((sc, i) => {
        if (sc > t) {
          if (y[i] === positive) tp++;
          else fp++;
        }
      });
      fpr.push(fp / n);
      tpr.push(tp / p);
    }
    let area = 0;
    for (let k = 0; k < 100; k++) area += 0.5 * (tpr[k] + tpr[k + 1]) * (fpr[k] - fpr[k + 1]);
    return area;
  };
  return (curve(v, 1) + curve(v.map((x) => 1 - x), 0)) / 2;
}

function exactAuc(s: number[], y: number[]): number {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return pairs ? wins / pairs : NaN;
}
