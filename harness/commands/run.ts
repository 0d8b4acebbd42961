/** `hil run` and `hil demo`: experiments on a rig, results in one run folder. */
import fs from 'node:fs';
import path from 'node:path';
import { EXPERIMENT_NAMES } from '../experiments/registry.js';
import { DEVICE_PROTOCOLS } from '../protocol/drivers.js';
import { DEFAULT_RIG } from '../rig/rig.js';
import { runExperiments, type RunOptions, type RunResult } from '../run/run.js';
import { isPoolFolder, resumePool, runPool, shardFolderName } from '../run/pool.js';
import { planShards, runShard } from '../run/shard.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';
import type { Command, CommandContext, OptionSpec, OptionValues } from './command.js';
import { flag, list, nonNegativeInt, positiveInt, positiveNumber, runVariantsOf, str } from './options.js';
import { writeRunJunit } from '../reports/junit.js';
import { writeReport } from '../reports/report/write.js';
import { compareUploads } from '../reports/uploads.js';
import { SUBMIT_OPTIONS, SUBMIT_USAGE } from './queue-options.js';

const INPUT_MODES = ['auto', 'stream', 'preload'] as const;

function inputsOf(values: OptionValues): (typeof INPUT_MODES)[number] | undefined {
  const v = str(values, 'inputs');
  if (v !== undefined && !(INPUT_MODES as readonly string[]).includes(v)) throw new HilError(`unknown input path; available: ${INPUT_MODES.join(', ')}`, '--inputs');
  return v as (typeof INPUT_MODES)[number] | undefined;
}

export const RUN_OPTIONS: OptionSpec = {
  rig: { type: 'string', multiple: true },
  parallel: { type: 'string' },
  shard: { type: 'string' },
  out: { type: 'string' },
  models: { type: 'string' },
  experiments: { type: 'string' },
  samples: { type: 'string' },
  runs: { type: 'string' },
  warmup: { type: 'string' },
  results: { type: 'string' },
  variant: { type: 'string' },
  quiet: { type: 'boolean' },
  junit: { type: 'string' },
  inputs: { type: 'string' },
  resume: { type: 'string' },
  report: { type: 'boolean' },
  protocol: { type: 'string' },
  firmware: { type: 'string' },
  'load-address': { type: 'string' },
  profile: { type: 'string' },
  'perf-window': { type: 'string' },
  'dataset-folder': { type: 'string' },
  ...SUBMIT_OPTIONS,
};


/** The run the options describe (shared by `hil run` and `hil submit`): the first --rig's. */
export function runOptionsOf(values: OptionValues, ctx: CommandContext, defaultVariants: string): RunOptions {
  return {
    rig: rigsOf(values)[0],
    models: list(values, 'models'),
    experiments: list(values, 'experiments'),
    samples: positiveInt(values, 'samples'),
    latencyRuns: positiveInt(values, 'runs'),
    latencyWarmup: nonNegativeInt(values, 'warmup'),
    resultsDir: str(values, 'results') ? path.resolve(str(values, 'results') as string) : undefined,
    variants: runVariantsOf(values, defaultVariants),
    inputs: inputsOf(values),
    resume: str(values, 'resume'),
    protocol: str(values, 'protocol'),
    firmware: str(values, 'firmware'),
    loadAddress: str(values, 'load-address'),
    profile: str(values, 'profile'),
    perfWindowSec: positiveNumber(values, 'perf-window'),
    datasetFolder: str(values, 'dataset-folder') ? path.resolve(str(values, 'dataset-folder') as string) : undefined,
    log: ctx.log,
  };
}

function rigsOf(values: OptionValues): string[] {
  return (values.rig as string[] | undefined) ?? [DEFAULT_RIG];
}

async function run(values: OptionValues, ctx: CommandContext, defaultVariants: string, report: boolean): Promise<number> {
  // through the lab's job queue (loaded here: submit.ts builds on this module)
  if (str(values, 'queue') !== undefined) return (await import('./submit.js')).submit(values, ctx, defaultVariants);
  const rigs = rigsOf(values);
  const options = runOptionsOf(values, ctx, defaultVariants);
  const parallel = positiveInt(values, 'parallel');
  const shard = str(values, 'shard');
  if (str(values, 'out') !== undefined && shard === undefined) throw new HilError('only with --shard i/n (where the shard folders go)', '--out');
  if (shard !== undefined) {
    if (rigs.length > 1 || parallel !== undefined) throw new HilError('a CI job runs its shards on one rig: one --rig, no --parallel', '--shard');
    return runShardJob(options, shard, str(values, 'out'), ctx);
  }
  if (options.resume !== undefined && isPoolFolder(options.resume)) {
    if (values.rig !== undefined || parallel !== undefined) throw new HilError('a sharded run resumes on the rigs it had (its pool.json)', '--resume');
    return finishRun(await resumePool(options.resume, ctx.log), values, ctx, report);
  }
  if (rigs.length === 1 && parallel === undefined) return finishRun(await runExperiments(options), values, ctx, report);
  if (options.resume !== undefined) throw new HilError('a run folder resumes on the rigs it had: no --rig or --parallel with --resume', '--resume');
  let code = 0;
  for (const result of await runPool(options, { rigs, parallel })) code = Math.max(code, await finishRun(result, values, ctx, report));
  return code;
}

