import type { Link } from '../capabilities/link.js';
import { acquireRigLock, type RigLock } from '../util/rig-lock.js';
import type { BoardDutSpec, Rig } from '../rig/rig.js';
import { BoardDut } from './board.js';
import type { Dut, DutOptions } from './dut.js';
import { QemuDut } from './qemu.js';

/** The one place that turns a rig description into a device adapter. */
export function createDut(rig: Rig, options: DutOptions = {}): Dut {
  switch (rig.dut.kind) {
    case 'qemu':
      return new QemuDut(rig, options);
    case 'board':
      return new BoardDut(rig as Rig & { dut: BoardDutSpec });
  }
}

/**
 * Boots (or flashes and resets) `elf` on the rig's device and opens its byte link, for callers
 * that speak to the firmware themselves (another protocol's driver, a benchmark). Close the DUT.
 */
export async function bootDut(rig: Rig, elf: string): Promise<{ dut: Dut; link: Link }> {
  const dut = createDut(rig);
  try {
    await dut.flash(elf);
    await dut.start();
    return { dut, link: await dut.connect() };
  } catch (e) {
    await dut.close();
    throw e;
  }
}

/**
 * Takes the rig's lock when its device is exclusive (a real board, local or remote: one job at a
 * time); an emulated rig starts an emulator of its own for each session and needs none.
 */
export function lockRig(rig: Rig): RigLock | undefined {
  return ownDevicePerSession(rig) ? undefined : acquireRigLock(rig.name);
}

/** Whether every session of the rig starts a device of its own (an emulator): no lock, and N copies can run at once. */
export function ownDevicePerSession(rig: Rig): boolean {
  return rig.dut.kind === 'qemu';
}
