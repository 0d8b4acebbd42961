/**
 * One job per rig at a time: a lock file per rig, `<lock dir>/<rig>.lock`, created atomically
 * (O_EXCL) and holding the holder's pid, host, process start time, start date and command line.
 * A lock whose holder is gone (no such pid on this host, or the pid now belongs to another
 * process) is taken over, so a crashed or SIGKILLed run never holds a rig for ever. A live
 * holder gets the second run one clear line naming it. Released on close, on exit, on failure
 * and on Ctrl-C (util/cleanup.ts). Re-entrant inside one process (a run and its sessions).
 *
 * The lock directory is $YONO_LOCK_DIR, or yono-hil-locks under the OS temp directory: shared by
 * every checkout and user of this machine (the directory is made world-writable, sticky).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import { HilError } from './errors.js';

export interface LockHolder {
  rig: string;
  pid: number;
  host: string;
  /** the holder's process start time (/proc/<pid>/stat field 22), to tell a reused pid apart */
  proc_start?: string;
  started: string;
  command: string;
}

export interface RigLock {
  readonly rig: string;
  readonly file: string;
  release(): void;
}

export function lockDir(): string {
  return process.env.YONO_LOCK_DIR ?? path.join(os.tmpdir(), 'yono-hil-locks');
}

/** Start time of a process in clock ticks since boot (Linux), or undefined where unknown. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the holder no longer holds the rig, or undefined while it does (or this host cannot tell). */
export function staleReason(holder: LockHolder): string | undefined {
  if (holder.host !== os.hostname()) return undefined;
  if (!pidAlive(holder.pid)) return `pid ${holder.pid} is gone`;
  const start = processStart(holder.pid);
  if (holder.proc_start && start && start !== holder.proc_start) return `pid ${holder.pid} is another process now`;
  return undefined;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on host ${h.host} since ${h.started} (${h.command})`;
}

const held = new Map<string, { count: number; file: string; removeCleanup: () => void }>();
let exitHook = false;

function safeName(rig: string): string {
  return rig.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The live holder of a rig's lock, if any (read only: doctor asks before it touches a rig). */
export function rigLockHolder(rig: string, options: { dir?: string } = {}): LockHolder | undefined {
  const file = path.join(options.dir ?? lockDir(), `${safeName(rig)}.lock`);
  const h = readHolder(file);
  return h && !staleReason(h) ? h : undefined;
}

/** Takes the rig's lock or throws one HilError line naming the holder. */
export function acquireRigLock(rig: string, options: { dir?: string; command?: string } = {}): RigLock {
  const dir = options.dir ?? lockDir();
  const file = path.join(dir, `${safeName(rig)}.lock`);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return handle(rig, file);
  }
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.chmodSync(dir, 0o1777);
    } catch {
      // another user's directory: fine as it is
    }
  }
  const me: LockHolder = {
    rig,
    pid: process.pid,
    host: os.hostname(),
    proc_start: processStart(process.pid),
    started: new Date().toISOString(),
    command: options.command ?? commandLine(),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(me) + '\n');
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new HilError(`cannot create the lock file: ${(e as Error).message}`, file);
    }
    const holder = readHolder(file);
    if (holder === undefined) {
      // being written this instant, or left half-written by a crash: give it a moment
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 2000 && attempt < 40) {
        sleepSync(50);
        continue;
      }
    } else if (!staleReason(holder)) {
      const elsewhere = holder.host === os.hostname() ? '' : ` (another host: if that run is gone, delete ${file})`;
      throw new HilError(`in use by ${describeHolder(holder)}${elsewhere}; one job per rig at a time`, `rig ${rig}`);
    }
    if (attempt >= 40) throw new HilError('cannot take over the stale lock (another process keeps racing for it)', file);
    takeOver(file, holder);
  }
  const removeCleanup = onCleanup(() => release(file));
  held.set(file, { count: 1, file, removeCleanup });
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const f of [...held.keys()]) release(f, true);
    });
  }
  return handle(rig, file);
}

/** Removes a stale lock, guarded so that of two processes seeing it stale only one removes it. */
function takeOver(file: string, stale: LockHolder | undefined): void {
  const guard = `${file}.takeover`;
  try {
    fs.writeFileSync(guard, `${process.pid}\n`, { flag: 'wx' });
  } catch {
    // another process is taking it over: if that one died mid-way, clear its guard
    const pid = Number(fs.readFileSync(guard, { encoding: 'utf8', flag: 'r' }).trim() || 'NaN');
    if (!Number.isInteger(pid) || !pidAlive(pid)) fs.rmSync(guard, { force: true });
    sleepSync(20);
    return;
  }
  try {
    const now = readHolder(file);
    // still the same stale holder (not a new live one that won the race): remove it
    if (now === undefined ? stale === undefined : stale !== undefined && now.pid === stale.pid && now.started === stale.started) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function release(file: string, all = false): void {
  const mine = held.get(file);
  if (!mine) return;
  mine.count = all ? 0 : mine.count - 1;
  if (mine.count > 0) return;
  held.delete(file);
  mine.removeCleanup();
  if (readHolder(file)?.pid === process.pid) fs.rmSync(file, { force: true });
}

function handle(rig: string, file: string): RigLock {
  let released = false;
  return {
    rig,
    file,
    release: () => {
      if (released) return;
      released = true;
      release(file);
    },
  };
}

/** The holder's command as a user would recognise it: "hil run --rig x", not node's full path. */
function commandLine(): string {
  const args = process.argv.slice(1).map((a, i) => (i === 0 ? path.basename(a).replace(/\.js$/, '').replace(/^cli$/, 'hil') : a));
  return args.join(' ').slice(0, 200) || 'node';
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