/** `--shard i/n`: the shards a CI job i of n runs (plan positions i-1, i-1+n, ...), each in its own folder under --out. */
async function runShardJob(options: RunOptions, shard: string, out: string | undefined, ctx: CommandContext): Promise<number> {
  const m = /^(\d+)\/(\d+)$/.exec(shard);
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || n < 1 || i < 1 || i > n) throw new HilError(`expected i/n with 1 <= i <= n (CI job i of n), got "${shard}"`, '--shard');
  const specs = planShards(options, n);
  const mine = specs.filter((s) => s.index % n === i - 1);
  const dir = path.resolve(out ?? path.join(options.resultsDir ?? 'results', `shards-${specs[0].plan}`));
  ctx.log.info(`job ${i}/${n}: ${mine.length} of ${specs.length} shards of plan ${specs[0].plan} into ${rel(dir)}/`);
  for (const spec of mine) {
    const o = await runShard(spec, options.rig, path.join(dir, shardFolderName(spec)), ctx.log);
    process.stdout.write(`shard ${spec.index + 1}/${spec.of} (${spec.label}): ${o.status} on ${o.rig} (${o.host}) in ${o.seconds ?? '?'} s -> ${rel(o.dir)}/\n`);
    if (o.status !== 'complete') return 130;
  }
  process.stdout.write(`merge every job's folders with: hil merge <folders...> --out <dir>\n`);
  return 0;
}

/** Prints a finished run, writes JUnit and the report, and returns the exit status its rows call for. */
export async function finishRun(result: RunResult, values: OptionValues, ctx: CommandContext, report: boolean): Promise<number> {
  const junit = str(values, 'junit');
  if (junit) writeRunJunit(result.dir, path.resolve(junit));
  const files = fs.readdirSync(result.dir).sort().join(', ');
  process.stdout.write(`\n${result.summary}\n\nresults: ${rel(result.dir)}/ (${files})${junit ? `\nJUnit: ${junit}` : ''}\n`);
  if (report || flag(values, 'report')) {
    const written = await writeReport([result.dir], path.join(result.dir, 'report'), { format: 'pdf', log: ctx.log });
    process.stdout.write(`report: ${rel(written.html)} (${written.figures.length} figures; redraw with 'hil report ${rel(result.dir)}')\n`);
  }
  const disagree = [
    ...result.accuracy.filter((r) => r.mismatches > 0).map((r) => `${r.model} (${r.mismatches})`),
    ...result.scenario.filter((t) => t.mismatches > 0).map((t) => `scenario ${t.schedule} ${t.variant} (${t.mismatches})`),
  ];
  if (disagree.length > 0) {
    process.stderr.write(`error: device and host reference disagree on ${[...new Set(disagree)].join(', ')}\n`);
    return 3;
  }
  const failed = result.accuracy.filter((r) => r.failed > 0).map((r) => `${r.model} ${r.variant} (${r.failed})`);
  if (failed.length > 0) {
    process.stderr.write(`error: the device failed on samples even after resets: ${failed.join(', ')} (see the notes in ${rel(result.dir)}/run.json)\n`);
    return 3;
  }
  return 0;
}

