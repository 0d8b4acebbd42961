/** The trained models the harness can put on a board (models/<name>/int8.json). */
import fs from 'node:fs';
import path from 'node:path';
import { loadInt8Model, type Int8Model } from '../modeltools/int8-model.js';
import { HilError } from '../util/errors.js';
import { MODELS_DIR } from '../util/paths.js';
import { loadCodebook, loadPqModel, type Codebook, type DeployModel } from '../compress/pq-model.js';
import { excludedModels } from '../compress/compress.js';
import type { Variant } from '../codegen/codegen.js';

export function listModels(): string[] {
  if (!fs.existsSync(MODELS_DIR)) return [];
  return fs
    .readdirSync(MODELS_DIR)
    .filter((d) => fs.existsSync(path.join(MODELS_DIR, d, 'int8.json')))
    .sort();
}

/** Loads the named models (all trained ones when `names` is empty), in a stable order. */
export function loadModelSet(names: string[] = []): Int8Model[] {
  const available = listModels();
  if (available.length === 0) throw new HilError("no trained models; run 'hil train <model>'", 'models/');
  const chosen = names.length > 0 ? names : available;
  return chosen.map((name) => {
    if (!available.includes(name)) throw new HilError(`unknown model; available: ${available.join(', ')}`, name);
    return loadInt8Model(path.join(MODELS_DIR, name, 'int8.json'));
  });
}

/**
 * Which form of the models a firmware holds: int8 (models/<n>/int8.json, internal flash), YONO pq
 * (pq.json, internal flash), or int8-ext (the baseline: int8 tables in external storage, loaded
 * into SRAM on every switch; SPEC section 5).
 */
export type { Variant } from '../codegen/codegen.js';
export const VARIANTS: readonly Variant[] = ['int8', 'pq', 'int8-ext'];

/** The shared codebooks under models/_codebooks/, by id. */
export function loadCodebooks(dir: string = path.join(MODELS_DIR, '_codebooks')): Record<string, Codebook> {
  const books: Record<string, Codebook> = {};
  if (!fs.existsSync(dir)) return books;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const cb = loadCodebook(path.join(dir, f));
    books[cb.id] = cb;
  }
  return books;
}

/** Loads the named models in the given variant; pq needs 'hil compress' to have run. */
export function loadDeploySet(names: string[] = [], variant: Variant = 'int8'): DeployModel[] {
  const int8 = loadModelSet(names);
  if (variant !== 'pq') return int8;
  const books = loadCodebooks();
  const excluded = excludedModels();
  return int8.map((m) => {
    // a model 'hil compress' left int8 on purpose (compression.json says why) is deployed as int8
    if (excluded.includes(m.name)) return m;
    const file = path.join(MODELS_DIR, m.name, 'pq.json');
    if (!fs.existsSync(file)) throw new HilError("no compressed model; run 'hil compress'", file);
    return loadPqModel(file, books);
  });
}
