/** Runs a flash tool as a child process with an argument array (never through a shell). */
import { spawn } from 'node:child_process';
import { HilError } from '../util/errors.js';

export interface ToolResult {
  code: number;
  output: string;
}

export type ToolRunner = (binary: string, args: string[], timeoutMs: number) => Promise<ToolResult>;

/** Where each tool comes from, for the "not installed" line. */
export const TOOL_SOURCE: Record<string, string> = {
  openocd: 'apt-get install openocd',
  'st-flash': 'apt-get install stlink-tools',
  'dfu-util': 'apt-get install dfu-util',
  pyocd: 'pip install pyocd',
  'probe-rs': 'cargo install probe-rs-tools (or the installer at probe.rs)',
};

export const spawnTool: ToolRunner = (binary, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const name = binary.split('/').pop() ?? binary;
      if (err.code === 'ENOENT') reject(new HilError(`not installed: ${binary} (install with: ${TOOL_SOURCE[name] ?? name})`, 'flasher'));
      else reject(new HilError(`cannot run ${binary}: ${err.message}`, 'flasher'));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output: signal === 'SIGKILL' ? `${output}\n(killed after ${timeoutMs} ms)` : output });
    });
  });
