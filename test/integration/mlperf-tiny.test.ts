/**
 * Our firmware with the MLPerf Tiny front end (PROTO=mlperf_tiny) on QEMU, driven through the real
 * serialport package by MlperfTinyClient: the device's scores on real kws test inputs must pick
 * the host reference's class, performance mode must honour the window it was asked for, and an
 * oversized db load must be one clear error.
 */
import { expect } from 'chai';
import { ensurePrepared, loadPrepared } from '../../harness/datasets/prepared.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { MlperfTinyClient } from '../../harness/protocol/mlperf-tiny/client.js';
import { runPerformance } from '../../harness/protocol/mlperf-tiny/performance.js';
import { bootDut } from '../../harness/dut/factory.js';
import type { Dut } from '../../harness/dut/dut.js';
import { predictInt8, runInt8 } from '../../harness/reference/int8.js';
import { loadRig } from '../../harness/rig/rig.js';
import { loadModelSet } from '../../harness/session/model-set.js';
import { argmaxFirst } from '../../harness/util/argmax.js';
import { HilError } from '../../harness/util/errors.js';
import { MlperfTinyDriver } from '../../harness/protocol/mlperf-tiny/driver.js';
import { buildVariants } from '../../harness/run/plan.js';
import { openSession, type Session } from '../../harness/session/session.js';
import { createLogger } from '../../harness/util/log.js';

const RIG = 'qemu-mps2-an386';

