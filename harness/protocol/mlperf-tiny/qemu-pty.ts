/**
 * Boots an ELF on a QEMU rig and hands back its UART pseudo-terminal, for MLPerf Tiny firmware:
 * QemuDut's link speaks our framed protocol, this one leaves the bytes to MlperfTinyClient.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { QemuDut } from '../../dut/qemu.js';
import type { Rig } from '../../rig/rig.js';
import { onCleanup } from '../../util/cleanup.js';
import { HilError } from '../../util/errors.js';
import { requireTools } from '../../util/tools.js';

export interface QemuPty {
  pty: string;
  /** the machine, for messages */
  description: string;
  stop(): Promise<void>;
}

export async function bootQemuPty(rig: Rig, elf: string): Promise<QemuPty> {
  requireTools(['qemu-system-arm']);
  // the rig's command line without the cycle plugin (it only counts marker windows)
  const dut = new QemuDut({ ...rig, estimate: undefined });
  const child: ChildProcess = spawn('qemu-system-arm', dut.args(elf), { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async (): Promise<void> => {
    removeCleanup();
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
  const removeCleanup = onCleanup(stop);
  const timeoutMs = rig.dut.boot_timeout_ms ?? 10000;
  try {
    const pty = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new HilError(`QEMU did not offer its serial port within ${timeoutMs} ms`, dut.description)), timeoutMs);
      const onData = (d: Buffer): void => {
        text += d.toString();
        const m = /char device redirected to (\/dev\/\S+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (err) => reject(new HilError(`cannot start qemu-system-arm: ${err.message}`, dut.description)));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const last = text.trim().split('\n').pop() ?? '';
        reject(new HilError(`QEMU exited with ${signal ?? code} before the board was up${last ? `: ${last}` : ''}`, dut.description));
      });
    });
    return { pty, description: dut.description, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
