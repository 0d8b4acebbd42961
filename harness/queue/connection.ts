/**
 * Where the lab's job queue lives and how to log in: a redis:// or rediss:// (TLS) URL without
 * credentials, a user name and password from the environment or a credentials file, and a CA
 * file for TLS. Credentials never travel on a command line (ps, rig-lock files show argv) and
 * never appear in a message: every message names the queue by its redacted URL.
 */
import fs from 'node:fs';
import type { RedisOptions } from 'ioredis';
import { HilError } from '../util/errors.js';
import { redactUrl } from '../util/net-url.js';

export interface QueueAddress {
  /** redis://host:port[/db] or rediss://host:port[/db], as the user wrote it minus any credentials */
  url: string;
  host: string;
  port: number;
  db: number;
  tls: boolean;
}

export interface QueueCredentials {
  username?: string;
  password?: string;
}

export interface QueueConnectOptions {
  /** a file whose first line is `password` or `username:password` (mode 600) */
  credentialsFile?: string;
  /** PEM file of the CA that signed the Redis server's certificate (rediss:// only) */
  caFile?: string;
  /** environment to read YONO_REDIS_* from (tests pass their own) */
  env?: NodeJS.ProcessEnv;
}

export interface QueueConnection {
  address: QueueAddress;
  /** ioredis options; BullMQ makes its own connections from them */
  redis: RedisOptions;
  /** "redis://host:port (user hil)": for messages, never a password */
  label: string;
}

export const ENV_USERNAME = 'YONO_REDIS_USERNAME';
export const ENV_PASSWORD = 'YONO_REDIS_PASSWORD';
export const ENV_CREDENTIALS_FILE = 'YONO_REDIS_CREDENTIALS';

/** Parses a queue URL; user:password@ is refused (it would show in ps, shell history and logs). */
export function parseQueueUrl(url: string, where = '--queue'): QueueAddress {
  const m = /^(rediss?):\/\/([^/?#]*)(?:\/(\d*))?\/?$/i.exec(url.trim());
  if (!m) throw new HilError(`expected redis://host:port or rediss://host:port (TLS), got "${redactUrl(url)}"`, where);
  const [, scheme, authority, db] = m;
  if (authority.includes('@')) {
    throw new HilError(`credentials do not belong in the queue URL (they would show in ps and logs); set ${ENV_USERNAME}/${ENV_PASSWORD} or use --queue-credentials <file>`, `${where} ${redactUrl(url)}`);
  }
  const hm = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(authority);
  if (!hm) throw new HilError(`expected host:port after ${scheme}://, e.g. ${scheme}://lab-queue.local:6379`, `${where} ${url}`);
  const port = hm[2] === undefined ? 6379 : Number(hm[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HilError(`port ${hm[2]} is out of range 1-65535`, `${where} ${url}`);
  return { url: url.trim(), host: hm[1].replace(/^\[(.*)\]$/, '$1'), port, db: db ? Number(db) : 0, tls: scheme.toLowerCase() === 'rediss' };
}

/** A credentials file: `password` or `username:password` on its first line; others must not read it. */
export function readCredentialsFile(file: string): QueueCredentials {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new HilError('credentials file not found', file);
  }
  if (!stat.isFile()) throw new HilError('not a file', file);
  if ((stat.mode & 0o077) !== 0) throw new HilError(`readable by other users (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`, file);
  const line = fs.readFileSync(file, 'utf8').split(/\r?\n/)[0].trim();
  if (line === '') throw new HilError('empty: expected "password" or "username:password" on the first line', file);
  const colon = line.indexOf(':');
  return colon < 0 ? { password: line } : { username: line.slice(0, colon), password: line.slice(colon + 1) };
}

/** Credentials: the file (option, else $YONO_REDIS_CREDENTIALS), else $YONO_REDIS_USERNAME / $YONO_REDIS_PASSWORD. */
export function queueCredentials(options: QueueConnectOptions): QueueCredentials {
  const env = options.env ?? process.env;
  const file = options.credentialsFile ?? env[ENV_CREDENTIALS_FILE];
  if (file) return readCredentialsFile(file);
  return { username: env[ENV_USERNAME] || undefined, password: env[ENV_PASSWORD] || undefined };
}

/** Everything needed to reach the queue, checked before any connection is made. */
export function queueConnection(url: string, options: QueueConnectOptions = {}): QueueConnection {
  const address = parseQueueUrl(url);
  if (options.caFile !== undefined && !address.tls) throw new HilError('a CA file is for TLS: use a rediss:// URL', '--queue-ca');
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = fs.readFileSync(options.caFile);
    } catch {
      throw new HilError('CA file not found or unreadable', options.caFile);
    }
  }
  const { username, password } = queueCredentials(options);
  const redis: RedisOptions = {
    host: address.host,
    port: address.port,
    db: address.db,
    username,
    password,
    ...(address.tls ? { tls: { servername: address.host, ...(ca ? { ca } : {}) } } : {}),
    // BullMQ's blocking connections need unlimited retries per command
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
  };
  return { address, redis, label: `${address.tls ? 'rediss' : 'redis'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}${username ? ` (user ${username})` : ''}` };
}

/** One line for a Redis or socket error, by what the user must change; never a password. */
export function describeQueueError(err: unknown, label: string): string {
  const e = err as NodeJS.ErrnoException & { message?: string };
  const message = String(e?.message ?? err);
  if (/WRONGPASS|invalid username-password|NOAUTH|AUTH failed|invalid password/i.test(message)) {
    return `the queue at ${label} refused the login (wrong user name or password; set ${ENV_USERNAME}/${ENV_PASSWORD} or --queue-credentials)`;
  }
  if (/NOPERM/i.test(message)) return `the queue at ${label} refused a command: this Redis user lacks a permission (${message.replace(/\s+/g, ' ').slice(0, 160)})`;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return `connection refused by the queue at ${label} (is redis-server running there?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host in the queue URL ${label} (name does not resolve)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable: the queue at ${label}`;
    case 'ETIMEDOUT':
      return `no answer from the queue at ${label} (timed out)`;
    case 'ECONNRESET':
      return `connection to the queue at ${label} was reset`;
    default:
      break;
  }
  if (/certificate|self[- ]signed|SSL|TLS/i.test(message)) return `TLS to the queue at ${label} failed: ${message} (give the server's CA with --queue-ca <file>)`;
  if (/Connection is closed|connection closed|Stream isn't writeable/i.test(message)) return `the queue at ${label} went away (connection closed)`;
  return `the queue at ${label}: ${redactSecrets(message)}`;
}

/** Replaces any user:password@ in URLs inside a text. */
export function redactSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@');
}
