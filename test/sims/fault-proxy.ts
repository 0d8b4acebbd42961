/**
 * A fault-injecting link between the harness and the device, for robustness tests and a
 * benchmark of the wire protocol's recovery: per-byte drop, bit flip and duplicate rates in each
 * direction, and scheduled stalls (all bytes held for S ms, from a time or after a byte count).
 *
 * Seeded with the project's PRNG (mulberry32, harness/modeltools/nn/prng.ts), one stream per
 * direction and four draws per byte whatever happens to it, so the faults land on the same byte
 * positions for the same seed however the bytes are chunked. Every fault is counted.
 *
 * With real ptys: the device side is QEMU's pty path (opened with serialport), the harness side
 * a new socat pty pair (test/sims/pty-pair.ts) whose free end, `harnessPath`, the harness opens
 * as if it were the device:
 *
 *   const proxy = await FaultProxy.start({ devicePath: qemuPty, seed: 1, rates: { drop: 1e-3 } });
 *   // harness: open proxy.harnessPath; later proxy.stats(), await proxy.close()
 *
 * FaultLink is the same proxy over any two byte endpoints (in-memory ones in unit tests).
 */
import { SerialPort } from 'serialport';
import { Rng } from '../../harness/modeltools/nn/prng.js';
import { openPtyPair, type PtyPair } from './pty-pair.js';

export type Direction = 'to-device' | 'to-harness';
export const DIRECTIONS: readonly Direction[] = ['to-device', 'to-harness'];

/** Probabilities per byte, each in [0, 1]. */
export interface FaultRates {
  /** the byte is lost */
  drop?: number;
  /** one bit of the byte (uniformly chosen) is inverted */
  flip?: number;
  /** the byte is delivered twice */
  dup?: number;
}

/**
 * Hold bytes for `ms`: from `atMs` after start, or once `afterBytes` bytes have entered the
 * proxy (the byte that reaches the count still passes). With `direction` only that direction is
 * held and counted; without, both are held and bytes of both directions count.
 */
export interface Stall {
  ms: number;
  atMs?: number;
  afterBytes?: number;
  direction?: Direction;
}

export interface FaultLinkOptions {
  seed: number;
  /** the same rates both ways, or per direction */
  rates?: FaultRates | Partial<Record<Direction, FaultRates>>;
  stalls?: Stall[];
}

export interface DirectionStats {
  /** bytes that entered the proxy */
  bytesIn: number;
  /** bytes delivered to the other side (held bytes not yet) */
  bytesOut: number;
  dropped: number;
  flipped: number;
  duplicated: number;
  /** stalls started on this direction, and their total configured hold */
  stalls: number;
  stalledMs: number;
}

export type FaultStats = Record<Direction, DirectionStats> & { /** drops + flips + duplicates + stalls, both ways */ faults: number };

/** One side of the link: bytes can be written to it, and it reports bytes it receives. */
export interface ByteEndpoint {
  write(data: Buffer): void;
  onData(listener: (data: Buffer) => void): void;
}

function checkRates(rates: FaultRates, where: string): Required<FaultRates> {
  const out = { drop: rates.drop ?? 0, flip: rates.flip ?? 0, dup: rates.dup ?? 0 };
  for (const [k, v] of Object.entries(out)) if (!(v >= 0 && v <= 1)) throw new RangeError(`${where}.${k}: a rate is in [0, 1], got ${v}`);
  return out;
}

function ratesFor(options: FaultLinkOptions, d: Direction): Required<FaultRates> {
  const r = options.rates ?? {};
  const perDirection = 'to-device' in r || 'to-harness' in r;
  return checkRates(perDirection ? ((r as Partial<Record<Direction, FaultRates>>)[d] ?? {}) : (r as FaultRates), `rates${perDirection ? `.${d}` : ''}`);
}

