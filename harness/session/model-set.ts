/** The trained models the harness can put on a board (models/<name>/int8.json). */
import fs from 'node:fs';
import path from 'node:path';
import { loadInt8Model, type Int8Model } from '../modeltools/int8-model.js';
import { HilError } from '../util/errors.js';
import { MODELS_DIR } from '../util/paths.js';

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
