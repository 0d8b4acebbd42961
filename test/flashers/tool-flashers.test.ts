import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProbeRef } from '../../harness/capabilities/flasher.js';
import { readElf } from '../../harness/flashers/elf.js';
import { createFlasher } from '../../harness/flashers/factory.js';
import type { ToolRunner } from '../../harness/flashers/run-tool.js';
import { toUf2 } from '../../harness/flashers/uf2.js';
import type { FlasherSpec } from '../../harness/rig/rig.js';
import { HilError } from '../../harness/util/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-'));
const elf = path.join(dir, 'firmware.elf');
const bin = path.join(dir, 'firmware.bin');
fs.writeFileSync(elf, 'x');
fs.writeFileSync(bin, 'x');
const probe: ProbeRef = { kind: 'stlink', usb_serial: 'SN1', vendorId: 0x0483, productId: 0x374b };

function recorder(code = 0, output = ''): { calls: [string, string[]][]; runner: ToolRunner } {
  const calls: [string, string[]][] = [];
  return { calls, runner: async (b, a) => (calls.push([b, a]), { code, output }) };
}

async function argsOf(spec: FlasherSpec, op: 'flash' | 'reset' = 'flash'): Promise<[string, string[]]> {
  const r = recorder();
  const f = createFlasher(spec, probe, { runner: r.runner });
  await (op === 'flash' ? f.flash(elf) : f.reset?.());
  return r.calls[0];
}

describe('tool flashers: exact argument arrays', () => {
  it('openocd', async () => {
    expect(await argsOf({ kind: 'openocd', config: ['board/stm32f7discovery.cfg'] })).to.deep.equal([
      'openocd', ['-f', 'board/stm32f7discovery.cfg', '-c', 'adapter serial SN1', '-c', `program {${elf}} verify reset exit`],
    ]);
    expect(await argsOf({ kind: 'openocd', config: ['board/stm32f7discovery.cfg'] }, 'reset')).to.deep.equal([
      'openocd', ['-f', 'board/stm32f7discovery.cfg', '-c', 'adapter serial SN1', '-c', 'init', '-c', 'reset run', '-c', 'shutdown'],
    ]);
  });
  it('openocd writes external flash through the stmqspi bank only when the rig declares it', async () => {
    const r = recorder();
    const f = createFlasher({ kind: 'openocd', config: ['board/stm32f7discovery.cfg'], external_flash: true }, probe, { runner: r.runner });
    expect(f.externalFlashProblem?.()).to.equal(undefined);
    await f.writeExternal?.(bin, 0x90400000);
    expect(r.calls[0]).to.deep.equal([
      'openocd', ['-f', 'board/stm32f7discovery.cfg', '-c', 'adapter serial SN1', '-c', 'init', '-c', 'reset init', '-c', `flash write_image erase {${bin}} 0x90400000 bin`, '-c', `verify_image {${bin}} 0x90400000 bin`, '-c', 'reset run', '-c', 'shutdown'],
    ]);
    const plain = createFlasher({ kind: 'openocd', config: ['board/stm32f7discovery.cfg'] }, probe, { runner: r.runner });
    expect(plain.externalFlashProblem?.()).to.match(/^the openocd flasher writes external flash only when the rig declares flasher\.external_flash: true/);
    expect(((await plain.writeExternal?.(bin, 0x90400000).catch((x: unknown) => x)) as HilError).message).to.equal(plain.externalFlashProblem?.());
    // a tool without a way to the QSPI: the same one line
    expect(createFlasher({ kind: 'pyocd', target: 'stm32f746ng' }, probe).externalFlashProblem?.()).to.equal("the pyocd flasher cannot write the board's external flash");
    expect(r.calls).to.have.length(1);
  });
  it('pyocd', async () => {
    expect(await argsOf({ kind: 'pyocd', target: 'stm32f746ng' })).to.deep.equal(['pyocd', ['flash', '-t', 'stm32f746ng', '-u', 'SN1', '--format', 'elf', elf]]);
    expect(await argsOf({ kind: 'pyocd', target: 'stm32f746ng' }, 'reset')).to.deep.equal(['pyocd', ['reset', '-t', 'stm32f746ng', '-u', 'SN1']]);
  });
  it('probe-rs', async () => {
    expect(await argsOf({ kind: 'probe-rs', target: 'STM32L4R5ZITx' })).to.deep.equal(['probe-rs', ['download', '--chip', 'STM32L4R5ZITx', '--probe', '0483:374b:SN1', '--verify', elf]]);
    expect(await argsOf({ kind: 'probe-rs', target: 'STM32L4R5ZITx' }, 'reset')).to.deep.equal(['probe-rs', ['reset', '--chip', 'STM32L4R5ZITx', '--probe', '0483:374b:SN1']]);
  });
  it('st-flash writes the .bin', async () => {
    expect(await argsOf({ kind: 'st-flash', address: '0x08000000' })).to.deep.equal(['st-flash', ['--serial', 'SN1', '--reset', 'write', bin, '0x08000000']]);
    expect(await argsOf({ kind: 'st-flash' }, 'reset')).to.deep.equal(['st-flash', ['--serial', 'SN1', 'reset']]);
  });
  it('dfu-util, with extra_args appended; it cannot reset', async () => {
    expect(await argsOf({ kind: 'dfu-util', alt: 0, extra_args: ['-v'] })).to.deep.equal(['dfu-util', ['-a', '0', '-S', 'SN1', '-s', '0x08000000:leave', '-D', bin, '-v']]);
    const e = await createFlasher({ kind: 'dfu-util' }, probe, { runner: recorder().runner }).reset?.().catch((x: unknown) => x);
    expect(e).to.be.instanceOf(HilError);
  });
});