/** The per-byte faults of one direction: a pure function of the seed and the byte's position. */
export class ByteFaults {
  private readonly rng: Rng;
  constructor(seed: number, private readonly rates: Required<FaultRates>, private readonly stats: DirectionStats) {
    this.rng = new Rng(seed);
  }

  /** The bytes one input byte becomes: none (dropped), one (maybe flipped) or two (duplicated). */
  apply(byte: number, out: number[]): void {
    // always four draws, so later bytes' faults do not depend on earlier outcomes
    const drop = this.rng.next();
    const flip = this.rng.next();
    const bit = this.rng.int(8);
    const dup = this.rng.next();
    if (drop < this.rates.drop) {
      this.stats.dropped++;
      return;
    }
    let b = byte;
    if (flip < this.rates.flip) {
      b ^= 1 << bit;
      this.stats.flipped++;
    }
    out.push(b);
    if (dup < this.rates.dup) {
      out.push(b);
      this.stats.duplicated++;
    }
  }
}

const emptyStats = (): DirectionStats => ({ bytesIn: 0, bytesOut: 0, dropped: 0, flipped: 0, duplicated: 0, stalls: 0, stalledMs: 0 });

/** The seed of each direction's stream (the harness->device one is the seed itself). */
export function directionSeed(seed: number, d: Direction): number {
  return d === 'to-device' ? seed >>> 0 : (seed ^ 0x9e3779b9) >>> 0;
}

/** The proxy between two byte endpoints. */
export class FaultLink {
  private readonly counters: Record<Direction, DirectionStats> = { 'to-device': emptyStats(), 'to-harness': emptyStats() };
  private readonly faults: Record<Direction, ByteFaults>;
  private readonly sinks: Record<Direction, ByteEndpoint>;
  private readonly held: Record<Direction, Buffer[]> = { 'to-device': [], 'to-harness': [] };
  private readonly holdUntil: Record<Direction, number> = { 'to-device': 0, 'to-harness': 0 };
  private readonly releaseTimers: Record<Direction, NodeJS.Timeout | undefined> = { 'to-device': undefined, 'to-harness': undefined };
  private readonly startTimers: NodeJS.Timeout[] = [];
  private readonly byteStalls: (Stall & { fired: boolean })[];
  private closed = false;

  constructor(harness: ByteEndpoint, device: ByteEndpoint, private readonly options: FaultLinkOptions) {
    this.faults = {
      'to-device': new ByteFaults(directionSeed(options.seed, 'to-device'), ratesFor(options, 'to-device'), this.counters['to-device']),
      'to-harness': new ByteFaults(directionSeed(options.seed, 'to-harness'), ratesFor(options, 'to-harness'), this.counters['to-harness']),
    };
    this.sinks = { 'to-device': device, 'to-harness': harness };
    for (const s of options.stalls ?? []) {
      if (!(s.ms >= 0) || (s.atMs === undefined) === (s.afterBytes === undefined)) throw new RangeError('a stall needs ms >= 0 and exactly one of atMs, afterBytes');
    }
    this.byteStalls = (options.stalls ?? []).filter((s) => s.afterBytes !== undefined).map((s) => ({ ...s, fired: false }));
    for (const s of options.stalls ?? []) if (s.atMs !== undefined) this.startTimers.push(setTimeout(() => this.stall(s), s.atMs));
    harness.onData((data) => this.receive('to-device', data));
    device.onData((data) => this.receive('to-harness', data));
  }

  /** A snapshot of the counters. */
  stats(): FaultStats {
    const copy = { 'to-device': { ...this.counters['to-device'] }, 'to-harness': { ...this.counters['to-harness'] } };
    const faults = DIRECTIONS.reduce((n, d) => n + copy[d].dropped + copy[d].flipped + copy[d].duplicated + copy[d].stalls, 0);
    return { ...copy, faults };
  }

