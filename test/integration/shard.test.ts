/**
 * A run sharded over 2 QEMU rigs (--parallel 2, and the CI path --shard i/n + hil merge) makes the
 * rows a one-rig run of the same work makes, in the same order; merging refuses shards that do
 * not belong together and counts a shard folder given twice once. Bad input: one clear line.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPoolFolder, resumePool, runPool } from '../../harness/run/pool.js';
import { runExperiments, type RunOptions } from '../../harness/run/run.js';
import { checkShardSpec, mergeShards, planShards, runShard, slices } from '../../harness/run/shard.js';
import { HilError } from '../../harness/util/errors.js';
import { createLogger } from '../../harness/util/log.js';
import { ROOT } from '../../harness/util/paths.js';
import { expectSameRows, table } from '../helpers/same-rows.js';

const log = createLogger({ quiet: true });
const MODELS = ['fmnist_cnn', 'hapt_cnn'];
const RIG = 'qemu-mps2-an386';
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HilError) return e.toLine();
    throw e;
  }
  throw new Error('expected a HilError');
}

function hil(args: string[], env: Record<string, string> = {}): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'harness', 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

function oneLine(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code, r.stderr).to.be.greaterThan(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^error: /);
  expect(lines[0]).to.match(pattern);
}

describe('slices of a test split', () => {
  it('cover every sample exactly once, in order, in at most count near-equal slices', () => {
    for (const [n, k] of [[40, 2], [41, 3], [7, 4], [3, 8], [10000, 7], [1, 1]]) {
      const s = slices(n, k);
      expect(s.length).to.be.at.most(k);
      const seen: number[] = [];
      for (const { start, end } of s) for (let i = start; i < end; i++) seen.push(i);
      expect(seen).to.deep.equal(Array.from({ length: n }, (_, i) => i));
      const sizes = s.map((x) => x.end - x.start);
      expect(Math.max(...sizes) - Math.min(...sizes)).to.be.at.most(1);
    }
  });
});

describe('a run sharded over 2 QEMU rigs equals the one-rig run', function () {
  this.timeout(10 * 60 * 1000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-shard-'));
  const options: RunOptions = { rig: RIG, models: MODELS, samples: 40, experiments: ['accuracy', 'latency'], latencyRuns: 3, latencyWarmup: 1, inputs: 'stream', log };
  let one = '';
  let merged = '';

  it('plans slices that cover each model once, latency per model, every shard with the firmware hash', () => {
    const specs = planShards({ ...options, samples: 41 }, 3);
    for (const m of MODELS) {
      const acc = specs.filter((s) => s.models[0] === m && s.experiments[0] === 'accuracy');
      expect(acc.map((s) => s.samples)).to.deep.equal(slices(41, 3));
    }
    expect(specs.filter((s) => s.experiments[0] === 'latency').map((s) => s.models)).to.deep.equal(MODELS.map((m) => [m]));
    expect(new Set(specs.map((s) => s.id)).size).to.equal(specs.length);
    expect(new Set(specs.map((s) => s.plan)).size).to.equal(1);
    expect(specs.map((s) => s.index)).to.deep.equal(specs.map((_, i) => i));
    for (const s of specs) expect(s.firmware).to.have.length(1).and.to.have.nested.property('[0].hash').that.matches(/^[0-9a-f]{16}$/);
    // plain data: survives JSON unchanged, no paths
    expect(JSON.parse(JSON.stringify(specs))).to.deep.equal(specs);
    expect(JSON.stringify(specs)).to.not.contain('/');
  });

  it('a shard from outside is checked against the strict schema, as queue jobs are: forged names, ranges, hashes and options are one line each', () => {
    const [spec] = planShards(options, 2);
    expect(checkShardSpec(JSON.parse(JSON.stringify(spec)))).to.deep.equal(spec);
    const forged = (edit: (s: any) => void) => {
      const s = JSON.parse(JSON.stringify(spec));
      edit(s);
      try {
        checkShardSpec(s, 'job 7');
      } catch (e) {
        if (e instanceof HilError) return e.toLine();
        throw e;
      }
      return 'accepted';
    };
    expect(forged((s) => (s.models = ['../../etc/passwd']))).to.equal('job 7: not a shard spec: models.0: must match pattern "^[a-z0-9][a-z0-9_-]{0,63}$"');
    expect(forged((s) => (s.samples = { start: -1, end: 5 }))).to.equal('job 7: not a shard spec: samples.start: must be >= 0');
    expect(forged((s) => (s.samples = { start: 5, end: 5 }))).to.equal('job 7: samples: empty range 5-5');
    expect(forged((s) => (s.variants = ['fp64']))).to.equal('job 7: not a shard spec: variants.0: expected one of "int8", "pq", "int8-ext"');
    expect(forged((s) => (s.firmware[0].hash = 'rm -rf /'))).to.match(/^job 7: not a shard spec: firmware\.0\.hash: must match pattern/);
    expect(forged((s) => (s.run.options.firmware = '/tmp/evil.elf'))).to.equal('job 7: not a shard spec: run.options.firmware: unknown field');
    expect(forged((s) => (s.index = 99))).to.equal("job 7: index 99 is outside the plan's 6 shards");
  });

  it('a shard refuses a rig of another board and firmware whose hash is not the plan\'s, before booting', async () => {
    const [spec] = planShards(options, 2);
    const dir = path.join(root, 'refused');
    expect(await refusal(runShard(spec, 'qemu-netduinoplus2', dir, log))).to.match(/^qemu-netduinoplus2: rig qemu-netduinoplus2 has board netduinoplus2; shard .* needs board mps2-an386$/);
    const forged = { ...spec, firmware: [{ variant: spec.variants[0], hash: '0123456789abcdef' }] };
    expect(await refusal(runShard(forged, RIG, dir, log))).to.match(/^shard .*: the int8 firmware built here is [0-9a-f]{16}, the shard's plan expects 0123456789abcdef .*: re-plan the run$/);
    expect(fs.existsSync(path.join(dir, 'run.json'))).to.equal(false);
  });

  it('--parallel 2: one merged run folder, rows equal to the one-rig run, run.json records every shard', async () => {
    one = (await runExperiments({ ...options, resultsDir: path.join(root, 'one') })).dir;
    const [result] = await runPool({ ...options, resultsDir: path.join(root, 'pool') }, { rigs: [RIG], parallel: 2 });
    merged = result.dir;
    expectSameRows(one, merged, ['accuracy.csv', 'predictions.csv', 'latency.csv']);
    expect(table(merged, 'predictions.csv').every((r) => r.rig === RIG)).to.equal(true);
    const json = JSON.parse(fs.readFileSync(path.join(merged, 'run.json'), 'utf8'));
    expect(json.status).to.equal('complete');
    expect(json.shards).to.have.length(6);
    for (const s of json.shards) {
      expect(s.rig).to.equal(RIG);
      expect(s.host).to.equal(os.hostname());
      expect(s.status).to.equal('complete');
      expect(s.seconds).to.be.a('number');
    }
    expect(fs.readFileSync(path.join(merged, 'summary.txt'), 'utf8')).to.contain('fmnist_cnn');
  });

  it('merge: a duplicate shard folder counts once; other runs, other firmware, unfinished or missing shards are refused', async () => {
    const shardsDir = path.join(merged, 'shards');
    const folders = fs.readdirSync(shardsDir).sort().map((d) => path.join(shardsDir, d));
    const copy = (from: string, name: string, edit: (json: Record<string, any>) => void) => {
      const to = path.join(root, name);
      fs.cpSync(from, to, { recursive: true });
      const file = path.join(to, 'run.json');
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      edit(json);
      fs.writeFileSync(file, JSON.stringify(json));
      return to;
    };
    const again = await mergeShards([...folders, copy(folders[0], 'dup', () => undefined)], path.join(root, 'merged-dup'), log);
    expectSameRows(one, again.dir, ['accuracy.csv', 'predictions.csv']);
    expect(JSON.parse(fs.readFileSync(path.join(again.dir, 'run.json'), 'utf8')).duplicates_ignored).to.have.length(1);

    const otherFirmware = copy(folders[1], 'fw', (j) => (j.variants[0].firmware.build_hash = '0123456789abcdef'));
    expect(await refusal(mergeShards([folders[0], otherFirmware, ...folders.slice(2)], path.join(root, 'm1'), log))).to.match(/fw: ran int8 firmware 0123456789abcdef, but .* ran [0-9a-f]{16}: shards of different firmware cannot be merged$/);
    const otherRun = copy(folders[1], 'plan', (j) => (j.shard.plan = 'aaaaaaaaaaaa'));
    expect(await refusal(mergeShards([folders[0], otherRun, ...folders.slice(2)], path.join(root, 'm2'), log))).to.match(/plan: a shard of another run \(plan aaaaaaaaaaaa, not [0-9a-f]{12} .*\): merge the shards of one run$/);
    const unfinished = copy(folders[1], 'half', (j) => (j.status = 'interrupted'));
    expect(await refusal(mergeShards([folders[0], unfinished, ...folders.slice(2)], path.join(root, 'm3'), log))).to.match(/is interrupted: finish it with 'hil run --resume .*half'$/);
    expect(await refusal(mergeShards(folders.slice(1), path.join(root, 'm4'), log))).to.match(/^hil merge: missing shards 1 of 6 of plan/);
    expect(await refusal(mergeShards([one], path.join(root, 'm5'), log))).to.match(/not a shard folder/);
  });

  it('hil run --resume <sharded run folder>: finished shards kept, an unfinished one resumed, a missing one run, then merged', async () => {
    const dir = path.join(root, 'resumed');
    fs.cpSync(merged, dir, { recursive: true });
    for (const f of ['run.json', 'accuracy.csv', 'predictions.csv', 'latency.csv', 'summary.txt']) fs.rmSync(path.join(dir, f));
    const shards = fs.readdirSync(path.join(dir, 'shards')).sort();
    fs.rmSync(path.join(dir, 'shards', shards[1]), { recursive: true });
    const half = path.join(dir, 'shards', shards[0], 'run.json');
    const json = JSON.parse(fs.readFileSync(half, 'utf8'));
    fs.writeFileSync(half, JSON.stringify({ ...json, status: 'interrupted', progress: {} }));
    expect(isPoolFolder(dir)).to.equal(true);
    const result = await resumePool(dir, log);
    expectSameRows(one, result.dir, ['accuracy.csv', 'predictions.csv', 'latency.csv']);
    const statuses = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).shards.map((s: { status: string }) => s.status);
    expect(statuses).to.deep.equal(Array(6).fill('complete'));
  });

  it('CI matrix: hil run --shard 1/2 and 2/2, then hil merge, equal the one-rig run', () => {
    const out = path.join(root, 'ci');
    const common = ['run', '--rig', RIG, '--models', MODELS.join(','), '--samples', '40', '--experiments', 'accuracy', '--inputs', 'stream', '--quiet', '--out', out];
    for (const job of ['1/2', '2/2']) {
      const r = hil([...common, '--shard', job]);
      expect(r.code, r.stderr).to.equal(0);
    }
    const r = hil(['merge', out, '--out', path.join(root, 'ci-merged'), '--quiet']);
    expect(r.code, r.stderr).to.equal(0);
    expectSameRows(one, path.join(root, 'ci-merged'), ['accuracy.csv', 'predictions.csv']);
    oneLine(hil(['merge', out, '--out', path.join(root, 'ci-merged')]), /ci-merged: already holds a run \(run\.json\): choose another folder$/);
  });

  it('bad input: a rig twice, --parallel on a real board, a real rig another run holds, a bad --shard', async () => {
    oneLine(hil(['run', '--rig', RIG, '--rig', RIG]), /^error: --rig: rig qemu-mps2-an386 given twice: one job per rig at a time/);
    oneLine(hil(['run', '--rig', 'nucleo-l4r5zi-ppk2', '--parallel', '2']), /^error: --parallel: --parallel 2 copies an emulated rig; nucleo-l4r5zi-ppk2 is a real board/);
    oneLine(hil(['run', '--shard', '3/2']), /^error: --shard: expected i\/n with 1 <= i <= n/);
    // another process holds the real rig: the sharded run does not start
    const locks = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-locks-'));
    const holder = spawn(process.execPath, ['-e', `import(${JSON.stringify(path.join(ROOT, 'dist/harness/util/rig-lock.js'))}).then((m) => { m.acquireRigLock('nucleo-l4r5zi-ppk2'); console.log('held'); setInterval(() => {}, 1000); })`], { env: { ...process.env, YONO_LOCK_DIR: locks }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      oneLine(hil(['run', '--rig', RIG, '--rig', 'nucleo-l4r5zi-ppk2'], { YONO_LOCK_DIR: locks }), new RegExp(`^error: rig nucleo-l4r5zi-ppk2: in use by pid ${holder.pid} on host .*one job per rig at a time$`));
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
