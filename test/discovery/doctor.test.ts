import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkRig, formatDoctor } from '../../harness/dut/doctor.js';
import { listSerialPorts } from '../../harness/discovery/serial-ports.js';
import { loadRig } from '../../harness/rig/rig.js';

const f746 = loadRig('f746g-disco-lpm01a');
const ST = '066DFF555185754867224326';

describe('rigs doctor', () => {
  it('matches probe, link and power monitor by USB serial number: ready', () => {
    const usb = { devices: [{ vendorId: 0x0483, productId: 0x374b, serialNumber: ST }, { vendorId: 0x1915, productId: 0xc00a, serialNumber: 'X' }] };
    const ports = [
      { path: '/dev/ttyACM0', serialNumber: ST },
      { path: '/dev/ttyACM1', serialNumber: 'LPM01A-0001' },
    ];
    const c = checkRig(f746, usb, ports, () => false);
    expect(c.ok).to.equal(true);
    expect(c.lines).to.deep.equal([`probe: stlink 0483:374b serial ${ST}`, `link: /dev/ttyACM0 (USB serial ${ST})`, 'power: lpm01a on /dev/ttyACM1']);
    expect(formatDoctor(usb, ports, [c])).to.contain('0483:374b serial 066DFF555185754867224326  ST-Link (STMicroelectronics)').and.contain('1915:c00a serial X  Nordic (PPK2)');
  });
  it('says exactly what is missing: another probe of the same kind, no port, no bus', () => {
    const c = checkRig(f746, { devices: [{ vendorId: 0x0483, productId: 0x374e, serialNumber: 'OTHER' }] }, [], () => false);
    expect(c.ok).to.equal(false);
    expect(c.lines).to.deep.equal([
      `missing: probe stlink serial ${ST}; stlink probes present: OTHER`,
      `missing: link: no serial port offered by USB serial ${ST}`,
      'missing: power monitor lpm01a: no serial port offered by USB serial LPM01A-0001',
    ]);
    const none = checkRig(f746, { devices: [], problem: 'no USB bus visible' }, [], () => false);
    expect(none.lines[0]).to.equal(`missing: probe stlink serial ${ST} (no USB bus visible)`);
    expect(formatDoctor({ devices: [], problem: 'no USB bus visible' }, [], [none])).to.contain('f746g-disco-lpm01a: NOT READY');
  });
  it('reads serial ports and their USB identity from sysfs without udevadm', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sys-'));
    const usbDev = path.join(root, 'devices', 'usb1', '1-2');
    fs.mkdirSync(path.join(usbDev, '1-2:1.2', 'tty', 'ttyACM0'), { recursive: true });
    fs.writeFileSync(path.join(usbDev, 'idVendor'), '0483\n');
    fs.writeFileSync(path.join(usbDev, 'idProduct'), '374b\n');
    fs.writeFileSync(path.join(usbDev, 'serial'), `${ST}\n`);
    fs.mkdirSync(path.join(root, 'class', 'tty', 'ttyACM0'), { recursive: true });
    fs.symlinkSync(path.join(usbDev, '1-2:1.2'), path.join(root, 'class', 'tty', 'ttyACM0', 'device'));
    fs.mkdirSync(path.join(root, 'class', 'tty', 'tty0'));
    const ports = listSerialPorts({ sys: path.join(root, 'class', 'tty'), byId: path.join(root, 'nope'), dev: '/dev' });
    expect(ports).to.deep.equal([{ path: '/dev/ttyACM0', byId: undefined, vendorId: 0x0483, productId: 0x374b, serialNumber: ST, manufacturer: undefined, product: undefined }]);
  });
});
