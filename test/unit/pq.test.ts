/**
 * YONO pq (issue #4): index packing, decoding, k-means determinism, re-assignment, validation,
 * and the firmware kernels compiled natively (plain C and emulated-DSP paths) from the code the
 * generator emits, checked bit for bit against the host reference on random inputs.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assignRows, chooseLayers, DEFAULT_PQ_OPTIONS } from '../../harness/compress/codebooks.js';
import { compressModel, learnCodebooks } from '../../harness/compress/compress.js';
import { kmeans } from '../../harness/compress/kmeans.js';
import { CODEBOOK_FORMAT, codebookHash, decodePqModel, packIndices, pqFileJson, rowShape, validatePqModel } from '../../harness/compress/pq-model.js';
import type { Codebook, PqModel } from '../../harness/compress/pq-model.js';
import { generateFirmwareSources } from '../../harness/modeltools/codegen.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { HilError } from '../../harness/util/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function book(id: string, kind: 'kxk' | 'fc', d: number, codewords: number[]): Codebook {
  const k = codewords.length / d;
  const cb: Codebook = { format: CODEBOOK_FORMAT, id, kind, d, k, index_bits: k <= 16 ? 4 : 8, codewords, learned_from: [], hash: '' };
  cb.hash = codebookHash(cb);
  return cb;
}

/** Seeded synthetic int8 model: conv3x3 (ic 1) -> conv3x3 (ic 8, pq kxk) -> dense (pq fc) -> dense. */
function tinyModel(seed: number): Int8Model {
  let s = seed;
  const r = (lo: number, hi: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return lo + (s % (hi - lo + 1));
  };
  const arr = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => r(lo, hi));
  const req = (n: number) => ({ multiplier: arr(n, 16384, 32767), shift: arr(n, 14, 17) });
  return {
    format: 'yono-int8/1', name: 'tiny_pq', dataset: 'synthetic', classes: 5,
    input: { shape: [6, 6, 1], scale: 0.02, zero_point: -3 }, output: { scale: 0.1, zero_point: 2 },
    layers: [
      { op: 'conv2d', in_shape: [6, 6, 1], out_shape: [6, 6, 8], kh: 3, kw: 3, stride_h: 1, stride_w: 1, pad_top: 1, pad_left: 1, in_zp: -3, out_zp: -128, act_min: -128, act_max: 127, weights: arr(72, -127, 127), bias: arr(8, -500, 500), ...req(8) },
      { op: 'conv2d', in_shape: [6, 6, 8], out_shape: [3, 3, 9], kh: 3, kw: 3, stride_h: 2, stride_w: 2, pad_top: 1, pad_left: 1, in_zp: -128, out_zp: 5, act_min: 5, act_max: 127, weights: arr(648, -127, 127), bias: arr(9, -2000, 2000), ...req(9) },
      { op: 'dense', in_features: 81, out_features: 16, in_zp: 5, out_zp: 0, act_min: -128, act_max: 127, weights: arr(0, 0, 0), bias: arr(16, -900, 900), ...req(16) },
      { op: 'dense', in_features: 16, out_features: 5, in_zp: 0, out_zp: 2, act_min: -128, act_max: 127, weights: arr(80, -127, 127), bias: arr(5, -300, 300), ...req(5) },
    ],
  } as Int8Model;
}

