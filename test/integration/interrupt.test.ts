/** Ctrl-C during a run stops QEMU, exits non-zero, and keeps what was written. */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../harness/util/paths.js';

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Ctrl-C during a run', function () {
  this.timeout(120000);

  it('stops QEMU, exits 130 and marks run.json interrupted with the rows so far', async () => {
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-int-'));
    const cli = spawn(process.execPath, [path.join(ROOT, 'dist', 'harness', 'cli.js'), 'run', '--models', 'fmnist_cnn', '--experiments', 'accuracy', '--results', results], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '1' },
    });
    let stderr = '';
    // Wait until samples are streaming (first progress line), then interrupt.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress: ${stderr}`)), 90000);
      cli.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/accuracy fmnist_cnn: \d+\/\d+/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const qemu = childPids(cli.pid ?? -1);
    expect(qemu.length, 'QEMU child').to.be.greaterThan(0);
    cli.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => cli.on('exit', (c) => resolve(c)));
    expect(code).to.equal(130);
    await new Promise((r) => setTimeout(r, 500));
    for (const pid of qemu) expect(alive(pid), `QEMU ${pid} still running`).to.equal(false);
    const [run] = fs.readdirSync(results);
    const runJson = JSON.parse(fs.readFileSync(path.join(results, run, 'run.json'), 'utf8')) as { status: string };
    expect(runJson.status).to.equal('interrupted');
    expect(fs.readFileSync(path.join(results, run, 'accuracy.csv'), 'utf8')).to.match(/^run_id,/);
    expect(stderr).to.not.match(/\n\s+at /);
  });
});