  /** Stops timers; bytes still held are dropped (not counted as faults). */
  close(): void {
    this.closed = true;
    for (const t of this.startTimers) clearTimeout(t);
    for (const d of DIRECTIONS) {
      clearTimeout(this.releaseTimers[d]);
      this.held[d] = [];
    }
  }

  private stall(s: Stall): void {
    if (this.closed) return;
    for (const d of s.direction ? [s.direction] : DIRECTIONS) {
      this.counters[d].stalls++;
      this.counters[d].stalledMs += s.ms;
      this.holdUntil[d] = Math.max(this.holdUntil[d], Date.now() + s.ms);
      this.scheduleRelease(d);
    }
  }

  private isHeld(d: Direction): boolean {
    return this.held[d].length > 0 || Date.now() < this.holdUntil[d];
  }

  private scheduleRelease(d: Direction): void {
    clearTimeout(this.releaseTimers[d]);
    this.releaseTimers[d] = setTimeout(() => this.release(d), Math.max(0, this.holdUntil[d] - Date.now()));
  }

  private release(d: Direction): void {
    if (this.closed) return;
    if (Date.now() < this.holdUntil[d]) return this.scheduleRelease(d);
    const bytes = Buffer.concat(this.held[d]);
    this.held[d] = [];
    this.deliver(d, bytes);
  }

  private deliver(d: Direction, bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.counters[d].bytesOut += bytes.length;
    this.sinks[d].write(bytes);
  }

  private totalIn(): number {
    return this.counters['to-device'].bytesIn + this.counters['to-harness'].bytesIn;
  }

  private receive(d: Direction, data: Buffer): void {
    if (this.closed) return;
    let out: number[] = [];
    const flush = () => {
      if (out.length === 0) return;
      const bytes = Buffer.from(out);
      out = [];
      if (this.isHeld(d)) this.held[d].push(bytes);
      else this.deliver(d, bytes);
    };
    for (const byte of data) {
      this.counters[d].bytesIn++;
      this.faults[d].apply(byte, out);
      for (const s of this.byteStalls) {
        if (s.fired || (s.direction !== undefined && s.direction !== d)) continue;
        const count = s.direction ? this.counters[d].bytesIn : this.totalIn();
        if (count >= (s.afterBytes ?? Infinity)) {
          s.fired = true;
          flush(); // bytes up to the count pass before the hold starts
          this.stall(s);
        }
      }
    }
    flush();
  }
}

export interface FaultProxyOptions extends FaultLinkOptions {
  /** the device's serial path: QEMU's pty (-serial pty), or any tty */
  devicePath: string;
  baudRate?: number;
}

export interface FaultProxy {
  /** open this instead of the device */
  harnessPath: string;
  stats(): FaultStats;
  close(): Promise<void>;
}

async function openPort(path: string, baudRate: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  port.on('error', () => undefined); // the other side closing is not the proxy's problem
  return port;
}

const endpoint = (port: SerialPort): ByteEndpoint => ({
  write: (data) => {
    if (port.isOpen) port.write(data);
  },
  onData: (listener) => port.on('data', listener),
});

async function closePort(port: SerialPort): Promise<void> {
  if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
}

export const FaultProxy = {
  async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const baudRate = options.baudRate ?? 115200;
    const device = await openPort(options.devicePath, baudRate);
    let pair: PtyPair | undefined;
    let harnessEnd: SerialPort | undefined;
    try {
      pair = await openPtyPair();
      harnessEnd = await openPort(pair.a, baudRate);
    } catch (e) {
      await closePort(device);
      if (harnessEnd) await closePort(harnessEnd);
      await pair?.close();
      throw e;
    }
    const link = new FaultLink(endpoint(harnessEnd), endpoint(device), options);
    const ptys = pair;
    const harnessPort = harnessEnd;
    return {
      harnessPath: ptys.b,
      stats: () => link.stats(),
      async close() {
        link.close();
        await closePort(harnessPort);
        await closePort(device);
        await ptys.close();
      },
    };
  },
};
