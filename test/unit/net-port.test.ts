/**
 * Remote serial ports (harness/link/net-port.ts) against a tiny RFC 2217 peer on 127.0.0.1:
 * negotiation, 8N1 and baud rate, IAC escaping both ways, raw tcp://, and every failure as one
 * clear line (refused, unreachable, silent, refused option, server gone mid-run, bad URL).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { comPortCommand, escapeIac, NetPort, TelnetParser } from '../../harness/link/net-port.js';
import { defaultPortFactory } from '../../harness/link/port.js';
import { SerialLink } from '../../harness/link/serial-link.js';
import { loadRig } from '../../harness/rig/rig.js';
import { HilError } from '../../harness/util/errors.js';
import { parseNetUrl } from '../../harness/util/net-url.js';
import { Rfc2217Peer } from '../sims/rfc2217-peer.js';
import { freePort } from '../helpers/free-port.js';

function openPort(url: string, options: Partial<ConstructorParameters<typeof NetPort>[1]> = {}): Promise<NetPort> {
  const port = new NetPort(url, { baudRate: 115200, ...options });
  return new Promise((resolve, reject) => port.open((err) => (err ? reject(err) : resolve(port))));
}

async function failure(p: Promise<unknown>): Promise<HilError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  throw new Error('expected a HilError');
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('remote serial port (RFC 2217 / raw TCP)', () => {
  let peer: Rfc2217Peer | undefined;
  let port: NetPort | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (port ? port.close(() => r()) : r()));
    await peer?.close();
    port = undefined;
    peer = undefined;
  });

  it('negotiates COM-PORT-OPTION, binary and SGA, then sets baud rate and 8N1 without flow control', async () => {
    peer = await Rfc2217Peer.start();
    port = await openPort(peer.url, { baudRate: 115200 });
    expect(peer.options).to.include.members(['WILL 44', 'WILL 0', 'DO 0', 'WILL 3', 'DO 3']);
    const codes = peer.commands.map(([c]) => c);
    expect(codes).to.deep.equal([1, 2, 3, 4, 5]);
    expect(peer.baud).to.equal(115200);
    expect(peer.commands[1][1]).to.deep.equal([8]); // data size 8
    expect(peer.commands[2][1]).to.deep.equal([1]); // parity NONE
    expect(peer.commands[3][1]).to.deep.equal([1]); // 1 stop bit
    expect(peer.commands[4][1]).to.deep.equal([1]); // no flow control
    expect(port.settings).to.deep.equal({ baudRate: 115200, dataBits: 8, parity: 1, stopBits: 1, control: 1 });
  });

  it('changes the baud rate and checks the rate the server confirms', async () => {
    peer = await Rfc2217Peer.start();
    port = await openPort(peer.url);
    expect(await port.setBaudRate(9600)).to.equal(9600);
    expect(peer.baud).to.equal(9600);
    // 0xFF inside a sub-negotiation value is doubled too: 0x0001FFFF = 131071
    expect(await port.setBaudRate(131071)).to.equal(131071);
    const sb = peer.wire.slice(-12);
    expect(Buffer.from(sb).toString('hex')).to.equal('fffa2c01' + '0001' + 'ffffffff' + 'fff0'); // IAC SB 44 SET-BAUDRATE, 00 01 FF FF escaped, IAC SE
    const other = await Rfc2217Peer.start({ forceBaud: 57600 });
    try {
      const e = await failure(openPort(other.url, { baudRate: 115200 }));
      expect(e.message).to.equal('asked for 115200 baud, the server set 57600');
      expect(e.where).to.equal(other.url);
    } finally {
      await other.close();
    }
  });

  it('doubles 0xFF in data it sends and undoes IAC IAC, commands and sub-negotiations in data it gets', async () => {
    peer = await Rfc2217Peer.start();
    port = await openPort(peer.url);
    const got: Buffer[] = [];
    port.on('data', (c: Buffer) => got.push(c));
    const before = peer.wire.length;
    const payload = Buffer.concat([ALL_BYTES, Buffer.from([0xff, 0xff, 0x0d, 0x00, 0x0d, 0x0a])]);
    await new Promise<void>((resolve, reject) => port!.write(payload, (err) => (err ? reject(err) : resolve())));
    await until(() => peer!.data.length >= payload.length);
    expect(Buffer.from(peer.data)).to.deep.equal(payload);
    // on the wire: each of the three 0xFF doubled, nothing else added (binary mode: no CR NUL)
    expect(peer.wire.length - before).to.equal(payload.length + 3);
    // the other way: 0xFF doubled, an IAC split across two TCP segments, a NOP and a NOTIFY-LINESTATE between data bytes
    peer.sendData([1, 2, 0xff, 3]);
    await until(() => Buffer.concat(got).length >= 4);
    peer.send([0xff]);
    await new Promise((r) => setTimeout(r, 30));
    peer.send([0xff, 4, 0xff, 0xf1, 5]);
    peer.send([0xff, 0xfa, 44, 106, 0x60, 0xff, 0xf0, 6]);
    await until(() => Buffer.concat(got).length >= 8);
    expect([...Buffer.concat(got)]).to.deep.equal([1, 2, 0xff, 3, 0xff, 4, 5, 6]);
  });

  it('the parser and the escaping agree with the RFC byte for byte', () => {
    expect([...escapeIac(Buffer.from([1, 0xff, 2]))]).to.deep.equal([1, 0xff, 0xff, 2]);
    expect([...comPortCommand(1, Buffer.from([0, 0, 0x25, 0x80]))]).to.deep.equal([0xff, 0xfa, 44, 1, 0, 0, 0x25, 0x80, 0xff, 0xf0]);
    const data: number[] = [];
    const opts: string[] = [];
    const subs: number[][] = [];
    const p = new TelnetParser({ data: (b) => data.push(...b), option: (v, o) => opts.push(`${v}/${o}`), sub: (b) => subs.push([...b]) });
    for (const b of [0x41, 0xff, 0xff, 0xff, 0xfd, 44, 0xff, 0xfa, 44, 101, 0, 0, 0xff, 0xff, 0xff, 0xf0, 0x42]) p.feed(Buffer.from([b]));
    expect(data).to.deep.equal([0x41, 0xff, 0x42]);
    expect(opts).to.deep.equal(['253/44']);
    expect(subs).to.deep.equal([[44, 101, 0, 0, 0xff]]);
  });

  it('a raw tcp:// port passes every byte unchanged both ways', async () => {
    const server = net.createServer();
    const received: Buffer[] = [];
    let peerSocket: net.Socket | undefined;
    server.on('connection', (s) => {
      peerSocket = s;
      s.on('data', (d: Buffer) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      port = defaultPortFactory({ path: url, baudRate: 115200 }) as NetPort;
      await new Promise<void>((resolve, reject) => port!.open((e) => (e ? reject(e) : resolve())));
      const got: Buffer[] = [];
      port.on('data', (c: Buffer) => got.push(c));
      await new Promise<void>((resolve) => port!.write(ALL_BYTES, () => resolve()));
      await until(() => Buffer.concat(received).length >= 256);
      expect(Buffer.concat(received)).to.deep.equal(ALL_BYTES);
      peerSocket?.write(ALL_BYTES);
      await until(() => Buffer.concat(got).length >= 256);
      expect(Buffer.concat(got)).to.deep.equal(ALL_BYTES);
      expect((await failure(port.setBaudRate(9600))).message).to.contain('cannot change the baud rate');
    } finally {
      await new Promise<void>((r) => port!.close(() => r()));
      port = undefined;
      peerSocket?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('one clear line for a refused port, an unreachable host, a silent server and a refused option', async () => {
    const free = await freePort();
    const refused = await failure(openPort(`rfc2217://127.0.0.1:${free}`));
    expect(refused.toLine()).to.equal(`rfc2217://127.0.0.1:${free}: connection refused by 127.0.0.1:${free} (nothing listens on that port: is ser2net / the GDB server running there?)`);
    // unreachable / dropped packets, without leaving loopback: the socket is handed in
    const unreachable = await failure(
      openPort('rfc2217://lab-pi.example:2217', {
        connect: () => {
          const s = new net.Socket();
          process.nextTick(() => s.emit('error', Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' })));
          return s;
        },
      }),
    );
    expect(unreachable.toLine()).to.equal('rfc2217://lab-pi.example:2217: host unreachable: lab-pi.example:2217 (EHOSTUNREACH)');
    const dropped = await failure(openPort('tcp://lab-pi.example:4000', { connect: () => new net.Socket(), connectTimeoutMs: 100 }));
    expect(dropped.toLine()).to.equal('tcp://lab-pi.example:4000: no TCP connection within 100 ms (host unreachable or a firewall drops the packets)');
    peer = await Rfc2217Peer.start({ silent: true });
    const silent = await failure(openPort(peer.url, { negotiateTimeoutMs: 200 }));
    expect(silent.message).to.equal('no RFC 2217 answer within 200 ms (is the port in telnet(rfc2217) mode? for a raw port use tcp://)');
    await peer.close();
    peer = await Rfc2217Peer.start({ refuseComPort: true });
    const no = await failure(openPort(peer.url));
    expect(no.message).to.contain('refused the RFC 2217 COM-PORT option');
  });

  it('a server that drops a new connection at once (ser2net not yet released): the open retries within the boot timeout', async () => {
    peer = await Rfc2217Peer.start();
    const target = (peer.url.match(/:(\d+)$/) as RegExpMatchArray)[1];
    // in front of the peer: drops the first `drops` connections at once, then passes bytes through
    let drops = 0;
    let accepted = 0;
    const sockets: net.Socket[] = [];
    const front = net.createServer((s) => {
      sockets.push(s);
      if (accepted++ < drops) return void s.destroy();
      const back = net.connect(Number(target), '127.0.0.1');
      sockets.push(back);
      s.pipe(back).pipe(s);
      s.on('error', () => back.destroy());
      back.on('error', () => s.destroy());
      s.on('close', () => back.destroy());
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const at = (front.address() as net.AddressInfo).port;
    try {
      for (const scheme of ['rfc2217', 'tcp']) {
        accepted = 0;
        drops = 1;
        const link = await SerialLink.open({ path: `${scheme}://127.0.0.1:${at}`, baudRate: 115200, label: 'board', retryForMs: 3000 });
        expect(accepted, scheme).to.equal(2);
        const before = peer.data.length;
        await link.write(Buffer.from('ok'));
        await until(() => peer!.data.length >= before + 2);
        await link.close();
      }
      // without a retry window (or when it runs out): one clear line
      accepted = 0;
      drops = 100;
      const e = await failure(SerialLink.open({ path: `tcp://127.0.0.1:${at}`, baudRate: 115200, retryForMs: 0 }));
      expect(e.toLine()).to.equal(`tcp://127.0.0.1:${at}: the server closed the new connection at once: the server accepts and drops connections (another client still holds the port?)`);
      const late = await failure(SerialLink.open({ path: `rfc2217://127.0.0.1:${at}`, baudRate: 115200, retryForMs: 600 }));
      expect(late.message).to.match(/closed the new connection at once \(\d+ attempts\)/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => front.close(() => r()));
    }
  });

  it('a server that goes away mid-run: the link closes once, with the reason', async () => {
    peer = await Rfc2217Peer.start();
    const link = await SerialLink.open({ path: peer.url, baudRate: 115200, label: 'board' });
    const reasons: string[] = [];
    link.onClose((r) => reasons.push(r));
    await link.write(Buffer.from('hi'));
    await until(() => peer!.data.length === 2);
    peer.socket?.destroy();
    await until(() => reasons.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(reasons).to.deep.equal([`${peer.url} (board): connection closed by the server (ser2net or the remote host stopped, or the network went down)`]);
    const e = await failure(link.write(Buffer.from('x')));
    expect(e.message).to.contain('not connected');
    await link.close();
  });

  it('malformed URLs: one line each, credentials never repeated', () => {
    const cases: [string, RegExp][] = [
      ['rfc2217://lab-pi', /expected host:port after the scheme/],
      ['rfc2217://lab-pi:0', /out of range/],
      ['rfc2217://lab-pi:99999', /out of range/],
      ['ssh://lab-pi:22', /unknown scheme "ssh"/],
      ['rfc2217://lab-pi:2217/dev/ttyUSB0', /path, query or fragment/],
      ['lab-pi:2217', /not a URL/],
    ];
    for (const [url, re] of cases) {
      const e = (() => {
        try {
          parseNetUrl(url);
        } catch (x) {
          return x as HilError;
        }
        throw new Error(`${url} parsed`);
      })();
      expect(e, url).to.be.instanceOf(HilError);
      expect(e.message, url).to.match(re);
      expect(e.toLine()).to.not.contain('\n');
    }
    const secret = (() => {
      try {
        parseNetUrl('rfc2217://admin:hunter2@lab-pi:2217');
      } catch (x) {
        return x as HilError;
      }
      throw new Error('parsed');
    })();
    expect(secret.toLine()).to.not.contain('hunter2');
    expect(secret.message).to.contain('credentials');
    expect(parseNetUrl('tcp://[::1]:4000')).to.deep.equal({ scheme: 'tcp', host: '::1', port: 4000 });
  });
});

describe('rig files with remote ports', () => {
  const BOARD = (link: string, power = '') => `name: remote
board: netduinoplus2
dut: { kind: board, probe: { kind: stlink } }
link: ${link}
flasher: { kind: gdb-remote, host: lab-pi.local, port: 3333 }
${power}`;
  function write(text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-'));
    const file = path.join(dir, 'remote.yaml');
    fs.writeFileSync(file, text);
    return file;
  }
  function errorOf(text: string): string {
    try {
      loadRig(write(text));
    } catch (e) {
      if (e instanceof HilError) return e.toLine();
      throw e;
    }
    throw new Error('expected the rig to be refused');
  }

  it('takes link.url and power.url', () => {
    const rig = loadRig(write(BOARD('{ kind: serial, url: "rfc2217://lab-pi.local:2217", baud: 115200 }', 'power: { kind: ppk2, url: "tcp://lab-pi.local:4001", voltage_mv: 3000 }\n')));
    expect(rig.link.url).to.equal('rfc2217://lab-pi.local:2217');
    expect(rig.power?.url).to.equal('tcp://lab-pi.local:4001');
  });

  it('url is exclusive with path and usb_serial, and checked', () => {
    expect(errorOf(BOARD('{ kind: serial, url: "rfc2217://h:1", path: /dev/ttyACM0 }'))).to.match(/link: give exactly one of path, usb_serial, url$/);
    expect(errorOf(BOARD('{ kind: serial, url: "rfc2217://h:1" }', 'power: { kind: ppk2, url: "tcp://h:2", usb_serial: X, voltage_mv: 3000 }\n'))).to.match(/power: give exactly one of port, usb_serial, url$/);
    expect(errorOf(BOARD('{ kind: serial, url: "http://h:1" }'))).to.match(/link.url: expected rfc2217:\/\/host:port or tcp:\/\/host:port$/);
    expect(errorOf(BOARD('{ kind: serial, url: "rfc2217://h" }'))).to.match(/link.url: expected host:port after the scheme/);
    const cred = errorOf(BOARD('{ kind: serial, url: "rfc2217://me:s3cret@h:1" }'));
    expect(cred).to.contain('link.url: credentials do not belong');
    expect(cred).to.not.contain('s3cret');
  });
});
