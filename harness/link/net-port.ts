/**
 * A serial port on another machine, reached over TCP: `tcp://host:port` is a raw byte stream
 * (ser2net `accepter: tcp,...`), `rfc2217://host:port` a Telnet connection with the COM-PORT
 * option of RFC 2217 (ser2net `accepter: telnet(rfc2217),tcp,...`), which sets the remote
 * port's baud rate, data bits, parity and stop bits. Both fit RawPort, so the device link and
 * the power-monitor drivers open them like a local port (PortFactory picks by the path).
 *
 * Telnet framing (RFC 854/855/856/858): 0xFF (IAC) in data is doubled both ways; options
 * BINARY (0) and SUPPRESS-GO-AHEAD (3) are asked for in both directions, so data bytes pass
 * unchanged (no CR NUL stuffing); COM-PORT-OPTION (44) is offered with WILL and the server's DO
 * is required. Sub-negotiations IAC SB 44 <cmd> <value> IAC SE carry the port settings; the
 * server answers each with <cmd + 100> and the value it actually set.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { HilError } from '../util/errors.js';
import { describeSocketError, formatAddress, parseNetUrl, type NetAddress } from '../util/net-url.js';
import type { RawPort } from './port.js';

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const SE = 240;
export const OPT_BINARY = 0;
export const OPT_SGA = 3;
export const OPT_COM_PORT = 44;

/** RFC 2217 COM-PORT-OPTION commands, client to server; the server answers with code + 100. */
export const CPO = {
  SIGNATURE: 0,
  SET_BAUDRATE: 1,
  SET_DATASIZE: 2,
  SET_PARITY: 3,
  SET_STOPSIZE: 4,
  SET_CONTROL: 5,
  NOTIFY_LINESTATE: 6,
  NOTIFY_MODEMSTATE: 7,
  FLOWCONTROL_SUSPEND: 8,
  FLOWCONTROL_RESUME: 9,
  SET_LINESTATE_MASK: 10,
  SET_MODEMSTATE_MASK: 11,
  PURGE_DATA: 12,
} as const;
export const SERVER_OFFSET = 100;

/** Opens a TCP connection with a deadline; every failure is one HilError line. */
export function connectTcp(host: string, port: number, timeoutMs: number, where: string, connect: SocketConnector = defaultConnector): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HilError(`no TCP connection within ${timeoutMs} ms (host unreachable or a firewall drops the packets)`, where));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new HilError(describeSocketError(err, `${host}:${port}`), where));
    });
  });
}

export type SocketConnector = (options: { host: string; port: number }) => net.Socket;
const defaultConnector: SocketConnector = (o) => net.connect(o);

export interface NetPortOptions {
  baudRate: number;
  /** TCP connect deadline (default 5000 ms) */
  connectTimeoutMs?: number;
  /** deadline for each RFC 2217 answer (default 3000 ms) */
  negotiateTimeoutMs?: number;
  /** opens the socket (tests hand in their own) */
  connect?: SocketConnector;
  /**
   * Keep trying this long (ms) when the server accepts and at once drops a new connection:
   * ser2net does that while it has not yet released the device after the previous client.
   * Default 0 (one attempt); device links pass the rig's boot timeout.
   */
  retryForMs?: number;
  /** how long a fresh connection must stay up to count as accepted (default 150 ms) */
  dropGraceMs?: number;
}

/** A connection the server closed at once (before it was ours): worth another try. */
class DroppedAtOnce extends HilError {}

/** Values of the serial settings the server confirmed (RFC 2217 replies). */
export interface ComPortSettings {
  baudRate?: number;
  dataBits?: number;
  parity?: number;
  stopBits?: number;
  control?: number;
}

type SubWaiter = { code: number; resolve: (value: Buffer) => void };

/**
 * Incoming Telnet stream parser: data bytes out, commands and sub-negotiations to callbacks.
 * Exported for tests; state survives chunk boundaries (an IAC may end one chunk).
 */
export class TelnetParser {
  private state: 'data' | 'iac' | 'option' | 'sb' | 'sb-iac' = 'data';
  private verb = 0;
  private sb: number[] = [];

