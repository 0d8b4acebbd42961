import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/**
 * Repository root: the nearest ancestor of this module holding the yono-hil package.json.
 * Works both from harness/ (sources) and dist/harness/ (compiled).
 */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === 'yono-hil') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot locate the yono-hil repository root from ' + import.meta.url);
    dir = up;
  }
}

/** Folder holding the shared raw data sets (uci_hapt/, ...). */
export function rawDataDir(override?: string): string {
  return resolve(override ?? process.env.YONO_DATA_DIR ?? join(repoRoot(), '..', 'shared', 'datasets'));
}

/** Folder holding the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist). */
export function fmnistDir(override?: string): string {
  return resolve(override ?? process.env.YONO_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist');
}

/** Root of the prepared data sets (git-ignored). */
export function preparedRoot(override?: string): string {
  return resolve(override ?? join(repoRoot(), 'datasets', 'prepared'));
}
