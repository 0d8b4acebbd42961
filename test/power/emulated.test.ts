import { expect } from 'chai';
import type { Capture } from '../../harness/capabilities/power-monitor.js';
import { describeStorage, findStorage, storageSeconds, type StorageModel } from '../../harness/estimate/storage-model.js';
import type { ActivitySource, DeviceActivity } from '../../harness/capabilities/device-activity.js';
import { perSwitch } from '../../harness/power/energy.js';
import { EmulatedPowerMonitor, exactWindowEnergies, timelineEnergy, type EmulatedMonitorOptions, type EmulatedPowerModel } from '../../harness/power/emulated.js';
import { energyRow, windowEnergies } from '../../harness/power/energy.js';
import { createPowerMonitor, powerConfig } from '../../harness/power/factory.js';
import { loadRig } from '../../harness/rig/rig.js';
import { hilErrorOf } from './helpers.js';

class FakeActivity implements ActivitySource {
  readonly listeners = new Set<(a: DeviceActivity) => void>();
  onActivity(listener: (a: DeviceActivity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(a: DeviceActivity): void {
    for (const l of this.listeners) l(a);
  }
}

const POWER: EmulatedPowerModel = { supply_v: 3, run_current_a: 0.01, idle_current_a: 0.001, source: 'test model' };
const STORAGE: StorageModel = {
  name: 'test-sd',
  part: 'test card',
  bus: 'test bus',
  read_bytes_per_s: 1e6,
  access_latency_s: 10e-6,
  read_current_a: 0.02,
  standby_current_a: 0.0005,
  awake_after_access_s: 0,
  awake_current_a: 0,
  source: 'test',
};
const US_PER_TICK = (ticks: number) => ticks * 1e-6;

function monitor(extra: Partial<EmulatedMonitorOptions> = {}): { mon: EmulatedPowerMonitor; src: FakeActivity } {
  const src = new FakeActivity();
  const mon = new EmulatedPowerMonitor({ power: POWER, secondsOfTicks: US_PER_TICK, activity: src, ...extra });
  return { mon, src };
}

async function capture(mon: EmulatedPowerMonitor, play: () => void): Promise<Capture> {
  await mon.open();
  await mon.configure({ voltage_mv: 3000 });
  await mon.startCapture();
  play();
  const c = await mon.stopCapture();
  await mon.close();
  return c;
}

function select(ticks: number, storage_ticks: number, storage_bytes: number, storage_reads: number, repeat = 1): DeviceActivity {
  return { kind: 'select', repeat, ticks, storage_ticks, storage_bytes, storage_reads };
}

describe('storage model', () => {
  it('reads x latency + bytes / rate, and a one-line description', () => {
    expect(storageSeconds(STORAGE, 4000, 2)).to.be.closeTo(2 * 10e-6 + 4000 / 1e6, 1e-15);
    expect(storageSeconds(STORAGE, 0, 0)).to.equal(0);
    expect(() => storageSeconds(STORAGE, -1, 0)).to.throw(RangeError);
    const sd = findStorage(loadRig('qemu-mps2-an386'));
    expect(sd.name).to.equal('sd-spi-21mhz');
    // 64 KiB in one read at 419 kB/s + 1 ms
    expect(storageSeconds(sd, 65536, 1)).to.be.closeTo(0.001 + 65536 / 419000, 1e-12);
    const line = describeStorage(sd);
    expect(line).to.not.contain('\n');
    expect(line).to.match(/^sd-spi-21mhz: microSDHC.* over SPI at 21 MHz.*419 kB\/s \+ 1 ms per read; read 20 mA, standby 250 uA, awake 7 mA for 250 ms/);
    expect(describeStorage(findStorage(loadRig('qemu-mps2-an386'), 'qspi-nor-n25q128a'))).to.not.contain('awake');
  });
});

describe('emulated power monitor', () => {
  it('INFER runs: known segments give known energy through the one analysis', async () => {
    const { mon, src } = monitor();
    const c = await capture(mon, () => src.emit({ kind: 'infer', runs_ticks: [100, 250, 40] }));
    expect(c.instrument).to.equal('emulated');
    expect(c.sample_period_s).to.equal(1e-6);
    expect([c.lost_samples, c.resolution_a, c.loss_spans.length]).to.deep.equal([0, 0, 0]);
    expect(c.received_samples).to.equal(c.current_a.length);
    expect(c.notes.join(' ')).to.match(/estimate from a stated model, not a measurement/);
    // 50 us gap, run, gap, run, gap, run, 50 us trailing gap
    expect(c.current_a.length).to.equal(4 * 50 + 100 + 250 + 40);
    expect(c.edges.map((e) => e.index)).to.deep.equal([50, 150, 200, 450, 500, 540]);
    const w = windowEnergies(c);
    expect(w.map((x) => x.energy_j / (3 * 0.01 * 1e-6))).to.have.length(3);
    w.forEach((x, i) => expect(x.energy_j).to.be.closeTo(3 * 0.01 * [100, 250, 40][i] * 1e-6, 1e-15));
    const row = energyRow(c, 'emulated-estimate');
    expect(row.windows).to.equal(3);
    expect(row.energy_mJ_median).to.be.closeTo(3 * 0.01 * 100e-6 * 1e3, 1e-12);
    expect(row.window_ms_median).to.be.closeTo(0.1, 1e-12);
    expect([row.instrument, row.supply_mV, row.lost_samples_pct, row.resolution_mJ]).to.deep.equal(['emulated', 3000, 0, 0]);
    // no storage: the whole capture is MCU-running current
    const t = mon.lastTimeline!;
    expect(timelineEnergy(t)).to.be.closeTo(3 * 0.01 * c.current_a.length * 1e-6, 1e-15);
  });

  it('windows off the sample grid stay within the stated edge-rounding bound', async () => {
    const cpi = (ticks: number) => (ticks * 1.3) / 120e6; // a cost model: 1000 ticks = 10.83 us
    const { mon, src } = monitor({ secondsOfTicks: cpi });
    const runs = [1000, 1234, 777, 5000, 333];
    const c = await capture(mon, () => src.emit({ kind: 'infer', runs_ticks: runs }));
    const exact = exactWindowEnergies(mon.lastTimeline!);
    const bound = 3 * 0.01 * 1e-6; // supply x max current x sample period
    expect(c.notes.join(' ')).to.contain(`within ${bound.toPrecision(3)} J`);
    const got = windowEnergies(c);
    let worst = 0;
    runs.forEach((ticks, i) => {
      expect(exact[i]).to.be.closeTo(3 * 0.01 * cpi(ticks), 1e-18);
      const err = Math.abs(got[i].energy_j - exact[i]);
      expect(err).to.be.at.most(bound);
      worst = Math.max(worst, err);
    });
    expect(worst).to.be.greaterThan(0); // the edges really were rounded
    // samples are exact averages: the capture's total is the timeline's to float precision
    const sum = c.current_a.reduce((a, b) => a + b, 0) * 3 * 1e-6;
    expect(sum).to.be.closeTo(timelineEnergy(mon.lastTimeline!), 1e-15);
  });

  it('SELECT with storage: CPU part + modelled storage part, the memcpy ticks dropped', async () => {
    const { mon, src } = monitor({ storage: STORAGE });
    // 300 ticks in all, 200 of them in the (emulated) storage driver; 4000 B in 2 reads
    const c = await capture(mon, () => src.emit(select(300, 200, 4000, 2)));
    const cpu = 100e-6;
    const io = 2 * 10e-6 + 4000 / 1e6; // 4020 us from the model, not the 200 memcpy ticks
    const hand = 3 * ((0.01 + 0.0005) * cpu + (0.01 + 0.02) * io);
    const [w] = windowEnergies(c);
    expect(w.duration_s).to.be.closeTo(cpu + io, 1e-12);
    expect(w.energy_j).to.be.closeTo(hand, 1e-12);
    expect(exactWindowEnergies(mon.lastTimeline!)[0]).to.be.closeTo(hand, 1e-15);
    expect(c.description).to.contain('storage test-sd: test card over test bus');
    // outside the window: MCU running + storage standby
    expect(c.current_a[0]).to.be.closeTo(0.0105, 1e-15);
    expect(c.current_a[c.current_a.length - 1]).to.be.closeTo(0.0105, 1e-15);
  });

  it('the storage awake tail shows up in the next window, and ends', async () => {
    const sd = { ...STORAGE, awake_after_access_s: 1e-3, awake_current_a: 0.005 };
    const { mon, src } = monitor({ storage: sd });
    const c = await capture(mon, () => {
      src.emit(select(100, 50, 1000, 1)); // read ends, then 1 ms awake
      src.emit({ kind: 'infer', runs_ticks: [200] }); // starts 50 us later: inside the tail
      mon.idle(2e-3); // asleep past the tail
      src.emit({ kind: 'infer', runs_ticks: [200] }); // storage back in standby
    });
    const [, inTail, after] = windowEnergies(c);
    expect(inTail.energy_j).to.be.closeTo(3 * (0.01 + 0.005) * 200e-6, 1e-12);
    expect(after.energy_j).to.be.closeTo(3 * (0.01 + 0.0005) * 200e-6, 1e-12);
    // the idle stretch: MCU idle current + awake for the rest of the tail, then standby
    const t = mon.lastTimeline!;
    const idleStart = t.windows[1].end_s;
    const tailEnd = t.windows[0].end_s + 1e-3;
    const idleEnergy = timelineEnergy(t, idleStart, idleStart + 2e-3);
    const hand = 3 * (0.001 * 2e-3 + 0.005 * (tailEnd - idleStart) + 0.0005 * (idleStart + 2e-3 - tailEnd));
    expect(idleEnergy).to.be.closeTo(hand, 1e-15);
  });

  it('SELECT repeated n times in one window: perSwitch divides by n', async () => {
    const { mon, src } = monitor({ storage: STORAGE });
    const one = 3 * ((0.01 + 0.0005) * 30e-6 + (0.01 + 0.02) * (10e-6 + 2000 / 1e6));
    const c = await capture(mon, () => {
      for (let i = 0; i < 3; i++) src.emit(select(10 * 80, 10 * 50, 10 * 2000, 10, 10));
    });
    const row = energyRow(c, 'emulated-estimate');
    expect(row.windows).to.equal(3);
    expect(row.energy_mJ_median).to.be.closeTo(10 * one * 1e3, 1e-9);
    const per = perSwitch(row, 10);
    expect(per.energy_mJ_median).to.be.closeTo(one * 1e3, 1e-10);
    expect(per.energy_mJ_p10).to.be.closeTo(row.energy_mJ_p10 / 10, 1e-15);
    expect(per.window_ms_median).to.be.closeTo(row.window_ms_median / 10, 1e-15);
    expect(per.windows).to.equal(3);
    expect(() => perSwitch(row, 0)).to.throw(RangeError);
  });

  it('the in-memory variant (no storage model) adds nothing and refuses storage reads', async () => {
    const { mon, src } = monitor();
    const c = await capture(mon, () => src.emit(select(500, 0, 0, 0)));
    expect(windowEnergies(c)[0].energy_j).to.be.closeTo(3 * 0.01 * 500e-6, 1e-15);
    expect(c.description).to.contain('no external storage');
    const { mon: m0, src: s0 } = monitor();
    const c0 = await capture(m0, () => s0.emit(select(0, 0, 0, 0)));
    expect([c0.edges.length, c0.notes.join(' ')]).to.deep.equal([0, c0.notes.join(' ')]);
    expect(c0.notes.join(' ')).to.contain('1 SELECT(s) took zero time in the model and produced no window');
    const { mon: m2, src: s2 } = monitor();
    const e = await hilErrorOf(capture(m2, () => s2.emit(select(500, 100, 4096, 1))));
    expect(e.message).to.match(/read external storage \(4096 B in 1 reads\) but this monitor has no storage model/);
    const { mon: m3, src: s3 } = monitor({ storage: STORAGE });
    expect((await hilErrorOf(capture(m3, () => s3.emit(select(10, 20, 0, 0))))).message).to.contain('storage_ticks 20 exceed');
  });

  it('activity outside a capture is ignored; configure refuses another voltage', async () => {
    const { mon, src } = monitor();
    await mon.open();
    expect((await hilErrorOf(mon.configure({ voltage_mv: 3300 }))).message).to.contain('stated at 3000 mV');
    src.emit({ kind: 'infer', runs_ticks: [1000] });
    await mon.startCapture();
    src.emit({ kind: 'infer', runs_ticks: [100] });
    const c = await mon.stopCapture();
    src.emit({ kind: 'infer', runs_ticks: [1000] });
    expect(windowEnergies(c).map((w) => Math.round(w.duration_s * 1e6))).to.deep.equal([100]);
    expect(src.listeners.size).to.equal(0);
    await mon.close();
    await mon.close();
  });

  it('a 10 s capture at 1 MHz fits (1e7 samples), and an oversized one is refused', async function () {
    this.timeout(60000);
    const { mon, src } = monitor({ storage: { ...STORAGE, awake_after_access_s: 0.25, awake_current_a: 0.007 } });
    const t0 = Date.now();
    const c = await capture(mon, () => {
      for (let i = 0; i < 500; i++) {
        // 20 ms per round: 50 us gap + 500 us CPU + 4 x 10 us + 8000 B at 1 MB/s, 50 us gap + 11.36 ms run
        src.emit(select(1000, 500, 8000, 4));
        src.emit({ kind: 'infer', runs_ticks: [11360] });
      }
    });
    const ms = Date.now() - t0;
    console.log(`      10 s capture: ${c.current_a.length} samples, ${(c.current_a.byteLength / 1e6).toFixed(0)} MB, ${ms} ms to build`);
    const row = energyRow(c, 'emulated-estimate');
    expect(c.current_a.length).to.be.within(1e7, 1.01e7);
    expect(row.windows).to.equal(1000);
    expect(ms).to.be.below(20000);
    const total = c.current_a.reduce((a, b) => a + b, 0) * 3 * 1e-6;
    expect(total).to.be.closeTo(timelineEnergy(mon.lastTimeline!), 1e-9);
    const { mon: small, src: s2 } = monitor({ max_samples: 1000 });
    const e = await hilErrorOf(capture(small, () => s2.emit({ kind: 'infer', runs_ticks: [5000] })));
    expect(e.message).to.match(/needs 5100 samples \(limit 1000\); configure sample_hz <= 196078/);
  });
});

describe('emulated power monitor from a rig', () => {
  const rig = loadRig('qemu-mps2-an386');
  const activity = new FakeActivity();

  it('needs the activity source and secondsOfTicks, and a storage name the rig has', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as Error & { toLine(): string }).toLine();
      }
      return 'no error';
    };
    expect(err(() => createPowerMonitor(rig))).to.match(/^qemu-mps2-an386: power: kind emulated needs the device activity/);
    expect(err(() => createPowerMonitor(rig, { activity }))).to.match(/^qemu-mps2-an386: power: kind emulated needs secondsOfTicks/);
    expect(err(() => createPowerMonitor(rig, { activity, secondsOfTicks: US_PER_TICK, storage: 'floppy' }))).to.equal(
      'qemu-mps2-an386: storage: no storage model "floppy"; this rig has sd-spi-21mhz, qspi-nor-n25q128a',
    );
    const broken = { ...rig, power: { ...rig.power!, run_current_a: undefined } };
    expect(err(() => createPowerMonitor(broken, { activity, secondsOfTicks: US_PER_TICK }))).to.equal('qemu-mps2-an386: power.run_current_a: required for kind emulated');
  });

  it('builds the model from the rig file, with or without a storage channel', async () => {
    const qspi = createPowerMonitor(rig, { activity, secondsOfTicks: US_PER_TICK, storage: 'qspi-nor-n25q128a' });
    expect(qspi).to.be.instanceOf(EmulatedPowerMonitor);
    expect(qspi!.description).to.match(/^emulated qemu-mps2-an386 power model: 3 V, run 13.8 mA, idle 0.00300 mA; storage qspi-nor-n25q128a: Micron N25Q128A13/);
    const none = createPowerMonitor(rig, { activity, secondsOfTicks: US_PER_TICK });
    expect(none!.description).to.contain('no external storage (in-memory variant)');
    expect(powerConfig(rig)).to.deep.equal({ voltage_mv: 3000, sample_hz: undefined });
    await none!.open();
    await none!.configure(powerConfig(rig)!);
    await none!.close();
  });
});
