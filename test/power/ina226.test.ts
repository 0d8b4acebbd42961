import { expect } from 'chai';
import { Ina226Monitor, parseHello } from '../../harness/power/ina226.js';
import { energyRow, windowEnergies } from '../../harness/power/energy.js';
import { median } from '../../harness/util/stats.js';
import { HilError } from '../../harness/util/errors.js';
import { BUS_LSB_MV, Ina226Sim } from '../sims/ina226-sim.js';
import { INFERENCE, makeWaveform } from '../sims/waveform.js';
import { capture, hilErrorOf, withPty } from './helpers.js';

const HZ = 2000;
const wave = makeWaveform({ ...INFERENCE, sample_hz: HZ });

describe('INA226 bridge driver vs a simulator of our line protocol', function () {
  this.timeout(10_000);
  const pty = withPty();

  function played(sim: Ina226Sim): { energy: number[]; charge: number[] } {
    const dt = 1 / HZ;
    const energy: number[] = [];
    const charge: number[] = [];
    for (const r of wave.regions) {
      let e = 0;
      let q = 0;
      for (let i = r.start; i < r.end; i++) {
        e += sim.busVolts(wave.current_a[i]) * wave.current_a[i] * dt;
        q += wave.current_a[i] * dt;
      }
      energy.push(e);
      charge.push(q);
    }
    return { energy, charge };
  }

  it('parses the hello line and refuses other protocols', () => {
    expect(parseHello('INA226 v1 shunt_ohm=0.1 shunt_lsb_uV=2.5 bus_lsb_mV=1.25 max_hz=4000', 'x')).to.deep.equal({ shunt_ohm: 0.1, shunt_lsb_uV: 2.5, bus_lsb_mV: 1.25, max_hz: 4000 });
    expect(() => parseHello('INA226 v2 shunt_ohm=0.1', 'x')).to.throw(HilError, /v2/);
    expect(() => parseHello('hello', 'x')).to.throw(HilError, /not an INA226/);
  });

  it('energy uses the measured bus voltage and matches the played waveform within shunt + bus LSBs', async () => {
    const sim = new Ina226Sim(pty.pair().a, { waveform: wave, bus_mv: 3300, droop_ohm: 0.5 });
    const cap = await capture(new Ina226Monitor({ port: pty.pair().b }), sim, { voltage_mv: 3300, sample_hz: HZ });
    const p = played(sim);
    const got = windowEnergies(cap);
    expect(got.length).to.equal(5);
    for (let i = 0; i < got.length; i++) {
      // half a shunt LSB (25 uA) per sample, plus half a bus LSB (1.25 mV) on the charge
      const tol = got[i].resolution_j + 0.5 * (BUS_LSB_MV / 1000) * p.charge[i] + 1e-15;
      expect(Math.abs(got[i].energy_j - p.energy[i])).to.be.at.most(tol);
    }
    const row = energyRow(cap, 'measured');
    expect(row.windows).to.equal(5);
    expect(row.lost_samples_pct).to.equal(0);
    console.log(`      INA226: played median ${(median(p.energy) * 1e3).toFixed(6)} mJ, measured ${row.energy_mJ_median.toFixed(6)} mJ, bound ${row.resolution_mJ.toExponential(2)} mJ (+ bus LSB)`);
  });

  it('missing and garbled lines are lost samples, found by the sequence number', async () => {
    const r = wave.regions;
    const sim = new Ina226Sim(pty.pair().a, { waveform: wave, bus_mv: 3300, drops: [r[0].start + 3, r[0].start + 4, r[4].end + 2], garble: [r[2].start + 10] });
    const cap = await capture(new Ina226Monitor({ port: pty.pair().b }), sim, { voltage_mv: 3300, sample_hz: HZ });
    expect(cap.lost_samples).to.equal(4);
    expect(cap.loss_spans.map((s) => [s.start, s.lost])).to.deep.equal([[r[0].start + 3, 2], [r[2].start + 10, 1], [r[4].end + 2, 1]]);
    const row = energyRow(cap, 'measured');
    expect(row.lost_samples_pct).to.be.closeTo((100 * 4) / cap.current_a.length, 1e-9);
    expect([row.windows, row.windows_broken]).to.deep.equal([3, 2]);
  });

  it('a bridge that never answers: one HilError naming the port, in bounded time', async () => {
    const sim = new Ina226Sim(pty.pair().a, { waveform: wave, bus_mv: 3300, silent: true });
    await sim.open();
    const t0 = Date.now();
    const err = await hilErrorOf(new Ina226Monitor({ port: pty.pair().b, replyTimeoutMs: 300 }).open());
    await sim.close();
    expect(Date.now() - t0).to.be.below(2000);
    expect(err.toLine()).to.equal(`ina226 ${pty.pair().b}: no hello within 300 ms after "H"; is the instrument connected and powered?`);
  });
});
