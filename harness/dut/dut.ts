import type { DeviceClock, FigureSource, TickModel } from '../capabilities/figures.js';
import type { Link } from '../capabilities/link.js';
import type { WindowSource } from '../estimate/plugin.js';
import type { ExtImage, ImageFormat } from '../firmware/build.js';

/** A prebuilt image that is not an ELF: how to place it (firmware/prebuilt.ts). */
export interface ImageLayout {
  format: ImageFormat;
  /** .bin: where it goes */
  loadAddress?: number;
}

/** How a DUT is started. */
export interface DutOptions {
  /**
   * Count instruction-class windows (the QEMU cycle plugin, a 5x slowdown of the emulator): only
   * for experiments that read them. Default true.
   */
  instructionWindows?: boolean;
  /**
   * Where the harness opens the device's serial port, given the port the device offers: e.g. a
   * fault-injecting proxy in front of it (tests, benchmarks). Default: the port itself.
   */
  route?: (path: string) => Promise<string>;
}

/**
 * One device under test, emulated or real. Built by createDut() from a rig. Besides running
 * firmware it says how its figures are made, so no code outside dut/ asks which kind it is.
 */
export interface Dut {
  readonly description: string;
  /** `measured` (a cycle counter, an instrument) or `emulated-estimate` (stated cost models) */
  readonly figures: FigureSource;
  /** How the device timer's ticks become instructions, cycles and time. */
  tickModel(clock: DeviceClock): TickModel;
  /**
   * Instruction-class windows of each marker region, where the DUT counts them (QEMU with the
   * rig's class model); undefined otherwise. Valid after start().
   */
  readonly windows?: WindowSource;
  /** True when this DUT can count instruction-class windows (start it with DutOptions.instructionWindows). */
  readonly canCountInstructions: boolean;
  /**
   * Bytes of device memory the DUT can fill with data (test inputs) before the firmware starts;
   * 0 when it cannot. preload() names the file for the next start().
   */
  preloadCapacity(): number;
  /** Why preloadCapacity() is 0 although the board has a preload region (a flasher that cannot write it); one line. */
  preloadUnavailable?(): string | undefined;
  /** Emulated boards: the file the loader puts in the preload region at the next start(). */
  preload?(file: string | undefined): void;
  /**
   * Boards whose preload region persists (external flash): writes the image there through the
   * flasher and restarts the firmware. The session calls it only when the device's CRC of the
   * region differs from the image's, so an image is written once and reused by later runs.
   */
  writePreload?(file: string): Promise<void>;
  /** What run.json records about the device (kind, command line, probe...). */
  describe(): Record<string, unknown>;
  /**
   * Puts the firmware on the device (for QEMU: remembers the ELF it boots) and, for the int8-ext
   * baseline, the model image into the board's external storage. `layout` places a prebuilt
   * image that is not an ELF (a .bin at its load address, an Intel HEX file).
   */
  flash(elfPath: string, extImage?: ExtImage, layout?: ImageLayout): Promise<void>;
  /** Powers up / boots the device with the flashed firmware. */
  start(): Promise<void>;
  /** Restarts the firmware from its reset vector. */
  reset(): Promise<void>;
  /** The link to the running firmware. */
  connect(): Promise<Link>;
  /** Stops the device and releases every host resource (idempotent). */
  close(): Promise<void>;
}
