/**
 * A power monitor whose serial port is on another machine: the LPM01A simulator on one end of a
 * pty pair, ser2net serving the other end on 127.0.0.1, and the rig's `power.url` naming it. The
 * driver comes from createPowerMonitor, opens the port through RFC 2217 (the LPM01A's 3686400
 * baud set on the remote port) or raw TCP, and measures the played waveform as it does locally.
 */
import { expect } from 'chai';
import { startSer2net, type Ser2netServer } from '../../harness/link/ser2net.js';
import { energyRow, windowEnergies } from '../../harness/power/energy.js';
import { createPowerMonitor, powerConfig } from '../../harness/power/factory.js';
import type { Rig } from '../../harness/rig/rig.js';
import { Lpm01aSim } from '../sims/lpm01a-sim.js';
import { INFERENCE, makeWaveform, playedEnergies } from '../sims/waveform.js';
import { capture, withPty } from './helpers.js';

const HZ = 5000;
const wave = makeWaveform({ ...INFERENCE, sample_hz: HZ });

function rigWithPowerUrl(url: string): Rig {
  return {
    name: 'remote-lpm01a',
    board: 'stm32f746g-disco',
    dut: { kind: 'board', probe: { kind: 'stlink' } },
    link: { kind: 'serial', url: 'rfc2217://127.0.0.1:1' },
    flasher: { kind: 'gdb-remote', host: '127.0.0.1', port: 3333 },
    power: { kind: 'lpm01a', url, voltage_mv: 3300, sample_hz: HZ, marker: 'd7' },
    file: 'remote-lpm01a.yaml',
  };
}

describe('power monitor over the network (LPM01A simulator behind ser2net)', function () {
  this.timeout(30_000);
  const pty = withPty();
  let ser2net: Ser2netServer | undefined;
  afterEach(async () => {
    await ser2net?.stop();
    ser2net = undefined;
  });

  for (const scheme of ['rfc2217', 'tcp'] as const) {
    it(`power.url ${scheme}://: the same energies as the played waveform`, async () => {
      ser2net = await startSer2net(pty.pair().b, { baud: 3_686_400 });
      const url = scheme === 'rfc2217' ? ser2net.rfc2217Url : ser2net.tcpUrl;
      const rig = rigWithPowerUrl(url);
      const mon = createPowerMonitor(rig);
      expect(mon).to.not.equal(undefined);
      const sim = new Lpm01aSim(pty.pair().a, { waveform: wave, stampEvery: 50 });
      const cap = await capture(mon!, sim, powerConfig(rig)!);
      expect(sim.received.slice(0, 3)).to.deep.equal(['htc', 'volt 3300m', 'freq 5k']);
      const played = playedEnergies(wave, 3.3);
      const got = windowEnergies(cap);
      expect(got.map((w) => [w.start, w.end])).to.deep.equal(wave.regions.map((r) => [r.start, r.end]));
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i].energy_j - played[i])).to.be.at.most(got[i].resolution_j + 1e-15);
      expect(energyRow(cap, 'measured').lost_samples_pct).to.equal(0);
    });
  }
});
