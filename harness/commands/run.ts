/** `hil run` and `hil demo`: experiments on a rig, results in one run folder. */
import fs from 'node:fs';
import path from 'node:path';
import { EXPERIMENT_NAMES } from '../experiments/registry.js';
import { DEVICE_PROTOCOLS } from '../protocol/drivers.js';
import { DEFAULT_RIG } from '../rig/rig.js';
import { runExperiments } from '../run/run.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';
import type { Command, CommandContext, OptionSpec, OptionValues } from './command.js';
import { flag, list, nonNegativeInt, positiveInt, positiveNumber, runVariantsOf, str } from './options.js';
import { writeRunJunit } from '../reports/junit.js';
import { writeReport } from '../reports/report/write.js';

const INPUT_MODES = ['auto', 'stream', 'preload'] as const;

function inputsOf(values: OptionValues): (typeof INPUT_MODES)[number] | undefined {
  const v = str(values, 'inputs');
  if (v !== undefined && !(INPUT_MODES as readonly string[]).includes(v)) throw new HilError(`unknown input path; available: ${INPUT_MODES.join(', ')}`, '--inputs');
  return v as (typeof INPUT_MODES)[number] | undefined;
}

const RUN_OPTIONS: OptionSpec = {
  rig: { type: 'string' },
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
};


async function run(values: OptionValues, ctx: CommandContext, defaultVariants: string, report: boolean): Promise<number> {
  const result = await runExperiments({
    rig: str(values, 'rig') ?? DEFAULT_RIG,
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
  });
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

const RUN_USAGE = `      --rig <name|file>        rig (default ${DEFAULT_RIG}); see 'hil rigs'
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
      --resume <run folder>    continue an interrupted, failed or killed run (its own options; finished work kept)
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
                               instead of the model's prepared test split (one model)`;

export const runCommand: Command = {
  name: 'run',
  usage: `run [options]                run experiments (default variant int8)\n${RUN_USAGE}`,
  options: RUN_OPTIONS,
  run: (values, _positionals, ctx) => run(values, ctx, 'int8', false),
};

export const demoCommand: Command = {
  name: 'demo',
  usage: `demo [run options]           every experiment, every model and variant, whole test sets, on ${DEFAULT_RIG}`,
  options: RUN_OPTIONS,
  // the demo shows what YONO buys: every variant in one run
  run: (values, _positionals, ctx) => run(values, ctx, 'all', true),
};
