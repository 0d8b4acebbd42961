/**
 * `hil import <file.tflite|file.onnx> --name <model> --dataset <prepared set> [--calibration n]`:
 * imports a user's model into models/<name>/{int8.json, report.json}, after which it is an
 * ordinary member of the model set (`hil models`, `hil run --models <name>`).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DATASET_NAMES, ensurePrepared, loadPrepared } from '../datasets/prepared.js';
import { evaluateInt8 } from '../reference/int8.js';
import { evaluateFloat } from '../modeltools/nn/trainer.js';
import { HilError } from '../util/errors.js';
import { MODELS_DIR, rel } from '../util/paths.js';
import { zooEntry } from '../modeltools/zoo.js';
import type { Sequential } from '../modeltools/nn/model.js';
import type { ImportResult } from '../modeltools/import/report.js';
import { importTfliteFile } from '../modeltools/import/tflite.js';
import { ARITHMETICS, type Arithmetic } from '../modeltools/int8-model.js';
import type { Command } from './command.js';
import { positiveInt, required } from './options.js';

export interface ImportCommandOptions {
  file: string;
  name: string;
  dataset: string;
  /** ONNX: calibration samples from the data set's train split */
  calibration?: number;
  /** TFLite: requant arithmetic (default tflite-double; SPEC section 3) */
  arithmetic?: Arithmetic;
  /** default <repo>/models */
  modelsDir?: string;
  log?: (line: string) => void;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const SCALE_TOLERANCE = 1e-6;

/** Imports, checks the model against its data set, evaluates it on the host, writes the files. */
export async function importCommand(o: ImportCommandOptions): Promise<ImportResult & { dir: string }> {
  const log = o.log ?? (() => undefined);
  if (!NAME_RE.test(o.name)) throw new HilError(`must match ${NAME_RE.source}`, `--name ${o.name}`);
  if (zooEntry(o.name)) throw new HilError('is a trained zoo model; pick another name', `--name ${o.name}`);
  if (!(DATASET_NAMES as readonly string[]).includes(o.dataset)) {
    throw new HilError(`unknown data set (known: ${DATASET_NAMES.join(', ')})`, `--dataset ${o.dataset}`);
  }
  if (!existsSync(o.file)) throw new HilError('no such file', o.file);
  const manifest = ensurePrepared(o.dataset);

  let result: ImportResult & { float?: Sequential };
  const ext = extname(o.file).toLowerCase();
  if (ext === '.tflite') {
    result = importTfliteFile(o.file, { name: o.name, dataset: o.dataset, arithmetic: o.arithmetic });
  } else if (ext === '.onnx') {
    if (o.arithmetic && o.arithmetic !== 'yono15') throw new HilError('ONNX models are quantized here, with the yono15 arithmetic', `--arithmetic ${o.arithmetic}`);
    const { importOnnxFile } = await import('../modeltools/import/onnx.js');
    result = importOnnxFile(o.file, { name: o.name, dataset: o.dataset, calibrationSamples: o.calibration ?? 1000 });
  } else {
    throw new HilError('expected a .tflite or .onnx file', o.file);
  }
  const { model, report } = result;

  // the data set must be what the model takes: same layout, classes, and input quantization
  const where = `${o.file} vs data set ${o.dataset}`;
  const ms = model.input.shape;
  if (manifest.input_shape.join('x') !== ms.join('x')) {
    throw new HilError(`model input ${ms.join('x')} but the data set's samples are ${manifest.input_shape.join('x')}`, where);
  }
  if (manifest.class_names.length !== model.classes) {
    throw new HilError(`model has ${model.classes} outputs but the data set has ${manifest.class_names.length} classes`, where);
  }
  if (Math.abs(manifest.input_scale / model.input.scale - 1) > SCALE_TOLERANCE || manifest.input_zero_point !== model.input.zero_point) {
    throw new HilError(
      `model input quantization (scale ${model.input.scale}, zero point ${model.input.zero_point}) differs from the data set's ` +
        `(scale ${manifest.input_scale}, zero point ${manifest.input_zero_point}): its samples would be fed with the wrong meaning`,
      where,
    );
  }

  const test = loadPrepared(o.dataset, 'test');
  if (test.count > 0) {
    const ev = evaluateInt8(model, test.x, test.y, test.count);
    report.int8_top1 = ev.accuracy;
    if (result.float) {
      const data = { x: test.x, y: test.y, count: test.count, inputBytes: test.inputBytes, scale: manifest.input_scale, zeroPoint: manifest.input_zero_point };
      report.fp32_top1 = evaluateFloat(result.float, data).accuracy;
      log(`${o.name}: fp32 (the ONNX graph as imported) top-1 ${(100 * report.fp32_top1).toFixed(2)} %`);
    }
    log(`${o.name}: int8 host-reference top-1 ${(100 * ev.accuracy).toFixed(2)} % on ${test.count} test samples of ${o.dataset}`);
  }

  const dir = join(o.modelsDir ?? MODELS_DIR, o.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'int8.json'), JSON.stringify(model) + '\n');
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  log(`${o.name}: ${model.layers.length} layers, ${report.params} params, ${report.macs} MACs; wrote ${rel(dir)}/{int8,report}.json`);
  for (const d of report.dropped_ops) log(`${o.name}: dropped ${d}`);
  return { model, report, dir };
}

export const importCommandSpec: Command = {
  name: 'import',
  usage: `import <file.tflite|file.onnx> --name <model> --dataset <set> [--calibration n]
       [--arithmetic tflite-double|tflite-single|yono15]
                               import a user's int8 TFLite or float ONNX model into models/<model>/
                               (TFLite: TFLite's double-rounding arithmetic unless --arithmetic)`,
  options: { name: { type: 'string' }, dataset: { type: 'string' }, calibration: { type: 'string' }, arithmetic: { type: 'string' }, quiet: { type: 'boolean' } },
  async run(values, positionals, ctx) {
    const file = positionals[0];
    if (!file) throw new HilError('which file? e.g. hil import model.tflite --name my_model --dataset <set>', 'import');
    const r = await importCommand({
      file,
      name: required(values, 'name', 'the model name under models/', 'import'),
      dataset: required(values, 'dataset', 'the data set the model classifies', 'import'),
      calibration: positiveInt(values, 'calibration'),
      arithmetic: arithmeticOption(values.arithmetic),
      log: ctx.log.info,
    });
    process.stdout.write(`${rel(r.dir)}/: ${r.model.layers.length} layers, ${r.report.macs} MACs, hash ${r.report.int8_model_hash}\n`);
    return 0;
  },
};

function arithmeticOption(v: unknown): Arithmetic | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !ARITHMETICS.includes(v as Arithmetic)) throw new HilError(`must be one of ${ARITHMETICS.join(', ')}`, `--arithmetic ${String(v)}`);
  return v as Arithmetic;
}
