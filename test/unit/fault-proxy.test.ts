/**
 * The fault-injecting link proxy without QEMU: in-memory endpoints for the fault logic, then
 * two socat pty pairs standing in for QEMU's pty and the harness.
 */
import { expect } from 'chai';
import { SerialPort } from 'serialport';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import { FaultLink, FaultProxy, type ByteEndpoint, type FaultLinkOptions, type FaultStats } from '../sims/fault-proxy.js';
import { openPtyPair, type PtyPair } from '../sims/pty-pair.js';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An in-memory endpoint: what the proxy writes to it is collected in `received`. */
class MemoryEndpoint implements ByteEndpoint {
  received: Buffer[] = [];
  private listener?: (data: Buffer) => void;
  write(data: Buffer): void {
    this.received.push(Buffer.from(data));
  }
  onData(listener: (data: Buffer) => void): void {
    this.listener = listener;
  }
  /** bytes this side sends into the proxy */
  send(data: Buffer): void {
    this.listener?.(data);
  }
  all(): Buffer {
    return Buffer.concat(this.received);
  }
}

function randomBytes(n: number, seed: number): Buffer {
  const rng = new Rng(seed);
  return Buffer.from(Array.from({ length: n }, () => rng.int(256)));
}

/** 0, 1, 2, ... 255, 0, ...: no two neighbours equal, so duplicates and drops are visible. */
const ramp = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));

/** Sends `data` through a new link in chunks of the given sizes (cycled); returns what came out each way. */
function pass(options: FaultLinkOptions, toDevice: Buffer, toHarness: Buffer, chunk = [1, 7, 64, 300]): { atDevice: Buffer; atHarness: Buffer; stats: FaultStats } {
  const harness = new MemoryEndpoint();
  const device = new MemoryEndpoint();
  const link = new FaultLink(harness, device, options);
  for (const [from, data] of [[harness, toDevice], [device, toHarness]] as const) {
    for (let i = 0, k = 0; i < data.length; k++) {
      const n = chunk[k % chunk.length];
      from.send(data.subarray(i, i + n));
      i += n;
    }
  }
  const stats = link.stats();
  link.close();
  return { atDevice: device.all(), atHarness: harness.all(), stats };
}

const popcount = (x: number) => x.toString(2).replace(/0/g, '').length;

