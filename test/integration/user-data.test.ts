/**
 * Bring your own data, end to end through the CLI: TFLite Micro's hello_world (an .npz of x in
 * [0, 2pi], no labels) and micro_speech (an .npz of int8 49x40 inputs with labels), and a
 * 256-output autoencoder with an MLPerf Tiny ad01-layout folder (float32 files cut into windows,
 * anomaly labels) are imported with `hil import --dataset` and run on the emulated board by one
 * `hil run` (one boot): device == host on every output element, top-1 for the classifier, AUC
 * for the autoencoder. A second short boot drives the output-CRC mismatch path (READ_OUTPUT).
 * Bad data: one line each, non-zero exit, before any device is touched.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rawDataDir } from '../../harness/datasets/paths.js';
import { modelTestSet } from '../../harness/datasets/model-data.js';
import { quantizeValue } from '../../harness/datasets/user-data.js';
import { classifyPreloaded } from '../../harness/experiments/inputs.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import { readCsv } from '../../harness/reports/csv.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { anomalyAuc, reconstructionError } from '../../harness/reference/task-metrics.js';
import { loadRig } from '../../harness/rig/rig.js';
import { writePreloadImage } from '../../harness/session/preload.js';
import { openSession } from '../../harness/session/session.js';
import { MODELS_DIR } from '../../harness/util/paths.js';
import { AE_INPUT, AE_VALUES, makeAutoencoderTflite } from '../fixtures/autoencoder-tflite.js';
import { npy, npz } from '../helpers/npy-writer.js';
import { expectOneLineError, hil as hilCli } from '../helpers/cli.js';

/** QEMU runs take longer than the helper's default minute */
const hil = (args: string[]) => hilCli(args, {}, 240000);

const TFLM = path.join(rawDataDir(), 'tflite_micro_models');
const HELLO = path.join(TFLM, 'examples', 'hello_world', 'models', 'hello_world_int8.tflite');
const SPEECH = path.join(TFLM, 'examples', 'micro_speech', 'models', 'micro_speech_quantized.tflite');
/** model names of this test (models/<name>/ is removed afterwards) */
const HW = 'byod_hello_world';
const MS = 'byod_micro_speech';
const AE = 'byod_autoencoder';
const BAD = 'byod_mismatch';
const BIG = 'byod_autoencoder_3000';

function expectOk(r: { code: number | null; stderr: string; stdout: string }): void {
  expect(r.code, r.stderr + r.stdout).to.equal(0);
}

