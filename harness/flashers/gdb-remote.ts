/**
 * GDB remote serial protocol (RSP) flasher, our own client over TCP: reaches QEMU's gdbstub
 * (-gdb tcp::PORT -S), OpenOCD (:3333), pyOCD gdbserver, J-Link GDB server. Loads the ELF's
 * PT_LOAD segments with X (binary) or M (hex) writes, verifies them with m reads, then starts
 * the firmware from its vector table (SP = word 0, PC = word 1).
 */
import fs from 'node:fs';
import net from 'node:net';
import type { Flasher } from '../capabilities/flasher.js';
import type { FlasherSpec } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import { describeSocketError } from '../util/net-url.js';
import { readElf, type Segment } from './elf.js';

/** Cortex-M register numbers in the M-profile target description. */
const REG_SP = 13;
const REG_PC = 15;
const REG_XPSR = 25;
const XPSR_THUMB = 0x01000000;

export function checksum(payload: Buffer): string {
  let sum = 0;
  for (const b of payload) sum = (sum + b) & 0xff;
  return sum.toString(16).padStart(2, '0');
}

/** Escapes the bytes that frame packets ($ # } *) as } followed by byte ^ 0x20. */
export function escapeBinary(data: Buffer): Buffer {
  const out: number[] = [];
  for (const b of data) {
    if (b === 0x23 || b === 0x24 || b === 0x7d || b === 0x2a) out.push(0x7d, b ^ 0x20);
    else out.push(b);
  }
  return Buffer.from(out);
}

/** Undoes run-length encoding ("x*n" = x repeated n-29 more times) in a reply. */
export function decodeRle(s: string): string {
  return s.replace(/(.)\*(.)/g, (_m, c: string, n: string) => c.repeat(1 + n.charCodeAt(0) - 29));
}

function le32hex(v: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex');
}

/** A flash region of a GDB memory map, erased in blocks of `blocksize`. */
export interface FlashRegion {
  start: number;
  length: number;
  blocksize: number;
}

/** The flash regions of a GDB memory-map XML (<memory type="flash" ...><property name="blocksize">). */
export function parseMemoryMap(xml: string): FlashRegion[] {
  const out: FlashRegion[] = [];
  for (const m of xml.matchAll(/<memory\s+([^>]*?)(?:\/>|>([\s\S]*?)<\/memory>)/g)) {
    const attr = (name: string) => new RegExp(`${name}\\s*=\\s*"([^"]*)"`).exec(m[1])?.[1];
    if (attr('type') !== 'flash') continue;
    const block = /<property\s+name\s*=\s*"blocksize"\s*>\s*([^<\s]+)\s*</.exec(m[2] ?? '')?.[1];
    const start = Number(attr('start'));
    const length = Number(attr('length'));
    const blocksize = Number(block ?? length);
    if ([start, length, blocksize].every((v) => Number.isFinite(v) && v >= 0) && blocksize > 0) out.push({ start, length, blocksize });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** The block-aligned [start, length] spans to erase so that [address, address + length) is erased. */
export function eraseSpans(regions: FlashRegion[], address: number, length: number): [number, number][] {
  const spans: [number, number][] = [];
  const end = address + length;
  for (const r of regions) {
    const lo = Math.max(address, r.start);
    const hi = Math.min(end, r.start + r.length);
    if (lo >= hi) continue;
    const first = r.start + Math.floor((lo - r.start) / r.blocksize) * r.blocksize;
    const last = r.start + Math.ceil((hi - r.start) / r.blocksize) * r.blocksize;
    const prev = spans[spans.length - 1];
    if (prev && prev[0] + prev[1] === first) prev[1] += last - first;
    else spans.push([first, last - first]);
  }
  return spans;
}

/** Sorted, with overlapping and touching spans joined. */
export function mergeSpans(spans: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, l] of [...spans].sort((x, y) => x[0] - y[0])) {
    const prev = out[out.length - 1];
    if (prev && a <= prev[0] + prev[1]) prev[1] = Math.max(prev[1], a + l - prev[0]);
    else out.push([a, l]);
  }
  return out;
}

export class RspClient {
  private buf = Buffer.alloc(0);
  private waiters: ((ev: { ack?: boolean; packet?: string; closed?: string }) => void)[] = [];
  private queue: { ack?: boolean; packet?: string; closed?: string }[] = [];
  packetSize = 400;

