/** What an importer hands back besides the model: provenance and a per-layer summary (report.json). */
import type { Int8Model } from '../int8-model.js';

/** Bump when an importer's output for the same file changes. */
export const IMPORTER_VERSION = 'yono-import/1';

export interface ImportedLayerSummary {
  index: number;
  op: string;
  /** source operators / nodes this layer came from, e.g. "operator 3 (CONV_2D)" */
  from: string[];
  out_shape: number[];
  params: number;
  macs: number;
}

export interface ImportReport {
  model: string;
  dataset: string;
  source_file: string;
  source_sha256: string;
  source_format: 'tflite' | 'onnx';
  importer_version: string;
  /** source operators that were dropped, with why */
  dropped_ops: string[];
  /** source operators that became no layer at all (reshape, flatten, ...) */
  noop_ops: string[];
  layers: ImportedLayerSummary[];
  params: number;
  macs: number;
  /** int8 weights (1 B each) + int32 biases (4 B each), as in the trained models' reports */
  int8_bytes: number;
  int8_model_hash: string;
  notes: string[];
  /** set when the model was quantized here (ONNX) */
  calibration?: { dataset: string; split: string; samples: number; method: string };
  /** host-reference top-1 on the data set's test split, when one was given */
  int8_top1?: number;
  fp32_top1?: number;
}

export interface ImportResult {
  model: Int8Model;
  report: ImportReport;
}

type LooseLayer = { op: string } & Record<string, unknown>;

const nums = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : []);

/** Parameters and MACs of one layer (works on any SPEC op, including ones added later). */
export function layerCost(l: LooseLayer): { params: number; macs: number; outShape: number[] } {
  const weights = nums(l.weights).length;
  const bias = nums(l.bias).length;
  const out = nums(l.out_shape);
  const outSize = out.reduce((a, b) => a * b, 1);
  switch (l.op) {
    case 'conv2d':
      return { params: weights + bias, macs: outSize * (weights / Math.max(1, out[2])), outShape: out };
    case 'depthwise_conv2d':
      return { params: weights + bias, macs: outSize * Number(l.kh) * Number(l.kw), outShape: out };
    case 'dense':
      return { params: weights + bias, macs: weights, outShape: [1, 1, Number(l.out_features)] };
    case 'add':
    case 'mul':
      return { params: nums(l.const2).length, macs: 0, outShape: out }; // a constant operand is a parameter
    default:
      return { params: 0, macs: 0, outShape: out };
  }
}

/** The per-layer table and totals of a report. */
export function summarize(model: Int8Model, from: string[][]): Pick<ImportReport, 'layers' | 'params' | 'macs' | 'int8_bytes'> {
  const layers = (model.layers as unknown as LooseLayer[]).map((l, index): ImportedLayerSummary => {
    const c = layerCost(l);
    return { index, op: l.op, from: from[index] ?? [], out_shape: c.outShape, params: c.params, macs: c.macs };
  });
  let int8Bytes = 0;
  for (const l of model.layers as unknown as LooseLayer[]) int8Bytes += nums(l.weights).length + 4 * nums(l.bias).length;
  return {
    layers,
    params: layers.reduce((a, l) => a + l.params, 0),
    macs: layers.reduce((a, l) => a + l.macs, 0),
    int8_bytes: int8Bytes,
  };
}
