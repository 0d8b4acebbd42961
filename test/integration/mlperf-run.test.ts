/**
 * `hil run` against MLPerf Tiny devices on QEMU, end to end through the real serial link:
 * kws_dscnn accuracy on the same 40 real test inputs through our yono protocol and through the
 * mlperf-tiny driver (our firmware built with the MLPerf Tiny front end) must give the same
 * predictions; the same inputs as an MLPerf Tiny data-set folder too; latency and performance
 * mode give rows; a prebuilt image (.bin at an address, .elf from a rig file) boots and is
 * identified by its SHA-256; bad input is one line and a non-zero exit.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPrepared } from '../../harness/datasets/prepared.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { readCsv } from '../../harness/reports/csv.js';
import { compareUploads } from '../../harness/reports/uploads.js';
import { UPLOADS_PER_MODEL } from '../../harness/experiments/uploads.js';
import { loadRig } from '../../harness/rig/rig.js';
import { runExperiments, type RunOptions } from '../../harness/run/run.js';
import { loadModelSet } from '../../harness/session/model-set.js';
import { createLogger } from '../../harness/util/log.js';
import { ROOT } from '../../harness/util/paths.js';

const MODEL = 'kws_dscnn';
const SAMPLES = 40;
const PERF_WINDOW_S = 0.3;

function hil(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'harness', 'cli.js'), ...args, '--quiet'], { encoding: 'utf8', timeout: 120000 });
  return { code: r.status, stderr: r.stderr };
}

function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).to.equal(2);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('warning:'));
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^error: /);
  expect(lines[0]).to.match(pattern);
}

const predictions = (dir: string) => readCsv(fs.readFileSync(path.join(dir, 'predictions.csv'), 'utf8')).map((r) => Number(r.device));

describe('hil run through the mlperf-tiny driver (QEMU mps2-an386, kws_dscnn)', function () {
  this.timeout(10 * 60 * 1000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-mlperf-run-'));
  const resultsDir = path.join(tmp, 'results');
  const base = { rig: 'qemu-mps2-an386', models: [MODEL], resultsDir, log: createLogger({ quiet: true }) } satisfies Partial<RunOptions>;
  let model: Int8Model;
  let yonoPredictions: number[];
  let mlperfDir: string;
  let mlperfElf: string;

  before(() => {
    [model] = loadModelSet([MODEL]);
  });

  it(`${SAMPLES} inputs through yono and through mlperf-tiny: the same predictions, agreement 100 %, a latency row, performance windows`, async () => {
    const yono = await runExperiments({ ...base, experiments: ['accuracy'], samples: SAMPLES, inputs: 'stream' });
    yonoPredictions = predictions(yono.dir);
    expect(yonoPredictions).to.have.length(SAMPLES);

    const r = await runExperiments({
      ...base, protocol: 'mlperf-tiny', profile: 'kws01', experiments: ['accuracy', 'latency', 'mlperf-performance'], samples: SAMPLES, latencyRuns: 5, latencyWarmup: 1, perfWindowSec: PERF_WINDOW_S,
    });
    mlperfDir = r.dir;
    expect(r.accuracy).to.have.length(1);
    const [acc] = r.accuracy;
    expect(acc.samples).to.equal(SAMPLES);
    expect(acc.mismatches).to.equal(0);
    expect(acc.agreement).to.equal(1);
    expect(predictions(r.dir)).to.deep.equal(yonoPredictions);
    expect(acc.top1).to.equal(yono.accuracy[0].top1);

    const run = JSON.parse(fs.readFileSync(path.join(r.dir, 'run.json'), 'utf8')) as {
      status: string; protocol: string; firmware: { build_hash: string; protocol: string; profile: string; elf: string }; device: { proto: number; build: string; mlperf: { profile: string } };
    };
    expect(run.status).to.equal('complete');
    expect(run.protocol).to.equal('mlperf-tiny');
    expect(run.firmware.protocol).to.equal('mlperf-tiny');
    expect(run.firmware.profile).to.equal('kws01');
    expect(run.device.mlperf.profile).to.equal('kws01');
    expect(run.device.proto).to.equal(0);
    expect(run.device.build).to.equal('');
    mlperfElf = path.join(ROOT, run.firmware.elf);
    expect(acc.firmware_hash).to.equal(run.firmware.build_hash);

    expect(r.latency).to.have.length(1);
    const lat = r.latency[0];
    expect(lat.source).to.equal('emulated-estimate');
    expect(lat.firmware_hash).to.equal(run.firmware.build_hash);
    expect(lat.ms_median).to.be.greaterThan(1);
    // the firmware marks the N timed runs as one window: the class model still gets its cycles
    expect(lat.ms_class_model).to.be.a('number');

    const perf = readCsv(fs.readFileSync(path.join(r.dir, 'mlperf_performance.csv'), 'utf8'));
    expect(perf).to.have.length(1);
    const windows = perf[0].window_device_s.split(';').map(Number);
    expect(windows).to.have.length(5);
    for (const w of windows) expect(w).to.be.at.least(PERF_WINDOW_S);
    expect(Number(perf[0].inferences_per_s)).to.be.closeTo(1000 / lat.ms_median, 0.05 * (1000 / lat.ms_median));
    expect(perf[0].source).to.equal('emulated-estimate');
    expect(perf[0].firmware_hash).to.equal(run.firmware.build_hash);
    console.log(`      yono top1 ${yono.accuracy[0].top1}, mlperf-tiny top1 ${acc.top1}; latency ${lat.ms_median.toFixed(3)} ms; performance ${Number(perf[0].inferences_per_s).toFixed(2)} inf/s (device timer ${Number(perf[0].device_inferences_per_s).toFixed(2)}), N=${perf[0].inferences_per_window}, windows ${perf[0].window_device_s} s`);
  });

  it('the same inputs as an MLPerf Tiny data-set folder give the same predictions', async () => {
    const test = loadPrepared(model.dataset, 'test');
    const dir = path.join(tmp, 'kws01');
    fs.mkdirSync(dir);
    const labels: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const file = `tst_${String(i).padStart(6, '0')}_${test.y[i]}.bin`;
      fs.writeFileSync(path.join(dir, file), test.x.subarray(i * test.inputBytes, (i + 1) * test.inputBytes));
      labels.push(`${file}, ${model.classes}, ${test.y[i]}`);
    }
    fs.writeFileSync(path.join(dir, 'y_labels.csv'), labels.join('\n') + '\n');
    const r = await runExperiments({ ...base, protocol: 'mlperf-tiny', profile: 'kws01', experiments: ['accuracy'], datasetFolder: dir });
    expect(r.accuracy[0].samples).to.equal(SAMPLES);
    expect(r.accuracy[0].dataset).to.equal('folder:kws01');
    expect(r.accuracy[0].dataset_hash).to.not.equal(loadPrepared(model.dataset, 'test').sha256.slice(0, 16));
    expect(predictions(r.dir)).to.deep.equal(yonoPredictions);

    // a file of the wrong size is refused with both sizes, before anything boots
    fs.writeFileSync(path.join(dir, 'tst_000003_' + test.y[3] + '.bin'), Buffer.alloc(490));
    expectOneLineError(
      hil(['run', '--protocol', 'mlperf-tiny', '--models', MODEL, '--experiments', 'accuracy', '--dataset-folder', dir, '--results', resultsDir]),
      /tst_000003_\d\.bin: 490 bytes, model kws_dscnn takes 637 \(int8 49x13x1\)/,
    );
    // a truth file naming a missing file
    fs.appendFileSync(path.join(dir, 'y_labels.csv'), `gone.bin, ${model.classes}, 1\n`);
    expectOneLineError(hil(['run', '--protocol', 'mlperf-tiny', '--models', MODEL, '--experiments', 'accuracy', '--dataset-folder', dir]), /y_labels\.csv:41: names gone\.bin, which is not in the folder/);
  });

  it('a prebuilt .bin at its load address and a .hex (--firmware), a prebuilt .elf (rig dut.firmware): booted, identified by SHA-256', async () => {
    const bin = path.join(tmp, 'kws01.bin');
    execFileSync('arm-none-eabi-objcopy', ['-O', 'binary', mlperfElf, bin]);
    const sha = createHash('sha256').update(fs.readFileSync(bin)).digest('hex');
    const r = await runExperiments({ ...base, protocol: 'mlperf-tiny', firmware: bin, loadAddress: '0x0', experiments: ['accuracy'], samples: 10 });
    expect(r.accuracy[0].firmware_hash).to.equal(sha.slice(0, 16));
    expect(predictions(r.dir)).to.deep.equal(yonoPredictions.slice(0, 10));
    const run = JSON.parse(fs.readFileSync(path.join(r.dir, 'run.json'), 'utf8')) as { firmware: { prebuilt: { sha256: string; format: string; load_address: number } }; notes: string[]; dut: { qemu_args: string[] } };
    expect(run.firmware.prebuilt).to.include({ sha256: sha, format: 'bin', load_address: 0 });
    expect(run.dut.qemu_args.join(' ')).to.include(`loader,file=${bin},addr=0x0,force-raw=on`);
    expect(run.notes.join('\n')).to.match(/firmware not checked against a build \(a prebuilt image\)/);

    // Intel HEX: QEMU's loader places it at its own addresses
    const hex = path.join(tmp, 'kws01.hex');
    execFileSync('arm-none-eabi-objcopy', ['-O', 'ihex', mlperfElf, hex]);
    const h = await runExperiments({ ...base, protocol: 'mlperf-tiny', profile: 'kws01', firmware: hex, experiments: ['accuracy'], samples: 5 });
    expect(h.accuracy[0].firmware_hash).to.equal(createHash('sha256').update(fs.readFileSync(hex)).digest('hex').slice(0, 16));
    expect(predictions(h.dir)).to.deep.equal(yonoPredictions.slice(0, 5));

    const rigFile = path.join(tmp, 'byo-mlperf.yaml');
    const rig = fs.readFileSync(path.join(ROOT, 'rigs', 'qemu-mps2-an386.yaml'), 'utf8')
      .replace('name: qemu-mps2-an386', 'name: byo-mlperf')
      .replace('  boot_timeout_ms: 10000\n', `  boot_timeout_ms: 10000\n  firmware: { image: ${path.basename(mlperfElf)}, protocol: mlperf-tiny, profile: kws01 }\n`);
    fs.copyFileSync(mlperfElf, path.join(tmp, path.basename(mlperfElf)));
    fs.writeFileSync(rigFile, rig);
    expect(loadRig(rigFile).dut.firmware?.image).to.equal(path.join(tmp, 'firmware.elf'));
    const e = await runExperiments({ ...base, rig: rigFile, experiments: ['accuracy'], samples: 5 });
    expect(e.accuracy[0].firmware_hash).to.equal(createHash('sha256').update(fs.readFileSync(mlperfElf)).digest('hex').slice(0, 16));
    expect(predictions(e.dir)).to.deep.equal(yonoPredictions.slice(0, 5));

    // rig field errors name the field
    fs.writeFileSync(rigFile, rig.replace('image: firmware.elf', 'image: kws01.bin'));
    expect(() => loadRig(rigFile)).to.throw(/^dut\.firmware\.load_address: a raw \.bin image needs its load address/);
    fs.writeFileSync(rigFile, rig.replace('protocol: mlperf-tiny', 'protocol: tflm'));
    expect(() => loadRig(rigFile)).to.throw(/dut\.firmware\.protocol: expected one of "yono", "mlperf-tiny"/);
  });

  it('wire bytes and seconds per upload of one input, both protocols on the same rig (uploads experiment, hil uploads)', async () => {
    const dirs: string[] = [];
    for (const protocol of ['yono', 'mlperf-tiny'] as const) {
      const r = await runExperiments({ ...base, protocol, profile: protocol === 'yono' ? undefined : 'kws01', experiments: ['uploads'] });
      dirs.push(r.dir);
      const [row] = readCsv(fs.readFileSync(path.join(r.dir, 'uploads.csv'), 'utf8'));
      expect(row).to.include({ model: MODEL, protocol, input_bytes: '637', uploads: String(UPLOADS_PER_MODEL), source: 'emulated-estimate' });
      // the wire format fixes the bytes: yono one 637-byte chunk frame and its ACK; mlperf-tiny
      // "db load 637%" + 20 lines of 31 bytes + one of 17 ("db <hex>%"), each answered with m-ready lines
      // (a yono frame is a byte longer where COBS must encode a zero in its sequence number or CRC)
      if (protocol === 'yono') expect(Number(row.bytes_out_per_upload)).to.be.within(652, 653);
      else expect(Number(row.bytes_out_per_upload)).to.equal('db load 637%'.length + 20 * (3 + 62 + 1) + (3 + 34 + 1));
    }
    const c = compareUploads(dirs);
    expect(c.rigs).to.deep.equal(['qemu-mps2-an386']);
    expect(c.lines).to.have.length(1);
    expect(c.lines[0]).to.match(/^kws_dscnn: yono 65[23] B out \+ \d+ B in, [\d.]+ s per upload \(median of 20\) \| mlperf-tiny 1370 B out \+ \d+ B in, [\d.]+ s per upload \(median of 20\); mlperf-tiny\/yono 2\.10x bytes out, [\d.]+x seconds$/);
    console.log(`      ${c.lines[0]}`);
    expectOneLineError(hil(['uploads', dirs[0], path.join(tmp, 'nowhere')]), /nowhere: no such run folder$/);
  });

  it('bad devices: no m-ready, profile mismatch, db overflow: one line, exit 2, run.json says failed', () => {
    const yonoElf = buildFirmware('mps2-an386', [model]).elf;
    const rigFile = path.join(tmp, 'fast-boot.yaml');
    fs.writeFileSync(rigFile, fs.readFileSync(path.join(ROOT, 'rigs', 'qemu-mps2-an386.yaml'), 'utf8').replace('name: qemu-mps2-an386', 'name: fast-boot').replace('boot_timeout_ms: 10000', 'boot_timeout_ms: 2000'));
    const results = path.join(tmp, 'bad');
    expectOneLineError(
      hil(['run', '--rig', rigFile, '--firmware', yonoElf, '--protocol', 'mlperf-tiny', '--models', MODEL, '--experiments', 'accuracy', '--samples', '2', '--results', results]),
      /QEMU mps2-an386 serial0\): no m-ready prompt within 2000 ms \(.*\): is it MLPerf Tiny firmware\?$/,
    );
    expectOneLineError(
      hil(['run', '--firmware', mlperfElf, '--protocol', 'mlperf-tiny', '--profile', 'ic01', '--models', MODEL, '--experiments', 'accuracy', '--samples', '2', '--results', results]),
      /device serves profile 'kws01', expected 'ic01'/,
    );
    // the harness thinks the device serves fmnist_cnn (784 B inputs); it serves kws (637 B)
    expectOneLineError(
      hil(['run', '--firmware', mlperfElf, '--protocol', 'mlperf-tiny', '--models', 'fmnist_cnn', '--experiments', 'accuracy,latency', '--samples', '2', '--results', results]),
      /'db load 784' refused: Supplied buffer size 784 exceeds maximum of 637$/,
    );
    const runs = fs.readdirSync(results).map((d) => JSON.parse(fs.readFileSync(path.join(results, d, 'run.json'), 'utf8')) as { status: string; error: string });
    expect(runs).to.have.length(3);
    for (const r of runs) expect(r.status).to.equal('failed');
    // CSVs made before the failure stay (header at least)
    for (const d of fs.readdirSync(results)) expect(fs.existsSync(path.join(results, d, 'accuracy.csv'))).to.equal(true);
  });
});
