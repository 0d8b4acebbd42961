/**
 * Free Spoken Digit Dataset (8 kHz WAV) -> MFCC images [49 frames, 13 coefficients, 1].
 * Each clip is centred in 1 s of silence (longer clips: the central 1 s), framed at 30 ms with a
 * 20 ms hop, Hann window, 256-point FFT, 40 mel filters (20-4000 Hz), log, DCT-II -> 13 MFCCs;
 * each coefficient is standardised with train statistics and q = clamp(round(z * 32)).
 *
 * Two splits of the same clips, each its own prepared data set:
 *   fsdd          the official split (README): file index 0-4 test (300), 5-49 train (2,700);
 *   fsdd_speaker  one speaker held out: every clip of FSDD_HELD_OUT_SPEAKER is test (500), the
 *                 other five speakers' clips (all indices) train (2,500).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HilError } from '../util/errors.js';
import { Mfcc, type MfccConfig } from './audio/mfcc.js';
import { parseWav } from './audio/wav.js';
import { rawDataDir } from './paths.js';
import { PreparedManifest, Split, SplitData, writePrepared } from './prepared-io.js';
import { readRaw } from './raw.js';

export const FSDD_NAME = 'fsdd';
export const FSDD_SPEAKER_NAME = 'fsdd_speaker';
export const FSDD_PREP_VERSION = 'fsdd-prep/1';
export const FSDD_SPEAKERS = ['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler'] as const;
/** Held out in fsdd_speaker: the first speaker of speakers.csv, fixed before any training. */
export const FSDD_HELD_OUT_SPEAKER = 'george';
export const FSDD_RATE = 8000;
/** 1 s at 8 kHz */
export const FSDD_CLIP = 8000;
export const FSDD_MFCC: MfccConfig = {
  sampleRate: FSDD_RATE, frame: 240, hop: 160, nFft: 256, melFilters: 40, fLow: 20, fHigh: 4000, coefficients: 13,
  // about the 16-bit quantisation noise of a mel band: silence and padding look alike
  logFloor: 1e-6,
};
export const FSDD_FRAMES = 49;
/** q = round(z * 32): +-4 standard deviations fit in int8 */
export const FSDD_Q_PER_STD = 32;
const PROVIDED_BY = 'the shared FSDD copy (fsdd/recordings/*.wav); set YONO_DATA_DIR to the folder that holds fsdd/';

interface Clip {
  file: string;
  digit: number;
  speaker: string;
  index: number;
}

const FILE_RE = /^([0-9])_([a-z]+)_([0-9]{1,2})\.wav$/;

function listClips(dir: string): Clip[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new HilError(`missing raw data folder (provided by ${PROVIDED_BY})`, dir);
  }
  const clips: Clip[] = [];
  for (const file of names) {
    const m = FILE_RE.exec(file);
    if (!m) continue;
    const clip = { file, digit: Number(m[1]), speaker: m[2], index: Number(m[3]) };
    if (!(FSDD_SPEAKERS as readonly string[]).includes(clip.speaker) || clip.index > 49) {
      throw new HilError(`unexpected recording ${file} (speakers ${FSDD_SPEAKERS.join(', ')}, index 0-49)`, dir);
    }
    clips.push(clip);
  }
  if (clips.length !== 3000) throw new HilError(`${clips.length} recordings named <digit>_<speaker>_<index>.wav, expected 3000`, dir);
  // stable order: speaker, digit, index
  const sp = (s: string): number => (FSDD_SPEAKERS as readonly string[]).indexOf(s);
  return clips.sort((a, b) => sp(a.speaker) - sp(b.speaker) || a.digit - b.digit || a.index - b.index);
}

/** The clip centred in FSDD_CLIP samples of silence, or its central FSDD_CLIP samples. */
export function fitClip(s: Float32Array): Float32Array {
  const out = new Float32Array(FSDD_CLIP);
  if (s.length >= FSDD_CLIP) {
    const start = Math.floor((s.length - FSDD_CLIP) / 2);
    out.set(s.subarray(start, start + FSDD_CLIP));
  } else {
    out.set(s, Math.floor((FSDD_CLIP - s.length) / 2));
  }
  return out;
}

export type FsddVariant = typeof FSDD_NAME | typeof FSDD_SPEAKER_NAME;

function splitOf(variant: FsddVariant, c: Clip): Split {
  return variant === FSDD_NAME ? (c.index <= 4 ? 'test' : 'train') : c.speaker === FSDD_HELD_OUT_SPEAKER ? 'test' : 'train';
}

/** MFCCs of every clip, computed once per process (both variants share them). */
let cache: { dir: string; clips: Clip[]; feats: Float64Array[] } | undefined;

