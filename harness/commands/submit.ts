/**
 * `hil submit --queue redis://…` (also `hil run --queue …`): the run's shards go to the lab's
 * job queue; workers on the rig hosts run them; the results come back through the queue and are
 * merged into one run folder here.
 */
import { submitRun } from '../queue/submit.js';
import { HilError } from '../util/errors.js';
import type { Command, CommandContext, OptionValues } from './command.js';
import { positiveInt, positiveNumber, str } from './options.js';
import { queueOf, SUBMIT_OPTIONS, SUBMIT_USAGE } from './queue-options.js';
import { finishRun, RUN_OPTIONS, RUN_USAGE, runOptionsOf } from './run.js';

/** Run options that name a file or folder on this machine: a job carries data only. */
const LOCAL_ONLY = ['firmware', 'load-address', 'dataset-folder'];
/** Run options for local pools and CI jobs: the queue's workers choose the rigs. */
const NOT_WITH_QUEUE = ['parallel', 'shard', 'out'];

/** Runs the options' run through the queue; the rig names the board (its workers may serve other rigs of it). */
export async function submit(values: OptionValues, ctx: CommandContext, defaultVariants: string): Promise<number> {
  const connection = queueOf(values);
  if (!connection) throw new HilError('--queue <redis://host:port> is required (the lab\'s job queue)', 'hil submit');
  for (const o of LOCAL_ONLY) if (values[o] !== undefined) throw new HilError('a queued run carries data only, never a path on this machine: run it locally (hil run without --queue)', `--${o}`);
  for (const o of NOT_WITH_QUEUE) if (values[o] !== undefined) throw new HilError("not with --queue: the queue's workers choose the rigs (--shards n sets how finely the run is cut)", `--${o}`);
  if (((values.rig as string[] | undefined) ?? []).length > 1) throw new HilError('with --queue, --rig only names the board (give it once); every worker serving that board takes shards', '--rig');
  const run = runOptionsOf(values, ctx, defaultVariants);
  const t0 = Date.now();
  const { result, timings } = await submitRun({
    connection,
    run,
    shards: positiveInt(values, 'shards'),
    waitWorkersSeconds: positiveNumber(values, 'wait-workers'),
    lostSeconds: positiveNumber(values, 'lost-after'),
    resume: str(values, 'resume'),
  });
  const retried = timings.filter((t) => t.attempts > 1).length;
  ctx.log.info(`queue: ${timings.length} shards on ${new Set(timings.map((t) => t.worker)).size} workers in ${((Date.now() - t0) / 1000).toFixed(1)} s${retried ? `, ${retried} ran more than once (a worker died or failed)` : ''}`);
  return finishRun(result, values, ctx, false);
}

export const submitCommand: Command = {
  name: 'submit',
  usage: `submit --queue <url> [run options]   run experiments through the lab's job queue (workers: 'hil worker')
${SUBMIT_USAGE}
      --rig <name|file>        names the board whose workers run the shards (default as hil run)
      --resume <run folder>    finish a queued run that stopped (its shards/plan.json): collected shards are kept
${RUN_USAGE.split('\n').filter((l) => !/^\s+--rig /.test(l)).join('\n')}`,
  options: { ...RUN_OPTIONS, ...SUBMIT_OPTIONS },
  run: (values, _positionals, ctx) => {
    if (str(values, 'queue') === undefined) throw new HilError('--queue <redis://host:port> is required (the lab\'s job queue)', 'hil submit');
    return submit(values, ctx, 'int8');
  },
};
