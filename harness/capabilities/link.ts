/**
 * A byte link to the device under test that delivers whole frames (the bytes between two 0x00
 * delimiters). Implemented by a serial port (real board, QEMU pty) and by test fakes.
 */
export interface Link {
  /** Human-readable description for errors, e.g. "/dev/pts/3 (QEMU serial0)". */
  readonly description: string;
  write(bytes: Buffer): Promise<void>;
  /** Registers the consumer of incoming frames (one call per frame, delimiter removed). */
  onFrame(handler: (frame: Buffer) => void): void;
  /** Registers a handler for a link that dies (device unplugged, QEMU exited). */
  onClose(handler: (reason: string) => void): void;
  /** Counts of bytes moved, for throughput reports. */
  readonly stats: { bytesOut: number; bytesIn: number };
  close(): Promise<void>;
}
