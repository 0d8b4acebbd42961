/**
 * YONO pq: index packing, decoding, k-means determinism, re-assignment, validation,
 * and the firmware kernels compiled natively (plain C and emulated-DSP paths) from the code the
 * generator emits, checked bit for bit against the host reference on random inputs.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assignRows, chooseLayers, DEFAULT_PQ_OPTIONS, planProtection } from '../../harness/compress/codebooks.js';
import type { ProtectCandidate } from '../../harness/compress/codebooks.js';
import { finetuneOptions, splitValidation, validationScore, validationSet } from '../../harness/compress/finetune.js';
import { compressModel, learnCodebooks } from '../../harness/compress/compress.js';
import { kmeans } from '../../harness/compress/kmeans.js';
import { CODEBOOK_FORMAT, codebookHash, decodePqModel, isPqLayer, packIndices, pqBiasTable, pqFileJson, rowShape, validatePqModel } from '../../harness/compress/pq-model.js';
import type { Codebook, PqLayer, PqModel } from '../../harness/compress/pq-model.js';
import { accountSet } from '../../harness/compress/accounting.js';
import { generateFirmwareSources, modelScratchBytes, pqTableD } from '../../harness/codegen/codegen.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { predictInt8, runInt8 } from '../../harness/reference/int8.js';
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

/** Seeded model whose pq layers take both kernel paths of SPEC section 4 with the zoo's default books:
 * conv3x3 (ic 1, int8) -> conv3x3 16ch (kxk_fine d=2, table path) -> conv3x3/2 24ch (kxk d=4, table
 * path) -> conv1x1 2ch (fc_fine d=2, 300 index reads < 512: direct path) -> dense (fc_fine d=2). */
function tableModel(seed: number): Int8Model {
  let s = seed;
  const r = (lo: number, hi: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return lo + ((s >>> 8) % (hi - lo + 1));
  };
  const arr = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => r(lo, hi));
  const req = (n: number, sh: number) => ({ multiplier: arr(n, 16384, 32767), shift: arr(n, sh - 1, sh + 1) });
  const conv = (ih: number, iw: number, ic: number, oc: number, k: number, st: number, inZp: number, outZp: number, sh: number) => ({
    op: 'conv2d' as const, in_shape: [ih, iw, ic] as [number, number, number], out_shape: [Math.ceil(ih / st), Math.ceil(iw / st), oc] as [number, number, number],
    kh: k, kw: k, stride_h: st, stride_w: st, pad_top: k >> 1, pad_left: k >> 1, in_zp: inZp, out_zp: outZp, act_min: outZp, act_max: 127,
    weights: arr(oc * k * k * ic, -127, 127), bias: arr(oc, -3000, 3000), ...req(oc, sh),
  });
  return {
    format: 'yono-int8/1', name: 'table_pq', dataset: 'synthetic', classes: 5,
    input: { shape: [10, 10, 1], scale: 0.02, zero_point: -3 }, output: { scale: 0.1, zero_point: 2 },
    layers: [
      conv(10, 10, 1, 8, 3, 1, -3, -128, 21),
      conv(10, 10, 8, 16, 3, 1, -128, -100, 25),
      conv(10, 10, 16, 24, 3, 2, -100, -128, 26),
      conv(5, 5, 24, 2, 1, 1, -128, -120, 24),
      { op: 'dense', in_features: 50, out_features: 5, in_zp: -120, out_zp: 2, act_min: -128, act_max: 127, weights: arr(250, -127, 127), bias: arr(5, -900, 900), ...req(5, 23) },
    ],
  } as Int8Model;
}

/** Compiles the generated sources of `valid` with the firmware kernels natively (plain C, then the
 * emulated DSP path) and runs `inputs` through model 0; returns each build's output lines. The
 * program first prints YONO_SCRATCH_BYTES, the largest yono_layer_scratch_bytes (4-aligned) and the
 * number of layers yono_pq_table_d sends to the table path. */
