/**
 * Limits of the regression gate (`hil compare`): how much worse a run may be than its baseline.
 * A YAML file (gates/thresholds.yaml is the documented default) may set any subset of the keys
 * under `defaults`, and per-model overrides under `models.<name>`; the rest keep DEFAULT_LIMITS.
 */
import fs from 'node:fs';
import path from 'node:path';
import AjvModule, { type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { HilError } from '../util/errors.js';
import { ROOT, rel } from '../util/paths.js';

export interface Limits {
  /** device top-1 (accuracy.csv top1), largest drop in percentage points, per model x variant */
  top1_drop_points: number;
  /** device/host agreement (accuracy.csv agreement; scenario.csv predicted == host), smallest fraction 0..1 */
  agreement_min: number;
  /** latency.csv instructions_median, largest growth in % */
  instructions_growth_pct: number;
  /** latency.csv ms_median, largest growth in % */
  ms_growth_pct: number;
  /** run.json firmware memory flashBytes of each variant, largest growth in bytes */
  flash_growth_bytes: number;
  /** run.json firmware memory ramBytes of each variant, largest growth in bytes */
  sram_growth_bytes: number;
  /** compression.csv ratio_int8 (int8 bytes / pq bytes), largest drop (absolute, in "x") */
  compression_ratio_drop: number;
  /** switching.csv ready_ms_median and first_ms_median per ordered pair, largest growth in % */
  switch_ms_growth_pct: number;
  /** switching.csv ready_mJ_median and first_mJ_median per ordered pair, largest growth in % */
  switch_mJ_growth_pct: number;
  /** energy.csv energy_mJ_median per what x variant x storage x model x from_model, largest growth in % */
  energy_growth_pct: number;
  /** scenario.csv, per schedule x variant x storage: largest drop of correctly classified events (count) */
  scenario_correct_drop: number;
  /** scenario.csv, per schedule x variant x storage: total event_ms, largest growth in % */
  scenario_ms_growth_pct: number;
  /** scenario.csv, per schedule x variant x storage: total event_mJ, largest growth in % */
  scenario_mJ_growth_pct: number;
}

export type LimitName = keyof Limits;

export interface Thresholds {
  /** where the limits came from, for messages ("built-in defaults" or a file) */
  source: string;
  defaults: Limits;
  /** per-model overrides (rows about that model; switching rows: the model switched to) */
  models: Record<string, Partial<Limits>>;
}

/** The built-in limits; gates/thresholds.yaml states the same values (a unit test keeps them equal). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  top1_drop_points: 1,
  agreement_min: 1,
  instructions_growth_pct: 2,
  ms_growth_pct: 2,
  flash_growth_bytes: 4096,
  sram_growth_bytes: 1024,
  compression_ratio_drop: 0.1,
  switch_ms_growth_pct: 5,
  switch_mJ_growth_pct: 5,
  energy_growth_pct: 5,
  scenario_correct_drop: 0,
  scenario_ms_growth_pct: 5,
  scenario_mJ_growth_pct: 5,
});

export const DEFAULT_THRESHOLDS_FILE = path.join(ROOT, 'gates', 'thresholds.yaml');

const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as LimitName[];

const limitsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    LIMIT_NAMES.map((k) => [k, k === 'agreement_min' ? { type: 'number', minimum: 0, maximum: 1 } : { type: 'number', minimum: 0 }]),
  ),
};

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    defaults: limitsSchema,
    models: { type: 'object', additionalProperties: limitsSchema },
  },
};

// ajv is published as CommonJS; under NodeNext its default export is the module object.
const Ajv = (AjvModule as unknown as { default: typeof AjvModule.default }).default ?? AjvModule;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** One schema error as "field: what is wrong". */
function describeError(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const p = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    const name = `${field ? field + '.' : ''}${String(p.additionalProperty)}`;
    return field === '' || field === 'defaults' || field.startsWith('models.')
      ? `${name}: unknown field${field === '' ? ' (expected defaults, models)' : `; known limits: ${LIMIT_NAMES.join(', ')}`}`
      : `${name}: unknown field`;
  }
  return `${field || '(top level)'}: ${error.message ?? 'invalid'}`;
}

export function builtinThresholds(): Thresholds {
  return { source: 'built-in defaults', defaults: { ...DEFAULT_LIMITS }, models: {} };
}

/** Reads and validates a thresholds file; any problem is one HilError line naming the file and field. */
export function loadThresholds(file: string): Thresholds {
  const where = rel(path.resolve(file));
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new HilError('thresholds file not found', where);
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0];
    throw new HilError(`YAML syntax: ${e.message.split('\n')[0]}`, line ? `${where}:${line.line}` : where);
  }
  const data: unknown = doc.toJS() ?? {};
  if (!validate(data)) throw new HilError(describeError((validate.errors ?? [])[0]), where);
  const parsed = data as { defaults?: Partial<Limits>; models?: Record<string, Partial<Limits>> };
  return { source: where, defaults: { ...DEFAULT_LIMITS, ...parsed.defaults }, models: parsed.models ?? {} };
}

/** The limit for one check, the model's override first. */
export function limitFor(thresholds: Thresholds, name: LimitName, model?: string): number {
  const override = model === undefined ? undefined : thresholds.models[model]?.[name];
  return override ?? thresholds.defaults[name];
}
