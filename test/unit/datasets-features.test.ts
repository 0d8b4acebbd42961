/** Data-set preparation pieces: WAV reader, FFT/mel/DCT (MFCC), FSDD clip fitting, the .ts parser and archive prep. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dctMatrix, fft, hann, melFilterBank, Mfcc } from '../../harness/datasets/audio/mfcc.js';
import { parseWav } from '../../harness/datasets/audio/wav.js';
import { FSDD_CLIP, FSDD_MFCC, fitClip } from '../../harness/datasets/fsdd.js';
import { loadPrepared } from '../../harness/datasets/prepared-io.js';
import { prepareTsArchive, type TsArchiveSet } from '../../harness/datasets/ts-archive.js';
import { parseTsFile } from '../../harness/datasets/ts-format.js';
import { makeAugment } from '../../harness/modeltools/augment.js';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import { HilError } from '../../harness/util/errors.js';

function throwsHil(f: () => unknown, re: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(HilError);
    expect((e as HilError).toLine()).to.match(re);
    return;
  }
  expect.fail('expected a HilError');
}

function wav(samples: number[], opts: { extraChunk?: boolean; bits?: number } = {}): Buffer {
  const data = Buffer.alloc(2 * samples.length);
  samples.forEach((s, i) => data.writeInt16LE(s, 2 * i));
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0);
  fmt.writeUInt16LE(1, 2);
  fmt.writeUInt32LE(8000, 4);
  fmt.writeUInt32LE(16000, 8);
  fmt.writeUInt16LE(2, 12);
  fmt.writeUInt16LE(opts.bits ?? 16, 14);
  const chunk = (id: string, body: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'latin1');
    h.writeUInt32LE(body.length, 4);
    return Buffer.concat([h, body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const body = Buffer.concat([
    Buffer.from('WAVE', 'latin1'),
    chunk('fmt ', fmt),
    ...(opts.extraChunk ? [chunk('LIST', Buffer.from('odd', 'latin1'))] : []),
    chunk('data', data),
  ]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

describe('datasets: WAV reader', () => {
  it('reads 16-bit PCM mono, skipping unknown (odd-sized) chunks', () => {
    const w = parseWav(wav([0, 16384, -32768, 32767], { extraChunk: true }), 'a.wav');
    expect(w.sampleRate).to.equal(8000);
    expect(Array.from(w.samples)).to.deep.equal([0, 0.5, -1, 32767 / 32768]);
  });

  it('names the file and the problem', () => {
    throwsHil(() => parseWav(Buffer.from('RIFX0000WAVE'), 'b.wav'), /^b\.wav: .*no RIFF\/WAVE header/);
    throwsHil(() => parseWav(wav([1, 2], { bits: 8 }), 'c.wav'), /^c\.wav: .*8 bits/);
    throwsHil(() => parseWav(wav([1, 2]).subarray(0, 46), 'd.wav'), /^d\.wav: .*chunk 'data' of 4 bytes runs past the end/);
    throwsHil(() => parseWav(wav([1, 2]).subarray(0, 40), 'e.wav'), /^e\.wav: .*no data chunk/);
  });
});

describe('datasets: MFCC front end', () => {
  it('FFT equals a naive DFT', () => {
    const rng = new Rng(3);
    const n = 64;
    const x = Array.from({ length: n }, () => rng.normal());
    const re = Float64Array.from(x);
    const im = new Float64Array(n);
    fft(re, im);
    for (const k of [0, 1, 5, 31, 32, 63]) {
      let r = 0;
      let i = 0;
      for (let t = 0; t < n; t++) {
        r += x[t] * Math.cos((-2 * Math.PI * k * t) / n);
        i += x[t] * Math.sin((-2 * Math.PI * k * t) / n);
      }
      expect(re[k]).to.be.closeTo(r, 1e-9);
      expect(im[k]).to.be.closeTo(i, 1e-9);
    }
    expect(() => fft(new Float64Array(6), new Float64Array(6))).to.throw(/power of two/);
  });

  it('mel filters are triangles with peak <= 1 covering the band in order, DCT is orthonormal', () => {
    const bank = melFilterBank(40, 256, 8000, 20, 4000);
    expect(bank).to.have.length(40);
    let lastPeak = -1;
    for (const w of bank) {
      const peak = w.indexOf(Math.max(...w));
      expect(Math.max(...w)).to.be.within(0.3, 1);
      expect(peak).to.be.at.least(lastPeak);
      lastPeak = peak;
    }
    expect(bank[0][0]).to.equal(0); // 0 Hz is below 20 Hz
    const d = dctMatrix(13, 40);
    for (let a = 0; a < 13; a++) {
      for (let b = 0; b < 13; b++) {
        const dot = d[a].reduce((s, v, i) => s + v * d[b][i], 0);
        expect(dot).to.be.closeTo(a === b ? 1 : 0, 1e-12);
      }
    }
    expect(hann(4)[0]).to.equal(0);
    expect(hann(4)[2]).to.be.closeTo(1, 1e-15);
  });

  it('FSDD config: 49 frames of 13 coefficients per second; a tone moves energy into its mel band', () => {
    const m = new Mfcc(FSDD_MFCC);
    expect(m.frames(FSDD_CLIP)).to.equal(49);
    const tone = (hz: number): Float32Array => Float32Array.from({ length: FSDD_CLIP }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / 8000));
    const lo = m.compute(tone(300));
    const hi = m.compute(tone(3000));
    expect(lo.length).to.equal(49 * 13);
    // c1 (low minus high spectral tilt) is larger for the low tone
    expect(lo[1]).to.be.greaterThan(hi[1]);
    // silence sits at the log floor: c0 = sqrt(40) * ln(1e-6)
    const silent = m.compute(new Float32Array(FSDD_CLIP));
    expect(silent[0]).to.be.closeTo(Math.sqrt(40) * Math.log(1e-6), 1e-9);
  });

  it('centres short clips in 1 s and keeps the middle of long ones', () => {
    const short = fitClip(Float32Array.from([1, 2, 3, 4]));
    expect(short.length).to.equal(8000);
    expect(Array.from(short.subarray(3997, 4003))).to.deep.equal([0, 1, 2, 3, 4, 0]);
    const long = fitClip(Float32Array.from({ length: 8004 }, (_, i) => i));
    expect(long[0]).to.equal(2);
    expect(long[7999]).to.equal(8001);
  });
});

describe('datasets: .ts files and UEA/UCR archive preparation', () => {
  const ts = (cases: string[]): string =>
    ['# comment', '@problemName X', '@dimensions 2', '@classLabel true b a', '@data', ...cases, ''].join('\n');

  it('parses dimensions, values and labels in header order', () => {
    const f = parseTsFile(ts(['1,2,3:4,5,6:a', '0.5,-1,2e1:0,0,0:b']), 'x.ts');
    expect(f.classLabels).to.deep.equal(['b', 'a']);
    expect(f.dimensions).to.equal(2);
    expect(f.series[1]).to.deep.equal([[0.5, -1, 20], [0, 0, 0]]);
    expect(f.labels).to.deep.equal([1, 0]);
  });

  it('names the line of a bad case', () => {
    throwsHil(() => parseTsFile(ts(['1,2:3,4:c']), 'x.ts'), /^x\.ts: line 6: label 'c'/);
    throwsHil(() => parseTsFile(ts(['1,?:3,4:a']), 'x.ts'), /line 6, dimension 0: '\?' is not a number/);
    throwsHil(() => parseTsFile(ts(['1,2:3,4:a', '1,2:a']), 'x.ts'), /line 7: 1 dimensions/);
    throwsHil(() => parseTsFile('@data\n1:a\n', 'x.ts'), /no @classLabel/);
  });

  it('prepares [1, T, C] windows standardised with train statistics', () => {
    const dir = mkdtempSync(join(tmpdir(), 'yono-ts-'));
    try {
      mkdirSync(join(dir, 'raw', 'toy'), { recursive: true });
      writeFileSync(join(dir, 'raw', 'toy', 'T.ts'), ts(['0,2,4:1,1,1:a', '4,2,0:3,3,3:b']));
      writeFileSync(join(dir, 'raw', 'toy', 'E.ts'), ts(['2,2,2:2,2,2:b']));
      const set: TsArchiveSet = {
        name: 'toy', prepVersion: 'toy/1', folder: 'toy', files: { train: 'T.ts', test: 'E.ts' }, length: 3,
        channels: ['u', 'v'], classNames: ['A', 'B'], tsLabels: ['a', 'b'], counts: { train: 2, test: 1 },
        meta: { modality: 'm', source: { description: 'd', location: '', url: 'u', citation: 'c' }, license: 'l', split_rule: 's' },
      };
      const m = prepareTsArchive(set, { dataDir: join(dir, 'raw'), root: join(dir, 'prep') });
      expect(m.input_shape).to.deep.equal([1, 3, 2]);
      const train = loadPrepared('toy', 'train', { root: join(dir, 'prep') });
      // channel u: mean 2, std 1.633; v: mean 2, std 1 -> q = round(z * 32), time-major
      expect(Array.from(train.x.subarray(0, 6))).to.deep.equal([-39, -32, 0, -32, 39, -32]);
      expect(Array.from(train.y)).to.deep.equal([0, 1]); // our class order, not the header's
      const test = loadPrepared('toy', 'test', { root: join(dir, 'prep') });
      expect(Array.from(test.x)).to.deep.equal([0, 0, 0, 0, 0, 0]);
      throwsHil(() => prepareTsArchive({ ...set, length: 4 }, { dataDir: join(dir, 'raw'), root: join(dir, 'prep') }), /T\.ts: case 0: series length is not 4/);
      throwsHil(() => prepareTsArchive({ ...set, folder: 'nope' }, { dataDir: join(dir, 'raw'), root: join(dir, 'prep') }), /nope\/T\.ts: missing raw data file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('training augmentation', () => {
  it('shifts along the time axis with edge replication and is seeded', () => {
    const aug = makeAugment({ timeAxis: 'w', maxShift: 2, gain: 0 }, [1, 5, 2]);
    const seen = new Set<string>();
    for (let s = 0; s < 20; s++) {
      const x = Float32Array.from([0, 10, 1, 11, 2, 12, 3, 13, 4, 14]);
      aug(x, new Rng(s));
      seen.add(Array.from(x).join(','));
      const again = Float32Array.from([0, 10, 1, 11, 2, 12, 3, 13, 4, 14]);
      aug(again, new Rng(s));
      expect(Array.from(again)).to.deep.equal(Array.from(x));
    }
    expect(seen).to.include('0,10,0,10,1,11,2,12,3,13'); // shift +1
    expect(seen).to.include('2,12,3,13,4,14,4,14,4,14'); // shift -2
    expect(seen.size).to.equal(5);
    const h = makeAugment({ timeAxis: 'h', maxShift: 1, gain: 0 }, [3, 2, 1]);
    const y = Float32Array.from([1, 2, 3, 4, 5, 6]);
    let r = 0;
    while (new Rng(r).int(3) !== 2) r++; // a seed whose first draw is shift +1
    h(y, new Rng(r));
    expect(Array.from(y)).to.deep.equal([1, 2, 1, 2, 3, 4]);
    expect(() => makeAugment({ timeAxis: 'w', maxShift: 1, gain: 0 }, [2, 3, 1])).to.throw(/needs H = 1/);
  });
});
