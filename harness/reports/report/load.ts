/**
 * Reads one finished run folder (run.json + the CSVs it has) for `hil report`, checking that
 * every column a figure or table uses is there, so a bad file fails with its name and column.
 */
import path from 'node:path';
import type { CaptureRecord } from '../captures.js';
import { loadRunResults } from '../run-results.js';
import { HilError } from '../../util/errors.js';

export type Row = Record<string, string>;

/** The CSVs of a run and the columns the report reads from each (others are carried along). */
export const CSV_COLUMNS = {
  accuracy: ['rig', 'model', 'samples', 'top1', 'host_top1', 'agreement', 'mismatches', 'firmware_hash'],
  latency: ['model', 'runs', 'inputs', 'ms_median', 'ms_p10', 'ms_p90', 'instructions_median', 'source'],
  compression: ['model', 'stored_as', 'fp32_bytes', 'int8_bytes', 'pq_bytes', 'ratio_fp32', 'ratio_int8', 'top1_fp32', 'top1_int8_device', 'top1_pq_device'],
  switching: ['variant', 'storage', 'from_model', 'to_model', 'reps', 'ready_ms_median', 'ready_ms_min', 'ready_ms_max', 'ready_mJ_median', 'first_ms_median', 'first_ms_min', 'first_ms_max', 'first_mJ_median', 'first_mJ_min', 'first_mJ_max', 'ready_ms_reduction_pct', 'ready_mJ_reduction_pct', 'first_ms_reduction_pct', 'first_mJ_reduction_pct', 'source'],
  scenario: ['variant', 'storage', 'schedule', 'event', 'model', 'correct', 'switched', 'switch_ms', 'infer_ms', 'event_ms', 'event_mJ', 'source'],
  energy: ['what', 'variant', 'storage', 'model', 'energy_mJ_median', 'energy_mJ_p10', 'energy_mJ_p90', 'windows', 'windows_broken', 'lost_samples_pct', 'source'],
  predictions: ['model', 'sample', 'label', 'device', 'host'],
} as const;

export type CsvName = keyof typeof CSV_COLUMNS;
export const CSV_NAMES = Object.keys(CSV_COLUMNS) as CsvName[];

/** The parts of run.json the report shows; everything is optional because older runs lack some. */
export interface RunJson {
  id: string;
  status?: string;
  error?: string;
  started?: string;
  finished?: string;
  harness_version?: string;
  host?: { node?: string; platform?: string; cpus?: number };
  rig: { name: string; file?: string; config?: { description?: string; board?: string; dut?: { kind?: string; machine?: string }; power?: { kind?: string; source?: string }; estimate?: { core?: string; clock_hz?: number; cpi?: number } } };
  board?: { name?: string; core?: string; flashBytes?: number; ramBytes?: number; clockHz?: number };
  firmware?: FirmwareJson;
  experiments?: string[];
  variant?: string;
  variants?: { variant: string; firmware: FirmwareJson }[];
  options?: { models?: string[]; samples?: number | string; [k: string]: unknown };
  notes?: string[];
  channels?: Record<string, string[]>;
  dut?: { kind?: string; description?: string };
  /** raw captures of a measured rig (reports/captures.ts) */
  captures?: CaptureRecord[];
}

export interface FirmwareJson {
  build_hash: string;
  memory?: { flashBytes: number; ramBytes: number; flashBudget: number; ramBudget: number };
  models?: { name: string; hash: string }[];
}

export interface LoadedRun {
  dir: string;
  id: string;
  json: RunJson;
  /** only the CSVs the run has; accuracy-only runs have no switching.csv and so on */
  csv: Partial<Record<CsvName, Row[]>>;
  /** absolute path of each CSV present */
  files: Partial<Record<CsvName, string>>;
}

export function loadRun(dir: string): LoadedRun {
  // the folder, run.json and each CSV's columns are checked by the one run-folder reader
  const results = loadRunResults(dir);
  const json = results.json as unknown as RunJson;
  const jsonFile = `${results.where}/run.json`;
  if (typeof json.id !== 'string') throw new HilError('missing field "id"', jsonFile);
  if (typeof json.rig?.name !== 'string') throw new HilError('missing field "rig.name"', jsonFile);
  const csv: LoadedRun['csv'] = {};
  const files: LoadedRun['files'] = {};
  for (const name of CSV_NAMES) {
    const rows = results.table(`${name}.csv`, [...CSV_COLUMNS[name]]);
    if (!rows) continue;
    csv[name] = rows;
    files[name] = path.join(path.resolve(dir), `${name}.csv`);
  }
  return { dir: path.resolve(dir), id: json.id, json, csv, files };
}

/** A number from a CSV cell; NaN for an empty cell (no usable value). */
export function num(cell: string | undefined): number {
  if (cell === undefined || cell.trim() === '') return NaN;
  return Number(cell);
}

/** "emulated-estimate", "measured", or both, from the source column of some rows. */
export function sourcesOf(rows: Row[] | undefined): string[] {
  return [...new Set((rows ?? []).map((r) => r.source).filter((s): s is string => Boolean(s)))];
}

/** Firmware build hash per variant of the run (the first variant's for runs of one variant). */
export function firmwareHashes(run: LoadedRun): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of run.json.variants ?? []) out[v.variant] = v.firmware.build_hash;
  if (Object.keys(out).length === 0 && run.json.firmware) out[(run.json.variant ?? 'int8').split(',')[0]] = run.json.firmware.build_hash;
  return out;
}

/** The device the numbers come from, as the run recorded it (its DUT describes itself in run.json). */
export function deviceKind(run: LoadedRun): string {
  const described = run.json.dut?.description;
  return described ? `device: ${described}` : `device: rig ${run.json.rig.name} (${run.json.board?.name ?? run.json.rig.config?.board ?? 'board'})`;
}

/** Distinct values in first-seen order. */
export function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
