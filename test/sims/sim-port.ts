/** The simulator's end of the pty: raw bytes in, paced writes out. */
import { SerialPort } from 'serialport';

export class SimPort {
  private port?: SerialPort;
  constructor(private readonly path: string, private readonly baudRate = 115200) {}

  async open(onData: (chunk: Buffer) => void): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', onData);
    port.on('error', () => undefined); // the driver side closing is not the simulator's problem
    this.port = port;
  }

  /** Writes and waits until the bytes left (back-pressure keeps a fast stream honest). */
  write(data: Buffer | string): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) return Promise.resolve();
    return new Promise<void>((resolve) => {
      port.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
      port.drain(() => resolve());
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

/** Line splitter for text-protocol simulators. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const parts = (partial + chunk.toString('latin1')).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      const line = p.replace(/\r/g, '').trim();
      if (line) onLine(line);
    }
  };
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
