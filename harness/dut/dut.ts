import type { Link } from '../capabilities/link.js';
import type { ExtImage } from '../firmware/build.js';

/** One device under test, emulated or real. Built by createDut() from a rig. */
export interface Dut {
  readonly description: string;
  /**
   * Puts the firmware on the device (for QEMU: remembers the ELF it boots) and, for the int8-ext
   * baseline, the model image into the board's external storage.
   */
  flash(elfPath: string, extImage?: ExtImage): Promise<void>;
  /** Powers up / boots the device with the flashed firmware. */
  start(): Promise<void>;
  /** Restarts the firmware from its reset vector. */
  reset(): Promise<void>;
  /** The link to the running firmware. */
  connect(): Promise<Link>;
  /** Stops the device and releases every host resource (idempotent). */
  close(): Promise<void>;
}
