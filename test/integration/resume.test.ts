/**
 * Crash safety: a run SIGKILLed mid-model leaves no emulator behind, its predictions so far are
 * on disk, and `--resume` finishes it with exactly the rows an uninterrupted run makes.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCsv } from '../../harness/reports/csv.js';
import { runExperiments } from '../../harness/run/run.js';
import { createLogger } from '../../harness/util/log.js';
import { ROOT } from '../../harness/util/paths.js';

const ARGS = ['--models', 'fmnist_cnn', '--samples', '300', '--experiments', 'accuracy', '--inputs', 'stream', '--quiet'];
const IGNORED = ['run_id', 'harness_version'];

function rowsOf(dir: string, file: string): Record<string, string>[] {
  return readCsv(fs.readFileSync(path.join(dir, file), 'utf8')).map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !IGNORED.includes(k))));
}

/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Alive and not a zombie (a killed process waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    return !/^Z/.test(execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a run killed mid-model, then resumed (QEMU)', function () {
  this.timeout(10 * 60 * 1000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-resume-'));
  let dir = '';

  it('SIGKILL: predictions so far are on disk, run.json says running, no QEMU is left', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'harness', 'cli.js'), 'run', ...ARGS, '--results', root], { stdio: 'ignore' });
    const deadline = Date.now() + 120000;
    let written = 0;
    for (;;) {
      await sleep(200);
      const run = fs.readdirSync(root)[0];
      dir = run ? path.join(root, run) : '';
      const file = dir && path.join(dir, 'predictions.csv');
      written = file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').length - 2 : 0;
      if (written >= 40) break;
      if (Date.now() > deadline) throw new Error('the run made no predictions');
    }
    const emulators = childrenOf(child.pid as number);
    expect(emulators, 'the harness runs QEMU').to.have.length.greaterThan(0);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const runJson = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { status: string };
    expect(runJson.status).to.equal('running');
    expect(rowsOf(dir, 'predictions.csv').length).to.be.within(40, 299);
    // the emulator gets its parent-death signal
    await sleep(1500);
    expect(emulators.filter(alive), 'QEMU left running').to.deep.equal([]);
  });

  it('--resume finishes it with the rows of an uninterrupted run, and says it was killed', async () => {
    const log = createLogger({ quiet: true });
    const resumed = await runExperiments({ rig: '', resume: dir, log });
    expect(resumed.dir).to.equal(dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { status: string; resumes: { previous_status: string }[] };
    expect(json.status).to.equal('complete');
    expect(json.resumes.map((r) => r.previous_status)).to.deep.equal(['killed']);
    const whole = await runExperiments({
      rig: 'qemu-mps2-an386', models: ['fmnist_cnn'], samples: 300, experiments: ['accuracy'], inputs: 'stream', log,
      resultsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'yono-whole-')),
    });
    expect(rowsOf(dir, 'predictions.csv')).to.deep.equal(rowsOf(whole.dir, 'predictions.csv'));
    expect(rowsOf(dir, 'accuracy.csv')).to.deep.equal(rowsOf(whole.dir, 'accuracy.csv'));
    expect(rowsOf(dir, 'accuracy.csv')[0].samples).to.equal('300');
  });

  it('refuses to resume a complete run, and a folder that is not a run, in one line', async () => {
    const log = createLogger({ quiet: true });
    const err = async (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => (e instanceof Error ? e.message : String(e)));
    expect(await err(runExperiments({ rig: '', resume: dir, log }))).to.equal('this run is complete: nothing to resume');
    expect(await err(runExperiments({ rig: '', resume: root, log }))).to.equal('not a run folder (no run.json)');
  });
});
