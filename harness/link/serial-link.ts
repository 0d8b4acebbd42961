import { SerialPort } from 'serialport';
import { ReadlineParser } from '@serialport/parser-readline';
import type { Link } from '../capabilities/link.js';
import { HilError } from '../util/errors.js';

export interface SerialLinkOptions {
  path: string;
  baudRate: number;
  /** Appended to the path in messages, e.g. "QEMU serial0". */
  label?: string;
}

/**
 * A serial port (real UART bridge or a QEMU pseudo-terminal) framed by 0x00 delimiters.
 * The readline parser splits on 0x00; latin1 keeps every byte value intact through the string.
 */
export class SerialLink implements Link {
  readonly description: string;
  readonly stats = { bytesOut: 0, bytesIn: 0 };
  private closeHandlers: ((reason: string) => void)[] = [];
  private closing = false;

  private constructor(private readonly port: SerialPort, description: string) {
    this.description = description;
    port.on('close', () => {
      if (!this.closing) for (const h of this.closeHandlers) h(`${this.description} closed`);
    });
    port.on('error', (err: Error) => {
      for (const h of this.closeHandlers) h(`${this.description}: ${err.message}`);
    });
  }

  static async open(options: SerialLinkOptions): Promise<SerialLink> {
    const description = options.label ? `${options.path} (${options.label})` : options.path;
    const port = new SerialPort({ path: options.path, baudRate: options.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new HilError(`cannot open serial port: ${err.message}`, description)) : resolve())),
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

  onFrame(handler: (frame: Buffer) => void): void {
    const parser = this.port.pipe(new ReadlineParser({ delimiter: Buffer.from([0]), encoding: 'latin1', includeDelimiter: false }));
    parser.on('data', (line: string) => {
      const frame = Buffer.from(line, 'latin1');
      this.stats.bytesIn += frame.length + 1;
      handler(frame);
    });
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler);
  }

  async close(): Promise<void> {
    if (this.closing || !this.port.isOpen) return;
    this.closing = true;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
