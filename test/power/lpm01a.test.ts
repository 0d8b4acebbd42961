import { expect } from 'chai';
import { Lpm01aMonitor, parseAsciiDec } from '../../harness/power/lpm01a.js';
import { energyRow, windowEnergies } from '../../harness/power/energy.js';
import { median } from '../../harness/util/stats.js';
import { Lpm01aSim, formatAsciiDec } from '../sims/lpm01a-sim.js';
import { INFERENCE, makeWaveform, nominalEnergy, playedEnergies } from '../sims/waveform.js';
import { capture, hilErrorOf, rel, withPty } from './helpers.js';

const V = 3.3;
const HZ = 5000; // the fastest ascii_dec rate without an acquisition-time limit
const wave = makeWaveform({ ...INFERENCE, sample_hz: HZ });

describe('LPM01A driver vs a text-protocol simulator', function () {
  this.timeout(10_000);
  const pty = withPty();

  it('ascii_dec: "6409-07" is 6409e-7 A, 4 significant digits', () => {
    expect(parseAsciiDec('6409-07')?.amps).to.be.closeTo(6.409e-4, 1e-15);
    expect(parseAsciiDec('1800-05')).to.deep.equal({ amps: 0.018, lsb: 1e-5 });
    expect(parseAsciiDec('6409-7')).to.equal(undefined);
    expect(formatAsciiDec(0.018)).to.equal('1800-05');
    expect(formatAsciiDec(0.0099996)).to.equal('1000-05');
  });

  it('energy between marker events equals the played waveform within the 4-digit resolution; median of 5', async () => {
    const sim = new Lpm01aSim(pty.pair().a, { waveform: wave, stampEvery: 50, noise: [wave.regions[2].start + 5] });
    const cap = await capture(new Lpm01aMonitor({ port: pty.pair().b }), sim, { voltage_mv: 3300, sample_hz: HZ, marker: 'd7' });
    expect(sim.received.slice(0, 10)).to.deep.equal(['htc', 'volt 3300m', 'freq 5k', 'acqtime 0', 'output current', 'format ascii_dec', 'trigsrc sw', 'eventsrc d7 fal', 'pwr on', 'start']);
    const played = playedEnergies(wave, V);
    const got = windowEnergies(cap);
    expect(got.map((w) => [w.start, w.end])).to.deep.equal(wave.regions.map((r) => [r.start, r.end]));
    for (let i = 0; i < got.length; i++) {
      // tolerance: half a unit of the 4th significant digit on every sample
      expect(Math.abs(got[i].energy_j - played[i])).to.be.at.most(got[i].resolution_j + 1e-15);
    }
    const row = energyRow(cap, 'measured');
    expect(row.windows).to.equal(5);
    expect(row.lost_samples_pct).to.equal(0);
    expect(cap.notes.join(' ')).to.match(/1 malformed stream lines/);
    expect(Math.abs(row.energy_mJ_median - median(played) * 1e3)).to.be.at.most(row.resolution_mJ);
    // 12.5 ms is 62.5 samples at 5 kHz: the region is 63 samples, so +0.8 % against the continuous figure
    const nominal = nominalEnergy(wave.spec, V);
    expect(rel(row.energy_mJ_median / 1e3, nominal)).to.be.below((1 / HZ) / 0.0125 + 0.002);
    console.log(`      LPM01A: played median ${(median(played) * 1e3).toFixed(6)} mJ, measured ${row.energy_mJ_median.toFixed(6)} mJ, bound ${row.resolution_mJ.toExponential(2)} mJ, nominal ${(nominal * 1e3).toFixed(6)} mJ`);
  });

  it('missing lines are found at the next TimeStamp, truncated lines in place; affected windows excluded', async () => {
    const r = wave.regions;
    const drops = [r[1].start + 22, r[1].start + 23, r[1].start + 24];
    const garble = [r[3].start + 16];
    const sim = new Lpm01aSim(pty.pair().a, { waveform: wave, stampEvery: 50, drops, garble });
    const cap = await capture(new Lpm01aMonitor({ port: pty.pair().b }), sim, { voltage_mv: 3300, sample_hz: HZ });
    expect(cap.lost_samples).to.equal(4);
    expect(cap.loss_spans.filter((s) => !s.exact).map((s) => s.lost)).to.deep.equal([3]);
    expect(cap.loss_spans.filter((s) => s.exact).map((s) => s.start)).to.deep.equal(garble);
    const row = energyRow(cap, 'measured');
    const pct = (100 * 4) / cap.current_a.length;
    expect(row.lost_samples_pct).to.be.closeTo(pct, 1e-9);
    expect([row.windows, row.windows_broken]).to.deep.equal([3, 2]);
    // later windows keep their place in time: the placeholders restore the time base
    const got = windowEnergies(cap);
    expect(got.map((w) => w.start)).to.deep.equal(r.map((x) => x.start));
    const played = playedEnergies(wave, V);
    expect(Math.abs(row.energy_mJ_median - median([played[0], played[2], played[4]]) * 1e3)).to.be.at.most(row.resolution_mJ);
    console.log(`      LPM01A: injected 4 lost lines of ${cap.current_a.length} (${pct.toFixed(3)} %), reported ${row.lost_samples_pct.toFixed(3)} %, windows 3 used / 2 broken`);
  });

  it('an LPM01A that stops answering: one HilError with the port and the last command, in bounded time', async () => {
    const sim = new Lpm01aSim(pty.pair().a, { waveform: wave, silentAfter: 2 });
    await sim.open();
    const mon = new Lpm01aMonitor({ port: pty.pair().b, replyTimeoutMs: 300 });
    const t0 = Date.now();
    await mon.open();
    const err = await hilErrorOf(mon.configure({ voltage_mv: 3000, sample_hz: 1000 }));
    expect(Date.now() - t0).to.be.below(2000);
    await mon.close();
    await sim.close();
    expect(err.where).to.equal(`lpm01a ${pty.pair().b}`);
    expect(err.message).to.match(/no ack for "freq 1k" within 300 ms after "freq 1k"/);
  });

  it('an `error` reply becomes a HilError with the device detail; unsupported rates are refused up front', async () => {
    const sim = new Lpm01aSim(pty.pair().a, { waveform: wave });
    await sim.open();
    const mon = new Lpm01aMonitor({ port: pty.pair().b, replyTimeoutMs: 500 });
    await mon.open();
    expect((await hilErrorOf(mon.command('frobnicate 3'))).message).to.equal(`rejected "frobnicate 3": unknown command 'frobnicate'`);
    expect((await hilErrorOf(mon.configure({ voltage_mv: 3300, sample_hz: 100_000 }))).where).to.match(/power\.sample_hz$/);
    expect((await hilErrorOf(mon.configure({ voltage_mv: 3300, sample_hz: 3000 }))).message).to.match(/not an LPM01A rate/);
    await mon.close();
    await sim.close();
  });
});
