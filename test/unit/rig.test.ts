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

  it('lists the available rigs for an unknown name', () => {
    expect(errorOf(() => loadRig('no-such-rig')).message).to.contain('qemu-mps2-an386');
  });
});
