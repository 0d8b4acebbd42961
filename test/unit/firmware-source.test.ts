/** Where a run's firmware comes from (options, rig dut.firmware, our build) and the prebuilt image checks. */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { imageFormat, parseAddress, prebuiltFirmware } from '../../harness/firmware/prebuilt.js';
import { loadRig, type Rig } from '../../harness/rig/rig.js';
import { firmwareSource } from '../../harness/run/plan.js';
import { HilError } from '../../harness/util/errors.js';

const where = { image: '--firmware', loadAddress: '--load-address' };

describe('firmware source and prebuilt images', () => {
  const rig = loadRig('qemu-mps2-an386');
  const byo: Rig = { ...rig, dut: { ...rig.dut, firmware: { image: '/x/their.elf', protocol: 'mlperf-tiny', profile: 'kws01' } } } as Rig;

  it('our yono build by default; --protocol builds our firmware with that front end', () => {
    expect(firmwareSource(rig, {})).to.deep.equal({ protocol: 'yono', profile: undefined });
    expect(firmwareSource(rig, { protocol: 'mlperf-tiny', profile: 'kws01' })).to.deep.equal({ protocol: 'mlperf-tiny', profile: 'kws01' });
    expect(() => firmwareSource(rig, { protocol: 'tflm' })).to.throw(HilError, /unknown device protocol "tflm"/);
    expect(() => firmwareSource(rig, { profile: 'kws01' })).to.throw(HilError, /a profile tag is an mlperf-tiny notion/);
  });

  it("the rig's image and protocol, unless --firmware / --protocol say otherwise", () => {
    const s = firmwareSource(byo, {});
    expect(s.protocol).to.equal('mlperf-tiny');
    expect(s.prebuilt).to.include({ image: '/x/their.elf', profile: 'kws01' });
    expect(s.prebuilt?.where.image).to.match(/qemu-mps2-an386\.yaml: dut\.firmware\.image$/);
    const o = firmwareSource(byo, { firmware: '/y/mine.bin', loadAddress: '0x8000000' });
    expect(o.protocol).to.equal('mlperf-tiny');
    expect(o.prebuilt).to.include({ image: '/y/mine.bin', loadAddress: 0x8000000 });
    expect(o.profile).to.equal(undefined);
  });

  it('image formats and addresses: one line naming the option', () => {
    expect(imageFormat('a.elf', undefined, where)).to.equal('elf');
    expect(imageFormat('a.hex', undefined, where)).to.equal('hex');
    expect(imageFormat('a.bin', 0, where)).to.equal('bin');
    expect(() => imageFormat('a.bin', undefined, where)).to.throw(HilError, /a raw \.bin image needs its load address/);
    expect(() => imageFormat('a.hex', 16, where)).to.throw(HilError, /only a raw \.bin takes a load address/);
    expect(() => imageFormat('a.uf2', undefined, where)).to.throw(HilError, /'a\.uf2' is not an image the harness can boot/);
    expect(parseAddress('0x08000000', 'x')).to.equal(0x08000000);
    expect(parseAddress(4096, 'x')).to.equal(4096);
    expect(() => parseAddress('0x1FFFFFFFF', 'x')).to.throw(HilError, /expected an address/);
  });

  it('a prebuilt image is identified by its SHA-256; a non-ELF .elf is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-byo-'));
    const bin = path.join(dir, 'fw.bin');
    fs.writeFileSync(bin, Buffer.from('abc'));
    const fw = prebuiltFirmware('mps2-an386', { image: bin, protocol: 'mlperf-tiny', loadAddress: 0 });
    expect(fw.buildHash).to.equal('ba7816bf8f01cfea'); // sha256("abc")
    expect(fw.prebuilt).to.include({ format: 'bin', loadAddress: 0, bytes: 3 });
    expect(fw.models).to.deep.equal([]);
    fs.writeFileSync(path.join(dir, 'fw.elf'), 'not an elf');
    expect(() => prebuiltFirmware('mps2-an386', { image: path.join(dir, 'fw.elf'), protocol: 'yono' })).to.throw(HilError, /is not an ELF file/);
  });
});
