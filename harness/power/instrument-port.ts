/**
 * The serial port under every power-monitor driver: open/write/close with HilErrors that name
 * the instrument, the port and the last command, a byte tap (PPK2) and a line splitter with
 * bounded waits (LPM01A, INA226 bridge). Ports come from an injectable factory (link/port.ts) so
 * tests can hand in a pty path or a stream of their own.
 */
import { defaultPortFactory, type PortFactory, type PortOptions, type RawPort } from '../link/port.js';
import { HilError } from '../util/errors.js';

interface LineWaiter {
  match: (line: string) => boolean;
  resolve: (line: string) => void;
}

export type { PortFactory };

export class InstrumentPort {
  /** "<instrument> <path>", the `where` of every error about this port */
  readonly where: string;
  lastCommand = '(none)';
  private port?: RawPort;
  private byteHandler?: (chunk: Buffer) => void;
  private lineHandler?: (line: string) => void;
  private partial = '';
  private waiters: LineWaiter[] = [];
  /** the last unclaimed lines, for follow-ups that may arrive in the same chunk as the line before */
  private recent: string[] = [];
  private failure?: string;
  private closing = false;
  /** time of the last byte received (Date.now()), for stall detection */
  lastRx = 0;

  constructor(
    readonly instrument: string,
    readonly options: PortOptions,
    private readonly factory: PortFactory = defaultPortFactory,
  ) {
    this.where = `${instrument} ${options.path}`;
  }

  async open(): Promise<void> {
    const port = this.factory(this.options);
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new HilError(`cannot open serial port: ${err.message}`, this.where)) : resolve())),
    );
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('close', () => {
      if (!this.closing) this.failure = 'port closed (instrument unplugged?)';
    });
    port.on('error', (err: Error) => {
      this.failure = err.message;
    });
    this.port = port;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  /** Raw bytes as they arrive (binary protocols). */
  onBytes(handler: (chunk: Buffer) => void): void {
    this.byteHandler = handler;
  }

  /** Lines (CR/LF stripped) that no waiter claimed. */
  onLine(handler: (line: string) => void): void {
    this.lineHandler = handler;
  }

  async write(bytes: Buffer | string, label?: string): Promise<void> {
    const port = this.port;
    if (!port) throw new HilError('port is not open', this.where);
    this.lastCommand = label ?? (typeof bytes === 'string' ? bytes.trim() : bytes.toString('hex'));
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
    await new Promise<void>((resolve, reject) => {
      port.write(data, (err) => (err ? reject(new HilError(`write of "${this.lastCommand}" failed: ${err.message}`, this.where)) : undefined));
      port.drain((err) => (err ? reject(new HilError(`write of "${this.lastCommand}" failed: ${err.message}`, this.where)) : resolve()));
    });
  }

  /**
   * Resolves with the first line matching `match` (waiters see lines before the line handler).
   * Rejects after `timeoutMs` with an error naming the port and the last command: a silent
   * instrument never hangs the harness.
   */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, what = 'an answer', options: { recent?: boolean } = {}): Promise<string> {
    if (options.recent) {
      const i = this.recent.findIndex(match);
      if (i >= 0) return Promise.resolve(this.recent.splice(i, 1)[0]);
    }
    return new Promise<string>((resolve, reject) => {
      const waiter: LineWaiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(this.silentError(what, timeoutMs));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Waits until no byte has arrived for `quietMs` (at most `maxMs`): drains a stopping stream. */
  async waitQuiet(quietMs: number, maxMs: number): Promise<void> {
    const start = Date.now();
    while (Date.now() - start < maxMs && Date.now() - this.lastRx < quietMs) {
      await new Promise((r) => setTimeout(r, Math.min(quietMs, 10)));
    }
  }

  silentError(what: string, timeoutMs: number): HilError {
    const why = this.failure ? ` (${this.failure})` : '';
    return new HilError(`no ${what} within ${timeoutMs} ms after "${this.lastCommand}"${why}; is the instrument connected and powered?`, this.where);
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!port || this.closing) return;
    this.closing = true;
    for (const w of this.waiters) w.resolve(''); // nobody waits on a closed port
    this.waiters = [];
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    this.lastRx = Date.now();
    if (this.byteHandler) {
      this.byteHandler(chunk);
      return;
    }
    // latin1 keeps any stray byte value intact and one char per byte
    const text = this.partial + chunk.toString('latin1');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const raw of parts) {
      const line = raw.replace(/\r/g, '');
      if (line.length === 0) continue;
      const i = this.waiters.findIndex((w) => w.match(line));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w.resolve(line);
      } else {
        this.recent.push(line);
        if (this.recent.length > 16) this.recent.shift();
        this.lineHandler?.(line);
      }
    }
  }
}