/** Seeded values in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
}

describe('bring your own data: hil import --dataset <file|folder|none> then hil run (qemu-mps2-an386)', function () {
  this.timeout(600000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-byod-'));
  const results = path.join(tmp, 'results');
  const ad01 = path.join(tmp, 'ad01');
  const names = [HW, MS, AE, BAD, BIG];
  after(() => {
    for (const n of names) fs.rmSync(path.join(MODELS_DIR, n), { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  before(() => {
    // hello_world: 8 float x in [0, 2pi], quantized by the importer with the model's input quantization
    fs.writeFileSync(path.join(tmp, 'hello.npz'), npz({ x: npy('<f4', [8, 1], Array.from({ length: 8 }, (_, i) => (2 * Math.PI * i) / 7)) }, true));
    // micro_speech: 6 int8 49x40 feature maps (generated) with labels silence, unknown, yes, no
    const r = rng(5);
    const feats = Array.from({ length: 6 * 49 * 40 }, () => Math.floor(r() * 256) - 128);
    fs.writeFileSync(path.join(tmp, 'speech.npz'), npz({ x: npy('|i1', [6, 49, 40], feats), y: npy('<i8', [6], [0, 1, 2, 3, 2, 3]) }));
    // ad01 layout: float32 files of 448 values, windows of 256 values every 64 (bytes_to_send 1024, stride 256)
    fs.mkdirSync(ad01);
    const lines: string[] = [];
    for (let f = 0; f < 6; f++) {
      const anomaly = f % 2;
      const amp = anomaly ? 1.5 : 0.2;
      const buf = Buffer.alloc(4 * (AE_VALUES + 3 * 64));
      for (let k = 0; k < buf.length / 4; k++) buf.writeFloatLE(amp * (2 * r() - 1), 4 * k);
      const file = `${anomaly ? 'anomaly' : 'normal'}_id_01_${f}.bin`;
      fs.writeFileSync(path.join(ad01, file), buf);
      lines.push(`${file}, 2, ${anomaly}, 1024, 256`);
    }
    fs.writeFileSync(path.join(ad01, 'y_labels.csv'), lines.join('\n') + '\n');
    fs.writeFileSync(path.join(tmp, 'ae.tflite'), makeAutoencoderTflite());
  });

  it('imports hello_world, micro_speech and an autoencoder with their data, recording the data and the task', () => {
    expectOk(hil(['import', HELLO, '--name', HW, '--dataset', path.join(tmp, 'hello.npz')]));
    expectOk(hil(['import', SPEECH, '--name', MS, '--dataset', path.join(tmp, 'speech.npz')]));
    const ae = hil(['import', path.join(tmp, 'ae.tflite'), '--name', AE, '--dataset', ad01]);
    expectOk(ae);
    expect(ae.stderr).to.match(/6 files cut into 24 windows/);
    const record = (n: string) => JSON.parse(fs.readFileSync(path.join(MODELS_DIR, n, 'dataset.json'), 'utf8')) as Record<string, unknown>;
    expect(record(HW)).to.include({ kind: 'npz', name: 'npz:hello.npz', samples: 8, labels: false, task: 'outputs' });
    expect(record(MS)).to.include({ kind: 'npz', samples: 6, labels: true, task: 'classifier' });
    expect(record(AE)).to.include({ kind: 'folder', name: 'folder:ad01', samples: 24, labels: true, task: 'autoencoder' });
    expect(loadInt8Model(path.join(MODELS_DIR, AE, 'int8.json')).classes).to.equal(AE_VALUES);
  });

  it('hil run: device == host on every output element of every sample; top-1 for micro_speech, AUC for the autoencoder', () => {
    const r = hil(['run', '--models', [HW, MS, AE].join(','), '--experiments', 'accuracy', '--results', results]);
    expectOk(r);
    const dir = path.join(results, fs.readdirSync(results)[0]);
    const rows = readCsv(fs.readFileSync(path.join(dir, 'accuracy.csv'), 'utf8'));
    const row = (m: string) => rows.find((x) => x.model === m) as Record<string, string>;
    for (const m of [HW, MS, AE]) {
      expect(row(m), m).to.include({ elements_differ: '0', mismatches: '0', failed: '0', agreement: '1' });
    }
    expect(row(HW)).to.include({ task: 'outputs', samples: '8', top1: '', auc: '' });
    expect(row(MS)).to.include({ task: 'classifier', samples: '6', auc: '' });
    expect(row(MS).top1).to.equal(row(MS).host_top1);
    expect(row(AE)).to.include({ task: 'autoencoder', samples: '24', dataset: 'folder:ad01', top1: '' });
    expect(row(AE).auc).to.equal(row(AE).host_auc);

    // the AUC from the host reference, computed here from the files: windows quantized, per-file mean error
    const model = loadInt8Model(path.join(MODELS_DIR, AE, 'int8.json'));
    const scores: number[] = [];
    const labels: number[] = [];
    const groups: number[] = [];
    fs.readFileSync(path.join(ad01, 'y_labels.csv'), 'utf8').trim().split('\n').forEach((line, f) => {
      const [file, , label] = line.split(',').map((c) => c.trim());
      const buf = fs.readFileSync(path.join(ad01, file));
      for (let start = 0; start + 1024 <= buf.length; start += 256) {
        const x = Int8Array.from({ length: AE_VALUES }, (_, k) => quantizeValue(buf.readFloatLE(start + 4 * k), AE_INPUT.scale, AE_INPUT.zeroPoint));
        scores.push(reconstructionError(model, x, runInt8(model, x)));
        labels.push(Number(label));
        groups.push(f);
      }
    });
    const auc = anomalyAuc(scores, labels, groups);
    expect(Number(row(AE).auc)).to.be.closeTo(auc.auc, 1e-5);
    expect(auc.files).to.equal(6);
    console.log(`      autoencoder AUC (MLPerf Tiny runner's method) ${auc.auc.toFixed(4)}, exact ${auc.exact.toFixed(4)}`);
    const summary = fs.readFileSync(path.join(dir, 'summary.txt'), 'utf8');
    expect(summary).to.match(/elements differ/);
    expect(summary).to.match(/device auc/);
  });

  it('an output CRC that differs from the host\'s makes the device send the whole vector (READ_OUTPUT), which is the device\'s own', async () => {
    const model = loadInt8Model(path.join(MODELS_DIR, AE, 'int8.json'));
    const rig = loadRig('qemu-mps2-an386');
    const image = writePreloadImage([model], 1 << 20);
    if (!image) throw new Error('no preload image');
    const session = await openSession(rig, buildFirmware(rig.board, [model]), { preload: image });
    try {
      const data = modelTestSet(model);
      const input = (i: number) => data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes);
      // a host vector with one element off: the CRCs differ, the device's vector is fetched
      const wrong = (i: number) => {
        const v = runInt8(model, input(i));
        v[100] ^= 1;
        return v;
      };
      const got: Int8Array[] = [];
      const notes: string[] = [];
      const ctx = { session, models: [model], log: { info: () => undefined } as never, provenance: () => ({}) as never, cancelled: () => false, note: (l: string) => notes.push(l) };
      await classifyPreloaded(ctx, image.blocks[0], session.modelId(model.name), 0, 3, input, wrong, (i, r) => (got[i] = r.logits), () => false);
      for (let i = 0; i < 3; i++) expect(Array.from(got[i]), `sample ${i}`).to.deep.equal(Array.from(runInt8(model, input(i))));
      expect(notes).to.deep.equal([]);
    } finally {
      await session.close();
      image.remove();
    }
  });

  it('a 3000-output autoencoder (more than an INFER reply carries) with --dataset none: streamed, preloaded and timed, every element equal', () => {
    fs.writeFileSync(path.join(tmp, 'ae3000.tflite'), makeAutoencoderTflite(9, 3000));
    expectOk(hil(['import', path.join(tmp, 'ae3000.tflite'), '--name', BIG, '--dataset', 'none']));
    for (const inputs of ['stream', 'preload']) {
      const out = path.join(tmp, `big-${inputs}`);
      expectOk(hil(['run', '--models', BIG, '--experiments', inputs === 'stream' ? 'accuracy,latency' : 'accuracy', '--inputs', inputs, '--results', out]));
      const dir = path.join(out, fs.readdirSync(out)[0]);
      const [row] = readCsv(fs.readFileSync(path.join(dir, 'accuracy.csv'), 'utf8'));
      expect(row, inputs).to.include({ task: 'autoencoder', dataset: 'none', samples: '16', elements_differ: '0', mismatches: '0', top1: '', auc: '' });
      const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { variants: { inputs: unknown }[] };
      expect(run.variants[0].inputs, inputs).to.deep.equal(inputs === 'stream' ? 'stream' : { preloaded: [`${BIG}:none`], streamed: [] });
    }
  });

  it('bad data: one line and a non-zero exit each (import: wrong shape, corrupt .npz, missing file, wrong data set; run: data changed shape)', () => {
    const bad = path.join(tmp, 'bad.npy');
    fs.writeFileSync(bad, npy('<f4', [4, 2], [0, 1, 2, 3, 4, 5, 6, 7]));
    expectOneLineError(hil(['import', HELLO, '--name', BAD, '--dataset', bad]), /bad\.npy: inputs of shape \[4,2\]: each sample is \[2\] \(2 values\) but the model input is \[1,1,1\] \(1 values\)/);
    const corrupt = path.join(tmp, 'corrupt.npz');
    const z = fs.readFileSync(path.join(tmp, 'speech.npz'));
    z[200] ^= 0xff; // inside the first member's data: its CRC-32 no longer matches
    fs.writeFileSync(corrupt, z);
    expectOneLineError(hil(['import', SPEECH, '--name', BAD, '--dataset', corrupt]), /corrupt\.npz: x\.npy: corrupt \.npz member: CRC-32 mismatch/);
    fs.writeFileSync(path.join(tmp, 'trunc.npz'), z.subarray(0, 100));
    expectOneLineError(hil(['import', SPEECH, '--name', BAD, '--dataset', path.join(tmp, 'trunc.npz')]), /trunc\.npz: not a valid \.npz \(zip\) file/);
    const missing = path.join(tmp, 'missing');
    fs.cpSync(ad01, missing, { recursive: true });
    fs.appendFileSync(path.join(missing, 'y_labels.csv'), 'gone.bin, 2, 1, 1024, 256\n');
    expectOneLineError(hil(['import', path.join(tmp, 'ae.tflite'), '--name', BAD, '--dataset', missing]), /y_labels\.csv:7: names gone\.bin, which is not in the folder/);
    expectOneLineError(hil(['import', HELLO, '--name', BAD, '--dataset', 'fashion_mnist']), /model input 1x1x1 but the data set's samples are 28x28x1/);
    expectOneLineError(hil(['import', HELLO, '--name', BAD, '--dataset', path.join(tmp, 'nothing-here')]), /--dataset .*nothing-here: neither a built-in data set/);
    // imported with data that fit, then the data change shape: hil run refuses before building or booting
    const later = path.join(tmp, 'later.npy');
    fs.writeFileSync(later, npy('<f4', [3, 1], [0, 1, 2]));
    expectOk(hil(['import', HELLO, '--name', BAD, '--dataset', later]));
    fs.writeFileSync(later, npy('<f4', [3, 2], [0, 1, 2, 3, 4, 5]));
    expectOneLineError(hil(['run', '--models', BAD, '--experiments', 'accuracy', '--results', results]), /later\.npy: inputs of shape \[3,2\]: each sample is \[2\] \(2 values\) but the model input is \[1,1,1\]/);
    // same shape, other values: refused as changed since the import
    fs.writeFileSync(later, npy('<f4', [3, 1], [0, 1, 3]));
    expectOneLineError(hil(['run', '--models', BAD, '--experiments', 'accuracy', '--results', results]), /later\.npy changed since the import/);
  });
});
