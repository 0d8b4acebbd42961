/** Puts a firmware image on a device. The QEMU flasher "flashes" by loading the ELF at boot. */
export interface Flasher {
  readonly kind: string;
  /** Writes the image and verifies it where the tool can (read-back or the tool's verify step). */
  flash(elfPath: string): Promise<void>;
  /** Restarts the target from its reset vector without re-flashing; absent when the tool cannot. */
  reset?(): Promise<void>;
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
