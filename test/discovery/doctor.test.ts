import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { checkRemote, checkRig, formatDoctor } from '../../harness/dut/doctor.js';
import { listSerialPorts } from '../../harness/discovery/serial-ports.js';
import { loadRig, type Rig } from '../../harness/rig/rig.js';
import { Rfc2217Peer } from '../sims/rfc2217-peer.js';

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
    expect(c.lines).to.deep.equal([
      `probe: stlink 0483:374b serial ${ST}`, `link: /dev/ttyACM0 (USB serial ${ST})`, 'power: lpm01a on /dev/ttyACM1',
      'preload: 12 MiB of external flash from 0x90400000, written once by the openocd flasher',
    ]);
    // a flasher that cannot write the QSPI: said, and not counted as missing
    const pyocd = checkRig({ ...f746, flasher: { kind: 'pyocd', target: 'stm32f746ng' } }, usb, ports, () => false);
    expect(pyocd.ok).to.equal(true);
    expect(pyocd.lines[3]).to.equal("preload: not used (the pyocd flasher cannot write the board's external flash); accuracy inputs stream");
    expect(formatDoctor(usb, ports, [c])).to.contain('0483:374b serial 066DFF555185754867224326  ST-Link (STMicroelectronics)').and.contain('1915:c00a serial X  Nordic (PPK2)');
  });
  it('says exactly what is missing: another probe of the same kind, no port, no bus', () => {
    const c = checkRig(f746, { devices: [{ vendorId: 0x0483, productId: 0x374e, serialNumber: 'OTHER' }] }, [], () => false);
    expect(c.ok).to.equal(false);
    expect(c.lines).to.deep.equal([
      `missing: probe stlink serial ${ST}; stlink probes present: OTHER`,
      `missing: link: no serial port offered by USB serial ${ST}`,
      'missing: power monitor lpm01a: no serial port offered by USB serial LPM01A-0001',
      'preload: 12 MiB of external flash from 0x90400000, written once by the openocd flasher',
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

describe('rigs doctor: remote rigs (services on 127.0.0.1)', () => {
  const rigWith = (link: Rig['link'], gdbPort: number, power?: Rig['power']): Rig => ({
    name: 'remote-bench',
    board: 'netduinoplus2',
    dut: { kind: 'board', probe: { kind: 'stlink' } },
    link,
    flasher: { kind: 'gdb-remote', host: '127.0.0.1', port: gdbPort },
    power,
    file: 'remote-bench.yaml',
  });

  /** A GDB server that answers qSupported like OpenOCD does. */
  async function fakeGdbServer(): Promise<net.Server> {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => {
        if (!d.toString('latin1').includes('qSupported')) return;
        const body = 'PacketSize=4000;qXfer:memory-map:read+';
        let sum = 0;
        for (const c of Buffer.from(body)) sum = (sum + c) & 0xff;
        s.write(`+$${body}#${sum.toString(16).padStart(2, '0')}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return server;
  }

  it('shows a remote rig whose services answer: RFC 2217 negotiated, raw TCP open, GDB server answers qSupported', async () => {
    const peer = await Rfc2217Peer.start();
    const gdb = await fakeGdbServer();
    const raw = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    try {
      const gdbPort = (gdb.address() as net.AddressInfo).port;
      const rawUrl = `tcp://127.0.0.1:${(raw.address() as net.AddressInfo).port}`;
      const rig = rigWith({ kind: 'serial', url: peer.url, baud: 115200 }, gdbPort, { kind: 'ppk2', url: rawUrl, voltage_mv: 3000 });
      const local = checkRig(rig, { devices: [] }, [], () => false);
      expect(local.lines).to.deep.equal([`probe: stlink behind the GDB server 127.0.0.1:${gdbPort} (not looked for on this machine's USB)`]);
      const c = await checkRemote(rig, { holder: () => undefined });
      expect(c.ok).to.equal(true);
      expect(c.lines).to.deep.equal([
        `link: ${peer.url} answers (RFC 2217 COM-PORT accepted, 115200 baud 8N1 confirmed)`,
        `power ppk2: ${rawUrl} accepts connections (raw TCP)`,
        `flasher: GDB server 127.0.0.1:${gdbPort} answers qSupported (PacketSize 16384)`,
      ]);
      expect(formatDoctor({ devices: [] }, [], [{ ...c, remote: true }])).to.contain('remote-bench (remote): ready');
    } finally {
      await peer.close();
      await new Promise<void>((r) => gdb.close(() => r()));
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  it('says which service does not answer, and leaves a busy rig alone', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const silent = await Rfc2217Peer.start({ silent: true });
    try {
      const rig = rigWith({ kind: 'serial', url: silent.url }, free);
      const c = await checkRemote(rig, { holder: () => undefined, timeoutMs: 300 });
      expect(c.ok).to.equal(false);
      expect(c.lines).to.deep.equal([
        `missing: link ${silent.url}: no RFC 2217 answer within 300 ms (is the port in telnet(rfc2217) mode? for a raw port use tcp://)`,
        `missing: flasher GDB server 127.0.0.1:${free}: cannot connect within 300 ms: connection refused by 127.0.0.1:${free} (nothing listens on that port: is ser2net / the GDB server running there?)`,
      ]);
      const busy = await checkRemote(rig, { holder: () => ({ rig: rig.name, pid: 4242, host: 'lab', started: '2026-12-06T08:00:00.000Z', command: 'hil run --rig remote-bench' }) });
      expect(busy.lines).to.deep.equal(['busy: in use by pid 4242 on host lab since 2026-12-06T08:00:00.000Z (hil run --rig remote-bench); its services were not touched']);
      expect(silent.options).to.have.length.greaterThan(0); // only the first check connected
    } finally {
      await silent.close();
    }
  });
});
