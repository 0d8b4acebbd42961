/**
 * QEMU as a stand-in for a remote board: started halted with no image (-S, no -kernel) behind
 * its gdbstub on TCP (-gdb tcp:HOST:PORT), its UART on a pseudo-terminal. A rig reaches it as it
 * would a board behind OpenOCD / pyOCD / a J-Link GDB server: `flasher: { kind: gdb-remote }`
 * loads the firmware through the GDB port, and the UART can be served with ser2net.
 */
import { freeTcpPort } from '../link/ser2net.js';
import { startQemu } from './qemu-process.js';

export interface QemuGdbServer {
  host: string;
  gdbPort: number;
  /** the board's UART */
  pty: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startQemuGdbServer(machine: string, options: { host?: string; timeoutMs?: number } = {}): Promise<QemuGdbServer> {
  const host = options.host ?? '127.0.0.1';
  const gdbPort = await freeTcpPort(host);
  const args = ['-M', machine, '-nographic', '-monitor', 'none', '-serial', 'pty', '-icount', 'shift=0', '-gdb', `tcp:${host}:${gdbPort}`, '-S'];
  const qemu = await startQemu(args, `QEMU ${machine} gdbstub ${host}:${gdbPort}`, options.timeoutMs ?? 10000);
  return { host, gdbPort, pty: qemu.pty, pid: qemu.child.pid ?? -1, stop: qemu.stop };
}
