#!/usr/bin/env node
/** `hil`: the command line of yono-hil. Every user-facing failure is one line and a non-zero exit. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildFirmware } from './firmware/build.js';
import { estimateModelFootprint } from './modeltools/codegen.js';
import { listRigs, loadRig, DEFAULT_RIG } from './rig/rig.js';
import { EXPERIMENTS, runExperiments, type ExperimentName } from './run.js';
import { listModels, loadDeploySet, loadModelSet, VARIANTS, type Variant } from './session/model-set.js';
import { prepareDataset } from './datasets/prepared.js';
import { formatTable } from './reports/summary.js';
import { runCleanups } from './util/cleanup.js';
import { HilError } from './util/errors.js';
import { createLogger } from './util/log.js';
import { MODELS_DIR, rel } from './util/paths.js';

const USAGE = `usage: hil <command> [options]

commands:
  demo                         every experiment, every model, whole test sets, on the default rig (${DEFAULT_RIG})
  run [options]                run experiments
      --rig <name|file>        rig (default ${DEFAULT_RIG}); see 'hil rigs'
      --models <a,b>           models (default: all trained models; see 'hil models')
      --experiments <a,b>      ${EXPERIMENTS.join(', ')} (default: all)
      --samples <n>            accuracy samples per model (default: whole test split)
      --runs <n> --warmup <n>  timed and warm-up runs per latency input (default 10, 2)
      --results <dir>          results root (default results/)
      --variant <v[,v]|both|all>  which form of the models the firmware holds: int8, pq (YONO, needs 'hil compress'),
                               int8-ext (baseline: int8 in external storage, loaded on every switch); both = int8,pq
                               (+ compression.csv), all = int8,pq,int8-ext (run: default int8; demo: all)
  build [--rig r] [--models] [--variant v]   build the firmware and print its flash/SRAM use
  models                       list the trained models
  prepare [dataset...]         prepare data sets under datasets/prepared/
  train <model> [--seed n] [--epochs n]   retrain one model from its data set
  rigs                         list the rigs; 'hil rigs check <file>' validates one
  compress [--models a,b] [--kxk-d n --kxk-k n --fc-d n --fc-k n --min-weights n --seed n] [--int8-first] [--finetune [--max-rounds n]] [--no-loo]
                               YONO: shared PQ codebooks over all models -> models/<m>/pq.json, models/_codebooks/, models/compression.json
  import <file.tflite|file.onnx> --name <model> --dataset <set> [--calibration n]
                               import a user's int8 TFLite or float ONNX model into models/<model>/
  rigs doctor [rig...]         USB devices and serial ports here, and what each rig still lacks
`;

function fail(message: string, where?: string): never {
  throw new HilError(message, where);
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`expected a positive integer, got "${value}"`, flag);
  return n;
}

function variantOf(value: string | undefined): Variant {
  if (value === undefined) return 'int8';
  if (!(VARIANTS as readonly string[]).includes(value)) fail(`unknown variant; available: ${VARIANTS.join(', ')}`, '--variant');
  return value as Variant;
}

/**
 * run/demo take a comma list of variants, or `both` (int8, pq: then compression.csv) or `all`
 * (int8, pq, int8-ext: then the switching reductions too); one firmware and session each.
 */
