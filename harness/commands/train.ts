/**
 * `hil train <model>`: prepare data -> train float (seeded) -> fp32 test top-1 -> int8 PTQ ->
 * int8 host-reference test top-1 -> models/<name>/{float,int8,report}.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrepared, loadPrepared, PrepareOptions, PreparedSplit } from '../datasets/prepared.js';
import { evaluateInt8 } from '../reference/int8.js';
import { HilError } from '../util/errors.js';
import { MODELS_DIR } from '../util/paths.js';
import { makeAugment, type AugmentSpec } from '../modeltools/augment.js';
import { floatModelToJson } from '../modeltools/float-model.js';
import { modelHash, validateInt8Model } from '../modeltools/int8-model.js';
import { Sequential } from '../modeltools/nn/model.js';
import { evaluateFloat, Int8Data, trainModel } from '../modeltools/nn/trainer.js';
import { quantizeModel } from '../modeltools/quantize.js';
import { ZOO, zooEntry } from '../modeltools/zoo.js';
import type { Command } from './command.js';
import { nonNegativeInt, positiveInt } from './options.js';

/** Evaluation-only models (ZooEntry.deploy false) live in models/_eval/<name>/. */
export const EVAL_SUBDIR = '_eval';

/** Bump when training, quantization or the nn library change results. */
export const TRAIN_CODE_VERSION = 'yono-train/1';

export interface TrainReport {
  model: string;
  dataset: string;
  code_version: string;
  seed: number;
  epochs: number;
  batch_size: number;
  lr: number;
  /** training-time augmentation, when the zoo entry uses one */
  augment?: AugmentSpec;
  train_seconds: number;
  /** CPU seconds of this process while training (wall time above depends on machine load) */
  train_cpu_seconds?: number;
  train_loss_per_epoch: number[];
  fp32_top1: number;
  int8_top1: number;
  /** fraction of test samples where fp32 and int8 predict the same class */
  int8_fp32_agreement: number;
  test_samples: number;
  params: number;
  macs: number;
  /** int8 weights (1 B each) + int32 biases (4 B each); requant tables not counted */
  int8_bytes: number;
  calibration: { samples: number; method: string; source: string };
  dataset_sha256: string;
  train_sha256: string;
  prep_version: string;
  int8_model_hash: string;
  node: string;
}

export interface TrainZooOptions extends PrepareOptions {
  seed?: number;
  epochs?: number;
  log?: (msg: string) => void;
  /** default <repo>/models */
  modelsDir?: string;
}

function asInt8Data(d: PreparedSplit): Int8Data {
  return {
    x: d.x, y: d.y, count: d.count, inputBytes: d.inputBytes,
    scale: d.manifest.input_scale, zeroPoint: d.manifest.input_zero_point,
  };
}

