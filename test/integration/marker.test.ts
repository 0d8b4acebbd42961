/**
 * The firmware's GPIO marker style follows the rig's instrument: level for a PPK2 (logic input
 * high during the region), pulse for an LPM01A (falling-edge timestamps, MLPerf Tiny style).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { buildFirmware } from '../../harness/firmware/build.js';
import { loadModelSet } from '../../harness/session/model-set.js';
import { markerStyle } from '../../harness/power/factory.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession } from '../../harness/session/session.js';

/** Stores to GPIO BSRR in a function of the ELF (str instructions in its disassembly). */
function storesIn(elf: string, fn: string): number {
  const dis = execFileSync('arm-none-eabi-objdump', ['-d', `--disassemble=${fn}`, elf], { encoding: 'utf8' });
  return dis.split('\n').filter((l) => /\tstr(\.w)?\s/.test(l)).length;
}

describe('GPIO marker style', function () {
  this.timeout(120000);

  it('is pulse for an LPM01A rig and level otherwise', () => {
    expect(markerStyle(loadRig('f746g-disco-lpm01a'))).to.equal('pulse');
    expect(markerStyle(loadRig('nucleo-l4r5zi-ppk2'))).to.equal('level');
    expect(markerStyle(loadRig('qemu-mps2-an386'))).to.equal('level');
  });

  it('pulse firmware stores twice per boundary (low then high), level once; different build hashes', () => {
    const models = loadModelSet(['racket_cnn']);
    const level = buildFirmware('stm32f746g-disco', models, { marker: 'level' });
    const pulse = buildFirmware('stm32f746g-disco', models, { marker: 'pulse' });
    expect(pulse.buildHash).to.not.equal(level.buildHash);
    expect(storesIn(level.elf, 'board_marker_on')).to.equal(1);
    expect(storesIn(pulse.elf, 'board_marker_on')).to.be.greaterThanOrEqual(2);
    expect(storesIn(pulse.elf, 'board_marker_off')).to.be.greaterThanOrEqual(2);
  });

  it('a pulse-marker firmware still answers and infers on an STM32 (netduinoplus2 in QEMU)', async () => {
    const rig = loadRig('qemu-netduinoplus2');
    const models = loadModelSet(['racket_cnn']);
    const session = await openSession(rig, buildFirmware(rig.board, models, { marker: 'pulse' }));
    try {
      await session.device.select(0, 3);
      await session.device.upload(new Int8Array(models[0].input.shape.reduce((a, b) => a * b, 1)));
      const r = await session.device.infer(0, 2, 0);
      expect(r.ticks).to.have.length(2);
    } finally {
      await session.close();
    }
  });
});
