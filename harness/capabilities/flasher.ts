/** Puts a firmware image on a device. The QEMU flasher "flashes" by loading the ELF at boot. */
export interface Flasher {
  readonly kind: string;
  flash(elfPath: string): Promise<void>;
}
