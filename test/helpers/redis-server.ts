/**
 * A real redis-server (Debian package) for the queue tests: loopback only, a free port, a
 * temporary directory, nothing saved, the default user off and one ACL user limited to the
 * queue's keys and without the dangerous commands. The password is in the config file, not on
 * the server's command line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface TestRedis {
  url: string;
  port: number;
  username: string;
  password: string;
  /** environment entries that log in as the ACL user */
  env: Record<string, string>;
  /** SIGKILL (a Redis that goes away) */
  kill(): void;
  stop(): Promise<void>;
}

export async function startRedis(options: { username?: string; password?: string } = {}): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-redis-'));
  const username = options.username ?? 'hil';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'redis.conf'),
    [
      'bind 127.0.0.1',
      `port ${port}`,
      'save ""',
      'appendonly no',
      `dir ${dir}`,
      'user default off',
      // the queue's keys only; CLIENT SETNAME/LIST and INFO are what BullMQ needs of the dangerous set
      `user ${username} on >${password} ~yono-hil:* &* +@all -@dangerous +info +client|setname +client|getname +client|list`,
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const child: ChildProcess = spawn('redis-server', [path.join(dir, 'redis.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-300)}`)));
    setTimeout(() => reject(new Error(`redis-server did not start: ${out.slice(-300)}`)), 10000).unref();
  });
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();
  const gone = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    username,
    password,
    env: { YONO_REDIS_USERNAME: username, YONO_REDIS_PASSWORD: password },
    kill: () => child.kill('SIGKILL'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await gone;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
