/**
 * What the job queue takes from outside: the queue URL and credentials (never in a URL, a file
 * only if others cannot read it, never in a message), a job's data (a shard spec, nothing else)
 * and a worker's result (plain file names only). No Redis needed.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeQueueError, parseQueueUrl, queueConnection, redactSecrets } from '../../harness/queue/connection.js';
import { validateShardSpec } from '../../harness/run/shard-schema.js';
import { checkShardResult } from '../../harness/queue/result.js';
import type { ShardSpec } from '../../harness/run/shard-spec.js';
import { HilError } from '../../harness/util/errors.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof HilError) return e.toLine();
    throw e;
  }
  throw new Error('expected a HilError');
}

const SPEC: ShardSpec = {
  id: '0123456789ab-0',
  plan: '0123456789ab',
  index: 0,
  of: 2,
  label: 'int8 fmnist_cnn accuracy 0-5',
  board: 'mps2-an386',
  variants: ['int8'],
  models: ['fmnist_cnn'],
  experiments: ['accuracy'],
  samples: { start: 0, end: 5 },
  firmware: [{ variant: 'int8', hash: 'eb1d883df41acc9f' }],
  protocol: 'yono',
  inputs: 'auto',
  run: { models: ['fmnist_cnn'], variants: ['int8'], experiments: ['accuracy'], options: { samples: 10 } },
};

describe('queue URL and credentials', () => {
  it('parses redis:// and rediss:// with a default port and a database number', () => {
    expect(parseQueueUrl('redis://lab-q.local')).to.deep.include({ host: 'lab-q.local', port: 6379, db: 0, tls: false });
    expect(parseQueueUrl('rediss://10.0.0.5:6380/2')).to.deep.include({ host: '10.0.0.5', port: 6380, db: 2, tls: true });
    expect(parseQueueUrl('redis://[::1]:7000')).to.deep.include({ host: '::1', port: 7000 });
  });

  it('refuses credentials in the URL without showing them, and other schemes and ports', () => {
    const line = refusal(() => parseQueueUrl('redis://hil:Sup3rSecret@lab-q:6379'));
    expect(line).to.match(/credentials do not belong in the queue URL/);
    expect(line).to.not.include('Sup3rSecret');
    expect(refusal(() => parseQueueUrl('http://lab-q:6379'))).to.match(/expected redis:\/\/host:port/);
    expect(refusal(() => parseQueueUrl('redis://lab-q:99999'))).to.match(/port 99999 is out of range/);
    expect(refusal(() => queueConnection('redis://lab-q:6379', { caFile: '/nonexistent', env: {} }))).to.match(/a CA file is for TLS: use a rediss:\/\/ URL/);
  });

  it('takes credentials from the environment or a file only others cannot read', () => {
    const c = queueConnection('redis://q:1', { env: { YONO_REDIS_USERNAME: 'hil', YONO_REDIS_PASSWORD: 'pw' } });
    expect(c.redis).to.deep.include({ username: 'hil', password: 'pw' });
    expect(c.label).to.equal('redis://q:1 (user hil)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-cred-'));
    try {
      const file = path.join(dir, 'cred');
      fs.writeFileSync(file, 'lab:from-file\n', { mode: 0o600 });
      expect(queueConnection('redis://q:1', { credentialsFile: file, env: { YONO_REDIS_PASSWORD: 'env' } }).redis).to.deep.include({ username: 'lab', password: 'from-file' });
      fs.writeFileSync(path.join(dir, 'pw-only'), 'just-a-password\n', { mode: 0o600 });
      expect(queueConnection('redis://q:1', { env: { YONO_REDIS_CREDENTIALS: path.join(dir, 'pw-only') } }).redis).to.deep.include({ password: 'just-a-password', username: undefined });
      fs.chmodSync(file, 0o640);
      expect(refusal(() => queueConnection('redis://q:1', { credentialsFile: file }))).to.match(/readable by other users \(mode 640\); chmod 600 it/);
      expect(refusal(() => queueConnection('redis://q:1', { credentialsFile: path.join(dir, 'none') }))).to.match(/credentials file not found/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what went wrong in one line, never with a password', () => {
    expect(describeQueueError(new Error('WRONGPASS invalid username-password pair or user is disabled.'), 'redis://q:1')).to.match(/refused the login/);
    expect(describeQueueError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'redis://q:1')).to.match(/connection refused by the queue at redis:\/\/q:1/);
    expect(describeQueueError(new Error('NOPERM this user has no permissions to run the flushall command'), 'redis://q:1')).to.match(/lacks a permission/);
    expect(redactSecrets('at rediss://u:p4ss@host:1 and redis://x@y')).to.equal('at rediss://***@host:1 and redis://***@y');
  });
});

describe('shard jobs from the queue', () => {
  it('accepts a shard spec of this project', () => {
    expect(validateShardSpec(JSON.parse(JSON.stringify(SPEC)))).to.have.property('spec');
  });

  const forged: [string, unknown, RegExp][] = [
    ['an extra field', { ...SPEC, shell: 'rm -rf /' }, /shell: unknown field/],
    ['an extra run option', { ...SPEC, run: { ...SPEC.run, options: { firmware: '/tmp/evil.elf' } } }, /run\.options\.firmware: unknown field/],
    ['a path as a model', { ...SPEC, models: ['../../etc/passwd'] }, /models\.0: must match pattern/],
    ['an unknown model', { ...SPEC, models: ['not_here'], run: { ...SPEC.run, models: ['not_here'] } }, /unknown model not_here/],
    ['a model outside the run', { ...SPEC, models: ['hapt_cnn'] }, /models hapt_cnn are not in the run's model set/],
    ['a shell word in the label', { ...SPEC, label: '$(reboot)' }, /label: must match pattern/],
    ['an unknown experiment', { ...SPEC, experiments: ['exec'] }, /experiments\.0: expected one of "accuracy"/],
    ['an unknown protocol', { ...SPEC, protocol: 'ssh' }, /protocol: expected one of "yono"/],
    ['a short firmware hash', { ...SPEC, firmware: [{ variant: 'int8', hash: 'abc' }] }, /firmware\.0\.hash: must match pattern/],
    ['no hash for a variant', { ...SPEC, variants: ['int8', 'pq'], firmware: SPEC.firmware }, /no expected firmware hash for pq/],
    ['an empty sample range', { ...SPEC, samples: { start: 5, end: 5 } }, /empty range 5-5/],
    ['a negative index', { ...SPEC, index: -1 }, /index: must be >= 0/],
    ['not an object', 'rm -rf /', /must be object/],
  ];
  for (const [what, data, reason] of forged) {
    it(`refuses ${what}`, () => {
      const r = validateShardSpec(data);
      expect(r).to.have.property('refused');
      expect((r as { refused: string }).refused).to.match(reason);
    });
  }
});

describe("a worker's shard result", () => {
  const ok = { shard: SPEC.id, rig: 'q-a', host: 'lab-1', worker: 'q-a@lab-1', files: { 'run.json': '{}', 'predictions.csv': 'a\n' } };
  it('is taken when it is the shard asked for, with plain file names', () => {
    expect(checkShardResult(ok, SPEC.id, 'shard 1/2').files).to.have.keys('run.json', 'predictions.csv');
  });
  it('is refused with a path, another shard or no run.json', () => {
    expect(refusal(() => checkShardResult({ ...ok, files: { ...ok.files, '../../.bashrc': 'x' } }, SPEC.id, 's'))).to.match(/names a file "\.\.\/\.\.\/\.bashrc"/);
    expect(refusal(() => checkShardResult(ok, 'other-1', 's'))).to.match(/returned shard 0123456789ab-0, not other-1/);
    expect(refusal(() => checkShardResult({ ...ok, files: { 'a.csv': '' } }, SPEC.id, 's'))).to.match(/no run\.json/);
    expect(refusal(() => checkShardResult({ ...ok, host: 'a b; rm' }, SPEC.id, 's'))).to.match(/host is not a name/);
  });
});
