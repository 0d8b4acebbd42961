/**
 * UCI HAPT raw IMU (acc + gyro, 50 Hz) cut into UCI-HAR-style windows: 128 samples with a
 * 64-sample hop inside each labelled segment, split by subject. Prepared as [1,128,6]
 * (time-major, channels acc x/y/z, gyro x/y/z), standardised with train mean/std, q = z * 32.
 */
import { join } from 'node:path';
import { HilError } from '../util/errors.js';
import { rawDataDir } from './paths.js';
import { readRaw } from './raw.js';
import { PreparedManifest, Split, SplitData, writePrepared } from './prepared-io.js';

export const HAPT_NAME = 'uci_hapt';
export const HAPT_PREP_VERSION = 'uci_hapt-prep/1';
export const HAPT_CLASSES = [
  'WALKING', 'WALKING_UPSTAIRS', 'WALKING_DOWNSTAIRS', 'SITTING', 'STANDING', 'LAYING',
  'STAND_TO_SIT', 'SIT_TO_STAND', 'SIT_TO_LIE', 'LIE_TO_SIT', 'STAND_TO_LIE', 'LIE_TO_STAND',
];
export const HAPT_TEST_USERS: readonly number[] = [2, 4, 9, 10, 12, 13, 18, 20, 24];
export const HAPT_WINDOW = 128;
export const HAPT_HOP = 64;
export const HAPT_CHANNELS = 6;
/** q = round(z * 32): +-4 standard deviations fit in int8 */
export const HAPT_Q_PER_STD = 32;
const EXPECTED: Record<Split, number> = { train: 7767, test: 3162 };
const PROVIDED_BY = "the shared UCI HAPT copy; set YONO_DATA_DIR to the folder that holds uci_hapt/";

interface Segment { exp: number; user: number; act: number; start: number; end: number }

function parseLabels(path: string): Segment[] {
  const text = readRaw(path, PROVIDED_BY).toString('latin1');
  const segs: Segment[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    const f = t.split(/\s+/).map(Number);
    if (f.length !== 5 || !f.every(Number.isInteger) || f[2] < 1 || f[2] > 12 || f[3] < 1 || f[4] < f[3]) {
      throw new HilError(`line ${i + 1}: expected 'exp user activity start end' integers`, path);
    }
    segs.push({ exp: f[0], user: f[1], act: f[2], start: f[3], end: f[4] });
  });
  if (segs.length === 0) throw new HilError('no labelled segments', path);
  return segs;
}

