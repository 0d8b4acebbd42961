/**
 * Raw power captures of a measured run, kept in its folder so a current trace can be drawn later
 * (`hil report`) without the instrument: `captures/<experiment>-<variant>-<n>.csv.gz`, one per
 * capture, and one entry per file in run.json `captures` (the marker windows, the instrument, the
 * decimation). The format is documented in docs/results.md.
 *
 * Captures are long (a PPK2 streams 100 kS/s): beyond CAPTURE_MAX_ROWS samples they are cut into
 * that many equal buckets of consecutive samples, each written as its mean, min and max, so the
 * folder stays small (a few tens of KB per capture) and the peaks stay visible. The windows are
 * written at the instrument's full resolution.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Capture } from '../capabilities/power-monitor.js';
import { windowEnergies } from '../power/energy.js';
import { HilError } from '../util/errors.js';
import { readCsv } from './csv.js';

export const CAPTURES_DIR = 'captures';
/** rows per capture file at most: above this, samples are decimated into buckets (mean, min, max) */
export const CAPTURE_MAX_ROWS = 1000;
export const CAPTURE_COLUMNS = ['t_s', 'current_a', 'current_min_a', 'current_max_a'] as const;

/** One kept capture, as run.json records it. Times in s from the capture's first sample. */
export interface CaptureRecord {
  /** path inside the run folder */
  file: string;
  experiment: string;
  variant: string;
  /** 0-based count of this experiment's captures on this variant */
  n: number;
  instrument: string;
  source: 'measured';
  sample_period_s: number;
  supply_v: number;
  /** samples in the capture (lost ones included) */
  samples: number;
  lost_samples: number;
  /** samples per row of the file (1: every sample) */
  decimation: number;
  rows: number;
  /** marker windows as the energy analysis cut them; broken = a lost sample inside */
  windows: { start_s: number; end_s: number; broken: boolean }[];
}

export interface TracePoint {
  t_s: number;
  /** NaN where every sample of the row was lost */
  current_a: number;
  current_min_a: number;
  current_max_a: number;
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : '');

/** The rows of a capture's file: every sample, or buckets of `decimation` samples. */
export function traceRows(capture: Pick<Capture, 'current_a' | 'sample_period_s'>, maxRows = CAPTURE_MAX_ROWS): { decimation: number; rows: TracePoint[] } {
  const a = capture.current_a;
  const decimation = Math.max(1, Math.ceil(a.length / maxRows));
  const rows: TracePoint[] = [];
  for (let start = 0; start < a.length; start += decimation) {
    let sum = 0;
    let n = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = start; i < Math.min(a.length, start + decimation); i++) {
      if (Number.isNaN(a[i])) continue;
      sum += a[i];
      n++;
      min = Math.min(min, a[i]);
      max = Math.max(max, a[i]);
    }
    rows.push({ t_s: start * capture.sample_period_s, current_a: n ? sum / n : NaN, current_min_a: n ? min : NaN, current_max_a: n ? max : NaN });
  }
  return { decimation, rows };
}

/** Writes each capture of a measured channel into `<run>/captures/` and describes it for run.json. */
export class CaptureStore {
  private readonly counts = new Map<string, number>();

  /** `kept`: the records run.json already has (a resumed run numbers on after them) */
  constructor(private readonly runDir: string, kept: CaptureRecord[] = []) {
    for (const r of kept) this.counts.set(`${r.experiment}-${r.variant}`, Math.max(this.counts.get(`${r.experiment}-${r.variant}`) ?? 0, r.n + 1));
  }

  save(experiment: string, variant: string, capture: Capture): CaptureRecord {
    const key = `${experiment}-${variant}`;
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    const file = path.posix.join(CAPTURES_DIR, `${key}-${n}.csv.gz`);
    const { decimation, rows } = traceRows(capture);
    const text = [CAPTURE_COLUMNS.join(','), ...rows.map((r) => [fmt(r.t_s, 7), fmt(r.current_a, 5), fmt(r.current_min_a, 5), fmt(r.current_max_a, 5)].join(','))].join('\n') + '\n';
    fs.mkdirSync(path.join(this.runDir, CAPTURES_DIR), { recursive: true });
    fs.writeFileSync(path.join(this.runDir, file), gzipSync(text));
    const dt = capture.sample_period_s;
    return {
      file, experiment, variant, n, instrument: capture.instrument, source: 'measured', sample_period_s: dt, supply_v: capture.supply_v,
      samples: capture.current_a.length, lost_samples: capture.lost_samples, decimation, rows: rows.length,
      windows: windowEnergies(capture).map((w) => ({ start_s: Number((w.start * dt).toPrecision(9)), end_s: Number((w.end * dt).toPrecision(9)), broken: w.broken })),
    };
  }
}

/** A kept capture's rows, read back from the run folder (one clear line for a missing or bad file). */
export function readTrace(runDir: string, record: CaptureRecord): TracePoint[] {
  const file = path.join(runDir, record.file);
  if (!fs.existsSync(file)) throw new HilError('capture file named in run.json is missing', file);
  let rows: Record<string, string>[];
  try {
    rows = readCsv(gunzipSync(fs.readFileSync(file)).toString('utf8'));
  } catch (e) {
    throw new HilError(`not a gzipped capture CSV: ${(e as Error).message.split('\n')[0]}`, file);
  }
  const missing = CAPTURE_COLUMNS.filter((c) => rows.length > 0 && !(c in rows[0]));
  if (missing.length) throw new HilError(`missing column ${missing.join(', ')}`, file);
  const num = (s: string | undefined) => (s === undefined || s === '' ? NaN : Number(s));
  return rows.map((r) => ({ t_s: num(r.t_s), current_a: num(r.current_a), current_min_a: num(r.current_min_a), current_max_a: num(r.current_max_a) }));
}
