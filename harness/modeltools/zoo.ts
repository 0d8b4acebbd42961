/** Model zoo: architectures and training hyper-parameters (fixed seeds, reproducible). */
import type { LayerSpec } from './nn/model.js';

export interface ZooEntry {
  name: string;
  dataset: 'fashion_mnist' | 'uci_hapt';
  description: string;
  layers: LayerSpec[];
  train: { epochs: number; batchSize: number; lr: number; lrFinal: number; seed: number };
  /** calibration samples drawn (seeded) from the train split for activation ranges */
  calibrationSamples: number;
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
};

export function zooEntry(name: string): ZooEntry | undefined {
  return Object.prototype.hasOwnProperty.call(ZOO, name) ? ZOO[name] : undefined;
}
