/** A serial port (or a QEMU pseudo-terminal) as the plain ByteStream the MLPerf Tiny client reads. */
import { SerialPort } from 'serialport';
import { HilError } from '../../util/errors.js';
import type { ByteStream } from './client.js';

export interface SerialByteStream extends ByteStream {
  close(): Promise<void>;
}

export async function openSerialByteStream(options: { path: string; baudRate: number; label?: string }): Promise<SerialByteStream> {
  const description = options.label ? `${options.path} (${options.label})` : options.path;
  // serialport configures the tty raw (no echo, no line editing, no CR/NL translation)
  const port = new SerialPort({ path: options.path, baudRate: options.baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(new HilError(`cannot open serial port: ${err.message}`, description)) : resolve())),
  );
  let closing = false;
  const closeHandlers: ((reason: string) => void)[] = [];
  port.on('close', () => {
    if (!closing) for (const h of closeHandlers) h(`${description} closed`);
  });
  port.on('error', (err: Error) => {
    for (const h of closeHandlers) h(`${description}: ${err.message}`);
  });
  return {
    description,
    async write(bytes: Buffer): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        port.write(bytes, (err) => (err ? reject(new HilError(`write failed: ${err.message}`, description)) : undefined));
        port.drain((err) => (err ? reject(new HilError(`write failed: ${err.message}`, description)) : resolve()));
      });
    },
    onData(handler: (chunk: Buffer) => void): void {
      port.on('data', handler);
    },
    onClose(handler: (reason: string) => void): void {
      closeHandlers.push(handler);
    },
    async close(): Promise<void> {
      if (closing || !port.isOpen) return;
      closing = true;
      await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
