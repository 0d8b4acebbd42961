import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

/** Repository root, found from this module's location (works from harness/ and dist/harness/). */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'firmware'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the yono-hil repository root');
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot();
export const RIGS_DIR = path.join(ROOT, 'rigs');
export const FIRMWARE_DIR = path.join(ROOT, 'firmware');
export const MODELS_DIR = path.join(ROOT, 'models');
export const RESULTS_DIR = path.join(ROOT, 'results');

/** Path relative to the repository root, for messages. */
export function rel(p: string): string {
  const r = path.relative(ROOT, p);
  return r.startsWith('..') ? p : r;
}
