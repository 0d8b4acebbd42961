/** Puts a firmware image on a device. The QEMU flasher "flashes" by loading the ELF at boot. */
export interface Flasher {
  readonly kind: string;
  /** Writes the image and verifies it where the tool can (read-back or the tool's verify step). */
  flash(elfPath: string): Promise<void>;
  /** Restarts the target from its reset vector without re-flashing; absent when the tool cannot. */
  reset?(): Promise<void>;
  /**
   * Writes a raw image into the board's external flash (a QSPI NOR) at its memory-mapped
   * `address`, then lets the firmware run again. Absent when the tool cannot.
   */
  writeExternal?(file: string, address: number): Promise<void>;
  /** Why writeExternal cannot work with this rig (one line), or undefined when it can. */
  externalFlashProblem?(): string | undefined;
  /** Releases connections the flasher keeps open (GDB remote). */
  close?(): Promise<void>;
}

/** The debug probe a flasher drives, as the rig names it (and discovery may complete). */
export interface ProbeRef {
  kind: 'stlink' | 'cmsis-dap' | 'jlink';
  usb_serial?: string;
  vendorId?: number;
  productId?: number;
}
