/**
 * A real redis-server (Debian package) for the queue tests: loopback only, a free port, a
 * temporary directory, nothing saved, the default user off and one ACL user limited to the
 * queue's keys and without the dangerous commands; with `tls`, a TLS port only, its certificate
 * signed by a CA made here. The password is in the config file, not on the server's command line.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

export interface TestRedis {
  /** redis://127.0.0.1:port, or rediss:// with TLS */
  url: string;
  /** TLS: the PEM of the CA that signed the server's certificate (for 127.0.0.1) */
  caFile?: string;
  port: number;
  username: string;
  password: string;
  /** environment entries that log in as the ACL user */
  env: Record<string, string>;
  /** SIGKILL (a Redis that goes away) */
  kill(): void;
  stop(): Promise<void>;
}

/** A CA and a server certificate for 127.0.0.1 signed by it (openssl), in `dir`. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=yono-test-ca']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext']);
  return { ca: f('ca.pem'), cert: f('server.crt'), key: f('server.key') };
}

export async function startRedis(options: { username?: string; password?: string; tls?: boolean } = {}): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-redis-'));
  const username = options.username ?? 'hil';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const port = await freePort();
  const tls = options.tls ? makeCertificates(dir) : undefined;
  fs.writeFileSync(
    path.join(dir, 'redis.conf'),
    [
      'bind 127.0.0.1',
      ...(tls ? ['port 0', `tls-port ${port}`, `tls-cert-file ${tls.cert}`, `tls-key-file ${tls.key}`, `tls-ca-cert-file ${tls.ca}`, 'tls-auth-clients no'] : [`port ${port}`]),
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
    url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    caFile: tls?.ca,
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
