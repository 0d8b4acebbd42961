/**
 * MLPerf Tiny energy mode (the runner's `-m e`) through the real LPM01A driver: a fake MLPerf
 * Tiny device built for energy mode (no m-lap-us; its timestamps are pin pulses) drives the
 * LPM01A simulator over a pty (test/sims/device-drive.ts: each `infer N W` is one region of N
 * inferences at the inference current, with a falling-edge event at each end), on the rig
 * f746g-disco-lpm01a (its LPM01A on the simulator's pty, at 1 kHz like the runner). The window
 * length and the energy come from the instrument's events, each window >= 10 s of the
 * instrument's time, 5 windows, the median energy per inference; the uploads use 26-byte db
 * lines. A rig without a timestamp pin, and a device that prints stamps (performance mode), are
 * one clear error each. Figures of this run are the simulator's, not a board's.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { BoardDut } from '../../harness/dut/board.js';
import { createDut } from '../../harness/dut/factory.js';
import type { ExperimentContext } from '../../harness/experiments/context.js';
import { energyModeUnfit, measureEnergyMode, mlperfEnergyExperiment } from '../../harness/experiments/mlperf-energy.js';
import { ensurePrepared } from '../../harness/datasets/prepared.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { openDeviceProtocol } from '../../harness/protocol/drivers.js';
import { loadRig, type BoardDutSpec, type Rig } from '../../harness/rig/rig.js';
import { loadModelSet } from '../../harness/session/model-set.js';
import type { Session } from '../../harness/session/session.js';
import { createLogger } from '../../harness/util/log.js';
import { rejection } from '../contract/protocol.contract.js';
import { FakeMlperfDevice } from '../fakes/fake-mlperf-device.js';
import { DeviceDrive, type BoardCurrents } from '../sims/device-drive.js';
import { Lpm01aSim } from '../sims/lpm01a-sim.js';
import { openPtyPair, type PtyPair } from '../sims/pty-pair.js';

const MODEL = 'kws_dscnn';
/** the per-inference time of kws_dscnn on qemu-mps2-an386 (m-lap-us, 2026-12-06) */
const US_PER_INFERENCE = 2808;
const CURRENTS: BoardCurrents = { idle_a: 0.0021, infer_a: 0.0143, select_a: 0.0143, noise_a: 0.0002, seed: 5 };
const HZ = 1000;

interface Bench {
  pair: PtyPair;
  sim: Lpm01aSim;
  drive: DeviceDrive;
  fake: FakeMlperfDevice;
  ctx: ExperimentContext;
}

async function bench(model: Int8Model, options: { energyMode: boolean; rig?: (r: Rig) => Rig }): Promise<Bench> {
  const pair = await openPtyPair();
  const fake = new FakeMlperfDevice({ model, profile: 'kws01', usPerInference: US_PER_INFERENCE, energyMode: options.energyMode });
  const drive = new DeviceDrive({ activity: fake, timer_hz: 1e6, currents: CURRENTS });
  const sim = new Lpm01aSim(pair.a, { device: drive, stampEvery: 100 });
  await sim.open();
  const board = loadRig('f746g-disco-lpm01a');
  const base: Rig = { ...board, power: { ...board.power!, port: pair.b, usb_serial: undefined, sample_hz: HZ } };
  const rig = options.rig ? options.rig(base) : base;
  const device = openDeviceProtocol('mlperf-tiny', fake, {
    board: rig.board,
    profile: 'kws01',
    energyMode: true,
    model: { name: model.name, input: [...model.input.shape], input_bytes: model.input.shape.reduce((a, b) => a * b, 1), classes: model.classes, hash: '' },
  });
  const hello = await device.hello(5000);
  const dut = createDut(rig);
  const session = { rig, dut, device, hello, ticks: dut.tickModel(hello), link: fake, modelId: () => 0, close: async () => undefined } as unknown as Session;
  const ctx: ExperimentContext = {
    session,
    models: [model],
    log: createLogger({ quiet: true }),
    provenance: (dataset_hash) => ({ run_id: 'mlperf-energy', rig: rig.name, board: rig.board, firmware_hash: 'fake', dataset_hash, harness_version: 'test' }),
    cancelled: () => false,
    note: () => undefined,
  };
  return { pair, sim, drive, fake, ctx };
}

