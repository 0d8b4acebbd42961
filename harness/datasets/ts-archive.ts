/**
 * UEA/UCR archive sets from `.ts` files (official train/test split) as [1, T, C] int8 windows:
 * time-major, each channel standardised with train statistics, q = clamp(round(z * 32)).
 * One configuration per data set (uea_racketsports, ucr_pickupgesturewiimotez).
 */
import { join } from 'node:path';
import { HilError } from '../util/errors.js';
import { rawDataDir } from './paths.js';
import { PreparedManifest, Split, SplitData, writePrepared } from './prepared-io.js';
import { readRaw } from './raw.js';
import { parseTsFile, type TsFile } from './ts-format.js';

export interface TsArchiveSet {
  name: string;
  prepVersion: string;
  /** folder under the raw data dir, and the two files in it */
  folder: string;
  files: Record<Split, string>;
  length: number;
  channels: string[];
  /** class names in label order, and the `.ts` label of each */
  classNames: string[];
  tsLabels: string[];
  counts: Record<Split, number>;
  meta: Pick<PreparedManifest, 'modality' | 'source' | 'license' | 'split_rule'>;
}

export const TS_Q_PER_STD = 32;

export const RACKETSPORTS: TsArchiveSet = {
  name: 'uea_racketsports',
  prepVersion: 'uea_racketsports-prep/1',
  folder: 'uea_racketsports',
  files: { train: 'RacketSports_TRAIN.ts', test: 'RacketSports_TEST.ts' },
  length: 30,
  // order and units undocumented; the PROVENANCE infers acc (dims 0-2) and gyro (dims 3-5)
  channels: ['dim0 (acc x?)', 'dim1 (acc y?)', 'dim2 (acc z?)', 'dim3 (gyro x?)', 'dim4 (gyro y?)', 'dim5 (gyro z?)'],
  classNames: ['Badminton_Smash', 'Badminton_Clear', 'Squash_ForehandBoast', 'Squash_BackhandBoast'],
  tsLabels: ['Badminton_Smash', 'Badminton_Clear', 'Squash_ForehandBoast', 'Squash_BackhandBoast'],
  counts: { train: 151, test: 152 },
  meta: {
    modality: 'IMU time series: smartwatch accelerometer + gyroscope, 6 channels x 30 samples (3 s at 10 Hz)',
    source: {
      description: 'UEA archive RacketSports_{TRAIN,TEST}.ts (see PROVENANCE.md in the data folder)',
      location: '',
      url: 'https://www.timeseriesclassification.com/description.php?Dataset=RacketSports',
      citation:
        'A. Bagnall, H. A. Dau, J. Lines, M. Flynn, J. Large, A. Bostrom, P. Southam, E. Keogh. The UEA multivariate time series classification archive, 2018. arXiv:1811.00075',
    },
    license: 'none stated (UEA archive asks for citation); UNCONFIRMED: the data folder PROVENANCE says delete if unsure',
    split_rule: 'official UEA split: 151 train / 152 test cases, file order; no subject ids',
  },
};

export const PICKUP: TsArchiveSet = {
  name: 'ucr_pickupgesturewiimotez',
  prepVersion: 'ucr_pickupgesturewiimotez-prep/1',
  folder: 'ucr_pickupgesturewiimotez',
  // the equal-length copies: series shorter than 361 padded at the end with low noise (UCR 2018)
  files: { train: 'PickupGestureWiimoteZ_eq_TRAIN.ts', test: 'PickupGestureWiimoteZ_eq_TEST.ts' },
  length: 361,
  channels: ['acc z (Wiimote, g)'],
  classNames: Array.from({ length: 10 }, (_, i) => `subject_${i + 1}`),
  tsLabels: Array.from({ length: 10 }, (_, i) => String(i + 1)),
  counts: { train: 50, test: 50 },
  meta: {
    modality: 'accelerometer z-axis (Nintendo Wiimote), 361 samples, one "pick-up" gesture per case; classes = who performed it',
    source: {
      description: 'UCR archive PickupGestureWiimoteZ_eq_{TRAIN,TEST}.ts, equal-length (361) copies (see PROVENANCE.md in the data folder)',
      location: '',
      url: 'https://timeseriesclassification.com/description.php?Dataset=PickupGestureWiimoteZ',
      citation:
        'J. Guna, I. Humar, M. Pogacnik. Intuitive gesture based user identification system. TSP 2012; H. A. Dau et al. The UCR Time Series Classification Archive, 2018',
    },
    license: 'none stated (UCR archive asks for citation; redistributed in BSD-3 aeon); unconfirmed',
    split_rule: 'official UCR split: 50 train / 50 test cases (5 per subject each), file order',
  },
};