export const RUN_USAGE = `      --rig <name|file>        rig (default ${DEFAULT_RIG}); see 'hil rigs'. Repeat it to shard the run over several
                               rigs (one merged run folder per board and firmware; docs/scale-out.md)
      --parallel <n>           shard the run over n copies of each emulated rig (QEMU) at once
      --shard <i/n> [--out d]  CI matrix: run the shards of job i of n into folders under d (then 'hil merge')
      --models <a,b>           models (default: all trained models; see 'hil models')
      --experiments <a,b>      ${EXPERIMENT_NAMES.join(', ')} (default: every one the variants allow, except mlperf-energy and uploads)
      --samples <n>            accuracy samples per model (default: whole test split)
      --runs <n> --warmup <n>  timed and warm-up runs per latency input (default 10, 2)
      --results <dir>          results root (default results/)
      --variant <v[,v]|both|all>  forms of the models, one firmware each: int8, pq (YONO, needs 'hil compress'),
                               int8-ext (baseline: int8 in external storage, loaded on every switch);
                               both = int8,pq (+ compression), all = int8,pq,int8-ext
      --inputs <mode>          how accuracy inputs reach the device: stream (over the link), preload (into an emulated
                               board's memory at boot, or written once to a real board's external flash; a short
                               command runs each), auto (default: preload where possible)
      --resume <run folder>    continue an interrupted, failed or killed run (its own options; finished work kept);
                               a sharded run's folder: its unfinished and missing shards on its rigs, then the merge
      --junit <file>           also write the run's checks as JUnit XML (one case per model x variant x check)
      --report                 also write the run's report (figures, tables, report.html; the demo always does)
      --protocol <p>           device protocol: ${DEVICE_PROTOCOLS.join(', ')} (default: the rig's dut.firmware.protocol, else yono);
                               mlperf-tiny builds our firmware with the MLPerf Tiny front end (one model: --models m)
      --profile <tag>          mlperf-tiny: the profile tag (kws01, ic01, vww01, ad01...) to build with and require of
                               the device (default: the model's name for our build; unchecked for a prebuilt image)
      --firmware <image>       boot this prebuilt image (.elf, .hex, or .bin with --load-address 0x...) instead of
                               building; not checked on the device; firmware_hash = its SHA-256 (first 16 hex)
      --load-address <addr>    where a --firmware .bin goes (e.g. 0x0 on mps2, 0x08000000 on STM32)
      --perf-window <s>        mlperf-performance: minimum device seconds per window (default 10, the MLPerf Tiny rule)
      --dataset-folder <dir>   accuracy on an MLPerf Tiny data-set folder (.bin inputs + y_labels.csv, e.g. kws01)
                               instead of the model's prepared test split (one model)
      --queue <url>            run through the lab's job queue instead of on a local rig (as 'hil submit'; docs/scale-out.md):
${SUBMIT_USAGE.split('\n').slice(1).join('\n')}`;

export const runCommand: Command = {
  name: 'run',
  usage: `run [options]                run experiments (default variant int8)\n${RUN_USAGE}`,
  options: RUN_OPTIONS,
  run: (values, _positionals, ctx) => run(values, ctx, 'int8', false),
};

/** Run options that make a demo the user's own run: then it is only that run, no MLPerf Tiny pass. */
const OWN_RUN = ['experiments', 'models', 'protocol', 'firmware', 'dataset-folder', 'resume', 'queue', 'shard', 'profile'];

export const demoCommand: Command = {
  name: 'demo',
  usage: `demo [run options]           every experiment, every model and variant, whole test sets, on ${DEFAULT_RIG};
                               then the MLPerf Tiny pass (kws_dscnn through our firmware's MLPerf Tiny front end)`,
  options: RUN_OPTIONS,
  // the demo shows what YONO buys (every variant in one run), then the experiments only an MLPerf Tiny device has
  run: async (values, _positionals, ctx) => {
    const code = await run(values, ctx, 'all', true);
    if (code !== 0 || OWN_RUN.some((o) => values[o] !== undefined)) return code;
    return mlperfPass(values, ctx);
  },
};

/** MLPerf Tiny's window rule is 10 s of device time per window; the demo uses 1 s (say so) to stay short. */
const DEMO_PERF_WINDOW_S = 1;

/**
 * The demo's MLPerf Tiny pass on the same rig: kws_dscnn uploads through our protocol, then
 * accuracy, performance mode and uploads through our firmware's MLPerf Tiny front end, and the
 * wire cost of one upload in each protocol side by side.
 */
async function mlperfPass(values: OptionValues, ctx: CommandContext): Promise<number> {
  const base = runOptionsOf(values, ctx, 'int8');
  const common: RunOptions = { ...base, models: ['kws_dscnn'], variants: ['int8'] };
  ctx.log.info(`MLPerf Tiny pass: kws_dscnn on ${base.rig}; performance windows of ${DEMO_PERF_WINDOW_S} s device time (MLPerf Tiny's rule is 10 s: hil run --protocol mlperf-tiny --profile kws01 --models kws_dscnn --experiments mlperf-performance)`);
  const yono = await runExperiments({ ...common, experiments: ['uploads'] });
  const mlperf = await runExperiments({
    ...common,
    protocol: 'mlperf-tiny',
    profile: 'kws01',
    experiments: ['accuracy', 'mlperf-performance', 'uploads'],
    samples: base.samples ?? 100,
    perfWindowSec: base.perfWindowSec ?? DEMO_PERF_WINDOW_S,
    inputs: 'stream',
  });
  const code = await finishRun(mlperf, values, ctx, true);
  const uploads = compareUploads([yono.dir, mlperf.dir]);
  process.stdout.write(`\none upload of a kws_dscnn input, yono vs MLPerf Tiny on ${base.rig} (runs ${rel(yono.dir)}/, ${rel(mlperf.dir)}/):\n${uploads.lines.join('\n')}\n`);
  return code;
}
