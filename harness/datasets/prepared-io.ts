/**
 * Prepared data sets: int8 samples in the model input layout + uint8 labels + manifest.json,
 * under datasets/prepared/<name>/. Every load re-verifies sizes and sha256 so a corrupt or
 * truncated file can never silently feed wrong inputs to a board.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HilError } from '../util/errors.js';
import { preparedRoot } from './paths.js';

export type Split = 'train' | 'test';
export const SPLITS: readonly Split[] = ['train', 'test'];
export type Shape3 = [number, number, number];

export const PREPARED_FORMAT = 'yono-prepared/1';
const FILES = ['train_x.bin', 'train_y.bin', 'test_x.bin', 'test_y.bin'] as const;
type BinFile = (typeof FILES)[number];

export interface PreparedManifest {
  format: typeof PREPARED_FORMAT;
  name: string;
  modality: string;
  source: { description: string; location: string; url: string; citation: string };
  license: string;
  split_rule: string;
  class_names: string[];
  input_shape: Shape3;
  input_scale: number;
  input_zero_point: number;
  counts: Record<Split, number>;
  sha256: Record<BinFile, string>;
  prep_version: string;
  /** data-set specific preprocessing parameters (e.g. HAPT channel mean/std) */
  preprocessing: Record<string, unknown>;
}

export interface SplitData {
  x: Int8Array;
  y: Uint8Array;
  count: number;
}

export interface PreparedSplit extends SplitData {
  inputShape: Shape3;
  inputBytes: number;
  classNames: string[];
  manifest: PreparedManifest;
  /** sha256 over x bytes then y bytes of this split (for 'test' equals datasetHash) */
  sha256: string;
}

export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function preparedDir(name: string, root?: string): string {
  return join(preparedRoot(root), name);
}

export function isPrepared(name: string, root?: string): boolean {
  const dir = preparedDir(name, root);
  return ['manifest.json', ...FILES].every((f) => existsSync(join(dir, f)));
}

/** Writes the four .bin files and manifest.json (manifest last, so a crash leaves no manifest). */
export function writePrepared(
  name: string,
  data: Record<Split, SplitData>,
  meta: Omit<PreparedManifest, 'format' | 'name' | 'counts' | 'sha256'>,
  root?: string,
): PreparedManifest {
  const dir = preparedDir(name, root);
  mkdirSync(dir, { recursive: true });
  const inputBytes = meta.input_shape[0] * meta.input_shape[1] * meta.input_shape[2];
  const sha = {} as Record<BinFile, string>;
  for (const split of SPLITS) {
    const { x, y, count } = data[split];
    if (x.length !== count * inputBytes || y.length !== count) {
      throw new Error(`${name}/${split}: inconsistent sizes (x ${x.length}, y ${y.length}, count ${count})`);
    }
    const xb = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    writeAtomic(join(dir, `${split}_x.bin`), xb);
    writeAtomic(join(dir, `${split}_y.bin`), y);
    sha[`${split}_x.bin`] = sha256Hex(xb);
    sha[`${split}_y.bin`] = sha256Hex(y);
  }
  const manifest: PreparedManifest = {
    format: PREPARED_FORMAT,
    name,
    ...meta,
    counts: { train: data.train.count, test: data.test.count },
    sha256: sha,
  };
  writeAtomic(join(dir, 'manifest.json'), Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
  return manifest;
}

function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = path + '.tmp';
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function hint(name: string): string {
  return `run 'hil prepare ${name}'`;
}

export function readManifest(name: string, root?: string): PreparedManifest {
  const path = join(preparedDir(name, root), 'manifest.json');
  if (!existsSync(path)) throw new HilError(`prepared data set missing; ${hint(name)}`, path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new HilError(`corrupt manifest (${(e as Error).message}); ${hint(name)}`, path);
  }
  return checkManifest(parsed, name, path);
}

function checkManifest(m: unknown, name: string, path: string): PreparedManifest {
  const bad = (what: string): never => {
    throw new HilError(`corrupt manifest: ${what}; ${hint(name)}`, path);
  };
  if (typeof m !== 'object' || m === null) return bad('not an object');
  const o = m as Partial<PreparedManifest>;
  if (o.format !== PREPARED_FORMAT) bad(`format is not ${PREPARED_FORMAT}`);
  if (o.name !== name) bad(`name is not ${name}`);
  const shape = o.input_shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    bad('input_shape');
  }
  if (!Array.isArray(o.class_names) || o.class_names.length === 0) bad('class_names');
  if (typeof o.input_scale !== 'number' || typeof o.input_zero_point !== 'number') bad('input scale/zero_point');
  for (const s of SPLITS) {
    const c = o.counts?.[s];
    if (!Number.isInteger(c) || (c as number) < 0) bad(`counts.${s}`);
  }
  for (const f of FILES) if (typeof o.sha256?.[f] !== 'string') bad(`sha256.${f}`);
  return o as PreparedManifest;
}

function readVerified(dir: string, file: BinFile, manifest: PreparedManifest, expectedBytes: number): Buffer {
  const path = join(dir, file);
  if (!existsSync(path)) throw new HilError(`missing prepared file; ${hint(manifest.name)}`, path);
  const buf = readFileSync(path);
  if (buf.length !== expectedBytes) {
    throw new HilError(
      `size ${buf.length} bytes, manifest says ${expectedBytes} (truncated or corrupt); ${hint(manifest.name)}`,
      path,
    );
  }
  if (sha256Hex(buf) !== manifest.sha256[file]) {
    throw new HilError(`sha256 mismatch with manifest.json (corrupt); ${hint(manifest.name)}`, path);
  }
  return buf;
}

/** Loads one split and verifies it against manifest.json (sizes, sha256, label range). */
export function loadPrepared(name: string, split: Split, opts: { root?: string } = {}): PreparedSplit {
  const manifest = readManifest(name, opts.root);
  const dir = preparedDir(name, opts.root);
  const inputShape = manifest.input_shape;
  const inputBytes = inputShape[0] * inputShape[1] * inputShape[2];
  const count = manifest.counts[split];
  const xb = readVerified(dir, `${split}_x.bin`, manifest, count * inputBytes);
  const yb = readVerified(dir, `${split}_y.bin`, manifest, count);
  const x = new Int8Array(xb.buffer, xb.byteOffset, xb.length);
  const y = new Uint8Array(yb.buffer, yb.byteOffset, yb.length);
  const classes = manifest.class_names.length;
  for (let i = 0; i < count; i++) {
    if (y[i] >= classes) {
      throw new HilError(`label ${y[i]} at index ${i} >= ${classes} classes; ${hint(name)}`, join(dir, `${split}_y.bin`));
    }
  }
  return {
    x,
    y,
    count,
    inputShape,
    inputBytes,
    classNames: manifest.class_names,
    manifest,
    sha256: sha256Hex(xb, yb),
  };
}

/** sha256 over test_x.bin then test_y.bin, verified against the manifest (goes into result rows). */
export function datasetHash(name: string, opts: { root?: string } = {}): string {
  return loadPrepared(name, 'test', opts).sha256;
}
