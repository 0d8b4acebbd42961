/**
 * Can this host use the queue? One connection that does not retry: logs in, asks the server's
 * version, and answers in one line (refused, wrong password, not Redis, too old). Used before a
 * worker or a submitter starts, and by `hil rigs doctor --queue`.
 */
import { Redis } from 'ioredis';
import { HilError } from '../util/errors.js';
import { describeQueueError, type QueueConnection } from './connection.js';

export interface QueueReach {
  version: string;
  /** round trip of one PING, ms */
  pingMs: number;
}

/** BullMQ 5 needs Redis 5 or newer (6.2 recommended). */
const MIN_MAJOR = 5;

export async function checkQueue(connection: QueueConnection): Promise<QueueReach> {
  const client = new Redis({ ...connection.redis, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // the socket's or server's own error says more than the "Connection is closed" a command gets
  let cause: unknown;
  client.on('error', (e) => (cause ??= e));
  try {
    await client.connect();
    const t0 = performance.now();
    await client.ping();
    const pingMs = performance.now() - t0;
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    if (Number(version.split('.')[0]) < MIN_MAJOR) throw new HilError(`Redis ${version} is too old for the job queue (BullMQ needs ${MIN_MAJOR}.0 or newer)`, connection.label);
    return { version, pingMs };
  } catch (e) {
    if (e instanceof HilError) throw e;
    throw new HilError(describeQueueError(cause ?? e, connection.label));
  } finally {
    client.disconnect();
  }
}
