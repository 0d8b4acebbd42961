/** Model zoo: architectures and training hyper-parameters (fixed seeds, reproducible). */
import type { DatasetName } from '../datasets/prepared.js';
import type { AugmentSpec } from './augment.js';
import type { LayerSpec } from './nn/model.js';

export interface ZooEntry {
  name: string;
  dataset: DatasetName;
  description: string;
  layers: LayerSpec[];
  train: { epochs: number; batchSize: number; lr: number; lrFinal: number; seed: number };
  /** optional seeded training-time augmentation (harness/modeltools/augment.ts) */
  augment?: AugmentSpec;
  /** calibration samples drawn (seeded) from the train split for activation ranges */
  calibrationSamples: number;
  /**
   * false: an evaluation-only model, written to models/_eval/<name>/ so it is never put on a
   * board (model sets list models/<name>/int8.json only). Default true.
   */
  deploy?: boolean;
}

export const ZOO: Record<string, ZooEntry> = {
  fmnist_cnn: {
    name: 'fmnist_cnn',
    dataset: 'fashion_mnist',
    description: 'conv3x3(8)-pool-conv3x3(16)-pool-dense32-dense10 on 28x28x1',
    layers: [
      { op: 'conv2d', filters: 8, kh: 3, kw: 3, padding: 'valid' },
      { op: 'relu' },
      { op: 'maxpool2d', kh: 2, kw: 2 },
      { op: 'conv2d', filters: 16, kh: 3, kw: 3, padding: 'valid' },
      { op: 'relu' },
      { op: 'maxpool2d', kh: 2, kw: 2 },
      { op: 'flatten' },
      { op: 'dense', units: 32 },
      { op: 'relu' },
      { op: 'dense', units: 10 },
    ],
    train: { epochs: 6, batchSize: 32, lr: 0.002, lrFinal: 0.02, seed: 1 },
    calibrationSamples: 1000,
  },
  hapt_cnn: {
    name: 'hapt_cnn',
    dataset: 'uci_hapt',
    description: '1-D CNN conv5(16)-pool-conv5(32)-pool-conv3(32)-GAP-dense12 on 128x6 IMU windows',
    layers: [
      { op: 'conv2d', filters: 16, kh: 1, kw: 5, padding: 'same' },
      { op: 'relu' },
      { op: 'maxpool2d', kh: 1, kw: 2 },
      { op: 'conv2d', filters: 32, kh: 1, kw: 5, padding: 'same' },
      { op: 'relu' },
      { op: 'maxpool2d', kh: 1, kw: 2 },
      { op: 'conv2d', filters: 32, kh: 1, kw: 3, padding: 'same' },
      { op: 'relu' },
      { op: 'avgpool_global' },
      { op: 'dense', units: 12 },
    ],
    train: { epochs: 30, batchSize: 32, lr: 0.002, lrFinal: 0.02, seed: 1 },
    calibrationSamples: 1000,
  },
  kws_dscnn: {
    name: 'kws_dscnn',
    dataset: 'fsdd',
    description: 'DS-CNN keyword spotter: conv10x4/s2(24)-2x[dw3x3-pw1x1(24)]-GAP-dense10 on 49x13 MFCCs',
    layers: dscnn(),
    train: { epochs: 40, batchSize: 32, lr: 0.003, lrFinal: 0.02, seed: 1 },
    calibrationSamples: 1000,
  },
  kws_dscnn_spk: {
    name: 'kws_dscnn_spk',
    dataset: 'fsdd_speaker',
    description: 'kws_dscnn trained without one speaker (fsdd_speaker split): speaker-independent figure',
    layers: dscnn(),
    train: { epochs: 40, batchSize: 32, lr: 0.003, lrFinal: 0.02, seed: 1 },
    calibrationSamples: 1000,
    // ~33 % top-1 on the held-out speaker: a finding to report, not a model to deploy
    deploy: false,
  },
  racket_cnn: {
    name: 'racket_cnn',
    dataset: 'uea_racketsports',
    description: '1-D CNN conv5(32)-conv3(32)-pool-conv3(32)-GAP-dense4 on 30x6 smartwatch IMU',
    layers: [
      { op: 'conv2d', filters: 32, kh: 1, kw: 5, padding: 'same' },
      { op: 'relu' },
      { op: 'conv2d', filters: 32, kh: 1, kw: 3, padding: 'same' },
      { op: 'relu' },
      { op: 'maxpool2d', kh: 1, kw: 2 },
      { op: 'conv2d', filters: 32, kh: 1, kw: 3, padding: 'same' },
      { op: 'relu' },
      { op: 'avgpool_global' },
      { op: 'dense', units: 4 },
    ],
    train: { epochs: 150, batchSize: 16, lr: 0.002, lrFinal: 0.02, seed: 1 },
    augment: { timeAxis: 'w', maxShift: 3, gain: 0.1 },
    calibrationSamples: 151,
  },
  pickup_cnn: {
    name: 'pickup_cnn',
    dataset: 'ucr_pickupgesturewiimotez',
    description: '1-D CNN conv7(16)-avgpool4-conv5(32)-avgpool4-conv3(32)-GAP-dense10 on 361-sample Wiimote z',
    layers: [
      { op: 'conv2d', filters: 16, kh: 1, kw: 7, padding: 'same' },
      { op: 'relu' },
      { op: 'avgpool2d', kh: 1, kw: 4 },
      { op: 'conv2d', filters: 32, kh: 1, kw: 5, padding: 'same' },
      { op: 'relu' },
      { op: 'avgpool2d', kh: 1, kw: 4 },
      { op: 'conv2d', filters: 32, kh: 1, kw: 3, padding: 'same' },
      { op: 'relu' },
      { op: 'avgpool_global' },
      { op: 'dense', units: 10 },
    ],
    train: { epochs: 100, batchSize: 10, lr: 0.002, lrFinal: 0.02, seed: 1 },
    augment: { timeAxis: 'w', maxShift: 20, gain: 0.1 },
    calibrationSamples: 50,
  },
};

/** DS-CNN (Zhang et al., "Hello Edge", 2017) scaled down: one strided conv, then depthwise-separable blocks. */
function dscnn(): LayerSpec[] {
  const block: LayerSpec[] = [
    { op: 'depthwise_conv2d', kh: 3, kw: 3, padding: 'same' },
    { op: 'relu' },
    { op: 'conv2d', filters: 24, kh: 1, kw: 1, padding: 'valid' },
    { op: 'relu' },
  ];
  return [
    { op: 'conv2d', filters: 24, kh: 10, kw: 4, stride: [2, 2], padding: 'same' },
    { op: 'relu' },
    ...block,
    ...block,
    { op: 'avgpool_global' },
    { op: 'dense', units: 10 },
  ];
}

export function zooEntry(name: string): ZooEntry | undefined {
  return Object.prototype.hasOwnProperty.call(ZOO, name) ? ZOO[name] : undefined;
}
