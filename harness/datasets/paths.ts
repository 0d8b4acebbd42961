import { join, resolve } from 'node:path';
import { ROOT } from '../util/paths.js';

/** Folder holding the shared raw data sets (uci_hapt/, ...). */
export function rawDataDir(override?: string): string {
  return resolve(override ?? process.env.YONO_DATA_DIR ?? join(ROOT, '..', 'shared', 'datasets'));
}

/** Folder holding the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist). */
export function fmnistDir(override?: string): string {
  return resolve(override ?? process.env.YONO_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist');
}

/** Root of the prepared data sets (git-ignored). */
export function preparedRoot(override?: string): string {
  return resolve(override ?? join(ROOT, 'datasets', 'prepared'));
}
