/** Host tools the harness drives, checked up front so a missing one is one clear line. */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { HilError } from './errors.js';

const DEBIAN_PACKAGE: Record<string, string> = {
  'arm-none-eabi-gcc': 'gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'arm-none-eabi-size': 'binutils-arm-none-eabi',
  'qemu-system-arm': 'qemu-system-arm',
  make: 'make',
  ser2net: 'ser2net',
};

export function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function requireTools(tools: string[]): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => DEBIAN_PACKAGE[t] ?? t))].join(' ');
    throw new HilError(`not installed: ${missing.join(', ')} (install with: apt-get install ${pkgs}, or run 'npm run setup' as root)`, 'toolchain');
  }
}

/** Stops a child process: SIGTERM, then SIGKILL after 2 s; resolves once it has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
