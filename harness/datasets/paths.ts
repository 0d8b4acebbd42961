import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { ROOT } from '../util/paths.js';

/**
 * Folder holding the shared raw data sets (uci_hapt/, ...): $YONO_DATA_DIR, else shared/datasets
 * beside the checkout, else beside the local checkout this one was cloned from (a scratch clone
 * of a lab checkout finds the same data without configuration).
 */
export function rawDataDir(override?: string): string {
  const explicit = override ?? process.env.YONO_DATA_DIR;
  if (explicit) return resolve(explicit);
  const beside = join(ROOT, '..', 'shared', 'datasets');
  if (existsSync(beside)) return resolve(beside);
  const origin = localOrigin();
  const besideOrigin = origin && join(origin, '..', 'shared', 'datasets');
  return resolve(besideOrigin && existsSync(besideOrigin) ? besideOrigin : beside);
}

/** The path of the `origin` remote when it is a folder on this machine (asked once). */
let origin: { path?: string } | undefined;
function localOrigin(): string | undefined {
  origin ??= { path: readLocalOrigin() };
  return origin.path;
}

function readLocalOrigin(): string | undefined {
  try {
    const url = execFileSync('git', ['-C', ROOT, 'remote', 'get-url', 'origin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
    return isAbsolute(path) && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Folder holding the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist). */
export function fmnistDir(override?: string): string {
  return resolve(override ?? process.env.YONO_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist');
}

/** Root of the prepared data sets (git-ignored). */
export function preparedRoot(override?: string): string {
  return resolve(override ?? join(ROOT, 'datasets', 'prepared'));
}