async function dispose(b: Bench | undefined): Promise<void> {
  b?.drive.dispose();
  await b?.sim.close();
  await b?.pair.close();
}

describe('MLPerf Tiny energy mode: timestamp events on the LPM01A (simulator) mark the windows', function () {
  this.timeout(240_000);
  let model: Int8Model;
  let b: Bench | undefined;
  let result: Awaited<ReturnType<typeof measureEnergyMode>>;

  before(async () => {
    [model] = loadModelSet([MODEL]);
    ensurePrepared(model.dataset);
    b = await bench(model, { energyMode: true });
    result = await measureEnergyMode(b.ctx);
  });

  after(() => dispose(b));

  it('configures the LPM01A from the rig (1 kHz, falling events on d7) and uploads with 26-byte db lines', () => {
    expect(b!.sim.received.slice(0, 9)).to.deep.equal(['htc', 'volt 3300m', 'freq 1k', 'acqtime 0', 'output current', 'format ascii_dec', 'trigsrc sw', 'eventsrc d7 fal', 'pwr on']);
    const db = b!.fake.commands.filter((c) => c.startsWith('db ') && !c.startsWith('db load'));
    expect(db).to.have.length(Math.ceil(637 / 26));
    expect(db.slice(0, -1).every((c) => c.length === 3 + 2 * 26)).to.equal(true);
  });

  it('5 windows, each >= 10 s between the two timestamp events; energy per inference and power from the instrument', () => {
    const [row] = result.rows;
    const windows = row.window_s.split(';').map(Number);
    expect(windows).to.have.length(5);
    for (const w of windows) expect(w).to.be.at.least(10);
    const n = row.inferences_per_window;
    // the simulator played each window as N inferences of US_PER_INFERENCE at infer_a (3.3 V)
    const played = b!.drive.windows.slice(-5);
    expect(played.every((w) => w.kind === 'infer' && w.samples === Math.round((n * US_PER_INFERENCE * HZ) / 1e6))).to.equal(true);
    const perInf = row.window_uJ_per_inference.split(';').map(Number);
    played.forEach((w, i) => expect(perInf[i], `window ${i}`).to.be.closeTo((w.energy_j * 1e6) / n, 0.001 * perInf[i]));
    expect(windows[0]).to.be.closeTo(played[0].samples / HZ, 1e-9);
    const expected = CURRENTS.infer_a * 3.3 * US_PER_INFERENCE; // uJ: A x V x us
    expect(row.uJ_per_inference).to.be.closeTo(expected, 0.01 * expected);
    expect(row.power_mW).to.be.closeTo(CURRENTS.infer_a * 3.3 * 1000, 0.01 * CURRENTS.infer_a * 3300);
    expect(row).to.include({ source: 'measured', instrument: 'lpm01a', supply_mV: 3300, sample_hz: HZ, db_bytes_per_line: 26, profile: 'kws01', windows: 5 });
    console.log(
      `      simulator (LPM01A 1 kHz, kws_dscnn fake at ${US_PER_INFERENCE} us/inference, ${CURRENTS.infer_a * 1e3} mA): N=${n}, windows ${row.window_s.replace(/;/g, ' ')} s, ` +
        `${row.uJ_per_inference.toFixed(3)} uJ/inference (${row.window_uJ_per_inference.replace(/;/g, ' ')}), ${row.power_mW.toFixed(3)} mW`,
    );
  });

  it('one energy.csv row per model: per inference, measured, from the same windows', () => {
    const [e] = result.energy;
    expect(e).to.include({ what: 'inference', model: MODEL, source: 'measured', instrument: 'lpm01a', windows: 5, windows_broken: 0 });
    expect(e.energy_mJ_median * 1e3).to.be.closeTo(result.rows[0].uJ_per_inference, 1e-6 * result.rows[0].uJ_per_inference);
    expect(e.window_ms_median).to.be.closeTo(US_PER_INFERENCE / 1000, 0.01);
  });
});

