import type { BoardDutSpec, Rig } from '../rig/rig.js';
import { BoardDut } from './board.js';
import type { Dut } from './dut.js';
import { QemuDut } from './qemu.js';

/** The one place that turns a rig description into a device adapter. */
export function createDut(rig: Rig): Dut {
  switch (rig.dut.kind) {
    case 'qemu':
      return new QemuDut(rig);
    case 'board':
      return new BoardDut(rig as Rig & { dut: BoardDutSpec });
  }
}
