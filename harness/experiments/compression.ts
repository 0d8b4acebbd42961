/**
 * Compression: per model and in total, the bytes of the fp32, int8 and pq forms
 * (compress/accounting.ts definitions), and the accuracy and instructions both firmwares measured
 * in one run (`hil run --variant both`). Pure: it joins rows the accuracy and latency experiments
 * already produced, so every figure in compression.csv traces to a device run.
 */
import { join } from 'node:path';
import { accountSet } from '../compress/accounting.js';
import type { ModelBytes } from '../compress/accounting.js';
import { isPqModel, PQ_FORMAT } from '../compress/pq-model.js';
import type { DeployModel, PqModel } from '../compress/pq-model.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import { reportedFp32Top1 } from '../modeltools/model-report.js';
import { MODELS_DIR } from '../util/paths.js';
import { formatTable } from '../util/table.js';
import { ACCURACY_TABLE, type AccuracyRow } from './accuracy.js';
import { PROVENANCE_COLUMNS, type Provenance } from './context.js';
import type { Experiment, Table } from './experiment.js';
import { LATENCY_TABLE, type LatencyRow } from './latency.js';

export interface CompressionRow extends Provenance {
  /** a model, or TOTAL (every model of the run) / TOTAL_PQ (only the models stored compressed) */
  model: string;
  /** pq, or int8 when 'hil compress' left the model uncompressed (compression.json says why) */
  stored_as: 'pq' | 'int8' | '';
  int8_firmware_hash: string;
  params: number;
  fp32_bytes: number;
  int8_bytes: number;
  pq_bytes: number;
  pq_index_bytes: number;
  pq_codebook_share_bytes: number;
  pq_int8_layer_bytes: number;
  pq_bias_bytes: number;
  ratio_fp32: number;
  ratio_int8: number;
  top1_fp32: number | '';
  top1_int8_device: number | '';
  top1_pq_host: number | '';
  top1_pq_device: number | '';
  /** pq device - int8 device, in points (100 = all samples) */
  top1_change_points: number | '';
  instructions_int8: number | '';
  instructions_pq: number | '';
  instructions_ratio: number | '';
}

/** fp32 top-1 from the training report (models/<name>/report.json), null for imported models. */
export function fp32Top1(name: string, dir: string = MODELS_DIR): number | null {
  return reportedFp32Top1(join(dir, name));
}

/** An int8 model as a pq model without pq layers (accounting counts all its weights as int8). */
function asPq(m: Int8Model): PqModel {
  return { format: PQ_FORMAT, name: m.name, dataset: m.dataset, classes: m.classes, input: m.input, output: m.output, layers: m.layers, codebooks: {} };
}

export interface CompressionInput {
  int8: Int8Model[];
  /** the same models as the pq firmware holds them (pq, or int8 for excluded ones) */
  pq: DeployModel[];
  accuracy: (AccuracyRow & { variant: string })[];
  latency: (LatencyRow & { variant: string })[];
  /** provenance of the pq firmware's rows (firmware_hash = pq firmware) */
  provenance: (model: string) => Provenance;
  int8FirmwareHash: string;
  fp32Top1?: (model: string) => number | null;
}

const num = (x: number | '' | undefined): number | null => (typeof x === 'number' ? x : null);

