/** One folder per run under results/, holding the CSVs, run.json and summary.txt. */
import fs from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR } from '../util/paths.js';
import { HilError } from '../util/errors.js';

export interface RunFolder {
  id: string;
  dir: string;
  file(name: string): string;
  writeJson(name: string, value: unknown): void;
  writeText(name: string, text: string): void;
}

export function createRunFolder(rigName: string, root = RESULTS_DIR, now = new Date()): RunFolder {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  let id = `${stamp}-${rigName}`;
  let n = 1;
  while (fs.existsSync(path.join(root, id))) id = `${stamp}-${rigName}-${++n}`;
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true });
  return {
    id,
    dir,
    file: (name) => path.join(dir, name),
    writeJson: (name, value) => fs.writeFileSync(path.join(dir, name), JSON.stringify(value, null, 2) + '\n'),
    writeText: (name, text) => fs.writeFileSync(path.join(dir, name), text),
  };
}

/** An existing run folder (a resumed run writes into it). */
export function openRunFolder(dir: string): RunFolder {
  const abs = path.resolve(dir);
  return {
    id: path.basename(abs),
    dir: abs,
    file: (name) => path.join(abs, name),
    writeJson: (name, value) => fs.writeFileSync(path.join(abs, name), JSON.stringify(value, null, 2) + '\n'),
    writeText: (name, text) => fs.writeFileSync(path.join(abs, name), text),
  };
}

/** A new run folder at exactly `dir` (a shard's folder, a merged run): refused if it already holds a run. */
export function createRunFolderAt(dir: string): RunFolder {
  const abs = path.resolve(dir);
  if (fs.existsSync(path.join(abs, 'run.json'))) throw new HilError('already holds a run (run.json): choose another folder', abs);
  fs.mkdirSync(abs, { recursive: true });
  return openRunFolder(abs);
}