describe('fault proxy (in memory)', () => {
  it('with rate 0 every byte passes unchanged both ways, no fault counted', () => {
    const a = randomBytes(5000, 1);
    const b = randomBytes(4000, 2);
    const { atDevice, atHarness, stats } = pass({ seed: 9, rates: { drop: 0, flip: 0, dup: 0 } }, a, b);
    expect(atDevice.equals(a)).to.equal(true);
    expect(atHarness.equals(b)).to.equal(true);
    expect(stats.faults).to.equal(0);
    expect([stats['to-device'].bytesIn, stats['to-device'].bytesOut, stats['to-harness'].bytesIn, stats['to-harness'].bytesOut]).to.deep.equal([5000, 5000, 4000, 4000]);
  });

  it('the same seed gives the same faults whatever the chunking; another seed other faults', () => {
    const rates = { drop: 0.01, flip: 0.02, dup: 0.01 };
    const data = randomBytes(20000, 3);
    const one = pass({ seed: 42, rates }, data, data, [1]);
    const two = pass({ seed: 42, rates }, data, data, [4096, 3, 999]);
    expect(one.atDevice.equals(two.atDevice)).to.equal(true);
    expect(one.atHarness.equals(two.atHarness)).to.equal(true);
    expect(one.stats).to.deep.equal(two.stats);
    // each direction has its own stream
    expect(one.atDevice.equals(one.atHarness)).to.equal(false);
    const other = pass({ seed: 43, rates }, data, data);
    expect(other.atDevice.equals(one.atDevice)).to.equal(false);
    // counts add up, and follow the rates (binomial, n = 20000: mean 200 / 400, sd ~14 / ~20)
    for (const d of ['to-device', 'to-harness'] as const) {
      const s = one.stats[d];
      const out = d === 'to-device' ? one.atDevice : one.atHarness;
      expect(out.length).to.equal(20000 - s.dropped + s.duplicated);
      expect(s.bytesOut).to.equal(out.length);
      expect(s.dropped).to.be.within(140, 260);
      expect(s.flipped).to.be.within(300, 500);
      expect(s.duplicated).to.be.within(140, 260);
    }
    expect(one.stats.faults).to.equal(
      one.stats['to-device'].dropped + one.stats['to-device'].flipped + one.stats['to-device'].duplicated +
        one.stats['to-harness'].dropped + one.stats['to-harness'].flipped + one.stats['to-harness'].duplicated,
    );
  });

  it('each fault does what its count says: flips invert one bit, drops remove, duplicates repeat', () => {
    const data = ramp(10000);
    const flips = pass({ seed: 5, rates: { flip: 0.03 } }, data, Buffer.alloc(0));
    const changed = [...data].map((x, i) => x ^ flips.atDevice[i]).filter((x) => x !== 0);
    expect(flips.atDevice.length).to.equal(data.length);
    expect(changed.length).to.equal(flips.stats['to-device'].flipped).and.to.be.greaterThan(200);
    expect(changed.every((x) => popcount(x) === 1)).to.equal(true);

    const drops = pass({ seed: 5, rates: { drop: 0.03 } }, data, Buffer.alloc(0));
    expect(drops.atDevice.length).to.equal(data.length - drops.stats['to-device'].dropped);
    let i = 0;
    for (const x of drops.atDevice) while (data[i++] !== x) if (i > data.length) expect.fail('not a subsequence of the input');

    const dups = pass({ seed: 5, rates: { dup: 0.03 } }, data, Buffer.alloc(0));
    const repeats = [...dups.atDevice].filter((x, k) => k > 0 && dups.atDevice[k - 1] === x).length;
    expect(repeats).to.equal(dups.stats['to-device'].duplicated).and.to.be.greaterThan(200);
    expect(Buffer.from([...dups.atDevice].filter((x, k) => k === 0 || dups.atDevice[k - 1] !== x)).equals(data)).to.equal(true);
  });

  it('per-direction rates leave the other direction alone', () => {
    const data = randomBytes(3000, 8);
    const r = pass({ seed: 1, rates: { 'to-harness': { drop: 0.1 } } }, data, data);
    expect(r.atDevice.equals(data)).to.equal(true);
    expect(r.stats['to-device'].dropped).to.equal(0);
    expect(r.stats['to-harness'].dropped).to.be.greaterThan(200);
    expect(() => pass({ seed: 1, rates: { flip: 1.5 } }, data, data)).to.throw(RangeError, /rates.flip/);
  });

  it('a stall after N bytes holds that direction for S ms, then delivers everything in order', async () => {
    const harness = new MemoryEndpoint();
    const device = new MemoryEndpoint();
    const link = new FaultLink(harness, device, { seed: 1, stalls: [{ afterBytes: 4, ms: 150, direction: 'to-device' }] });
    harness.send(ramp(10));
    device.send(Buffer.from('up'));
    expect(device.all()).to.deep.equal(ramp(4));
    expect(harness.all().toString()).to.equal('up'); // the other direction is not held
    await delay(60);
    harness.send(ramp(3));
    expect(device.all()).to.deep.equal(ramp(4));
    await delay(200);
    expect(device.all()).to.deep.equal(Buffer.concat([ramp(10), ramp(3)]));
    const s = link.stats();
    expect([s['to-device'].stalls, s['to-device'].stalledMs, s['to-harness'].stalls, s.faults]).to.deep.equal([1, 150, 0, 1]);
    link.close();
  });

  it('a stall at a time holds both directions when no direction is given', async () => {
    const harness = new MemoryEndpoint();
    const device = new MemoryEndpoint();
    const link = new FaultLink(harness, device, { seed: 1, stalls: [{ atMs: 20, ms: 150 }] });
    harness.send(Buffer.from('a'));
    await delay(50);
    harness.send(Buffer.from('b'));
    device.send(Buffer.from('c'));
    expect([device.all().toString(), harness.all().toString()]).to.deep.equal(['a', '']);
    await delay(200);
    expect([device.all().toString(), harness.all().toString()]).to.deep.equal(['ab', 'c']);
    expect(link.stats().faults).to.equal(2); // one stall, counted on each direction
    link.close();
  });
});

