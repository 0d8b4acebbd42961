/** Options shared by the commands that reach the lab's job queue (worker, submit, rigs doctor). */
import { queueConnection, type QueueConnection } from '../queue/connection.js';
import { DEFAULT_LOST_SECONDS, DEFAULT_WAIT_WORKERS_SECONDS } from '../queue/submit.js';
import type { OptionSpec, OptionValues } from './command.js';
import { str } from './options.js';

export const QUEUE_OPTIONS: OptionSpec = {
  queue: { type: 'string' },
  'queue-credentials': { type: 'string' },
  'queue-ca': { type: 'string' },
};

export const QUEUE_USAGE = `      --queue <url>            the job queue: redis://host:port or rediss://host:port (TLS); no credentials in it
      --queue-credentials <f>  a file (mode 600) holding "password" or "user:password" (default: $YONO_REDIS_CREDENTIALS,
                               else $YONO_REDIS_USERNAME / $YONO_REDIS_PASSWORD)
      --queue-ca <file>        PEM CA certificate that signed the Redis server's TLS certificate (rediss:// only)`;

/** The queue connection the options name, or undefined without --queue. */
export function queueOf(values: OptionValues): QueueConnection | undefined {
  const url = str(values, 'queue');
  if (url === undefined) return undefined;
  return queueConnection(url, { credentialsFile: str(values, 'queue-credentials'), caFile: str(values, 'queue-ca') });
}

/** `hil submit` and `hil run --queue`: the queue, plus how the run uses it. */
export const SUBMIT_OPTIONS: OptionSpec = {
  ...QUEUE_OPTIONS,
  shards: { type: 'string' },
  'wait-workers': { type: 'string' },
  'lost-after': { type: 'string' },
};

export const SUBMIT_USAGE = `${QUEUE_USAGE}
      --shards <n>             accuracy slices per model (default: the number of workers serving the board)
      --wait-workers <s>       how long to wait for a worker of the board (default ${DEFAULT_WAIT_WORKERS_SECONDS})
      --lost-after <s>         give up when the queue is unreachable this long (default ${DEFAULT_LOST_SECONDS}); shards
                               collected so far are kept`;
