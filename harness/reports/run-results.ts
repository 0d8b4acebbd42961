/**
 * The results of one finished run folder (results/<run>/), read back for `hil compare` and the
 * JUnit reports: run.json, and each CSV checked for the columns a reader needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readCsv } from './csv.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';

export interface FirmwareMemory {
  flashBytes: number;
  ramBytes: number;
}

/** The parts of run.json the readers use (everything optional: older runs lack some). */
export interface RunJson {
  id?: string;
  status?: string;
  rig?: { name?: string };
  board?: { name?: string };
  variant?: string;
  firmware?: { memory?: FirmwareMemory; models?: { name: string }[] };
  variants?: { variant: string; firmware?: { memory?: FirmwareMemory; models?: { name: string }[] } }[];
  experiments?: string[];
}

export type CsvRow = Record<string, string>;

export interface RunResults {
  dir: string;
  /** the folder as shown in messages */
  where: string;
  json: RunJson;
  /**
   * Rows of one CSV, or undefined when the run has no such file. Every column in `columns` must
   * be in the header (else a HilError naming the file and column). Rows of runs from before the
   * `variant` column get the run's single variant.
   */
  table(file: string, columns: string[]): CsvRow[] | undefined;
  /** firmware memory per variant (runs with one firmware: that variant) */
  memory(): Map<string, FirmwareMemory>;
  /** models each variant's firmware holds */
  modelsByVariant(): Map<string, string[]>;
}

/** The variant of runs that predate `--variant`: their firmware held int8 models. */
const LEGACY_VARIANT = 'int8';

export function loadRunResults(dir: string): RunResults {
  const where = rel(path.resolve(dir));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new HilError('no such run folder', where);
  const runFile = path.join(dir, 'run.json');
  if (!fs.existsSync(runFile)) throw new HilError('not a run folder (no run.json)', where);
  let json: RunJson;
  try {
    json = JSON.parse(fs.readFileSync(runFile, 'utf8')) as RunJson;
  } catch (e) {
    throw new HilError(`invalid JSON: ${(e as Error).message}`, `${where}/run.json`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HilError('expected a JSON object', `${where}/run.json`);
  // the variant of rows without a variant column: such runs had a single firmware
  const singleVariant = json.variants?.length === 1 ? json.variants[0].variant : LEGACY_VARIANT;

  return {
    dir,
    where,
    json,
    table(file, columns) {
      const full = path.join(dir, file);
      if (!fs.existsSync(full)) return undefined;
      const text = fs.readFileSync(full, 'utf8');
      // CsvTable headers are plain identifiers: no quoting to undo
      const head = text.split('\n')[0].trim().split(',');
      for (const c of columns) if (!head.includes(c)) throw new HilError(`missing column "${c}"`, `${where}/${file}`);
      const rows = readCsv(text);
      return head.includes('variant') ? rows : rows.map((r) => ({ ...r, variant: singleVariant }));
    },
    memory() {
      const out = new Map<string, FirmwareMemory>();
      if (json.variants?.length) {
        for (const v of json.variants) if (v.firmware?.memory) out.set(v.variant, v.firmware.memory);
      } else if (json.firmware?.memory) {
        out.set(singleVariant, json.firmware.memory);
      }
      return out;
    },
    modelsByVariant() {
      const out = new Map<string, string[]>();
      if (json.variants?.length) {
        for (const v of json.variants) out.set(v.variant, (v.firmware?.models ?? []).map((m) => m.name));
      } else if (json.firmware?.models) {
        out.set(singleVariant, json.firmware.models.map((m) => m.name));
      }
      return out;
    },
  };
}
