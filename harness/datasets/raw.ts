import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { HilError } from '../util/errors.js';

/** Reads a raw input file, turning "missing" and "not gzip" into user-facing errors. */
export function readRaw(path: string, providedBy: string): Buffer {
  if (!existsSync(path)) throw new HilError(`missing raw data file (provided by ${providedBy})`, path);
  const buf = readFileSync(path);
  if (!path.endsWith('.gz')) return buf;
  try {
    return gunzipSync(buf);
  } catch (e) {
    throw new HilError(`corrupt gzip file (${(e as Error).message}); reinstall it from ${providedBy}`, path);
  }
}
