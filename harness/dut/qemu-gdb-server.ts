/**
 * QEMU as a stand-in for a remote board: started halted with no image (-S, no -kernel) behind
 * its gdbstub on TCP (-gdb tcp:HOST:PORT), its UART on a pseudo-terminal. A rig reaches it as it
 * would a board behind OpenOCD / pyOCD / a J-Link GDB server: `flasher: { kind: gdb-remote }`
 * loads the firmware through the GDB port, and the UART can be served with ser2net.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freeTcpPort } from '../link/ser2net.js';
import { HilError } from '../util/errors.js';
import { hasTool, requireTools } from '../util/tools.js';

export interface QemuGdbServer {
  host: string;
  gdbPort: number;
  /** the board's UART */
  pty: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startQemuGdbServer(machine: string, options: { host?: string; timeoutMs?: number } = {}): Promise<QemuGdbServer> {
  requireTools(['qemu-system-arm']);
  const host = options.host ?? '127.0.0.1';
  const gdbPort = await freeTcpPort(host);
  const args = ['-M', machine, '-nographic', '-monitor', 'none', '-serial', 'pty', '-icount', 'shift=0', '-gdb', `tcp:${host}:${gdbPort}`, '-S'];
  const [cmd, ...argv] = [...(hasTool('setpriv') ? ['setpriv', '--pdeathsig', 'KILL'] : []), 'qemu-system-arm', ...args];
  const child: ChildProcess = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const where = `QEMU ${machine} gdbstub ${host}:${gdbPort}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  };
  const timeoutMs = options.timeoutMs ?? 10000;
  const pty = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new HilError(`QEMU did not offer its serial port within ${timeoutMs} ms`, where)), timeoutMs);
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = /char device redirected to (\/dev\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new HilError(`QEMU exited with ${code}: ${text.trim().split('\n').pop() ?? ''}`, where));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return { host, gdbPort, pty, pid: child.pid ?? -1, stop };
}