function runGenerated(valid: PqModel, inputs: Int8Array[], classes: number): { defs: string; lines: string[] }[] {
  const dir = mkdtempSync(join(tmpdir(), 'yono-pq-'));
  try {
    generateFirmwareSources([valid], dir);
    const main = join(dir, 'main.c');
    const n = inputs[0].length;
    writeFileSync(
      main,
      `#include <stdio.h>\n#include "models.h"\n` +
        `int main(void){const yono_model_t*m=&yono_models[0];uint32_t mx=0,tab=0;for(uint32_t i=0;i<m->n_layers;i++){uint32_t b=(yono_layer_scratch_bytes(&m->layers[i])+3u)&~3u;if(b>mx)mx=b;if(yono_pq_table_d(&m->layers[i]))tab++;}\n` +
        `printf("scratch %u %u table %u\\n",(unsigned)YONO_SCRATCH_BYTES,(unsigned)mx,(unsigned)tab);\n` +
        `int8_t x[${n}];int v;for(;;){for(int i=0;i<${n};i++){if(scanf("%d",&v)!=1)return 0;x[i]=(int8_t)v;}\n` +
        `const int8_t*y=yono_model_run(m,x);for(int i=0;i<${classes};i++)printf("%d ",y[i]);printf("\\n");}}\n`,
    );
    const kernels = readdirSync(join(ROOT, 'firmware', 'kernels')).filter((f) => f.endsWith('.c')).map((f) => join(ROOT, 'firmware', 'kernels', f));
    return [[], ['-DYONO_EMULATE_DSP']].map((defs) => {
      const exe = join(dir, `t${defs.length}`);
      execFileSync('gcc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', ...defs, `-I${join(ROOT, 'firmware', 'kernels')}`, `-I${join(ROOT, 'firmware', 'runtime')}`, `-I${dir}`,
        ...kernels, join(ROOT, 'firmware', 'runtime', 'interp.c'), join(dir, 'models.c'), main, '-o', exe]);
      const got = execFileSync(exe, [], { input: inputs.map((x) => Array.from(x).join(' ')).join('\n'), encoding: 'utf8' }).trim();
      return { defs: defs.join(' ') || 'plain C', lines: got.split('\n').map((l) => l.trim()) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

  it('weights re-assignment by the input moments: error goes where the inputs are small', () => {
    const cb = book('t', 'fc', 2, [100, 0, 0, 100, 60, 60]);
    // (100, 40): plain distance picks (100, 0); when the first input is nearly always zero only the
    // second weight matters, and (60, 60) is the nearest codeword in it
    expect(assignRows([100, 40], 1, 2, cb, 1).indices).to.deep.equal([0]);
    expect(assignRows([100, 40], 1, 2, cb, 1, [0.01, 1]).indices).to.deep.equal([2]);
    expect(assignRows([40, 100], 1, 2, cb, 1, [1, 1]).indices).to.deep.equal([1]);
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

  it('sensitivity heuristic: moves the layers with the most loss removed per byte, within the bytes left', () => {
    const cands: ProtectCandidate[] = [
      // a small last layer: 30 points for 180 B
      { model: 'a', layer: 6, options: [{ level: 'assigned', bytes: 60, loss: 0.3 }, { level: 'int8', bytes: 240, loss: 0 }] },
      // a big layer: the fine codebook buys 5 points for 320 B, int8 the last 2 for 1920 B more
      { model: 'b', layer: 2, options: [{ level: 'assigned', bytes: 320, loss: 0.07 }, { level: 'fine', bytes: 640, loss: 0.02 }, { level: 'int8', bytes: 2560, loss: 0 }] },
      // insensitive: never moved (gain below min_gain)
      { model: 'b', layer: 0, options: [{ level: 'assigned', bytes: 128, loss: 0.005 }, { level: 'int8', bytes: 480, loss: 0 }] },
    ];
    const p = planProtection(cands, 600, 0.01);
    expect(p.moves.map((m) => `${m.model}:${m.layer}:${m.level}`)).to.deep.equal(['a:6:int8', 'b:2:fine']);
    expect(p.spent).to.equal(500);
    expect(p.levels).to.deep.equal({ a: { '6': 'int8' }, b: { '2': 'fine' } });
    // less room: the best rate that still fits
    expect(planProtection(cands, 400, 0.01).moves.map((m) => m.layer)).to.deep.equal([6]);
    expect(planProtection(cands, 100, 0.01).moves).to.deep.equal([]);
    // a protected layer is kept int8 or sent to the fine codebook by chooseLayers, with the reason
    const o = { ...DEFAULT_PQ_OPTIONS, fineBelow: 0, layers: { tiny_pq: { '1': 'fine' as const, '3': 'int8' as const } } };
    const c = chooseLayers(tinyModel(1), o);
    expect(c[1].book).to.equal('kxk_fine');
    expect(c[3].pq).to.equal(null);
    expect(c[3].reason).to.match(/sensitivity heuristic/);
  });

  it('carves the fine-tuning validation set from the train split (seeded, disjoint), all of it when small', () => {
    const o = { valFraction: 0.1, valMax: 50, valMinTrain: 100, seed: 7 };
    const a = splitValidation(1000, o);
    expect(a.val.length).to.equal(50);
    expect(a.fit.length).to.equal(950);
    expect(a.heldOut).to.equal(true);
    const inVal = new Set(a.val);
    expect(Array.from(a.fit).some((i) => inVal.has(i))).to.equal(false);
    expect(Array.from(splitValidation(1000, o).val)).to.deep.equal(Array.from(a.val));
    const small = splitValidation(60, o);
    expect(small.heldOut).to.equal(false);
    expect(small.val.length).to.equal(60);
  });

  it('validates a split too small to carve on seeded augmented copies of its samples; a large one on its hold-out', () => {
    const n = 40;
    const bytes = 1 * 16 * 2;
    const data = { x: Int8Array.from({ length: n * bytes }, (_, i) => ((i * 29) % 200) - 100), y: Uint8Array.from({ length: n }, (_, i) => i % 3), count: n, inputBytes: bytes, scale: 0.05, zeroPoint: 3 };
    const o = finetuneOptions('pickup_cnn', { valAugmentCopies: 4 });
    const a = validationSet(data, [1, 16, 2], o);
    const b = validationSet(data, [1, 16, 2], o);
    expect([a.count, a.heldOut, a.augmentedCopies, a.fit.length]).to.deep.equal([4 * n, false, 4, n]);
    expect(Buffer.from(a.x.buffer).equals(Buffer.from(b.x.buffer)), 'seeded').to.equal(true);
    expect(Array.from(a.y.subarray(0, 8))).to.deep.equal([0, 0, 0, 0, 1, 1, 1, 1]);
    let changed = 0;
    for (let c = 0; c < 4 * n; c++) {
      const k = Math.floor(c / 4);
      if (!a.x.subarray(c * bytes, (c + 1) * bytes).every((v, t) => v === data.x[k * bytes + t])) changed++;
    }
    expect(changed, 'copies differ from their sample').to.be.greaterThan(n);
    const plain = validationSet(data, [1, 16, 2], { ...o, augment: null });
    expect([plain.count, plain.augmentedCopies]).to.deep.equal([n, 0]);
    const big = { ...data, x: new Int8Array(2000 * bytes), y: new Uint8Array(2000), count: 2000 };
    const h = validationSet(big, [1, 16, 2], o);
    expect([h.heldOut, h.count, h.augmentedCopies, h.fit.length + h.count]).to.deep.equal([true, 200, 0, 2000]);
  });

  it('scores validation by top-1 (as the reference predicts) and mean cross-entropy', () => {
    const m = tableModel(3);
    const n = 12;
    const x = Int8Array.from({ length: n * 100 }, (_, i) => ((i * 53) % 255) - 127);
    const pred = Array.from({ length: n }, (_, i) => predictInt8(m, x.subarray(i * 100, (i + 1) * 100)));
    const right = validationScore(m, { x, y: Uint8Array.from(pred), count: n });
    const wrong = validationScore(m, { x, y: Uint8Array.from(pred, (p) => (p + 1) % 5), count: n });
    expect(right.top1).to.equal(1);
    expect(wrong.top1).to.equal(0);
    expect(right.loss).to.be.greaterThan(0).and.lessThan(wrong.loss);
  });

  it('fine-tunes with the augmentation the model was trained with (zoo entry), none otherwise', () => {
    expect(finetuneOptions('pickup_cnn').augment).to.deep.equal({ timeAxis: 'w', maxShift: 20, gain: 0.1 });
    expect(finetuneOptions('racket_cnn').augment?.maxShift).to.equal(3);
    expect(finetuneOptions('fmnist_cnn').augment).to.equal(null);
    expect(finetuneOptions('pickup_cnn', { augment: null }).augment).to.equal(null);
  });

  it('stores a pq layer\'s effective bias as int16 << shift, exactly, at 2 bytes a channel; rejects one that is not', () => {
    const m = tableModel(5);
    const books = learnCodebooks([m], DEFAULT_PQ_OPTIONS);
    const { pq } = compressModel(m, books, DEFAULT_PQ_OPTIONS);
    const pqAt = pq.layers.flatMap((l, i) => (isPqLayer(l) ? [i] : []));
    expect(pqAt.length).to.be.greaterThan(1);
    const shifts = pqAt.map((i) => {
      const l = pq.layers[i] as PqLayer;
      const t = pqBiasTable(l, pq.codebooks[l.codebook.id]);
      expect(t, `layer ${i}`).to.not.equal(null);
      return t!.shift;
    });
    expect(Math.max(...shifts), 'a layer whose effective bias needs a shift').to.be.greaterThan(0);
    const [bytes] = accountSet([{ int8: m, pq }]);
    const int8Bias = m.layers.reduce((a, l, i) => a + ('bias' in l && !pqAt.includes(i) ? 4 * l.bias.length : 0), 0);
    const pqBias = pqAt.reduce((a, i) => a + 2 * (pq.layers[i] as PqLayer).bias.length, 0);
    expect(bytes.biasBytes).to.equal(int8Bias + pqBias);
    // one unit off the grid of a shifted layer: no longer storable, and the loader says where
    const at = pqAt[shifts.findIndex((x) => x > 0)];
    const json = JSON.parse(JSON.stringify(pqFileJson(pq))) as { layers: { bias: number[] }[] };
    json.layers[at].bias[0] += 1;
    expect(() => validatePqModel(json, 'x/pq.json', pq.codebooks)).to.throw(HilError, new RegExp(`layers\\[${at}\\]\\.bias: .*int16 << shift`));
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

  it('table path (4-bit d=2 and d=4) from generated code equals the host reference; scratch sized as the kernels need', function () {
    this.timeout(60000);
    try {
      execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    const m = tableModel(11);
    const o = { ...DEFAULT_PQ_OPTIONS, pqFirst: false, protectRatio: 1e9 };
    const { pq } = compressModel(m, learnCodebooks([m], o), o);
    const valid: PqModel = validatePqModel(JSON.parse(JSON.stringify(pqFileJson(pq))), 'table', pq.codebooks);
    const books = valid.layers.map((l) => (isPqLayer(l) ? valid.codebooks[l.codebook.id] : undefined));
    expect(valid.layers.map((l, i) => (isPqLayer(l) ? `${l.op}/d${books[i]!.d}/${books[i]!.index_bits}` : l.op))).to.deep.equal([
      'conv2d', 'conv2d_pq/d2/4', 'conv2d_pq/d4/4', 'conv2d_pq/d2/4', 'dense_pq/d2/4',
    ]);
    // the rule (SPEC 4), as the generator applies it: both 3x3 pq layers on the table path, the 1x1 one not
    expect(valid.layers.map((l, i) => (isPqLayer(l) ? pqTableD(l, books[i]!) : 0))).to.deep.equal([0, 2, 4, 0, 0]);
    const inputs = Array.from({ length: 30 }, (_, k) => Int8Array.from({ length: 100 }, (_, i) => (((i + 3) * (k + 5) * 37) % 256) - 128));
    const want = inputs.map((x) => Array.from(runInt8(decodePqModel(valid), x)).join(' '));
    expect(new Set(want).size, 'the logits vary with the input (no saturated model)').to.be.greaterThan(5);
    for (const { defs, lines } of runGenerated(valid, inputs, 5)) {
      const scratch = modelScratchBytes(valid);
      expect(lines[0], defs).to.equal(`scratch ${scratch} ${scratch} table 2`);
      expect(lines.slice(1).join('\n'), defs).to.equal(want.join('\n'));
    }
  });
});