  constructor(
    private readonly handlers: {
      data: (bytes: Buffer) => void;
      option: (verb: number, option: number) => void;
      sub: (bytes: Buffer) => void;
    },
  ) {}

  feed(chunk: Buffer): void {
    const out: number[] = [];
    for (const b of chunk) {
      switch (this.state) {
        case 'data':
          if (b === IAC) this.state = 'iac';
          else out.push(b);
          break;
        case 'iac':
          if (b === IAC) {
            out.push(IAC); // escaped 0xFF data byte
            this.state = 'data';
          } else if (b === WILL || b === WONT || b === DO || b === DONT) {
            this.verb = b;
            this.state = 'option';
          } else if (b === SB) {
            this.sb = [];
            this.state = 'sb';
          } else {
            this.state = 'data'; // NOP, GA, AYT, BRK...: no data byte
          }
          break;
        case 'option':
          this.flush(out);
          this.handlers.option(this.verb, b);
          this.state = 'data';
          break;
        case 'sb':
          if (b === IAC) this.state = 'sb-iac';
          else this.sb.push(b);
          break;
        case 'sb-iac':
          if (b === IAC) {
            this.sb.push(IAC);
            this.state = 'sb';
          } else if (b === SE) {
            this.flush(out);
            this.handlers.sub(Buffer.from(this.sb));
            this.state = 'data';
          } else {
            this.state = 'sb'; // malformed: drop the stray IAC
          }
          break;
      }
    }
    this.flush(out);
  }

  private flush(out: number[]): void {
    if (out.length === 0) return;
    this.handlers.data(Buffer.from(out));
    out.length = 0;
  }
}

/** Doubles every 0xFF (IAC) byte of outgoing data. */
export function escapeIac(data: Buffer): Buffer {
  let n = 0;
  for (const b of data) if (b === IAC) n++;
  if (n === 0) return data;
  const out = Buffer.alloc(data.length + n);
  let j = 0;
  for (const b of data) {
    out[j++] = b;
    if (b === IAC) out[j++] = IAC;
  }
  return out;
}

/** IAC SB COM-PORT-OPTION <code> <value, IAC doubled> IAC SE */
export function comPortCommand(code: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([IAC, SB, OPT_COM_PORT, code]), escapeIac(value), Buffer.from([IAC, SE])]);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

/** A remote serial port over TCP (raw or RFC 2217), as a RawPort. */
export class NetPort extends EventEmitter implements RawPort {
  readonly address: NetAddress;
  readonly where: string;
  /** what the RFC 2217 server confirmed */
  readonly settings: ComPortSettings = {};
  private socket?: net.Socket;
  private open_ = false;
  private closing = false;
  private subWaiters: SubWaiter[] = [];
  private comPortAccepted?: (ok: boolean) => void;
  private comPortState: 'asked' | 'on' | 'refused' = 'asked';
  /** options we enabled on our side (WILL) and asked the server to enable (DO) */
  private readonly ours = new Set<number>();
  private readonly theirs = new Set<number>();

  constructor(
    url: string,
    private readonly options: NetPortOptions,
  ) {
    super();
    this.address = parseNetUrl(url);
    this.where = formatAddress(this.address);
  }

  get isOpen(): boolean {
    return this.open_;
  }

  open(callback: (err: Error | null) => void): void {
    this.start().then(
      () => callback(null),
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
    );
  }