function runVariantsOf(value: string | undefined, fallback: string): Variant[] {
  const v = value ?? fallback;
  if (v === 'both') return ['int8', 'pq'];
  if (v === 'all') return [...VARIANTS];
  const chosen = list(v) ?? [];
  for (const c of chosen) if (!(VARIANTS as readonly string[]).includes(c)) fail(`unknown variant "${c}"; available: ${VARIANTS.join(', ')}, both, all (or a comma list)`, '--variant');
  if (chosen.length === 0) fail('no variant given', '--variant');
  return [...new Set(chosen as Variant[])];
}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      rig: { type: 'string' },
      models: { type: 'string' },
      experiments: { type: 'string' },
      samples: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      results: { type: 'string' },
      seed: { type: 'string' },
      epochs: { type: 'string' },
      quiet: { type: 'boolean' },
      name: { type: 'string' },
      dataset: { type: 'string' },
      calibration: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      // issue #4 (YONO pq)
      variant: { type: 'string' },
      'kxk-d': { type: 'string' },
      'kxk-k': { type: 'string' },
      'fc-d': { type: 'string' },
      'fc-k': { type: 'string' },
      'min-weights': { type: 'string' },
      finetune: { type: 'boolean' },
      'max-rounds': { type: 'string' },
      'int8-first': { type: 'boolean' },
      'no-loo': { type: 'boolean' },
    },
  });
  const log = createLogger({ quiet: values.quiet });
  if (!command || command === 'help' || values.help) {
    process.stdout.write(USAGE);
    return command ? 0 : 1;
  }
  switch (command) {
    case 'demo':
    case 'run': {
      const experiments = list(values.experiments) as ExperimentName[] | undefined;
      for (const e of experiments ?? []) if (!EXPERIMENTS.includes(e)) fail(`unknown experiment; available: ${EXPERIMENTS.join(', ')}`, e);
      const result = await runExperiments({
        rig: values.rig ?? DEFAULT_RIG,
        models: list(values.models),
        experiments,
        samples: positiveInt(values.samples, '--samples'),
        latencyRuns: positiveInt(values.runs, '--runs'),
        latencyWarmup: values.warmup === undefined ? undefined : Number(values.warmup),
        resultsDir: values.results ? path.resolve(values.results) : undefined,
        // the demo shows what YONO buys: every variant in one run; a plain run stays int8
        variants: runVariantsOf(values.variant, command === 'demo' ? 'all' : 'int8'),
        log,
      });
      process.stdout.write(`\n${result.summary}\n\nresults: ${rel(result.dir)}/ (${fs.readdirSync(result.dir).sort().join(', ')})\n`);
      const disagree = [
        ...result.accuracy.filter((r) => r.mismatches > 0).map((r) => `${r.model} (${r.mismatches})`),
        ...result.scenario.filter((t) => t.mismatches > 0).map((t) => `scenario ${t.schedule} ${t.variant} (${t.mismatches})`),
      ];
      if (disagree.length > 0) {
        process.stderr.write(`error: device and host reference disagree on ${[...new Set(disagree)].join(', ')}\n`);
        return 3;
      }
      return 0;
    }
    case 'build': {
      const rig = loadRig(values.rig ?? DEFAULT_RIG);
      const variant = variantOf(values.variant);
      const build = buildFirmware(rig.board, loadDeploySet(list(values.models) ?? [], variant), { log: log.info, variant });
      const m = build.memory;
      process.stdout.write(`${rel(build.elf)}\nbuild ${build.buildHash} board ${build.board.name}: flash ${m.flashBytes}/${m.flashBudget} B, SRAM ${m.ramBytes}/${m.ramBudget} B\n`);
      return 0;
    }
    case 'models': {
      const rows = listModels().map((name) => {
        const reportFile = path.join(MODELS_DIR, name, 'report.json');
        const r = fs.existsSync(reportFile) ? (JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Record<string, unknown>) : {};
        const model = loadModelSet([name])[0];
        const need = estimateModelFootprint(model);
        const num = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
        const pctOf = (k: string) => (num(k) === undefined ? '-' : `${(100 * (num(k) as number)).toFixed(2)}%`);
        return [name, model.dataset, String(num('params') ?? '-'), String(num('macs') ?? '-'), String(need.flashBytes), String(need.ramBytes), pctOf('fp32_top1'), pctOf('int8_top1')];
      });
      process.stdout.write(formatTable(['model', 'dataset', 'params', 'MACs', 'flash B', 'SRAM B', 'fp32 top1', 'int8 top1'], rows) + '\n');
      process.stdout.write('flash/SRAM: what the model adds to the firmware (weights, tables; activation arena, scratch, input); top-1 on the host, whole test split\n');
      return 0;
    }
    case 'prepare': {
      const names = positionals.length > 0 ? positionals : [...new Set(loadModelSet().map((m) => m.dataset))];
      for (const name of names) {
        const manifest = prepareDataset(name);
        log.info(`prepared ${name}: ${JSON.stringify(manifest.counts ?? {})}`);
      }
      return 0;
    }
    case 'train': {
      const name = positionals[0] ?? fail('which model? e.g. hil train fmnist_cnn', 'train');
      const { trainZooModel } = await import('./modeltools/train.js');
      const report = await trainZooModel(name, { seed: positiveInt(values.seed, '--seed'), epochs: positiveInt(values.epochs, '--epochs'), log: log.info });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    case 'rigs': {
      if (positionals[0] === 'doctor') {
        const { runDoctor } = await import('./discovery/doctor.js');
        const names = positionals.length > 1 ? positionals.slice(1) : listRigs();
        const report = await runDoctor(names.map((n) => loadRig(n)), (p) => fs.existsSync(p));
        process.stdout.write(report.text + '\n');
        return 0;
      }
      if (positionals[0] === 'check') {
        const rig = loadRig(positionals[1] ?? fail('which rig file?', 'rigs check'));
        process.stdout.write(`${rel(rig.file)}: ok (${rig.dut.kind} ${rig.board})\n`);
        return 0;
      }
      const rows = listRigs().map((name) => {
        try {
          const rig = loadRig(name);
          return [name, rig.board, rig.dut.kind, rig.description ?? ''];
        } catch (e) {
          return [name, '-', 'invalid', e instanceof HilError ? e.toLine() : String(e)];
        }
      });
      process.stdout.write(formatTable(['rig', 'board', 'dut', 'description'], rows) + '\n');
      return 0;
    }
    case 'compress': {
      const { compressCommand } = await import('./compress/compress-cli.js');
      const p = (k: 'kxk-d' | 'kxk-k' | 'fc-d' | 'fc-k' | 'min-weights') => positiveInt(values[k], `--${k}`);
      const report = await compressCommand({
        models: list(values.models),
        pq: { kxkD: p('kxk-d'), kxkK: p('kxk-k'), fcD: p('fc-d'), fcK: p('fc-k'), minWeights: p('min-weights'), seed: positiveInt(values.seed, '--seed') },
        int8First: values['int8-first'] === true,
        finetune: values.finetune === true,
        maxRounds: positiveInt(values['max-rounds'], '--max-rounds'),
        noLeaveOneOut: values['no-loo'] === true,
        samples: positiveInt(values.samples, '--samples'),
        log: log.info,
      });
      process.stdout.write(report + '\n');
      return 0;
    }
    case 'import': {
      const { importCommand } = await import('./modeltools/import/import-cli.js');
      const r = await importCommand({
        file: positionals[0] ?? fail('which file? e.g. hil import model.tflite --name my_model --dataset <set>', 'import'),
        name: values.name ?? fail('--name <model> is required', 'import'),
        dataset: values.dataset ?? fail('--dataset <prepared set> is required (the data set the model classifies)', 'import'),
        calibration: positiveInt(values.calibration, '--calibration'),
        log: log.info,
      });
      process.stdout.write(`${rel(r.dir)}/: ${r.model.layers.length} layers, ${r.report.macs} MACs, hash ${r.report.int8_model_hash}\n`);
      return 0;
    }
    default:
      fail(`unknown command; run 'hil help'`, command);
  }
}

main(process.argv.slice(2))
  .then(async (code) => {
    await runCleanups();
    process.exitCode = code;
  })
  .catch(async (e: unknown) => {
    await runCleanups();
    if (e instanceof HilError) {
      process.stderr.write(`error: ${e.toLine()}\n`);
      process.exitCode = e.exitCode;
    } else if (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${e.message} (see 'hil help')\n`);
      process.exitCode = 2;
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      process.stderr.write(`internal error (a bug in yono-hil): ${err.message}${process.env.YONO_DEBUG ? `\n${err.stack}` : ' (set YONO_DEBUG=1 for the stack)'}\n`);
      process.exitCode = 70;
    }
  });