export function compressionRows(input: CompressionInput): CompressionRow[] {
  const pairs = input.int8.map((m, i) => {
    const d = input.pq[i];
    return { int8: m, pq: isPqModel(d) ? d : asPq(d), storedAs: (isPqModel(d) ? 'pq' : 'int8') as 'pq' | 'int8' };
  });
  const bytes = accountSet(pairs);
  const top1Fp32 = input.fp32Top1 ?? ((n: string) => fp32Top1(n));
  const acc = (model: string, v: string) => input.accuracy.find((r) => r.model === model && r.variant === v);
  const lat = (model: string, v: string) => input.latency.find((r) => r.model === model && r.variant === v);
  const rows: CompressionRow[] = pairs.map(({ int8: m, storedAs }, i) => {
    const b = bytes[i];
    const a8 = acc(m.name, 'int8');
    const aq = acc(m.name, 'pq');
    const i8 = num(lat(m.name, 'int8')?.instructions_median);
    const iq = num(lat(m.name, 'pq')?.instructions_median);
    return {
      ...input.provenance(m.name),
      ...byteColumns(m.name, storedAs, input.int8FirmwareHash, b),
      top1_fp32: top1Fp32(m.name) ?? '',
      top1_int8_device: a8 ? a8.top1 : '',
      top1_pq_host: aq ? aq.host_top1 : '',
      top1_pq_device: aq ? aq.top1 : '',
      top1_change_points: a8 && aq ? 100 * (aq.top1 - a8.top1) : '',
      instructions_int8: i8 ?? '',
      instructions_pq: iq ?? '',
      instructions_ratio: i8 !== null && iq !== null && i8 > 0 ? iq / i8 : '',
    };
  });
  const total = (name: string, keep: (r: CompressionRow) => boolean): CompressionRow | null => {
    const idx = rows.map((r, i) => (keep(r) ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) return null;
    const sum = (f: (b: ModelBytes) => number) => idx.reduce((s, i) => s + f(bytes[i]), 0);
    const b: ModelBytes = {
      params: sum((x) => x.params), fp32Bytes: sum((x) => x.fp32Bytes), int8Bytes: sum((x) => x.int8Bytes), indexBytes: sum((x) => x.indexBytes),
      codebookShare: sum((x) => x.codebookShare), int8PartBytes: sum((x) => x.int8PartBytes), biasBytes: sum((x) => x.biasBytes), pqBytes: sum((x) => x.pqBytes),
    };
    const instr = (k: 'instructions_int8' | 'instructions_pq') => idx.reduce((s, i) => s + (num(rows[i][k]) ?? NaN), 0);
    const [i8, iq] = [instr('instructions_int8'), instr('instructions_pq')];
    const ok = Number.isFinite(i8) && Number.isFinite(iq) && i8 > 0;
    return {
      ...input.provenance(''), dataset_hash: '',
      ...byteColumns(name, '', input.int8FirmwareHash, b),
      top1_fp32: '', top1_int8_device: '', top1_pq_host: '', top1_pq_device: '', top1_change_points: '',
      instructions_int8: ok ? i8 : '', instructions_pq: ok ? iq : '', instructions_ratio: ok ? iq / i8 : '',
    };
  };
  const all = total('TOTAL', () => true);
  const onlyPq = rows.some((r) => r.stored_as === 'int8') ? total('TOTAL_PQ', (r) => r.stored_as === 'pq') : null;
  return [...rows, ...(all ? [all] : []), ...(onlyPq ? [onlyPq] : [])];
}

function byteColumns(model: string, storedAs: CompressionRow['stored_as'], int8Hash: string, b: ModelBytes) {
  return {
    model, stored_as: storedAs, int8_firmware_hash: int8Hash, params: b.params, fp32_bytes: b.fp32Bytes, int8_bytes: b.int8Bytes,
    pq_bytes: Math.round(b.pqBytes), pq_index_bytes: b.indexBytes, pq_codebook_share_bytes: b.codebookShare, pq_int8_layer_bytes: b.int8PartBytes,
    pq_bias_bytes: b.biasBytes, ratio_fp32: b.fp32Bytes / b.pqBytes, ratio_int8: b.int8Bytes / b.pqBytes,
  };
}

/** The compression table of `hil run --variant both` (rows of experiments/compression.ts). */
export function summarizeCompression(rows: CompressionRow[]): string {
  const opt = (x: number | '', f: (n: number) => string) => (x === '' ? '-' : f(x));
  const header = ['model', 'stored', 'fp32 B', 'int8 B', 'pq B', 'vs fp32', 'vs int8', 'int8 top1', 'pq top1', 'pq-int8 pt', 'instr pq/int8'];
  const body = rows.map((r) => [
    r.model, r.stored_as || '-', String(r.fp32_bytes), String(r.int8_bytes), String(r.pq_bytes), `${r.ratio_fp32.toFixed(2)}x`, `${r.ratio_int8.toFixed(2)}x`,
    opt(r.top1_int8_device, pct), opt(r.top1_pq_device, pct), opt(r.top1_change_points, (n) => n.toFixed(2)), opt(r.instructions_ratio, (n) => `${n.toFixed(3)}x`),
  ]);
  return formatTable(header, body) + '\ntop-1 on the device (whole test splits unless --samples); bytes: indices + share of the shared codebooks + int8 layers + biases as stored (int32; pq layers int16 << shift)';
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export const COMPRESSION_TABLE: Table<CompressionRow> = {
  file: 'compression.csv',
  columns: [
    ...PROVENANCE_COLUMNS,
    'model', 'stored_as', 'int8_firmware_hash', 'params', 'fp32_bytes', 'int8_bytes', 'pq_bytes', 'pq_index_bytes',
    'pq_codebook_share_bytes', 'pq_int8_layer_bytes', 'pq_bias_bytes', 'ratio_fp32', 'ratio_int8',
    'top1_fp32', 'top1_int8_device', 'top1_pq_host', 'top1_pq_device', 'top1_change_points',
    'instructions_int8', 'instructions_pq', 'instructions_ratio',
  ],
};

export const compressionExperiment: Experiment = {
  name: 'compression',
  summary: 'stored bytes of fp32, int8 and pq per model and in total, with top-1 and instructions of both firmwares (variants int8 and pq)',
  tables: [COMPRESSION_TABLE],
  requires: (run) => (['int8', 'pq'].every((v) => run.plans.some((p) => p.variant === v)) ? undefined : 'needs both the int8 and the pq variant (--variant both)'),
  afterVariants(run) {
    const int8 = run.plans.find((p) => p.variant === 'int8');
    const pq = run.plans.find((p) => p.variant === 'pq');
    if (!int8 || !pq) return;
    const accuracy = run.results.rows(ACCURACY_TABLE);
    const pqDevice = run.devices.pq;
    run.results.append(COMPRESSION_TABLE, compressionRows({
      int8: int8.models, pq: pq.deploy, accuracy, latency: run.results.rows(LATENCY_TABLE), int8FirmwareHash: run.devices.int8?.build ?? '',
      provenance: (model) => ({
        run_id: run.id, rig: run.rig.name, board: pqDevice?.board ?? '', firmware_hash: pqDevice?.build ?? '',
        dataset_hash: accuracy.find((r) => r.model === model && r.variant === 'pq')?.dataset_hash ?? '', harness_version: run.harnessVersion,
      }),
    }));
  },
  summarize(run) {
    const rows = run.results.rows(COMPRESSION_TABLE);
    return rows.length ? summarizeCompression(rows) : undefined;
  },
};
