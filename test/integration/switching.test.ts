/**
 * Issue #5 end to end on QEMU: the in-memory firmware and the external-storage baseline, built
 * from the same models and run in one call; switching, scenario and energy rows checked against
 * the rig's stated storage and power models.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storageSeconds } from '../../harness/estimate/storage-model.js';
import { runExperiments } from '../../harness/run/run.js';
import { loadRig } from '../../harness/rig/rig.js';
import { createLogger } from '../../harness/util/log.js';

describe('switching, scenario and energy on qemu-mps2-an386 (int8 vs int8-ext)', function () {
  this.timeout(10 * 60 * 1000);
  const rig = loadRig('qemu-mps2-an386');
  let r: Awaited<ReturnType<typeof runExperiments>>;

  before(async () => {
    const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-switch-'));
    r = await runExperiments({
      rig: rig.name, models: ['fmnist_cnn', 'hapt_cnn'], variants: ['int8', 'int8-ext'], experiments: ['switching', 'scenario'],
      switchReps: 2, scenarioEvents: 6, resultsDir, log: createLogger({ quiet: true }),
    });
  });

  it('has a row per ordered pair for the in-memory channel and for every storage model of the rig', () => {
    const storages = (rig.storage ?? []).map((s) => s.name);
    expect(storages.length).to.be.greaterThanOrEqual(2);
    expect(r.switching.filter((x) => x.variant === 'int8').map((x) => `${x.from_model}>${x.to_model}`).sort()).to.deep.equal(['fmnist_cnn>hapt_cnn', 'hapt_cnn>fmnist_cnn']);
    for (const s of storages) expect(r.switching.filter((x) => x.variant === 'int8-ext' && x.storage === s)).to.have.length(2);
    for (const x of r.switching) expect(x.source).to.equal('emulated-estimate');
  });

  it("prices the baseline's switch with the storage model, not with the emulator's memcpy", () => {
    for (const x of r.switching.filter((y) => y.variant === 'int8-ext')) {
      const model = (rig.storage ?? []).find((s) => s.name === x.storage);
      if (!model) throw new Error(`no storage model ${x.storage}`);
      expect(x.switch_bytes, x.to_model).to.be.greaterThan(1000);
      const storageMs = storageSeconds(model, x.switch_bytes, 1) * 1e3;
      // the rest is the firmware's own bookkeeping: a few hundred instructions at most
      expect(x.ready_ms_median - storageMs).to.be.within(0, 0.05);
      expect(x.first_ms_median).to.be.greaterThan(x.ready_ms_median + 1);
      expect(Number(x.ready_ms_reduction_pct)).to.be.greaterThan(95);
      expect(Number(x.ready_mJ_reduction_pct)).to.be.greaterThan(95.5);
    }
    for (const x of r.switching.filter((y) => y.variant === 'int8')) {
      expect(x.switch_bytes).to.equal(0);
      expect(x.repeat).to.equal(100);
      expect(x.ready_ms_median).to.be.lessThan(0.01);
    }
  });

  it('the switch energy follows the power model: supply x (run current x time + read current x storage time)', () => {
    const p = rig.power;
    if (!p || p.kind !== 'emulated' || p.supply_v === undefined || p.run_current_a === undefined) throw new Error('rig needs an emulated power model');
    const sd = (rig.storage ?? [])[0];
    for (const x of r.switching.filter((y) => y.variant === 'int8-ext' && y.storage === sd.name)) {
      const tStorage = storageSeconds(sd, x.switch_bytes, 1);
      const expected = p.supply_v * (p.run_current_a * x.ready_ms_median * 1e-3 + sd.read_current_a * tStorage) * 1e3;
      expect(Number(x.ready_mJ_median)).to.be.closeTo(expected, expected * 0.01);
    }
  });

  it('writes energy rows for switches, first inferences, steady inferences and scenario events', () => {
    const whats = new Set(r.energy.map((e) => `${e.what}/${e.variant}`));
    for (const w of ['switch', 'first_inference', 'inference', 'scenario_event']) {
      expect(whats.has(`${w}/int8`), w).to.equal(true);
      expect(whats.has(`${w}/int8-ext`), w).to.equal(true);
    }
    for (const e of r.energy) {
      expect(e.source).to.equal('emulated-estimate');
      expect(e.instrument).to.equal('emulated');
      expect(e.windows_broken).to.equal(0);
      expect(e.energy_mJ_median).to.be.greaterThan(0);
    }
    const files = fs.readdirSync(r.dir);
    expect(files).to.include.members(['switching.csv', 'scenario.csv', 'energy.csv', 'summary.txt']);
    expect(r.summary).to.match(/Model switching/);
  });

  it('runs the same schedules on both variants, with device == host on every event', () => {
    expect(r.scenario.map((t) => `${t.schedule}/${t.variant}`)).to.include.members(['round-robin/int8', 'round-robin/int8-ext', 'random-seed-1/int8', 'random-seed-1/int8-ext']);
    for (const t of r.scenario) {
      expect(t.events).to.equal(6);
      expect(t.mismatches, `${t.schedule} ${t.variant} ${t.storage}`).to.equal(0);
      if (t.schedule === 'round-robin') expect(t.switches).to.equal(6);
    }
    const base = r.scenario.find((t) => t.schedule === 'round-robin' && t.variant === 'int8-ext');
    const mem = r.scenario.find((t) => t.schedule === 'round-robin' && t.variant === 'int8');
    expect(Number(base?.total_ms)).to.be.greaterThan(Number(mem?.total_ms));
  });
});
