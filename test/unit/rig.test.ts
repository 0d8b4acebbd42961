import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listRigs, loadRig } from '../../harness/rig/rig.js';
import { HilError } from '../../harness/util/errors.js';

function writeRig(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-'));
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): HilError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  throw new Error('expected a HilError');
}

const GOOD = `name: bench
board: mps2-an386
dut: { kind: qemu, machine: mps2-an386, icount_shift: 0 }
link: { kind: qemu-pty }
flasher: { kind: qemu-loader }
estimate: { core: cortex-m4, clock_hz: 120000000, cpi: 1.3, source: assumption }
`;

describe('rig files', () => {
  it('every committed rig validates', () => {
    expect(listRigs().length).to.be.greaterThan(1);
    for (const name of listRigs()) expect(loadRig(name).name).to.equal(name);
  });

  it('loads a rig given by path', () => {
    expect(loadRig(writeRig('bench', GOOD)).board).to.equal('mps2-an386');
  });

  it('names the file and the field for a wrong enum value', () => {
    const file = writeRig('bench', GOOD.replace('kind: qemu,', 'kind: jtag,'));
    const e = errorOf(() => loadRig(file));
    expect(e.where).to.contain('bench.yaml');
    expect(e.message).to.match(/dut\.kind: expected one of "qemu"/);
  });

  it('names a missing field, an unknown field and a wrong type', () => {
    expect(errorOf(() => loadRig(writeRig('bench', GOOD.replace(/^flasher.*$/m, '')))).message).to.contain('flasher: required');
    expect(errorOf(() => loadRig(writeRig('bench', GOOD + 'colour: red\n'))).message).to.contain('colour: unknown field');
    expect(errorOf(() => loadRig(writeRig('bench', GOOD.replace('cpi: 1.3', 'cpi: fast')))).message).to.contain('estimate.cpi: must be number');
  });

  it('reports a YAML syntax error with its line', () => {
    const e = errorOf(() => loadRig(writeRig('bench', 'name: [unclosed\n')));
    expect(e.message).to.match(/YAML syntax/);
  });

  it('refuses an unknown board and a name that differs from the file', () => {
    expect(errorOf(() => loadRig(writeRig('bench', GOOD.replace('board: mps2-an386', 'board: nope')))).message).to.contain('board: "nope"');
    expect(errorOf(() => loadRig(writeRig('other', GOOD))).message).to.contain('must equal the file name');
  });

  const EMULATED = `power: { kind: emulated, supply_v: 3.0, run_current_a: 0.0138, idle_current_a: 0.000003, source: test }
`;
  const STORAGE = `storage:
  - { name: sd, part: card, bus: SPI, read_bytes_per_s: 419000, access_latency_s: 0.001, read_current_a: 0.02,
      standby_current_a: 0.00025, awake_after_access_s: 0.25, awake_current_a: 0.007, source: test }
`;
  const BOARD = `name: bench
board: nucleo-l4r5zi
dut: { kind: board, probe: { kind: stlink } }
link: { kind: serial, path: /dev/ttyACM0 }
flasher: { kind: probe-rs, target: STM32L4R5ZITx }
`;

  it('emulated power and storage models: the qemu rigs carry them, SD first; the F746 board names its QSPI', () => {
    for (const name of ['qemu-mps2-an386', 'qemu-mps2-an500', 'qemu-netduinoplus2']) {
      const rig = loadRig(name);
      expect(rig.power?.kind).to.equal('emulated');
      expect(rig.power?.run_current_a).to.be.greaterThan(0);
      expect(rig.power?.source).to.match(/datasheet/);
      expect(rig.storage?.map((s) => s.name)).to.deep.equal(['sd-spi-21mhz', 'qspi-nor-n25q128a']);
    }
    expect(loadRig('qemu-mps2-an386').power).to.include({ supply_v: 3.0, run_current_a: 0.0138 });
    expect(loadRig('f746g-disco-lpm01a').storage?.map((s) => s.part)).to.deep.equal(['Micron N25Q128A13 (128 Mbit 3 V serial NOR), on the board']);
    const rig = loadRig(writeRig('bench', GOOD + EMULATED + STORAGE));
    expect(rig.storage?.[0]).to.include({ name: 'sd', awake_after_access_s: 0.25 });
  });

  it('names the field of a bad emulated power block', () => {
    const missing = errorOf(() => loadRig(writeRig('bench', GOOD + EMULATED.replace('run_current_a: 0.0138, ', ''))));
    expect(missing.where).to.contain('bench.yaml');
    expect(missing.message).to.equal('power.run_current_a: required field is missing');
    expect(errorOf(() => loadRig(writeRig('bench', GOOD + EMULATED.replace('kind: emulated,', 'kind: emulated, port: /dev/x,')))).message).to.equal(
      'power.port: not allowed for this kind',
    );
    expect(errorOf(() => loadRig(writeRig('bench', GOOD + EMULATED.replace('supply_v: 3.0', 'supply_v: -3')))).message).to.equal('power.supply_v: must be > 0');
    const instrument = `power: { kind: ppk2, port: /dev/x, voltage_mv: 3000, supply_v: 3.0 }\n`;
    expect(errorOf(() => loadRig(writeRig('bench', BOARD + instrument))).message).to.equal('power.supply_v: not allowed for this kind');
  });

  it('keeps emulated power on qemu rigs and instruments on real boards', () => {
    expect(errorOf(() => loadRig(writeRig('bench', BOARD + EMULATED))).message).to.match(/^power\.kind: "emulated" estimates a QEMU rig/);
    expect(errorOf(() => loadRig(writeRig('bench', GOOD + 'power: { kind: lpm01a, port: /dev/x, voltage_mv: 3300 }\n'))).message).to.match(
      /^power\.kind: "lpm01a" measures a real board; a qemu rig takes "emulated" or "none"/,
    );
    expect(loadRig(writeRig('bench', BOARD + STORAGE)).storage).to.have.length(1);
  });

  it('names the field of a bad storage entry, and a name used twice', () => {
    expect(errorOf(() => loadRig(writeRig('bench', GOOD + STORAGE.replace('bus: SPI, ', '')))).message).to.equal('storage.0.bus: required field is missing');
    expect(errorOf(() => loadRig(writeRig('bench', GOOD + STORAGE.replace('bus: SPI,', 'bus: SPI, colour: red,')))).message).to.equal(
      'storage.0.colour: unknown field',
    );
    expect(errorOf(() => loadRig(writeRig('bench', GOOD + STORAGE.replace('read_bytes_per_s: 419000', 'read_bytes_per_s: 0')))).message).to.equal(
      'storage.0.read_bytes_per_s: must be > 0',
    );
    const twice = STORAGE + STORAGE.replace('storage:\n', '');
    const e = errorOf(() => loadRig(writeRig('bench', GOOD + twice)));
    expect(e.message).to.equal('storage.1.name: "sd" is used by an earlier entry');
    expect(e.where).to.contain('bench.yaml');
  });

  it('lists the available rigs for an unknown name', () => {
    expect(errorOf(() => loadRig('no-such-rig')).message).to.contain('qemu-mps2-an386');
  });
});
