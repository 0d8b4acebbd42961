/**
 * Can this host use the queue? One connection that does not retry: logs in, asks the server's
 * version, and answers in one line (refused, wrong password, not Redis, too old). Used before a
 * worker or a submitter starts, and by `hil rigs doctor --queue`.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HilError } from '../util/errors.js';
import { describeQueueError, type QueueConnection } from './connection.js';
import { boardQueue, QUEUE_PREFIX } from './names.js';

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

/**
 * `hil rigs doctor --queue`: whether the queue answers, and per board how many workers serve it
 * and how many jobs wait, run and failed. Never throws: a doctor reports.
 */
export async function queueReport(connection: QueueConnection, boards: string[]): Promise<string> {
  let reach: QueueReach;
  try {
    reach = await checkQueue(connection);
  } catch (e) {
    return `queue ${connection.label}: NOT usable: ${e instanceof HilError ? e.toLine() : String(e)}`;
  }
  const lines = [`queue ${connection.label}: answers (Redis ${reach.version}, ping ${reach.pingMs.toFixed(1)} ms)`];
  for (const board of [...new Set(boards)].sort()) {
    const queue = new Queue(boardQueue(board), { connection: { ...connection.redis, retryStrategy: () => null }, prefix: QUEUE_PREFIX });
    queue.on('error', () => undefined); // reported by the commands below
    try {
      const [workers, counts] = await Promise.all([queue.getWorkersCount(), queue.getJobCounts('wait', 'active', 'failed')]);
      lines.push(`  board ${board}: ${workers} worker${workers === 1 ? '' : 's'}; jobs waiting ${counts.wait ?? 0}, running ${counts.active ?? 0}, failed ${counts.failed ?? 0}`);
    } catch (e) {
      lines.push(`  board ${board}: ${describeQueueError(e, connection.label)}`);
    } finally {
      await queue.close().catch(() => undefined);
    }
  }
  return lines.join('\n');
}
