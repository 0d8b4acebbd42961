/**
 * One qemu-system-arm process with its UART on a pseudo-terminal: started so that it dies with
 * the harness (parent-death signal), ready once QEMU names the pty, stopped with SIGTERM then
 * SIGKILL. Shared by the QEMU DUT and the QEMU GDB-server stand-in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { HilError } from '../util/errors.js';
import { hasTool, requireTools, stopChild } from '../util/tools.js';

export interface QemuProcess {
  child: ChildProcess;
  /** the UART's pseudo-terminal */
  pty: string;
  /** "exited with <code or signal>" once the process has ended */
  exited(): string | undefined;
  /** Stops the process (idempotent). */
  stop(): Promise<void>;
}

/** Starts QEMU with `args` (which must include `-serial pty`); `where` names it in errors. */
export async function startQemu(args: string[], where: string, timeoutMs: number): Promise<QemuProcess> {
  requireTools(['qemu-system-arm']);
  // the emulator dies with the harness, even a SIGKILLed one (util-linux setpriv)
  const [cmd, ...argv] = [...(hasTool('setpriv') ? ['setpriv', '--pdeathsig', 'KILL'] : []), 'qemu-system-arm', ...args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  const stop = () => stopChild(child);
  try {
    const pty = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new HilError(`QEMU did not offer its serial port within ${timeoutMs} ms`, where)), timeoutMs);
      const onData = (d: Buffer) => {
        text = (text + d.toString()).slice(-2000);
        const m = /char device redirected to (\/dev\/\S+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new HilError(`cannot start qemu-system-arm: ${err.message}`, where));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const last = text.trim().split('\n').pop() ?? '';
        reject(new HilError(`QEMU exited with ${signal ?? code} before the board was up${last ? `: ${last}` : ''}`, where));
      });
    });
    return { child, pty, exited: () => exited, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
