/** `hil compare --update-baseline`: the run becomes the new baseline folder, never half-copied. */
import fs from 'node:fs';
import path from 'node:path';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';

/**
 * Copies `runDir` to `baselineDir`: first into a temporary sibling of `baselineDir` (same file
 * system, so renames are atomic), then the old baseline is renamed aside, the copy renamed into
 * place and the old one removed. Readers see the old or the new folder, never a partial copy
 * (between the two renames the folder is briefly absent; a crash there leaves `<dir>.old-*`).
 */
export function replaceBaseline(runDir: string, baselineDir: string): void {
  const src = path.resolve(runDir);
  const dest = path.resolve(baselineDir);
  if (src === dest) throw new HilError('the run is already the baseline folder', rel(dest));
  if (dest.startsWith(src + path.sep)) throw new HilError('the baseline folder cannot be inside the run folder', rel(dest));
  if (fs.existsSync(dest) && !fs.statSync(dest).isDirectory()) throw new HilError('exists and is not a folder', rel(dest));
  const parent = path.dirname(dest);
  fs.mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = path.join(parent, `.${path.basename(dest)}.tmp-${tag}`);
  const old = path.join(parent, `.${path.basename(dest)}.old-${tag}`);
  try {
    fs.cpSync(src, tmp, { recursive: true, errorOnExist: true, force: false });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new HilError(`cannot copy the run: ${(e as Error).message}`, rel(dest));
  }
  const hadOld = fs.existsSync(dest);
  if (hadOld) fs.renameSync(dest, old);
  try {
    fs.renameSync(tmp, dest);
  } catch (e) {
    if (hadOld) fs.renameSync(old, dest);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new HilError(`cannot move the copy into place: ${(e as Error).message}`, rel(dest));
  }
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
}
