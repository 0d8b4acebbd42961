/** A user's own data: the .npy and .npz readers, quantization, MLPerf Tiny folders (ad01 windows), `none`, the AUC. */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultTask } from '../../harness/datasets/model-data.js';
import { parseNpy } from '../../harness/datasets/npy.js';
import { parseNpz } from '../../harness/datasets/npz.js';
import { loadUserData, NONE_SAMPLES, quantizeValue, userDataSource } from '../../harness/datasets/user-data.js';
import { anomalyAuc } from '../../harness/reference/task-metrics.js';
import { hilError } from '../helpers/cli.js';
import { npy, npz } from '../helpers/npy-writer.js';


const INPUT = { shape: [1, 2, 2], scale: 0.5, zero_point: -3 };

describe('user data: .npy, .npz, MLPerf Tiny folders, none', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-userdata-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const file = (name: string, data: Buffer) => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, data);
    return p;
  };

  it('.npy: every numeric dtype, either byte order, version 2 headers', () => {
    const a = parseNpy(npy('<f4', [2, 3], [0, 0.5, -1.5, 2, 3, 4]), 'a');
    expect([a.descr, a.kind, a.shape, Array.from({ length: 6 }, (_, i) => a.get(i))]).to.deep.equal(['<f4', 'float', [2, 3], [0, 0.5, -1.5, 2, 3, 4]]);
    expect(Array.from({ length: 3 }, (_, i) => parseNpy(npy('<i8', [3], [-5, 0, 7]), 'b').get(i))).to.deep.equal([-5, 0, 7]);
    expect(parseNpy(npy('|u1', [2], [200, 3]), 'c').get(0)).to.equal(200);
    // big-endian int16, format 2.0 (u32 header length), as numpy writes for long headers
    const header = "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }";
    const pad = ' '.repeat((64 - ((12 + header.length + 1) % 64)) % 64) + '\n';
    const head = Buffer.alloc(12);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]).copy(head);
    head.writeUInt32LE(header.length + pad.length, 8);
    const v2 = parseNpy(Buffer.concat([head, Buffer.from(header + pad), Buffer.from([0xff, 0xfe, 0x01, 0x00])]), 'd');
    expect([v2.get(0), v2.get(1)]).to.deep.equal([-2, 256]);
  });

  it('.npy: refuses what it cannot read, in one line naming the file', () => {
    expect(hilError(() => parseNpy(Buffer.from('PK\x03\x04 not numpy'), 'x.npy')).toLine()).to.match(/^x\.npy: not a \.npy file/);
    const good = npy('<f4', [2, 2], [1, 2, 3, 4]);
    expect(hilError(() => parseNpy(good.subarray(0, good.length - 3), 'x.npy')).message).to.match(/needs 16 data bytes, the file has 13/);
    const fortran = Buffer.from(good.toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1');
    expect(hilError(() => parseNpy(fortran, 'x.npy')).message).to.match(/Fortran-order/);
    const str = Buffer.from(good.toString('latin1').replace("'<f4'", "'<U1'"), 'latin1');
    expect(hilError(() => parseNpy(str, 'x.npy')).message).to.match(/dtype '<U1' is not a numeric dtype/);
  });

  it('float inputs are quantized as TFLite QUANTIZE does (half away from zero, zero point, clamp); int8/uint8 taken as they are', () => {
    expect([0.25, -0.25, 0.75, 100, -100].map((v) => quantizeValue(v, 0.5, -3))).to.deep.equal([-2, -4, -1, 127, -128]);
    const f = loadUserData({ kind: 'npy', path: file('f.npy', npy('<f8', [2, 2, 2], [0, 0.25, -0.25, 1, 2, 3, 4, 5])) }, INPUT);
    expect(Array.from(f.x)).to.deep.equal([-3, -2, -4, -1, 1, 3, 5, 7]);
    expect([f.count, f.y, f.dataset, f.sampleShape]).to.deep.equal([2, undefined, 'npy:f.npy', [2, 2]]);
    const u = loadUserData({ kind: 'npy', path: file('u.npy', npy('|u1', [1, 4], [0, 127, 128, 255])) }, INPUT);
    expect(Array.from(u.x)).to.deep.equal([0, 127, -128, -1]);
  });

  it('.npy of the wrong sample size names both shapes', () => {
    const p = file('w.npy', npy('<f4', [3, 5], new Array(15).fill(0)));
    expect(hilError(() => loadUserData({ kind: 'npy', path: p }, INPUT)).toLine()).to.equal(`${p}: inputs of shape [3,5]: each sample is [5] (5 values) but the model input is [1,2,2] (4 values)`);
  });

  it('.npz: inputs x and labels y (stored or deflated), one-hot labels, a single array as unlabelled inputs', () => {
    const x = npy('|i1', [3, 4], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const compressed of [false, true]) {
      const d = loadUserData({ kind: 'npz', path: file(`s${compressed}.npz`, npz({ x, y: npy('<i8', [3], [2, 0, 1]) }, compressed)) }, INPUT);
      expect([Array.from(d.x.subarray(4, 8)), d.y]).to.deep.equal([[5, 6, 7, 8], [2, 0, 1]]);
    }
    const oneHot = loadUserData({ kind: 'npz', path: file('o.npz', npz({ x_test: x, y_test: npy('<f4', [3, 3], [0, 0, 1, 1, 0, 0, 0, 1, 0]) })) }, INPUT);
    expect(oneHot.y).to.deep.equal([2, 0, 1]);
    expect(oneHot.notes.join(' ')).to.match(/one-hot/);
    expect(loadUserData({ kind: 'npz', path: file('one.npz', npz({ features: x })) }, INPUT).y).to.equal(undefined);
    const p = file('k.npz', npz({ a: x, b: x }));
    expect(hilError(() => loadUserData({ kind: 'npz', path: p }, INPUT)).message).to.match(/no inputs: expected an array named x, x_test, inputs, arr_0 \(the archive has a, b\)/);
    const q = file('n.npz', npz({ x, y: npy('<f4', [3], [0, 1.5, 2]) }));
    expect(hilError(() => loadUserData({ kind: 'npz', path: q }, INPUT)).toLine()).to.match(/n\.npz: y: label 1 is 1\.5: labels are class indices/);
  });

  it('.npz: a corrupt archive or member is one line naming the file', () => {
    const z = npz({ x: npy('<f4', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]) });
    expect(hilError(() => parseNpz(z.subarray(0, z.length - 30), 'z.npz')).toLine()).to.match(/^z\.npz: not a valid \.npz \(zip\) file: no end-of-central-directory record/);
    const flipped = Buffer.from(z);
    flipped[120] ^= 1;
    expect(hilError(() => parseNpz(flipped, 'z.npz')).toLine()).to.equal('z.npz: x.npy: corrupt .npz member: CRC-32 mismatch');
    const deflated = Buffer.from(npz({ x: npy('<f4', [64, 4], new Array(256).fill(1)) }, true));
    deflated[60] ^= 0xff;
    expect(hilError(() => parseNpz(deflated, 'd.npz')).message).to.match(/corrupt \.npz member: (deflate data|CRC-32 mismatch|\d+ bytes, the directory says)/);
  });

  it('an MLPerf Tiny folder: int8 files, or ad01 float32 files cut into windows (bytes_to_send, stride) with per-file groups', () => {
    const dir = path.join(tmp, 'ad01');
    fs.mkdirSync(dir);
    const floats = (v: number[]) => Buffer.from(Float32Array.from(v).buffer);
    fs.writeFileSync(path.join(dir, 'normal_0.bin'), floats([0, 0.5, 1, 1.5, 2, 2.5])); // windows at 0, 1, 2 (4 values, stride 1)
    fs.writeFileSync(path.join(dir, 'anomaly_1.bin'), floats([3, 3, 3, 3]));
    fs.writeFileSync(path.join(dir, 'y_labels.csv'), 'normal_0.bin, 2, 0, 16, 4\nanomaly_1.bin, 2, 1, 16, 4\n');
    const d = loadUserData({ kind: 'folder', path: dir }, INPUT);
    expect([d.count, d.y, d.groups, d.classes, d.dataset]).to.deep.equal([4, [0, 0, 0, 1], [0, 0, 0, 1], 2, 'folder:ad01']);
    expect(Array.from(d.x.subarray(4, 8))).to.deep.equal([-2, -1, 0, 1]); // window 1: 0.5, 1, 1.5, 2 over scale 0.5, zero point -3
    const kws = path.join(tmp, 'kws01');
    fs.mkdirSync(kws);
    fs.writeFileSync(path.join(kws, 'a.bin'), Buffer.from([1, 2, 3, 255]));
    fs.writeFileSync(path.join(kws, 'y_labels.csv'), 'a.bin, 12, 7\n');
    const k = loadUserData({ kind: 'folder', path: kws }, INPUT, 'm');
    expect([Array.from(k.x), k.y, k.groups]).to.deep.equal([[1, 2, 3, -1], [7], undefined]);
    fs.writeFileSync(path.join(kws, 'a.bin'), Buffer.from([1, 2, 3]));
    expect(hilError(() => loadUserData({ kind: 'folder', path: kws }, INPUT, 'm')).message).to.equal('3 bytes, model m takes 4 (int8 1x2x2) or 16 (float32): not an input of this model');
  });

  it('none: the same pseudo-random int8 inputs every time, no labels; --dataset values that are not data', () => {
    const a = loadUserData({ kind: 'none' }, INPUT);
    expect([a.count, a.y, a.dataset]).to.deep.equal([NONE_SAMPLES, undefined, 'none']);
    expect(Array.from(loadUserData({ kind: 'none' }, INPUT).x)).to.deep.equal(Array.from(a.x));
    expect(new Set(a.x).size).to.be.greaterThan(20);
    expect(userDataSource('none')).to.deep.equal({ kind: 'none' });
    expect(userDataSource('fashion_mnist_typo')).to.equal(undefined);
    expect(hilError(() => userDataSource(path.join(tmp, 'absent.npz'))).message).to.equal('no such file');
  });

  it('the task from the model: outputs == inputs (> 1) an autoencoder, else a classifier, one output none', () => {
    expect(defaultTask({ classes: 640, input: { shape: [1, 1, 640], scale: 1, zero_point: 0 } })).to.equal('autoencoder');
    expect(defaultTask({ classes: 4, input: { shape: [49, 40, 1], scale: 1, zero_point: 0 } })).to.equal('classifier');
    expect(defaultTask({ classes: 1, input: { shape: [1, 1, 1], scale: 1, zero_point: 0 } })).to.equal('outputs');
  });
});