  /** Connects, again after a short pause while the server drops new connections at once, until retryForMs. */
  private async start(): Promise<void> {
    const deadline = Date.now() + (this.options.retryForMs ?? 0);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt();
      } catch (e) {
        if (!(e instanceof DroppedAtOnce)) throw e;
        if (Date.now() + 100 > deadline) throw new HilError(`${e.message}${attempt > 1 ? ` (${attempt} attempts)` : ''}: the server accepts and drops connections (another client still holds the port?)`, this.where);
        await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 500)));
      }
    }
  }

  private async attempt(): Promise<void> {
    const { host, port } = this.address;
    this.closing = false;
    const socket = await connectTcp(host, port, this.options.connectTimeoutMs ?? 5000, this.where, this.options.connect);
    socket.setNoDelay(true);
    this.socket = socket;
    // bytes that arrive before the port is open reach the data listeners right after it opens
    let early: Buffer[] | undefined = [];
    const deliver = (bytes: Buffer) => (early ? early.push(bytes) : this.emit('data', bytes));
    const parser = new TelnetParser({
      data: deliver,
      option: (verb, option) => this.onOption(verb, option),
      sub: (bytes) => this.onSub(bytes),
    });
    socket.on('data', (chunk: Buffer) => (this.address.scheme === 'rfc2217' ? parser.feed(chunk) : deliver(chunk)));
    let dropped = false;
    socket.once('close', () => {
      dropped = true;
    });
    let failure: string | undefined;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure = describeSocketError(err, `${host}:${port}`);
    });
    socket.on('close', () => {
      const was = this.open_;
      this.open_ = false;
      this.comPortAccepted?.(false);
      if (!this.closing && was) this.emit('error', new Error(failure ?? 'connection closed by the server (ser2net or the remote host stopped, or the network went down)'));
      if (was) this.emit('close');
    });
    const droppedAtOnce = () => new DroppedAtOnce('the server closed the new connection at once', this.where);
    if (this.address.scheme === 'rfc2217') {
      try {
        await this.negotiate();
      } catch (e) {
        this.closing = true;
        socket.destroy();
        throw dropped ? droppedAtOnce() : e;
      }
    } else {
      // a raw port has no handshake: a connection that survives a short grace period was accepted
      await new Promise((r) => setTimeout(r, this.options.dropGraceMs ?? 150));
    }
    if (dropped || socket.destroyed) {
      this.closing = true;
      throw droppedAtOnce();
    }
    this.open_ = true;
    const pending = early;
    early = undefined;
    if (pending.length) setImmediate(() => this.emit('data', Buffer.concat(pending)));
  }

  private send(bytes: Buffer): void {
    this.socket?.write(bytes);
  }

  private async negotiate(): Promise<void> {
    const timeout = this.options.negotiateTimeoutMs ?? 3000;
    const accepted = new Promise<boolean>((resolve) => {
      this.comPortAccepted = resolve;
    });
    for (const o of [OPT_BINARY, OPT_SGA]) {
      this.ours.add(o);
      this.theirs.add(o);
    }
    this.send(Buffer.from([IAC, WILL, OPT_COM_PORT, IAC, WILL, OPT_BINARY, IAC, DO, OPT_BINARY, IAC, WILL, OPT_SGA, IAC, DO, OPT_SGA]));
    const ok = await withTimeout(accepted, timeout, () => new HilError(`no RFC 2217 answer within ${timeout} ms (is the port in telnet(rfc2217) mode? for a raw port use tcp://)`, this.where));
    if (!ok) {
      if (this.socket?.destroyed) throw new HilError('connection closed during RFC 2217 negotiation', this.where);
      throw new HilError('the server refused the RFC 2217 COM-PORT option (a plain telnet port? enable rfc2217 in ser2net, or use tcp://)', this.where);
    }
    await this.configure(this.options.baudRate);
  }

  /** Sets baud rate, 8 data bits, no parity, 1 stop bit, no flow control; checks the server's answers. */
  private async configure(baudRate: number): Promise<void> {
    await this.setBaudRate(baudRate);
    this.settings.dataBits = (await this.comPort(CPO.SET_DATASIZE, Buffer.from([8]), 'data size'))[0];
    this.settings.parity = (await this.comPort(CPO.SET_PARITY, Buffer.from([1]), 'parity'))[0];
    this.settings.stopBits = (await this.comPort(CPO.SET_STOPSIZE, Buffer.from([1]), 'stop size'))[0];
    this.settings.control = (await this.comPort(CPO.SET_CONTROL, Buffer.from([1]), 'flow control'))[0];
    if (this.settings.dataBits !== 8 || this.settings.parity !== 1 || this.settings.stopBits !== 1) {
      throw new HilError(`the server set ${this.settings.dataBits} data bits, parity ${this.settings.parity}, stop ${this.settings.stopBits} instead of 8N1`, this.where);
    }
  }

  /** Changes the remote port's baud rate (rfc2217 only); resolves with the rate the server confirmed. */
  async setBaudRate(baudRate: number): Promise<number> {
    if (this.address.scheme !== 'rfc2217') throw new HilError('a raw tcp:// port cannot change the baud rate (use rfc2217://)', this.where);
    const reply = await this.comPort(CPO.SET_BAUDRATE, u32(baudRate), 'baud rate');
    const actual = reply.length >= 4 ? reply.readUInt32BE(0) : -1;
    if (actual !== baudRate) throw new HilError(`asked for ${baudRate} baud, the server set ${actual}`, this.where);
    this.settings.baudRate = actual;
    return actual;
  }

  /** Sends one COM-PORT command and waits for the server's answer (code + 100). */
  private comPort(code: number, value: Buffer, what: string): Promise<Buffer> {
    const timeout = this.options.negotiateTimeoutMs ?? 3000;
    const answer = new Promise<Buffer>((resolve) => this.subWaiters.push({ code: code + SERVER_OFFSET, resolve }));
    this.send(comPortCommand(code, value));
    return withTimeout(answer, timeout, () => {
      this.subWaiters = this.subWaiters.filter((w) => w.code !== code + SERVER_OFFSET);
      return new HilError(`no RFC 2217 answer to set ${what} within ${timeout} ms`, this.where);
    });
  }

  private onOption(verb: number, option: number): void {
    if (option === OPT_COM_PORT && (verb === DO || verb === DONT)) {
      this.comPortState = verb === DO ? 'on' : 'refused';
      this.comPortAccepted?.(verb === DO);
      this.comPortAccepted = undefined;
      return;
    }
    // answer only what changes our state (RFC 854: no acknowledging loops)
    if (verb === DO) {
      if (!this.ours.has(option)) this.send(Buffer.from([IAC, WONT, option]));
    } else if (verb === DONT) {
      if (this.ours.delete(option)) this.send(Buffer.from([IAC, WONT, option]));
    } else if (verb === WILL) {
      if (!this.theirs.has(option)) this.send(Buffer.from([IAC, DONT, option]));
    } else if (verb === WONT) {
      if (this.theirs.delete(option)) this.send(Buffer.from([IAC, DONT, option]));
    }
  }

  private onSub(bytes: Buffer): void {
    if (bytes[0] !== OPT_COM_PORT || bytes.length < 2) return;
    const code = bytes[1];
    const value = bytes.subarray(2);
    const i = this.subWaiters.findIndex((w) => w.code === code);
    if (i >= 0) this.subWaiters.splice(i, 1)[0].resolve(value);
    // NOTIFY-LINESTATE / MODEMSTATE (106/107) and anything unasked: nothing to do
  }

  /** Whether the server accepted the COM-PORT option (rfc2217 only). */
  get comPortOption(): 'asked' | 'on' | 'refused' {
    return this.comPortState;
  }

  write(data: Buffer, callback?: (err: Error | null | undefined) => void): boolean {
    const socket = this.socket;
    if (!socket || !this.open_) {
      const err = new Error(`${this.where} is not connected`);
      if (callback) process.nextTick(() => callback(err));
      return false;
    }
    return socket.write(this.address.scheme === 'rfc2217' ? escapeIac(data) : data, (err) => callback?.(err));
  }

  drain(callback: (err: Error | null) => void): void {
    const socket = this.socket;
    if (!socket || !this.open_) return callback(new Error(`${this.where} is not connected`));
    if (!socket.writableNeedDrain) return callback(null);
    const onDrain = () => {
      socket.off('close', onClose);
      callback(null);
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      callback(new Error(`connection to ${this.where} closed`));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  }

  close(callback?: (err: Error | null) => void): void {
    const socket = this.socket;
    this.closing = true;
    if (!socket || socket.destroyed) {
      this.open_ = false;
      callback?.(null);
      return;
    }
    socket.once('close', () => callback?.(null));
    socket.end();
    // a peer that never closes its side must not hold us
    setTimeout(() => socket.destroy(), 500).unref();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(error()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