  private constructor(
    private readonly socket: net.Socket,
    readonly where: string,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => this.push({ closed: 'connection closed' }));
    socket.on('error', (e) => this.push({ closed: e.message }));
  }

  /** Connects, retrying while the server is still starting (QEMU, OpenOCD) until timeoutMs. */
  static async connect(host: string, port: number, timeoutMs = 5000): Promise<RspClient> {
    const where = `gdb-remote ${host}:${port}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host, port });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        socket.setNoDelay(true);
        return new RspClient(socket, where);
      } catch (e) {
        if (Date.now() >= deadline) throw new HilError(`cannot connect within ${timeoutMs} ms: ${describeSocketError(e as NodeJS.ErrnoException, `${host}:${port}`)}`, where);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private push(ev: { ack?: boolean; packet?: string; closed?: string }): void {
    const w = this.waiters.shift();
    if (w) w(ev);
    else this.queue.push(ev);
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length === 0) return;
      const c = this.buf[0];
      if (c === 0x2b || c === 0x2d) {
        this.buf = this.buf.subarray(1);
        this.push({ ack: c === 0x2b });
        continue;
      }
      if (c !== 0x24 && c !== 0x25) {
        this.buf = this.buf.subarray(1); // noise between packets
        continue;
      }
      const hash = this.buf.indexOf(0x23);
      if (hash < 0 || this.buf.length < hash + 3) return;
      const body = this.buf.subarray(1, hash);
      const sum = this.buf.subarray(hash + 1, hash + 3).toString('latin1');
      this.buf = this.buf.subarray(hash + 3);
      if (c === 0x25) continue; // notification: not used
      if (checksum(body) !== sum.toLowerCase()) {
        this.socket.write('-');
        continue;
      }
      this.socket.write('+');
      const text = decodeRle(body.toString('latin1'));
      if (/^O[0-9a-fA-F]+$/.test(text) && text !== 'OK') continue; // console output
      this.push({ packet: text });
    }
  }

  private next(timeoutMs: number, what: string): Promise<{ ack?: boolean; packet?: string }> {
    const ev = this.queue.shift();
    if (ev) return ev.closed ? Promise.reject(new HilError(`${ev.closed} during ${what}`, this.where)) : Promise.resolve(ev);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new HilError(`no answer to ${what} within ${timeoutMs} ms`, this.where));
      }, timeoutMs);
      const waiter = (e: { ack?: boolean; packet?: string; closed?: string }) => {
        clearTimeout(t);
        if (e.closed) reject(new HilError(`${e.closed} during ${what}`, this.where));
        else resolve(e);
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends one packet and waits for its acknowledgement (re-sends on '-'). */
  async send(payload: Buffer | string, what: string): Promise<void> {
    const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    const frame = Buffer.concat([Buffer.from('$'), body, Buffer.from(`#${checksum(body)}`)]);
    for (let attempt = 0; attempt < 3; attempt++) {
      this.socket.write(frame);
      let ev = await this.next(3000, what);
      // A packet before the acknowledgement answers nothing we sent: a stop reply the server
      // queued when a new connection halted a running target (QEMU's gdbstub does). Drop it.
      while (ev.packet !== undefined) ev = await this.next(3000, what);
      if (ev.ack === true) return;
    }
    throw new HilError(`${what} refused 3 times (bad checksum?)`, this.where);
  }

  async reply(what: string, timeoutMs = 5000): Promise<string> {
    for (;;) {
      const ev = await this.next(timeoutMs, what);
      if (ev.packet !== undefined) return ev.packet;
    }
  }

  /** One command and its reply; "Exx" replies become errors. */
  async command(payload: Buffer | string, what: string, timeoutMs = 5000): Promise<string> {
    await this.send(payload, what);
    const r = await this.reply(what, timeoutMs);
    if (/^E[0-9a-fA-F]{2}$/.test(r)) throw new HilError(`${what}: target error ${r}`, this.where);
    return r;
  }

  async handshake(): Promise<string> {
    const features = await this.command('qSupported:swbreak+;hwbreak+', 'qSupported');
    const m = /PacketSize=([0-9a-fA-F]+)/.exec(features);
    if (m) this.packetSize = parseInt(m[1], 16);
    // Like GDB, read the target description when offered: QEMU answers P (register write)
    // packets only after it, and it confirms the register numbers are the M-profile ones.
    if (features.includes('qXfer:features:read+')) this.targetXml = await this.readXfer('target.xml');
    // OpenOCD, pyOCD and J-Link servers describe their flash this way; QEMU's gdbstub does not
    if (features.includes('qXfer:memory-map:read+')) this.flashRegions = parseMemoryMap(await this.readXfer('', 'memory-map'));
    return this.command('?', 'halt reason');
  }

  targetXml?: string;
  /** flash regions from the server's memory map: written with vFlashErase/vFlashWrite/vFlashDone */
  flashRegions: FlashRegion[] = [];

  async readXfer(annex: string, object = 'features'): Promise<string> {
    let text = '';
    for (;;) {
      const r = await this.command(`qXfer:${object}:read:${annex}:${text.length.toString(16)},${(this.packetSize - 8).toString(16)}`, `read of ${annex}`);
      if (r === '' || (r[0] !== 'm' && r[0] !== 'l')) throw new HilError(`cannot read ${annex}: "${r.slice(0, 40)}"`, this.where);
      text += r.slice(1);
      if (r[0] === 'l') return text;
    }
  }

  async readMemory(address: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    const step = Math.max(16, Math.floor((this.packetSize - 8) / 2));
    for (let o = 0; o < length; o += step) {
      const n = Math.min(step, length - o);
      const hex = await this.command(`m${(address + o).toString(16)},${n.toString(16)}`, `read of 0x${(address + o).toString(16)}`);
      const b = Buffer.from(hex, 'hex');
      if (b.length !== n) throw new HilError(`short read at 0x${(address + o).toString(16)}: ${b.length}/${n} bytes`, this.where);
      parts.push(b);
    }
    return Buffer.concat(parts);
  }

  private binaryWrites?: boolean;

  async writeMemory(address: number, data: Buffer): Promise<void> {
    if (this.binaryWrites === undefined) {
      // An empty X write probes support: "" means unsupported, fall back to hex M writes.
      this.binaryWrites = (await this.command(`X${address.toString(16)},0:`, 'X probe')) === 'OK';
    }
    const room = this.packetSize - 32;
    const step = Math.floor(room / 2); // hex doubles M; worst-case escaping doubles X
    for (let o = 0; o < data.length; o += step) {
      const chunk = data.subarray(o, o + step);
      const head = `${(address + o).toString(16)},${chunk.length.toString(16)}`;
      const what = `write of 0x${(address + o).toString(16)}`;
      const r = this.binaryWrites
        ? await this.command(Buffer.concat([Buffer.from(`X${head}:`), escapeBinary(chunk)]), what)
        : await this.command(`M${head}:${chunk.toString('hex')}`, what);
      if (r !== 'OK') throw new HilError(`${what}: unexpected reply "${r}"`, this.where);
    }
  }

  /**
   * Programs on-chip flash the GDB way: erase the blocks the data covers, vFlashWrite it in
   * packets, vFlashDone to commit (the server may buffer until then).
   */
  async writeFlash(segments: { address: number; data: Buffer }[]): Promise<void> {
    const spans = mergeSpans(segments.flatMap((s) => eraseSpans(this.flashRegions, s.address, s.data.length)));
    for (const [start, length] of spans) {
      // up to ~2 s per 64 KiB sector (a QSPI NOR's worst case): an 8 MB preload image needs minutes
      const r = await this.command(`vFlashErase:${start.toString(16)},${length.toString(16)}`, `flash erase of 0x${start.toString(16)}`, Math.max(30000, Math.ceil(length / 65536) * 2000));
      if (r !== 'OK') throw new HilError(`flash erase of 0x${start.toString(16)}: unexpected reply "${r}" (vFlashErase unsupported?)`, this.where);
    }
    const step = Math.floor((this.packetSize - 32) / 2); // worst-case escaping doubles the bytes
    for (const { address, data } of segments) {
      for (let o = 0; o < data.length; o += step) {
        const chunk = data.subarray(o, o + step);
        const what = `flash write of 0x${(address + o).toString(16)}`;
        const r = await this.command(Buffer.concat([Buffer.from(`vFlashWrite:${(address + o).toString(16)}:`), escapeBinary(chunk)]), what);
        if (r !== 'OK') throw new HilError(`${what}: unexpected reply "${r}"`, this.where);
      }
    }
    // the server may program everything only now (OpenOCD buffers the writes): allow 20 KB/s
    const bytes = segments.reduce((n, x) => n + x.data.length, 0);
    const done = await this.command('vFlashDone', 'flash done', Math.max(30000, Math.ceil(bytes / 20)));
    if (done !== 'OK') throw new HilError(`flash done: unexpected reply "${done}"`, this.where);
  }

  /** True when [address, address + length) lies in a flash region of the memory map. */
  inFlash(address: number, length: number): boolean {
    let at = address;
    for (const r of this.flashRegions) {
      if (r.start <= at && at < r.start + r.length) at = r.start + r.length;
      if (at >= address + length) return true;
    }
    return false;
  }

  async writeRegister(reg: number, value: number): Promise<void> {
    const r = await this.command(`P${reg.toString(16)}=${le32hex(value)}`, `register ${reg}`);
    if (r !== 'OK') throw new HilError(`register ${reg} write: unexpected reply "${r}" (P packets unsupported?)`, this.where);
  }

  /** Resumes the target; the stop reply only comes when it halts again, so it is not awaited. */
  async resume(): Promise<void> {
    await this.send('c', 'continue');
  }

  /** Stops a running target (the 0x03 interrupt byte) and waits for its stop reply. */
  async interrupt(): Promise<string> {
    this.socket.write(Buffer.from([0x03]));
    return this.reply('interrupt');
  }

  close(): void {
    this.socket.destroy();
  }
}

