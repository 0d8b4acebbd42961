/**
 * A byte link to the device under test: bytes out, chunks of bytes in, as they arrive. It knows
 * nothing of frames or lines: each device protocol parses its own (protocol/). Implemented by a
 * serial port (real board, QEMU pty) and by test fakes.
 */
export interface Link {
  /** Human-readable description for errors, e.g. "/dev/pts/3 (QEMU serial0)". */
  readonly description: string;
  write(bytes: Buffer): Promise<void>;
  /** Registers a consumer of incoming bytes (any chunking; every handler sees every byte). */
  onData(handler: (chunk: Buffer) => void): void;
  /** Registers a handler for a link that dies (device unplugged, QEMU exited). */
  onClose(handler: (reason: string) => void): void;
  /** Counts of bytes moved, for throughput reports. */
  readonly stats: { bytesOut: number; bytesIn: number };
  close(): Promise<void>;
}