export async function trainZooModel(name: string, opts: TrainZooOptions = {}): Promise<TrainReport> {
  const entry = zooEntry(name);
  if (!entry) throw new HilError(`unknown model '${name}' (zoo: ${Object.keys(ZOO).join(', ')})`, 'train');
  const log = opts.log ?? (() => undefined);
  const seed = opts.seed ?? entry.train.seed;
  const epochs = opts.epochs ?? entry.train.epochs;

  ensurePrepared(entry.dataset, opts);
  const train = loadPrepared(entry.dataset, 'train', { root: opts.root });
  const test = loadPrepared(entry.dataset, 'test', { root: opts.root });
  const trainData = asInt8Data(train);
  const testData = asInt8Data(test);

  const model = new Sequential(train.inputShape, entry.layers);
  log(`${name}: ${model.paramCount()} params, ${model.macs()} MACs; training ${epochs} epochs on ${train.count} samples (seed ${seed})`);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const { lossPerEpoch } = trainModel(model, trainData, {
    epochs,
    batchSize: entry.train.batchSize,
    lr: entry.train.lr,
    lrFinal: entry.train.lrFinal,
    seed,
    augment: entry.augment ? makeAugment(entry.augment, train.inputShape) : undefined,
    log: (m) => log(`${name}: ${m}`),
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const trainCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const fp32 = evaluateFloat(model, testData);
  log(`${name}: fp32 test top-1 ${(100 * fp32.accuracy).toFixed(2)} % (${trainSeconds.toFixed(0)} s training)`);

  const inputQ = { scale: train.manifest.input_scale, zero_point: train.manifest.input_zero_point };
  const int8 = validateInt8Model(
    quantizeModel(model, {
      name,
      dataset: entry.dataset,
      input: inputQ,
      calibration: trainData,
      calibrationSamples: entry.calibrationSamples,
      seed: seed + 1,
    }),
    `quantize ${name}`,
  );
  const q = evaluateInt8(int8, test.x, test.y, test.count);
  let agree = 0;
  for (let i = 0; i < test.count; i++) if (q.predictions[i] === fp32.predictions[i]) agree++;
  log(`${name}: int8 test top-1 ${(100 * q.accuracy).toFixed(2)} % (host reference)`);

  let int8Bytes = 0;
  for (const l of int8.layers) if (l.op === 'conv2d' || l.op === 'dense') int8Bytes += l.weights.length + 4 * l.bias.length;

  const report: TrainReport = {
    model: name,
    dataset: entry.dataset,
    code_version: TRAIN_CODE_VERSION,
    seed,
    epochs,
    batch_size: entry.train.batchSize,
    lr: entry.train.lr,
    augment: entry.augment,
    train_seconds: Math.round(trainSeconds * 10) / 10,
    train_cpu_seconds: Math.round(trainCpuSeconds * 10) / 10,
    train_loss_per_epoch: lossPerEpoch.map((v) => Math.round(v * 1e5) / 1e5),
    fp32_top1: fp32.accuracy,
    int8_top1: q.accuracy,
    int8_fp32_agreement: agree / test.count,
    test_samples: test.count,
    params: model.paramCount(),
    macs: model.macs(),
    int8_bytes: int8Bytes,
    calibration: {
      samples: Math.min(entry.calibrationSamples, train.count),
      method: 'per-tensor min/max of float activations (range widened to include 0)',
      source: `train split, seeded shuffle (seed ${seed + 1})`,
    },
    dataset_sha256: test.sha256,
    train_sha256: train.sha256,
    prep_version: train.manifest.prep_version,
    int8_model_hash: modelHash(int8),
    node: process.version,
  };

  const dir = join(opts.modelsDir ?? MODELS_DIR, entry.deploy === false ? EVAL_SUBDIR : '', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'float.json'), JSON.stringify(floatModelToJson(name, entry.dataset, model, inputQ)) + '\n');
  writeFileSync(join(dir, 'int8.json'), JSON.stringify(int8) + '\n');
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  log(`${name}: wrote ${dir}/{float,int8,report}.json`);
  return report;
}

export const trainCommand: Command = {
  name: 'train',
  usage: `train <model|all> [--seed n] [--epochs n]   retrain zoo models from their data sets`,
  options: { seed: { type: 'string' }, epochs: { type: 'string' }, quiet: { type: 'boolean' } },
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new HilError('which model? e.g. hil train fmnist_cnn (or all)', 'train');
    const names = positionals[0] === 'all' ? Object.keys(ZOO) : positionals;
    for (const name of names) {
      const r = await trainZooModel(name, { seed: nonNegativeInt(values, 'seed'), epochs: positiveInt(values, 'epochs'), log: ctx.log.info });
      process.stdout.write(
        `${name}: fp32 ${(100 * r.fp32_top1).toFixed(2)} %, int8 ${(100 * r.int8_top1).toFixed(2)} %, ${r.params} params, ${r.macs} MACs, ${r.train_seconds} s\n`,
      );
    }
    return 0;
  },
};