export class GdbRemoteFlasher implements Flasher {
  readonly kind = 'gdb-remote';
  private client?: RspClient;
  private vectorTable?: number;
  private running = false;
  /** What the last flash wrote and verified, for reports and tests. */
  loaded: { address: number; bytes: number }[] = [];

  constructor(
    private readonly spec: FlasherSpec,
    private readonly connectTimeoutMs = 5000,
  ) {}

  private async connect(): Promise<RspClient> {
    if (!this.client) {
      this.client = await RspClient.connect(this.spec.host ?? 'localhost', this.spec.port ?? 3333, this.connectTimeoutMs);
      await this.client.handshake();
    }
    return this.client;
  }

  async flash(elf: string): Promise<void> {
    const image = readElf(elf);
    const c = await this.connect();
    if (this.running) {
      await c.interrupt();
      this.running = false;
    }
    this.loaded = [];
    // flash first, all segments in one erase/write/done sequence (two segments may share a
    // sector: erasing for the second must not wipe the first), then RAM, then verify them all
    const inFlash = image.segments.filter((s) => c.inFlash(s.address, s.data.length));
    if (inFlash.length > 0) await c.writeFlash(inFlash);
    for (const s of image.segments) if (!inFlash.includes(s)) await c.writeMemory(s.address, s.data);
    for (const s of image.segments) await this.verify(c, s);
    this.vectorTable = image.segments[0].address;
    await this.startFromVectors(c);
  }

