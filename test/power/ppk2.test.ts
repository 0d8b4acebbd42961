import { expect } from 'chai';
import { Ppk2Monitor, decodeWord, encodeWord, parseMetadata, wordCurrent, wordLsb } from '../../harness/power/ppk2.js';
import { energyRow, windowEnergies } from '../../harness/power/energy.js';
import { median } from '../../harness/util/stats.js';
import { HilError } from '../../harness/util/errors.js';
import { Ppk2Sim, SIM_CAL, encodeCurrent, metadataText } from '../sims/ppk2-sim.js';
import { INFERENCE, makeWaveform, nominalEnergy, playedEnergies } from '../sims/waveform.js';
import { capture, hilErrorOf, rel, withPty } from './helpers.js';

const V = 3.0;
const wave = makeWaveform({ ...INFERENCE, sample_hz: 100_000 });

describe('PPK2 driver vs a byte-exact simulator', function () {
  this.timeout(10_000);
  const pty = withPty();

  it('word layout: ADC bits 0-13, range 14-16, counter 18-23, logic 24-31', () => {
    const w = encodeWord({ adc: 0x2abc, range: 5, counter: 0x2d, logic: 0xa5 });
    expect(w).to.equal((0x2abc | (5 << 14) | (0x2d << 18) | (0xa5 << 24)) >>> 0);
    expect(decodeWord(w)).to.deep.equal({ adc: 0x2abc, range: 5, counter: 0x2d, logic: 0xa5 });
  });

  it('computes current from the calibration block, per range', () => {
    const { cal } = parseMetadata(metadataText(SIM_CAL, 3000), 'test');
    expect(cal).to.deep.equal(SIM_CAL);
    for (const amps of [5e-6, 2e-4, 2e-3, 0.018, 0.3]) {
      const { range, adc } = encodeCurrent(cal, amps, V);
      // round trip within half an LSB of that range
      expect(Math.abs(wordCurrent(cal, range, adc, V) - amps)).to.be.at.most(0.5 * wordLsb(cal, range, adc) * 1.001);
    }
    expect(() => parseMetadata('GS0: 1\nEND\n', 'ppk2 /dev/x')).to.throw(HilError, /R0/);
  });

  it('energy per marked window equals the played waveform within the ADC resolution; median over 5 windows', async () => {
    const sim = new Ppk2Sim(pty.pair().a, { waveform: wave, markerBit: 2 });
    const cap = await capture(new Ppk2Monitor({ port: pty.pair().b }), sim, { voltage_mv: 3000, marker: 'D2' });
    const played = playedEnergies(wave, V);
    const got = windowEnergies(cap);
    expect(got.map((w) => [w.start, w.end])).to.deep.equal(wave.regions.map((r) => [r.start, r.end]));
    for (let i = 0; i < got.length; i++) {
      // tolerance: half an ADC step on every sample of the window (rounding in the instrument)
      expect(Math.abs(got[i].energy_j - played[i])).to.be.at.most(got[i].resolution_j + 1e-15);
    }
    const row = energyRow(cap, 'measured');
    expect(row.windows).to.equal(5);
    expect(row.lost_samples_pct).to.equal(0);
    expect(Math.abs(row.energy_mJ_median - median(played) * 1e3)).to.be.at.most(row.resolution_mJ);
    // against the continuous 18 mA x 12.5 ms x 3.0 V: only the noise differs (< 0.2 %)
    expect(rel(row.energy_mJ_median / 1e3, nominalEnergy(wave.spec, V))).to.be.below(0.002);
    console.log(`      PPK2: played median ${(median(played) * 1e3).toFixed(6)} mJ, measured ${row.energy_mJ_median.toFixed(6)} mJ, bound ${row.resolution_mJ.toExponential(2)} mJ, nominal ${(nominalEnergy(wave.spec, V) * 1e3).toFixed(6)} mJ`);
    expect(sim.commands).to.deep.include.members([[0x11, 2], [0x0d, 0x0b, 0xb8], [0x0c, 1], [0x19], [0x06], [0x07]]);
  });

  it('reports samples lost as counter gaps, and excludes the windows they hit', async () => {
    // three 64-byte USB packets (16 words each): in window 2, in idle, in window 4
    const drops = [
      { at: wave.regions[1].start + 300, count: 16 },
      { at: wave.regions[2].end + 100, count: 16 },
      { at: wave.regions[3].start + 7, count: 16 },
    ];
    const sim = new Ppk2Sim(pty.pair().a, { waveform: wave, drops });
    const cap = await capture(new Ppk2Monitor({ port: pty.pair().b }), sim, { voltage_mv: 3000, marker: 'D0' });
    expect(cap.lost_samples).to.equal(48);
    expect(cap.loss_spans.map((s) => [s.start, s.lost, s.exact])).to.deep.equal(drops.map((d) => [d.at, d.count, true]));
    const row = energyRow(cap, 'measured');
    const pct = (100 * 48) / cap.current_a.length;
    expect(row.lost_samples_pct).to.be.closeTo(pct, 1e-9);
    expect(row.windows).to.equal(3);
    expect(row.windows_broken).to.equal(2);
    const played = playedEnergies(wave, V);
    expect(Math.abs(row.energy_mJ_median - median([played[0], played[2], played[4]]) * 1e3)).to.be.at.most(row.resolution_mJ);
    console.log(`      PPK2: injected 48 lost words of ${cap.current_a.length} (${pct.toFixed(3)} %), reported ${row.lost_samples_pct.toFixed(3)} %, windows 3 used / 2 broken`);
  });

  it('a PPK2 that never answers: one HilError naming the port and the command, in bounded time', async () => {
    const sim = new Ppk2Sim(pty.pair().a, { waveform: wave, silent: true });
    await sim.open();
    const mon = new Ppk2Monitor({ port: pty.pair().b, replyTimeoutMs: 300 });
    const t0 = Date.now();
    const err = await hilErrorOf(mon.open());
    await sim.close();
    expect(Date.now() - t0).to.be.below(2000);
    expect(err.where).to.equal(`ppk2 ${pty.pair().b}`);
    expect(err.message).to.match(/no calibration metadata ending in END within 300 ms after "get metadata \(0x19\)"/);
  });

  it('a PPK2 that stops streaming mid-capture: HilError at stop', async () => {
    const sim = new Ppk2Sim(pty.pair().a, { waveform: wave, stallAfter: 5000 });
    await sim.open();
    const mon = new Ppk2Monitor({ port: pty.pair().b, stallMs: 150 });
    await mon.open();
    await mon.configure({ voltage_mv: 3000 });
    await mon.startCapture();
    await sim.played;
    await new Promise((r) => setTimeout(r, 300));
    const err = await hilErrorOf(mon.stopCapture());
    await mon.close();
    await sim.close();
    expect(err.message).to.match(/stopped streaming during the capture .*5000 received/);
  });

  it('rejects a marker that is not a logic input and a voltage the regulator cannot give', async () => {
    const sim = new Ppk2Sim(pty.pair().a, { waveform: wave });
    await sim.open();
    const mon = new Ppk2Monitor({ port: pty.pair().b });
    await mon.open();
    expect((await hilErrorOf(mon.configure({ voltage_mv: 3000, marker: 'D9' }))).where).to.match(/power\.marker$/);
    expect((await hilErrorOf(mon.configure({ voltage_mv: 6000 }))).where).to.match(/power\.voltage_mv$/);
    await mon.close();
    await sim.close();
  });
});