async function openPort(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

/** Collects what a port receives until `n` bytes arrived (or the time is up). */
function collect(port: SerialPort): (n: number, timeoutMs?: number) => Promise<Buffer> {
  const chunks: Buffer[] = [];
  port.on('data', (c: Buffer) => chunks.push(c));
  return async (n, timeoutMs = 5000) => {
    const end = Date.now() + timeoutMs;
    while (Buffer.concat(chunks).length < n && Date.now() < end) await delay(10);
    await delay(50); // and nothing more comes
    return Buffer.concat(chunks);
  };
}

describe('fault proxy between ptys (QEMU pty stand-in, socat)', function () {
  this.timeout(20000);
  let devicePty: PtyPair;
  let device: SerialPort;
  let closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    closers = [];
    // a = the device (the test plays QEMU's UART), b = the pty path QEMU would print
    devicePty = await openPtyPair();
    closers.push(() => devicePty.close());
    device = await openPort(devicePty.a);
    closers.push(() => new Promise((r) => device.close(() => r())));
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
  });

  async function start(options: Omit<Parameters<typeof FaultProxy.start>[0], 'devicePath'>) {
    const proxy = await FaultProxy.start({ ...options, devicePath: devicePty.b });
    closers.push(() => proxy.close());
    const harness = await openPort(proxy.harnessPath);
    closers.push(() => new Promise((r) => harness.close(() => r())));
    return { proxy, harness };
  }

  it('rate 0: the harness talks to the device through the proxy pty, bytes unchanged both ways', async () => {
    const { proxy, harness } = await start({ seed: 3 });
    const atDevice = collect(device);
    const atHarness = collect(harness);
    const up = randomBytes(3000, 11);
    const down = randomBytes(2000, 12);
    harness.write(up);
    device.write(down);
    expect((await atDevice(up.length)).equals(up)).to.equal(true);
    expect((await atHarness(down.length)).equals(down)).to.equal(true);
    const s = proxy.stats();
    expect([s['to-device'].bytesOut, s['to-harness'].bytesOut, s.faults]).to.deep.equal([3000, 2000, 0]);
  });

  it('seeded flips and drops over ptys: the counts match what arrived', async () => {
    const { proxy, harness } = await start({ seed: 77, rates: { 'to-device': { flip: 0.05 }, 'to-harness': { drop: 0.05 } } });
    const atDevice = collect(device);
    const atHarness = collect(harness);
    const up = ramp(2000);
    harness.write(up);
    device.write(up);
    const s1 = await atDevice(up.length);
    const s = proxy.stats();
    const got = await atHarness(up.length - s['to-harness'].dropped);
    const after = proxy.stats();
    expect(s1.length).to.equal(up.length);
    expect([...up].filter((x, i) => x !== s1[i]).length).to.equal(after['to-device'].flipped).and.to.be.greaterThan(40);
    expect(got.length).to.equal(up.length - after['to-harness'].dropped);
    expect(after['to-harness'].dropped).to.be.greaterThan(40);
    // the same seed in memory gives the same bytes: the pty path changes nothing
    const mem = pass({ seed: 77, rates: { 'to-device': { flip: 0.05 }, 'to-harness': { drop: 0.05 } } }, up, up);
    expect(mem.atDevice.equals(s1)).to.equal(true);
    expect(mem.atHarness.equals(got)).to.equal(true);
  });
});