  private async verify(c: RspClient, s: Segment): Promise<void> {
    const back = await c.readMemory(s.address, s.data.length);
    const bad = back.findIndex((b, i) => b !== s.data[i]);
    if (bad >= 0) {
      throw new HilError(`verify failed at 0x${(s.address + bad).toString(16)}: wrote 0x${s.data[bad].toString(16)}, read 0x${back[bad].toString(16)}`, c.where);
    }
    this.loaded.push({ address: s.address, bytes: s.data.length });
  }

  /** A reset "by vector": SP and PC from the vector table, Thumb state, then run. */
  private async startFromVectors(c: RspClient): Promise<void> {
    const v = await c.readMemory(this.vectorTable ?? 0, 8);
    await c.writeRegister(REG_SP, v.readUInt32LE(0));
    await c.writeRegister(REG_PC, v.readUInt32LE(4) & ~1);
    await c.writeRegister(REG_XPSR, XPSR_THUMB);
    await c.resume();
    this.running = true;
  }

  externalFlashProblem(): string | undefined {
    return this.spec.external_flash === false ? 'the rig declares flasher.external_flash: false (its GDB server cannot write the external flash)' : undefined;
  }

  /**
   * Writes a raw image at `address`: vFlashWrite where the server's memory map has flash there
   * (OpenOCD's stmqspi bank at 0x90000000), plain memory writes elsewhere (RAM on an emulated
   * board). Not read back here: the session asks the device for the CRC of what it reads.
   */
  async writeExternal(file: string, address: number): Promise<void> {
    const problem = this.externalFlashProblem();
    if (problem) throw new HilError(problem, `gdb-remote ${this.spec.host ?? 'localhost'}:${this.spec.port}`);
    if (!fs.existsSync(file)) throw new HilError('image for external flash not found', file);
    const data = fs.readFileSync(file);
    const c = await this.connect();
    if (this.running) {
      await c.interrupt();
      this.running = false;
    }
    if (c.inFlash(address, data.length)) await c.writeFlash([{ address, data }]);
    else await c.writeMemory(address, data);
    if (this.vectorTable !== undefined) await this.startFromVectors(c);
  }

  async reset(): Promise<void> {
    if (this.vectorTable === undefined) throw new HilError('reset before flash', `gdb-remote ${this.spec.host ?? 'localhost'}:${this.spec.port}`);
    const c = await this.connect();
    if (this.running) await c.interrupt();
    this.running = false;
    await this.startFromVectors(c);
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = undefined;
    this.running = false;
  }
}