describe('pq (YONO shared codebooks)', () => {
  it('packs 4-bit indices low nibble first, rows byte-aligned', () => {
    expect(packIndices([1, 2, 3, 4, 5, 6], 2, 4)).to.deep.equal([0x21, 0x03, 0x54, 0x06]);
    expect(packIndices([7, 200], 1, 8)).to.deep.equal([7, 200]);
  });

  it('k-means is reproducible for a seed and finds well separated clusters', () => {
    const x = new Float64Array([0, 0, 1, 0, 0, 1, 100, 100, 101, 100, 100, 101]);
    const a = kmeans(x, 2, 2, { seed: 3 });
    const b = kmeans(x, 2, 2, { seed: 3 });
    expect(Array.from(a.centroids)).to.deep.equal(Array.from(b.centroids));
    expect(a.assign[0]).to.equal(a.assign[1]).and.to.equal(a.assign[2]);
    expect(a.assign[3]).to.not.equal(a.assign[0]);
  });

  it('assigns a row made of codewords to exactly those codewords (ratio 1)', () => {
    const cb = book('t', 'fc', 2, [10, 10, -20, 5, 0, 127]);
    const a = assignRows([0, 127, 10, 10, -20, 5, 0, 127], 2, 4, cb, 3);
    expect(a.indices).to.deep.equal([2, 0, 1, 2]);
    expect(a.ratio).to.deep.equal([1, 1]);
    expect(a.relError).to.equal(0);
  });

  it('keeps the first layer, small layers and non-multiple rows int8 (stated heuristic)', () => {
    const c = chooseLayers(tinyModel(1), { ...DEFAULT_PQ_OPTIONS, kxkD: 8, fcD: 8, minWeights: 100, pqFirst: false, fineBelow: 0 });
    expect(c.map((x) => x.pq)).to.deep.equal([null, 'kxk', null, null]);
    expect(c[0].reason).to.equal('first weight layer');
    expect(c[3].reason).to.match(/< 100 weights/);
  });

  it('sends first and small layers to the fine (d=2) codebooks, large ones to the d=4 ones', () => {
    const c = chooseLayers(tinyModel(1), { ...DEFAULT_PQ_OPTIONS, fineBelow: 1000 });
    const m = tinyModel(1);
    const rows = c.map((x) => rowShape(m.layers[x.layer] as Parameters<typeof rowShape>[0]).row);
    // a first layer or a < 1000-weight layer with an even row goes fine; one with an odd row stays int8
    c.forEach((x, i) => {
      if (x.pq === null) expect(rows[i] % 2, x.reason).to.equal(1);
      else if (i === 0 || x.weights < 1000) expect(x.book, x.reason).to.equal(`${x.pq}_fine`);
      else expect(x.book).to.equal(x.pq);
    });
    expect(c.some((x) => x.book?.endsWith('_fine'))).to.equal(true);
  });

  it('rejects a layer whose codebook hash does not match, naming the field', () => {
    const m = tinyModel(2);
    (m.layers[2] as { weights: number[] }).weights = Array.from({ length: 81 * 16 }, (_, i) => ((i * 37) % 255) - 127);
    const o = { ...DEFAULT_PQ_OPTIONS, kxkD: 8, fcD: 9, fcK: 16, kxkK: 32, minWeights: 100, pqFirst: false, fineBelow: 0 };
    const books = learnCodebooks([m], o);
    const { pq } = compressModel(m, books, o);
    const json = JSON.parse(JSON.stringify(pqFileJson(pq))) as { layers: { codebook?: { hash: string } }[] };
    json.layers[1].codebook!.hash = '0000000000000000';
    expect(() => validatePqModel(json, 'x/pq.json', pq.codebooks)).to.throw(HilError, /layers\[1\]\.codebook\.hash/);
  });

  it('native kernels (plain C and DSP path) equal the host reference bit for bit', function () {
    this.timeout(60000);
    try {
      execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    const m = tinyModel(3);
    (m.layers[2] as { weights: number[] }).weights = Array.from({ length: 81 * 16 }, (_, i) => ((i * 53) % 255) - 127);
    // kxk: 8-bit indices, d 8; fc: 4-bit indices (k 16), d 9 (generic d path, odd row count)
    const o = { ...DEFAULT_PQ_OPTIONS, kxkD: 8, kxkK: 40, fcD: 9, fcK: 16, minWeights: 100, pqFirst: false, fineBelow: 0 };
    const { pq } = compressModel(m, learnCodebooks([m], o), o);
    expect(pq.layers.map((l) => l.op)).to.deep.equal(['conv2d', 'conv2d_pq', 'dense_pq', 'dense']);
    const valid: PqModel = validatePqModel(JSON.parse(JSON.stringify(pqFileJson(pq))), 'tiny', pq.codebooks);
    const dir = mkdtempSync(join(tmpdir(), 'yono-pq-'));
    try {
      generateFirmwareSources([valid], dir);
      const main = join(dir, 'main.c');
      writeFileSync(
        main,
        `#include <stdio.h>\n#include "models.h"\nint main(void){int8_t x[36];int v;for(;;){for(int i=0;i<36;i++){if(scanf("%d",&v)!=1)return 0;x[i]=(int8_t)v;}\n` +
          `const int8_t*y=yono_model_run(&yono_models[0],x);for(int i=0;i<5;i++)printf("%d ",y[i]);printf("\\n");}}\n`,
      );
      const kernels = readdirSync(join(ROOT, 'firmware', 'kernels')).filter((f) => f.endsWith('.c')).map((f) => join(ROOT, 'firmware', 'kernels', f));
      const inputs = Array.from({ length: 40 }, (_, k) => Int8Array.from({ length: 36 }, (_, i) => (((i + 1) * (k + 7) * 29) % 256) - 128));
      const want = inputs.map((x) => Array.from(runInt8(decodePqModel(valid), x)).join(' ')).join('\n');
      for (const defs of [[], ['-DYONO_EMULATE_DSP']]) {
        const exe = join(dir, `t${defs.length}`);
        execFileSync('gcc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', ...defs, `-I${join(ROOT, 'firmware', 'kernels')}`, `-I${join(ROOT, 'firmware', 'runtime')}`, `-I${dir}`,
          ...kernels, join(ROOT, 'firmware', 'runtime', 'interp.c'), join(dir, 'models.c'), main, '-o', exe]);
        const got = execFileSync(exe, [], { input: inputs.map((x) => Array.from(x).join(' ')).join('\n'), encoding: 'utf8' }).trim();
        expect(got.split('\n').map((l) => l.trim()).join('\n'), defs.join(' ') || 'plain C').to.equal(want);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