describe('tool flashers: errors', () => {
  it('a missing tool is one line naming it and how to install it', async () => {
    const f = createFlasher({ kind: 'openocd', config: ['x.cfg'] }, probe, { binary: '/nonexistent/openocd' });
    const e = (await f.flash(elf).catch((x: unknown) => x)) as HilError;
    expect(e).to.be.instanceOf(HilError);
    expect(e.message).to.match(/not installed: \/nonexistent\/openocd \(install with: apt-get install openocd\)/);
  });
  it('a failing tool reports its exit code and last output line with the probe', async () => {
    const f = createFlasher({ kind: 'st-flash' }, probe, { runner: recorder(2, 'Found 0 stlink programmers\n').runner });
    const e = (await f.flash(elf).catch((x: unknown) => x)) as HilError;
    expect(e.toLine()).to.equal('flasher st-flash probe SN1: flashing failed (st-flash exit 2): Found 0 stlink programmers');
  });
  it('uf2 refuses a directory that is not a boot loader drive', async () => {
    const e = (await createFlasher({ kind: 'uf2', mount: dir }, probe).flash(elf).catch((x: unknown) => x)) as HilError;
    expect(e.message).to.contain('INFO_UF2.TXT');
  });
});

describe('UF2 and ELF', () => {
  it('encodes 256-byte payload blocks with magic numbers, addresses and counts', () => {
    const data = Buffer.alloc(300, 7);
    const u = toUf2([{ address: 0x10000000, data }], 0xe48bff56);
    expect(u.length).to.equal(1024);
    expect(u.readUInt32LE(0)).to.equal(0x0a324655);
    expect(u.readUInt32LE(512 + 12)).to.equal(0x10000100);
    expect(u.readUInt32LE(512 + 20)).to.equal(1);
    expect(u.readUInt32LE(24)).to.equal(2);
    expect(u.readUInt32LE(28)).to.equal(0xe48bff56);
    expect(u.readUInt32LE(508)).to.equal(0x0ab16f30);
  });
  it('uf2 writes firmware.uf2 on a mounted drive', async () => {
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'uf2-'));
    fs.writeFileSync(path.join(mount, 'INFO_UF2.TXT'), 'UF2 Bootloader');
    const fw = fs.readdirSync(path.join(process.cwd(), 'firmware', 'build')).find((d) => !d.startsWith('.'));
    if (!fw) return;
    const realElf = path.join(process.cwd(), 'firmware', 'build', fw, 'firmware.elf');
    if (!fs.existsSync(realElf)) return;
    await createFlasher({ kind: 'uf2', mount }, probe).flash(realElf);
    const bytes = readElf(realElf).segments.reduce((n, s) => n + Math.ceil(s.data.length / 256), 0);
    expect(fs.statSync(path.join(mount, 'firmware.uf2')).size).to.equal(512 * bytes);
  });
  it('rejects a file that is not an ELF', () => {
    expect(() => readElf(bin)).to.throw(HilError, /not an ELF/);
  });
});