/** Parses rows of 3 whitespace-separated floats into a flat array (hot path: ~3.4M rows). */
function parseTriples(path: string): Float64Array {
  const text = readRaw(path, PROVIDED_BY).toString('latin1');
  const out = new Float64Array(Math.ceil(text.length / 8));
  let n = 0;
  let i = 0;
  const len = text.length;
  while (i < len) {
    let c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) {
      i++;
      continue;
    }
    const start = i;
    while (i < len) {
      c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) break;
      i++;
    }
    const v = Number(text.slice(start, i));
    if (Number.isNaN(v)) throw new HilError(`not a number at byte ${start}`, path);
    out[n++] = v;
  }
  if (n % 3 !== 0) throw new HilError(`${n} values is not a multiple of 3 (x y z rows)`, path);
  return out.subarray(0, n);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function prepareUciHapt(opts: { dataDir?: string; root?: string } = {}): PreparedManifest {
  const dir = join(rawDataDir(opts.dataDir), 'uci_hapt');
  const rawDir = join(dir, 'RawData');
  const segs = parseLabels(join(rawDir, 'labels.txt'));
  const testUsers = new Set(HAPT_TEST_USERS);
  const frame = HAPT_WINDOW * HAPT_CHANNELS;

  // Cut float windows per split; signals are loaded one experiment at a time.
  const windows: Record<Split, { x: number[][]; y: number[] }> = { train: { x: [], y: [] }, test: { x: [], y: [] } };
  const exps = [...new Set(segs.map((s) => `${s.exp}:${s.user}`))];
  for (const key of exps) {
    const [exp, user] = key.split(':').map(Number);
    const name = `exp${pad2(exp)}_user${pad2(user)}.txt.gz`;
    const accPath = join(rawDir, `acc_${name}`);
    const acc = parseTriples(accPath);
    const gyro = parseTriples(join(rawDir, `gyro_${name}`));
    if (acc.length !== gyro.length) throw new HilError(`acc has ${acc.length / 3} rows, gyro ${gyro.length / 3}`, accPath);
    const rows = acc.length / 3;
    const split: Split = testUsers.has(user) ? 'test' : 'train';
    for (const s of segs) {
      if (s.exp !== exp || s.user !== user) continue;
      if (s.end > rows) throw new HilError(`segment ends at row ${s.end} but file has ${rows} rows`, accPath);
      // start/end are 1-based inclusive
      for (let w = s.start - 1; w + HAPT_WINDOW <= s.end; w += HAPT_HOP) {
        const win = new Array<number>(frame);
        for (let t = 0; t < HAPT_WINDOW; t++) {
          const r = (w + t) * 3;
          const o = t * HAPT_CHANNELS;
          win[o] = acc[r];
          win[o + 1] = acc[r + 1];
          win[o + 2] = acc[r + 2];
          win[o + 3] = gyro[r];
          win[o + 4] = gyro[r + 1];
          win[o + 5] = gyro[r + 2];
        }
        windows[split].x.push(win);
        windows[split].y.push(s.act - 1);
      }
    }
  }
  for (const sp of ['train', 'test'] as const) {
    if (windows[sp].y.length !== EXPECTED[sp]) {
      throw new HilError(`${sp}: ${windows[sp].y.length} windows, expected ${EXPECTED[sp]} (raw data changed?)`, rawDir);
    }
  }

  // Train statistics over every sample of every train window (overlapping samples count twice).
  const mean = new Array<number>(HAPT_CHANNELS).fill(0);
  const sq = new Array<number>(HAPT_CHANNELS).fill(0);
  let nSamples = 0;
  for (const win of windows.train.x) {
    for (let t = 0; t < HAPT_WINDOW; t++) {
      for (let c = 0; c < HAPT_CHANNELS; c++) mean[c] += win[t * HAPT_CHANNELS + c];
    }
    nSamples += HAPT_WINDOW;
  }
  for (let c = 0; c < HAPT_CHANNELS; c++) mean[c] /= nSamples;
  for (const win of windows.train.x) {
    for (let t = 0; t < HAPT_WINDOW; t++) {
      for (let c = 0; c < HAPT_CHANNELS; c++) {
        const d = win[t * HAPT_CHANNELS + c] - mean[c];
        sq[c] += d * d;
      }
    }
  }
  const std = sq.map((v) => Math.sqrt(v / nSamples));

  const data = {} as Record<Split, SplitData>;
  for (const sp of ['train', 'test'] as const) {
    const count = windows[sp].y.length;
    const x = new Int8Array(count * frame);
    windows[sp].x.forEach((win, i) => {
      for (let k = 0; k < frame; k++) {
        const c = k % HAPT_CHANNELS;
        const q = Math.round(((win[k] - mean[c]) / std[c]) * HAPT_Q_PER_STD);
        x[i * frame + k] = q < -128 ? -128 : q > 127 ? 127 : q;
      }
    });
    data[sp] = { x, y: Uint8Array.from(windows[sp].y), count };
  }

  return writePrepared(
    HAPT_NAME,
    data,
    {
      modality: 'IMU time series: waist smartphone 3-axis accelerometer (g) + 3-axis gyroscope (rad/s), 50 Hz',
      source: {
        description:
          'UCI HAPT v2.1 raw signals RawData/{acc,gyro}_expXX_userYY.txt.gz + RawData/labels.txt (see PROVENANCE.md in the data folder)',
        location: dir,
        url: 'https://archive.ics.uci.edu/dataset/341',
        citation:
          'Jorge-L. Reyes-Ortiz, Luca Oneto, Albert Samà, Xavier Parra, Davide Anguita. Transition-Aware Human Activity Recognition Using Smartphones. Neurocomputing. Springer 2015.',
      },
      license:
        "shipped README: citation required, 'Any commercial use is prohibited' (UCI page reportedly CC BY 4.0, unverified): treat as research / non-commercial",
      split_rule:
        '128-sample windows, 64-sample hop, inside each labelled segment (labels.txt, 1-based inclusive); ' +
        'by subject: test users 2,4,9,10,12,13,18,20,24, the other 21 train; windows in labels.txt order',
      class_names: HAPT_CLASSES,
      input_shape: [1, HAPT_WINDOW, HAPT_CHANNELS],
      input_scale: 1 / HAPT_Q_PER_STD,
      input_zero_point: 0,
      prep_version: HAPT_PREP_VERSION,
      preprocessing: {
        channels: ['acc_x', 'acc_y', 'acc_z', 'gyro_x', 'gyro_y', 'gyro_z'],
        rule: 'z = (v - mean[c]) / std[c] with train-window statistics (population std); q = clamp(Math.round(z * 32), -128, 127)',
        mean,
        std,
      },
    },
    opts.root,
  );
}