describe('MLPerf Tiny energy mode: a rig without a timestamp pin, a device in performance mode', function () {
  this.timeout(60_000);
  let model: Int8Model;
  before(() => {
    [model] = loadModelSet([MODEL]);
    ensurePrepared(model.dataset);
  });

  it('names what the rig lacks: no power monitor, an emulated model, a level-marker instrument, no timestamp pin', () => {
    const lpm = loadRig('f746g-disco-lpm01a');
    expect(energyModeUnfit(lpm)).to.equal(undefined);
    expect(energyModeUnfit({ ...lpm, power: { ...lpm.power!, marker: undefined } })).to.match(/^rig f746g-disco-lpm01a has no timestamp pin: name the LPM01A input .* \(power\.marker, e\.g\. d7\)$/);
    expect(energyModeUnfit(loadRig('qemu-mps2-an386'))).to.match(/emulated power model, which cannot see a timestamp pin/);
    expect(energyModeUnfit(loadRig('nucleo-l4r5zi-ppk2'))).to.match(/its ppk2 sees a marker level, not timestamp events/);
    expect(energyModeUnfit({ name: 'x', power: undefined })).to.match(/has no power monitor/);
  });

  it('measureEnergyMode on a rig without a timestamp pin: one HilError before anything is measured', async () => {
    let b: Bench | undefined;
    try {
      b = await bench(model, { energyMode: true, rig: (r) => ({ ...r, power: { ...r.power!, marker: undefined } }) });
      const e = await rejection(measureEnergyMode(b.ctx));
      expect(e.message).to.match(/has no timestamp pin/);
      expect(b.sim.received).to.deep.equal([]);
    } finally {
      await dispose(b);
    }
  });

  it('a device that prints m-lap-us (built for performance mode) is refused, naming the command', async () => {
    let b: Bench | undefined;
    try {
      b = await bench(model, { energyMode: false });
      const e = await rejection(measureEnergyMode(b.ctx));
      expect(e.message).to.match(/^'infer 1 1' printed 2 m-lap-us stamps: the device runs in performance mode \(EE_CFG_ENERGY_MODE 0\)/);
    } finally {
      await dispose(b);
    }
  });

  it("the DUT's link runs at the rig's baud (9600 for the official energy-mode setup)", async () => {
    const board = loadRig('f746g-disco-lpm01a');
    const rig = { ...board, link: { ...board.link, usb_serial: undefined, path: '/dev/null', baud: 9600 } } as Rig & { dut: BoardDutSpec };
    const opened: [string, number][] = [];
    const fake = new FakeMlperfDevice({ model, profile: 'kws01', usPerInference: US_PER_INFERENCE, energyMode: true });
    const dut = new BoardDut(rig, { openLink: async (path, baud) => (opened.push([path, baud]), fake) });
    expect(await dut.connect()).to.equal(fake);
    expect(opened).to.deep.equal([['/dev/null', 9600]]);
  });

  it('hil run --experiments mlperf-energy on a rig without one: one line, exit 2, nothing built', () => {
    const r = spawnSync(process.execPath, ['dist/harness/cli.js', 'run', '--protocol', 'mlperf-tiny', '--models', MODEL, '--experiments', 'mlperf-energy'], { encoding: 'utf8' });
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('warning:'));
    expect(r.status).to.equal(2);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/mlperf-energy.*emulated power model, which cannot see a timestamp pin/);
    expect(mlperfEnergyExperiment.requires?.({ protocol: 'yono', rig: loadRig('f746g-disco-lpm01a') } as never)).to.match(/needs an mlperf-tiny device/);
  });
});
