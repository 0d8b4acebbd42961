/** `hil worker`: serve this host's rigs to the lab's job queue until stopped. */
import { DEFAULT_LOCK_SECONDS, serveRigs } from '../queue/worker.js';
import { HilError } from '../util/errors.js';
import type { Command } from './command.js';
import { positiveNumber } from './options.js';
import { QUEUE_OPTIONS, QUEUE_USAGE, queueOf } from './queue-options.js';

export const workerCommand: Command = {
  name: 'worker',
  usage: `worker --queue <url> --rig <rig> [--rig <rig>...]   serve these rigs to the job queue (one job per rig at a time)
${QUEUE_USAGE}
      --lock-seconds <s>       a job whose worker stops answering for this long runs again elsewhere (default ${DEFAULT_LOCK_SECONDS})
      --quiet                  no log lines`,
  options: { ...QUEUE_OPTIONS, rig: { type: 'string', multiple: true }, 'lock-seconds': { type: 'string' }, quiet: { type: 'boolean' } },
  async run(values, positionals, ctx) {
    if (positionals.length > 0) throw new HilError(`unexpected argument "${positionals[0]}"`, 'hil worker');
    const connection = queueOf(values);
    if (!connection) throw new HilError('--queue <redis://host:port> is required (the lab\'s job queue)', 'hil worker');
    await serveRigs({ connection, rigs: (values.rig as string[] | undefined) ?? [], lockSeconds: positiveNumber(values, 'lock-seconds'), log: ctx.log });
    return 0;
  },
};