function softmax(v: number[]): number[] {
  const top = Math.max(...v);
  const e = v.map((x) => Math.exp(x - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}
const MODEL = 'kws_dscnn';
const SAMPLES = 5;
/** a shortened window so the test does not take 5 x 10 s */
const MIN_WINDOW_SEC = 0.5;

describe('MLPerf Tiny front end on QEMU (PROTO=mlperf_tiny, kws_dscnn int8)', function () {
  this.timeout(5 * 60 * 1000);
  let model: Int8Model;
  let dut: Dut | undefined;
  let client: MlperfTinyClient;

  before(async () => {
    [model] = loadModelSet([MODEL]);
    ensurePrepared(model.dataset);
    const fw = buildFirmware('mps2-an386', [model], { protocol: 'mlperf_tiny', mlperf: { profile: 'kws01' } });
    const booted = await bootDut(loadRig(RIG), fw.elf);
    dut = booted.dut;
    client = new MlperfTinyClient(booted.link, { timeoutMs: 5000 });
    await client.waitReady(10000);
  });

  after(async () => {
    await dut?.close();
  });

  it('name and profile', async () => {
    expect(await client.name()).to.equal('yono-hil');
    expect(await client.profile()).to.equal('kws01');
    expect(await client.timestamp()).to.be.a('number');
  });

  it(`${SAMPLES} real test inputs: the argmax of the device's scores == the host reference, scores == softmax of the dequantized host logits`, async () => {
    const test = loadPrepared(model.dataset, 'test');
    expect(test.inputBytes).to.equal(637);
    for (let i = 0; i < SAMPLES; i++) {
      const x = test.x.subarray(i * test.inputBytes, (i + 1) * test.inputBytes);
      const up = await client.load(x, { bytesPerLine: 31 });
      expect(up.lines).to.equal(Math.ceil(637 / 31));
      const r = await client.infer(1, 0);
      expect(r.lapsUs).to.have.length(2);
      expect(r.elapsedUs).to.be.greaterThan(0);
      const scores = await client.results();
      expect(scores).to.deep.equal(r.results);
      expect(scores).to.have.length(model.classes);
      expect(argmaxFirst(scores), `sample ${i}`).to.equal(predictInt8(model, x));
      // the runner normalizes the vector by its sum: probabilities, as the reference models' softmax
      const host = softmax(Array.from(runInt8(model, x), (q) => model.output.scale * (q - model.output.zero_point)));
      scores.forEach((s, k) => expect(s, `sample ${i} class ${k}`).to.be.closeTo(host[k], 2e-6));
      if (i === 0) {
        // the figures of one upload, for both line sizes of the runner
        const e = await client.load(x, { bytesPerLine: 26 });
        console.log(
          `      upload of one ${MODEL} input (637 B): 31 B/line: ${up.lines} lines, ${up.wireBytesOut} B out + ${up.wireBytesIn} B in, ${(up.wallMs / 1000).toFixed(3)} s; ` +
            `26 B/line: ${e.lines} lines, ${e.wireBytesOut} B out + ${e.wireBytesIn} B in, ${(e.wallMs / 1000).toFixed(3)} s`,
        );
        console.log(`      one inference: ${r.elapsedUs} us device time (m-lap-us)`);
      }
    }
  });

  it(`performance mode with a ${MIN_WINDOW_SEC} s minimum window: 5 windows, each at least that long`, async () => {
    const rep = await runPerformance(client, { minWindowSec: MIN_WINDOW_SEC, windows: 5, warmup: 1 });
    expect(rep.windowSec).to.have.length(5);
    for (const w of rep.windowSec) expect(w).to.be.at.least(MIN_WINDOW_SEC);
    expect(rep.medianInferencesPerSec).to.be.greaterThan(0);
    console.log(
      `      performance: N=${rep.inferences} per window (calibration ${rep.calibration.inferences} in ${rep.calibration.deviceSec.toFixed(3)} s), ` +
        `windows ${rep.windowSec.map((s) => s.toFixed(3)).join(', ')} s device / ${rep.windowWallSec.map((s) => s.toFixed(2)).join(', ')} s wall; ` +
        `median ${rep.medianInferencesPerSec.toFixed(2)} inf/s = ${rep.msPerInference.toFixed(3)} ms/inference`,
    );
  });

  it('db load larger than the input buffer is one clear HilError; the device stays usable', async () => {
    let err: unknown;
    try {
      await client.load(Buffer.alloc(638));
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(HilError);
    const he = err as HilError;
    expect(he.message).to.equal("'db load 638' refused: Supplied buffer size 638 exceeds maximum of 637");
    expect(he.where).to.match(/^\/dev\/pts\/\d+ \(QEMU mps2-an386 serial0\)$/);
    expect(he.toLine()).to.not.include('\n');
    let infer: unknown;
    try {
      await client.infer(1, 0);
    } catch (e) {
      infer = e;
    }
    expect((infer as HilError).message).to.equal("'infer 1 0' refused: Input db has 0 elements, expected 637");
    expect(await client.profile()).to.equal('kws01');
  });
});

describe('MLPerf Tiny front end in energy mode on QEMU (MLPERF_ENERGY=1): timestamps go to the marker, not the UART', function () {
  this.timeout(2 * 60 * 1000);
  let session: Session | undefined;

  after(async () => {
    await session?.close();
  });

  it("a run's energy-mode plan builds MLPERF_ENERGY=1 and opens the driver in energy mode: no m-lap-us, 26-byte db lines, the host's predictions", async () => {
    const [model] = loadModelSet([MODEL]);
    ensurePrepared(model.dataset);
    const rig = loadRig(RIG);
    const plan = { variant: 'int8' as const, deploy: [model], models: [model] };
    const log = createLogger({ quiet: true });
    const [normal] = buildVariants(rig, [plan], log, { protocol: 'mlperf-tiny', profile: 'kws01' });
    const [energy] = buildVariants(rig, [plan], log, { protocol: 'mlperf-tiny', profile: 'kws01', energy: true });
    expect(energy.firmware.mlperfEnergy).to.equal(true);
    expect(energy.firmware.buildHash).to.not.equal(normal.firmware.buildHash);
    session = await openSession(rig, energy.firmware, { instructionWindows: false, models: [model] });
    const device = session.device as MlperfTinyDriver;
    expect(device).to.be.instanceOf(MlperfTinyDriver);
    expect(device.energyMode).to.equal(true);
    expect(device.bytesPerLine).to.equal(26);
    expect(await device.client.timestamp()).to.equal(undefined);
    const test = loadPrepared(model.dataset, 'test');
    for (let i = 0; i < 3; i++) {
      const x = test.x.subarray(i * test.inputBytes, (i + 1) * test.inputBytes);
      const out0 = session.link.stats.bytesOut;
      const r = await device.classify(0, x);
      expect(r.predicted, `sample ${i}`).to.equal(predictInt8(model, x));
      expect(r.ticks).to.deep.equal([]);
      // db load 637%, 24 lines of 26 bytes and one of 13, infer 1 0%
      expect(session.link.stats.bytesOut - out0).to.equal('db load 637%'.length + 24 * (3 + 52 + 1) + (3 + 26 + 1) + 'infer 1 0%'.length);
    }
    const raw = await device.client.infer(3, 0);
    expect(raw.lapsUs).to.deep.equal([]);
  });
});
