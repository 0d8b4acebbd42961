/**
 * One job per rig: the lock file refuses a second process with one line naming the holder, is
 * released on Ctrl-C, and is taken over when its holder died (SIGKILL) or its pid was reused.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HilError } from '../../harness/util/errors.js';
import { ROOT } from '../../harness/util/paths.js';
import { acquireRigLock, processStart, type LockHolder } from '../../harness/util/rig-lock.js';

const LOCK_JS = path.join(ROOT, 'dist', 'harness', 'util', 'rig-lock.js');

/** Another process that takes the rig's lock and holds it until killed. */
async function holder(dir: string, rig: string): Promise<ChildProcess> {
  const script = `import { acquireRigLock } from ${JSON.stringify(LOCK_JS)};
acquireRigLock(${JSON.stringify(rig)}, { dir: ${JSON.stringify(dir)}, command: 'hil run --rig ${rig}' });
console.log('locked');
setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) resolve();
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`holder exited ${code}: ${out}`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

function refusal(rig: string, dir: string): HilError {
  try {
    acquireRigLock(rig, { dir }).release();
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  throw new Error('expected the lock to be refused');
}

describe('rig lock (one job per rig)', function () {
  this.timeout(20000);
  let dir = '';
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locks-'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await exited(c);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second process with one line naming the holder; Ctrl-C releases the lock', async () => {
    const child = await holder(dir, 'bench-a');
    children.push(child);
    const e = refusal('bench-a', dir);
    expect(e.toLine()).to.match(new RegExp(`^rig bench-a: in use by pid ${child.pid} on host ${os.hostname()} since \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z \\(hil run --rig bench-a\\); one job per rig at a time$`));
    // another rig is free
    acquireRigLock('bench-b', { dir }).release();
    child.kill('SIGINT');
    await exited(child);
    expect(child.exitCode).to.equal(130);
    expect(fs.existsSync(path.join(dir, 'bench-a.lock'))).to.equal(false);
    const lock = acquireRigLock('bench-a', { dir });
    lock.release();
  });

  it('takes over the lock of a holder that was killed (SIGKILL: no cleanup ran)', async () => {
    const child = await holder(dir, 'bench-a');
    const pid = child.pid;
    child.kill('SIGKILL');
    await exited(child);
    const file = path.join(dir, 'bench-a.lock');
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder).pid).to.equal(pid); // left behind
    const lock = acquireRigLock('bench-a', { dir });
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder).pid).to.equal(process.pid);
    lock.release();
    expect(fs.existsSync(file)).to.equal(false);
  });

  it('a reused pid does not hold the lock; a holder on another host does', () => {
    const file = path.join(dir, 'bench-a.lock');
    const base: LockHolder = { rig: 'bench-a', pid: process.ppid, host: os.hostname(), started: '2026-01-01T00:00:00.000Z', command: 'hil run' };
    // the parent process is alive, but it is not the process that took the lock
    fs.writeFileSync(file, JSON.stringify({ ...base, proc_start: '1' }));
    expect(processStart(process.ppid)).to.not.equal(undefined);
    acquireRigLock('bench-a', { dir }).release();
    fs.writeFileSync(file, JSON.stringify({ ...base, proc_start: processStart(process.ppid) }));
    expect(refusal('bench-a', dir).message).to.contain(`in use by pid ${process.ppid}`);
    fs.writeFileSync(file, JSON.stringify({ ...base, host: 'lab-pi-2', pid: 999999 }));
    expect(refusal('bench-a', dir).message).to.contain(`(another host: if that run is gone, delete ${file})`);
  });

  it('hil run on a rig another run holds: one line naming the holder, exit code 2, lock kept', async () => {
    const rig = 'nucleo-l4r5zi-ppk2';
    const child = await holder(dir, rig);
    children.push(child);
    const cli = spawn(process.execPath, [path.join(ROOT, 'dist', 'harness', 'cli.js'), 'run', '--rig', rig, '--experiments', 'accuracy'], {
      env: { ...process.env, YONO_LOCK_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    cli.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => cli.once('exit', (c) => r(c)));
    expect(code).to.equal(2);
    expect(err.trim().split('\n')).to.have.length(1);
    expect(err.trim()).to.match(new RegExp(`^error: rig ${rig}: in use by pid ${child.pid} on host .* \\(hil run --rig ${rig}\\); one job per rig at a time$`));
    expect((JSON.parse(fs.readFileSync(path.join(dir, `${rig}.lock`), 'utf8')) as LockHolder).pid).to.equal(child.pid);
  });

  it('is re-entrant within a process: released when the last holder releases', () => {
    const file = path.join(dir, 'bench-a.lock');
    const run = acquireRigLock('bench-a', { dir });
    const session = acquireRigLock('bench-a', { dir });
    session.release();
    session.release(); // twice is harmless
    expect(fs.existsSync(file)).to.equal(true);
    run.release();
    expect(fs.existsSync(file)).to.equal(false);
  });
});
