import type { Link } from '../capabilities/link.js';
import { HilError } from '../util/errors.js';
import { defaultPortFactory, type PortFactory, type RawPort } from './port.js';

export interface SerialLinkOptions {
  path: string;
  baudRate: number;
  /** Appended to the path in messages, e.g. "QEMU serial0". */
  label?: string;
  /** Opens the port (default: the serialport package); tests and proxies hand in their own. */
  openPort?: PortFactory;
  /** a network port: keep trying this long (ms) while the server drops new connections at once (the boot timeout) */
  retryForMs?: number;
}

/** A serial port (real UART bridge or a QEMU pseudo-terminal) as a plain byte stream. */
export class SerialLink implements Link {
  readonly description: string;
  readonly stats = { bytesOut: 0, bytesIn: 0 };
  private closeHandlers: ((reason: string) => void)[] = [];
  private dataHandlers: ((chunk: Buffer) => void)[] = [];
  private closing = false;
  /** the first reason the port died; handlers hear about it once */
  private died?: string;

  private constructor(private readonly port: RawPort, description: string) {
    this.description = description;
    port.on('data', (chunk: Buffer) => {
      this.stats.bytesIn += chunk.length;
      for (const h of this.dataHandlers) h(chunk);
    });
    port.on('close', () => {
      if (!this.closing) this.die(`${this.description} closed`);
    });
    port.on('error', (err: Error) => {
      if (!this.closing) this.die(`${this.description}: ${err.message}`);
    });
  }

  private die(reason: string): void {
    if (this.died !== undefined) return;
    this.died = reason;
    for (const h of this.closeHandlers) h(reason);
  }

  static async open(options: SerialLinkOptions): Promise<SerialLink> {
    const description = options.label ? `${options.path} (${options.label})` : options.path;
    const port = (options.openPort ?? defaultPortFactory)({ path: options.path, baudRate: options.baudRate, retryForMs: options.retryForMs });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => {
        if (!err) return resolve();
        // a network port's errors already name the server and say what failed
        reject(err instanceof HilError ? err : new HilError(`cannot open serial port: ${err.message}`, description));
      }),
    );
    return new SerialLink(port, description);
  }

  async write(bytes: Buffer): Promise<void> {
    this.stats.bytesOut += bytes.length;
    await new Promise<void>((resolve, reject) => {
      this.port.write(bytes, (err) => (err ? reject(new HilError(`write failed: ${err.message}`, this.description)) : undefined));
      this.port.drain((err) => (err ? reject(new HilError(`write failed: ${err.message}`, this.description)) : resolve()));
    });
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.dataHandlers.push(handler);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler);
    if (this.died !== undefined) handler(this.died);
  }

  async close(): Promise<void> {
    if (this.closing || !this.port.isOpen) return;
    this.closing = true;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