describe('anomaly AUC (MLPerf Tiny runner method, and exact)', () => {
  it('perfect, reversed and chance orderings', () => {
    expect(anomalyAuc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1])).to.include({ auc: 1, exact: 1, files: 4 });
    expect(anomalyAuc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1])).to.include({ auc: 0, exact: 0 });
    expect(anomalyAuc([1, 1, 1, 1], [0, 1, 0, 1]).exact).to.equal(0.5);
    expect(anomalyAuc([1, 2], [1, 1]).auc).to.be.NaN;
  });

  it('one overlap: the exact AUC is 3/4; the runner\'s 101 thresholds give the same here', () => {
    // normal 0.0, 0.6; anomaly 0.4, 1.0: pairs (a > n): 0.4>0.0, 1.0>0.0, 1.0>0.6 of 4
    const r = anomalyAuc([0, 0.6, 0.4, 1], [0, 0, 1, 1]);
    expect(r.exact).to.equal(0.75);
    expect(r.auc).to.be.closeTo(0.75, 1e-9);
  });

  it('windows of one file are averaged into the file\'s score', () => {
    // file 0 (normal) windows 0.1, 0.9 -> 0.5; file 1 (anomaly) 0.6; file 2 (normal) 0.2
    const r = anomalyAuc([0.1, 0.9, 0.6, 0.2], [0, 0, 1, 0], [0, 0, 1, 2]);
    expect([r.files, r.exact]).to.deep.equal([3, 1]);
  });
});