function features(dir: string): { clips: Clip[]; feats: Float64Array[] } {
  if (cache?.dir === dir) return cache;
  const clips = listClips(dir);
  const mfcc = new Mfcc(FSDD_MFCC);
  if (mfcc.frames(FSDD_CLIP) !== FSDD_FRAMES) throw new Error('FSDD_MFCC does not give 49 frames per second');
  const feats = clips.map((c) => {
    const path = join(dir, c.file);
    const wav = parseWav(readRaw(path, PROVIDED_BY), path);
    if (wav.sampleRate !== FSDD_RATE) throw new HilError(`sample rate ${wav.sampleRate}, expected ${FSDD_RATE}`, path);
    return mfcc.compute(fitClip(wav.samples));
  });
  cache = { dir, clips, feats };
  return cache;
}

export function prepareFsdd(variant: FsddVariant, opts: { dataDir?: string; root?: string } = {}): PreparedManifest {
  const base = join(rawDataDir(opts.dataDir), 'fsdd');
  const dir = join(base, 'recordings');
  const { clips, feats } = features(dir);
  const K = FSDD_MFCC.coefficients;
  const frame = FSDD_FRAMES * K;

  const idx: Record<Split, number[]> = { train: [], test: [] };
  clips.forEach((c, i) => idx[splitOf(variant, c)].push(i));

  // per-coefficient train statistics over every frame of every train clip
  const mean = new Array<number>(K).fill(0);
  const sq = new Array<number>(K).fill(0);
  for (const i of idx.train) for (let k = 0; k < frame; k++) mean[k % K] += feats[i][k];
  const n = idx.train.length * FSDD_FRAMES;
  for (let k = 0; k < K; k++) mean[k] /= n;
  for (const i of idx.train) {
    for (let k = 0; k < frame; k++) {
      const d = feats[i][k] - mean[k % K];
      sq[k % K] += d * d;
    }
  }
  const std = sq.map((v) => Math.sqrt(v / n));

  const data = {} as Record<Split, SplitData>;
  for (const sp of ['train', 'test'] as const) {
    const count = idx[sp].length;
    const x = new Int8Array(count * frame);
    idx[sp].forEach((ci, j) => {
      for (let k = 0; k < frame; k++) {
        const q = Math.round(((feats[ci][k] - mean[k % K]) / std[k % K]) * FSDD_Q_PER_STD);
        x[j * frame + k] = q < -128 ? -128 : q > 127 ? 127 : q;
      }
    });
    data[sp] = { x, y: Uint8Array.from(idx[sp].map((i) => clips[i].digit)), count };
  }
  const expected = variant === FSDD_NAME ? { train: 2700, test: 300 } : { train: 2500, test: 500 };
  if (data.train.count !== expected.train || data.test.count !== expected.test) {
    throw new HilError(`${data.train.count}/${data.test.count} train/test clips, expected ${expected.train}/${expected.test}`, dir);
  }

  const m = FSDD_MFCC;
  return writePrepared(
    variant,
    data,
    {
      modality: 'audio: spoken digits, 8 kHz mono 16-bit WAV, as 49 x 13 MFCC frames (1 s)',
      source: {
        description: 'Free Spoken Digit Dataset recordings/*.wav, 3,000 clips of 6 speakers (see PROVENANCE.md in the data folder)',
        location: base,
        url: 'https://github.com/Jakobovski/free-spoken-digit-dataset',
        citation: 'Zohar Jackson et al. Free Spoken Digit Dataset (FSDD), https://github.com/Jakobovski/free-spoken-digit-dataset, 2016-2020 (v1.0.10)',
      },
      license: 'CC BY-SA 4.0 (derivatives of the audio, such as these features, are shared alike)',
      split_rule:
        variant === FSDD_NAME
          ? 'official (README): recordings with index 0-4 test, 5-49 train; every speaker in both'
          : `speaker held out: all 500 clips of '${FSDD_HELD_OUT_SPEAKER}' test, the other 5 speakers' 2,500 clips train`,
      class_names: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
      input_shape: [FSDD_FRAMES, K, 1],
      input_scale: 1 / FSDD_Q_PER_STD,
      input_zero_point: 0,
      prep_version: FSDD_PREP_VERSION,
      preprocessing: {
        clip: `centred in ${FSDD_CLIP} samples (1 s) of zeros; longer clips keep their central ${FSDD_CLIP} samples`,
        signal: 'int16 / 32768',
        frames: `${m.frame} samples (30 ms), hop ${m.hop} (20 ms), periodic Hann window, ${FSDD_FRAMES} frames`,
        spectrum: `|FFT_${m.nFft}|^2 (radix-2, project code)`,
        mel: `${m.melFilters} triangular filters, HTK mel scale, ${m.fLow}-${m.fHigh} Hz, peak 1`,
        log: `ln(energy + ${m.logFloor})`,
        dct: `orthonormal DCT-II, coefficients 0-${K - 1}`,
        rule: 'z = (mfcc - mean[k]) / std[k] with train statistics over all train frames (population std); q = clamp(Math.round(z * 32), -128, 127)',
        layout: '[frame][coefficient][1]',
        mean,
        std,
      },
    },
    opts.root,
  );
}