export const TS_ARCHIVE_SETS: readonly TsArchiveSet[] = [RACKETSPORTS, PICKUP];

function load(set: TsArchiveSet, dir: string, split: Split): TsFile {
  const path = join(dir, set.files[split]);
  const f = parseTsFile(readRaw(path, `the shared ${set.folder} copy; set YONO_DATA_DIR to the folder that holds ${set.folder}/`).toString('utf8'), path);
  if (f.dimensions !== set.channels.length) throw new HilError(`${f.dimensions} dimensions, expected ${set.channels.length}`, path);
  if (f.series.length !== set.counts[split]) throw new HilError(`${f.series.length} cases, expected ${set.counts[split]}`, path);
  f.series.forEach((dims, i) => {
    if (dims.some((d) => d.length !== set.length)) throw new HilError(`case ${i}: series length is not ${set.length}`, path);
  });
  for (const l of set.tsLabels) if (!f.classLabels.includes(l)) throw new HilError(`@classLabel lacks '${l}'`, path);
  return f;
}

export function prepareTsArchive(set: TsArchiveSet, opts: { dataDir?: string; root?: string } = {}): PreparedManifest {
  const dir = join(rawDataDir(opts.dataDir), set.folder);
  const files = { train: load(set, dir, 'train'), test: load(set, dir, 'test') };
  const C = set.channels.length;
  const T = set.length;

  // per-channel train statistics over every time step of every train case
  const mean = new Array<number>(C).fill(0);
  const sq = new Array<number>(C).fill(0);
  for (const dims of files.train.series) for (let c = 0; c < C; c++) for (const v of dims[c]) mean[c] += v;
  const n = files.train.series.length * T;
  for (let c = 0; c < C; c++) mean[c] /= n;
  for (const dims of files.train.series) for (let c = 0; c < C; c++) for (const v of dims[c]) sq[c] += (v - mean[c]) ** 2;
  const std = sq.map((v) => Math.sqrt(v / n));

  let saturated = 0;
  const data = {} as Record<Split, SplitData>;
  for (const sp of ['train', 'test'] as const) {
    const f = files[sp];
    const count = f.series.length;
    const x = new Int8Array(count * T * C);
    f.series.forEach((dims, i) => {
      for (let t = 0; t < T; t++) {
        for (let c = 0; c < C; c++) {
          const q = Math.round(((dims[c][t] - mean[c]) / std[c]) * TS_Q_PER_STD);
          if (sp === 'train' && (q < -128 || q > 127)) saturated++;
          x[(i * T + t) * C + c] = q < -128 ? -128 : q > 127 ? 127 : q;
        }
      }
    });
    // .ts label (header order) -> our class index
    const y = Uint8Array.from(f.labels.map((l) => set.tsLabels.indexOf(f.classLabels[l])));
    data[sp] = { x, y, count };
  }

  return writePrepared(
    set.name,
    data,
    {
      ...set.meta,
      source: { ...set.meta.source, location: dir },
      class_names: set.classNames,
      input_shape: [1, T, C],
      input_scale: 1 / TS_Q_PER_STD,
      input_zero_point: 0,
      prep_version: set.prepVersion,
      preprocessing: {
        channels: set.channels,
        rule: 'z = (v - mean[c]) / std[c] with train statistics over all train time steps (population std); q = clamp(Math.round(z * 32), -128, 127)',
        layout: '[1][time][channel]',
        train_values_saturated: saturated / (n * C),
        mean,
        std,
      },
    },
    opts.root,
  );
}
