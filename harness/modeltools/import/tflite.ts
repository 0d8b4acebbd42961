/**
 * Imports a fully int8-quantized TFLite model: a graph of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
 * AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE, ADD, MUL (one operand may broadcast), MEAN (over the spatial
 * axes), CONCATENATION, LOGISTIC, PAD (folded), QUANTIZE/DEQUANTIZE at the edges (folded) and a
 * trailing SOFTMAX (dropped). Weights, int32 biases and zero points are taken as given. By default
 * the model keeps TFLite's arithmetic (`yono-int8/2`, `"arithmetic": "tflite-double"`: 31-bit
 * multipliers computed exactly as TFLite computes them, TFLite's average pool and mean; SPEC section
 * 3); `tflite-single` is XNNPACK's single rounding; `yono15` recomputes 15-bit multipliers
 * (`yono-int8/1`, the importer's behaviour before 2026-12: tracks TFLite closely, not bit for bit;
 * chains only).
 */
import { sha256 } from '../../util/hash.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { HilError } from '../../util/errors.js';
import { convGeometry, type Padding } from '../nn/conv2d.js';
import { INT8_FORMAT, INT8_FORMAT_V2, isTflite, modelHash, shapeSize, validateInt8Model, type Arithmetic, type Shape3 } from '../int8-model.js';
import { quantizeMultiplier, quantizeMultiplierQ31, tfliteMeanMultiplier } from '../quantize.js';
import { IMPORTER_VERSION, summarize, type ImportResult } from './report.js';
import { BuiltinOp, OptionsType, readTflite, type TfliteGraph, type TfliteOperator, type TfliteTensor } from './tflite-schema.js';
import type { FbTable } from './flatbuffer.js';

export const TFLITE_SUPPORTED = [
  'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'RESHAPE', 'ADD (same shapes, or one broadcast: [1,1,1,C], a scalar; one operand may be an int8 constant; tflite-* arithmetic)', 'MUL (as ADD)',
  'MEAN (over H and W, keep_dims or not: global average pooling)',
  'PAD (of H and W, folded into the convolution that reads it)', 'LOGISTIC (int8 table)', 'CONCATENATION (2 inputs, channel axis, one quantization)', 'QUANTIZE at a float input and DEQUANTIZE at a float output (folded)',
  'SOFTMAX (last operator only)',
];

export interface TfliteImportOptions {
  /** model name (models/<name>/) */
  name: string;
  /** the prepared data set the model is evaluated on */
  dataset: string;
  /** requant arithmetic (SPEC section 3); default tflite-double, TFLite Micro's */
  arithmetic?: Arithmetic;
}

/** A layer object in SPEC form; validateInt8Model types and checks it at the end. */
type LayerJson = { op: string } & Record<string, unknown>;

interface Q {
  scale: number;
  zp: number;
}

/** An operand of ADD/MUL: an imported activation (our tensor id) or a constant (id -1, its int8 values). */
interface Operand {
  id: number;
  shape: Shape3;
  q: Q;
  data?: number[];
}

const SUPPORTED_CODES = new Set<number>([
  BuiltinOp.ADD, BuiltinOp.MUL, BuiltinOp.MEAN, BuiltinOp.CONCATENATION, BuiltinOp.PAD, BuiltinOp.LOGISTIC, BuiltinOp.CONV_2D, BuiltinOp.DEPTHWISE_CONV_2D, BuiltinOp.FULLY_CONNECTED, BuiltinOp.AVERAGE_POOL_2D,
  BuiltinOp.MAX_POOL_2D, BuiltinOp.RESHAPE, BuiltinOp.SOFTMAX,
]);

const ACT_NAMES = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

export function importTfliteFile(path: string, opts: TfliteImportOptions): ImportResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new HilError(`cannot read: ${(e as Error).message}`, path);
  }
  return importTflite(bytes, basename(path), opts);
}

export function importTflite(bytes: Uint8Array, fileName: string, opts: TfliteImportOptions): ImportResult {
  const g = readTflite(bytes, fileName);
  const arithmetic = opts.arithmetic ?? 'tflite-double';
  const imp = new Importer(g, fileName, arithmetic);
  const { layers, from, input, output, inputShape, classes, dropped, noops, notes } = imp.run();
  const model = validateInt8Model(
    {
      // yono15 keeps format 1 (and the hashes of models imported before format 2)
      ...(arithmetic === 'yono15' ? { format: INT8_FORMAT } : { format: INT8_FORMAT_V2, arithmetic }),
      name: opts.name,
      dataset: opts.dataset,
      classes,
      input: { shape: inputShape, scale: input.scale, zero_point: input.zp },
      output: { scale: output.scale, zero_point: output.zp },
      layers,
    },
    `${fileName} (imported)`,
  );
  return {
    model,
    report: {
      model: opts.name,
      dataset: opts.dataset,
      source_file: fileName,
      source_sha256: sha256(bytes),
      source_format: 'tflite',
      importer_version: IMPORTER_VERSION,
      dropped_ops: dropped,
      noop_ops: noops,
      ...summarize(model, from),
      int8_model_hash: modelHash(model),
      notes,
    },
  };
}

/** [1,H,W,C] -> [H,W,C]; [1,N] or [N] -> [1,1,N]; [1,W,C] -> [1,W,C]. */
function toShape3(shape: number[]): Shape3 | undefined {
  const s = shape.length > 1 && shape[0] === 1 ? shape.slice(1) : shape;
  if (s.length === 3) return [s[0], s[1], s[2]];
  if (s.length === 2) return [1, s[0], s[1]];
  if (s.length === 1) return [1, 1, s[0]];
  return undefined;
}

class Importer {
  private readonly layers: LayerJson[] = [];
  private readonly from: string[][] = [];
  private readonly dropped: string[] = [];
  private readonly noops: string[] = [];
  private readonly notes: string[] = [];
  /** imported activations: TFLite tensor index -> our tensor id (0 = input, k = layers[k-1]), shape,
   * quantization; `pad`: a PAD's output, i.e. tensor `id` (of `shape`) padded by [top, bottom, left, right] */
  private readonly known = new Map<number, { id: number; shape: Shape3; q: Q; pad?: number[] }>();
  private curPad?: number[];
  /** QUANTIZE/DEQUANTIZE operators folded into the graph's edges */
  private folded = new Set<number>();
  /** per layer, the tensor ids it reads */
  private readonly inputs: number[][] = [];
  /** the operator's data input, as the handlers below see it */
  private cur = -1;
  private curId = 0;
  private curShape: Shape3 = [1, 1, 1];
  private curQ: Q = { scale: 1, zp: 0 };
  private inputShape: Shape3 = [1, 1, 1];
  /** current operator, for error messages */
  private op?: TfliteOperator;

  constructor(
    private readonly g: TfliteGraph,
    private readonly file: string,
    private readonly arithmetic: Arithmetic,
  ) {}

  private fail(msg: string): never {
    if (!this.op) throw new HilError(msg, this.file);
    const out = this.g.tensors[this.op.outputs[0]];
    throw new HilError(`operator ${this.op.index} (${this.op.opName}, output "${out?.name ?? '?'}"): ${msg}`, this.file);
  }

  /** `operator 3 (ADD, output "y", inputs "a", "b")`: its index, name, output and activation inputs
   * (graph inputs and other operators' outputs; weights and other constants are left out). */
  private describe(op: TfliteOperator): string {
    const name = (i: number) => JSON.stringify(this.g.tensors[i]?.name ?? `tensor${i}`);
    const outs = op.outputs.map(name);
    const live = new Set<number>([...this.g.inputs, ...this.g.operators.flatMap((x) => x.outputs)]);
    const ins = op.inputs.filter((i) => live.has(i)).map(name);
    const o = outs.length === 1 ? `output ${outs[0]}` : `outputs ${outs.join(', ')}`;
    const n = ins.length === 0 ? '' : `, ${ins.length === 1 ? 'input' : 'inputs'} ${ins.join(', ')}`;
    return `operator ${op.index} (${op.opName}, ${o}${n})`;
  }

  private tensor(i: number | undefined, what: string): TfliteTensor {
    const t = i === undefined || i < 0 ? undefined : this.g.tensors[i];
    return t ?? this.fail(`${what} tensor ${i} does not exist`);
  }

  private q(t: TfliteTensor): Q {
    const qp = t.quant;
    if (!qp || qp.scale.length !== 1) this.fail(`tensor "${t.name}" must have one per-tensor scale, has ${qp?.scale.length ?? 0}`);
    if (!(qp.scale[0] > 0)) this.fail(`tensor "${t.name}" has scale ${qp.scale[0]}`);
    const zp = qp.zeroPoint[0] ?? 0;
    if (zp < -128 || zp > 127) this.fail(`tensor "${t.name}" zero point ${zp} outside int8`);
    return { scale: qp.scale[0], zp };
  }

  run() {
    const g = this.g;
    // unsupported operators first, all of them in one line: the most useful message for a model
    // we cannot take (fixing one at a time would take as many round trips as there are ops)
    // QUANTIZE of a float graph input and DEQUANTIZE into a float graph output are folded: the model
    // then takes and gives the int8 tensors between them (their scale and zero point say how)
    const consumers = (t: number) => g.operators.filter((o) => o.inputs.includes(t));
    const qIn = g.operators.find((o) => o.code === BuiltinOp.QUANTIZE && o.inputs[0] === g.inputs[0] && this.g.tensors[g.inputs[0]]?.type === 'FLOAT32'
      && this.g.tensors[o.outputs[0]]?.type === 'INT8' && consumers(g.inputs[0]).length === 1);
    const lastOp0 = g.operators[g.operators.length - 1];
    const dqOut = lastOp0 && lastOp0.code === BuiltinOp.DEQUANTIZE && lastOp0.outputs[0] === g.outputs[0] && this.g.tensors[lastOp0.inputs[0]]?.type === 'INT8'
      ? lastOp0 : undefined;
    this.folded = new Set([qIn?.index, dqOut?.index].filter((x): x is number => x !== undefined));
    const unsupported = g.operators.filter((op) => !SUPPORTED_CODES.has(op.code) && !this.folded.has(op.index));
    if (unsupported.length > 0) {
      const list = unsupported.map((op) => this.describe(op)).join('; ');
      const head = unsupported.length === 1 ? '' : `${unsupported.length} operators not supported: `;
      throw new HilError(`${head}${list}${unsupported.length === 1 ? ': not supported' : ''}; supported: ${TFLITE_SUPPORTED.join(', ')}`, this.file);
    }
    if (g.inputs.length !== 1 || g.outputs.length !== 1) {
      throw new HilError(`only single-input, single-output models are supported (has ${g.inputs.length} inputs, ${g.outputs.length} outputs)`, this.file);
    }
    const inT = this.tensor(qIn ? qIn.outputs[0] : g.inputs[0], 'input');
    if (qIn) this.notes.push(`operator ${qIn.index} (QUANTIZE) folded: the float input "${this.g.tensors[g.inputs[0]]?.name}" is given as its int8 output "${inT.name}" (real = scale * (q - zero_point))`);
    if (dqOut) this.notes.push(`operator ${dqOut.index} (DEQUANTIZE) folded: the model outputs the int8 tensor "${this.g.tensors[dqOut.inputs[0]]?.name}" (real = scale * (q - zero_point))`);
    if (inT.type !== 'INT8') {
      const hint = inT.type === 'FLOAT32'
        ? 'a float model: convert it with full-integer (int8) quantization, or export ONNX and import that with --dataset to quantize it here'
        : 'only int8 models are supported';
      throw new HilError(`input tensor "${inT.name}" is ${inT.type}: ${hint}`, this.file);
    }
    const inShape = toShape3(inT.shape) ?? this.fail(`input shape ${JSON.stringify(inT.shape)} is not [1,H,W,C] or [1,N]`);
    this.cur = inT.index;
    this.curShape = inShape;
    this.inputShape = inShape;
    this.curQ = this.q(inT);
    const input = this.curQ;
    this.known.set(inT.index, { id: 0, shape: inShape, q: input });
    if (g.subgraphCount > 1) this.notes.push(`only subgraph 0 of ${g.subgraphCount} imported`);

    const ops = g.operators.filter((op) => !this.folded.has(op.index));
    ops.forEach((op, i) => {
      this.op = op;
      const last = i === ops.length - 1;
      // ADD and MUL are symmetric: a constant first operand leaves the second as the data input
      const symmetric = op.code === BuiltinOp.ADD || op.code === BuiltinOp.MUL;
      const dataIn = symmetric && !this.known.has(op.inputs[0]) && this.known.has(op.inputs[1]) ? op.inputs[1] : op.inputs[0];
      const src = this.known.get(dataIn);
      if (!src) this.fail(`its data input "${this.g.tensors[dataIn]?.name ?? dataIn}" is not the model input or an imported operator's output`);
      this.cur = dataIn;
      this.curId = src.id;
      this.curShape = src.shape;
      this.curQ = src.q;
      this.curPad = src.pad;
      if (src.pad && op.code !== BuiltinOp.CONV_2D && op.code !== BuiltinOp.DEPTHWISE_CONV_2D) {
        this.fail('reads a PAD output: PAD is only folded into a CONV_2D or DEPTHWISE_CONV_2D that reads it');
      }
      switch (op.code) {
        case BuiltinOp.PAD:
          return this.pad(op);
        case BuiltinOp.LOGISTIC:
          return this.logistic(op);
        case BuiltinOp.CONCATENATION:
          return this.concat(op);
        case BuiltinOp.MUL:
          return this.mul(op);
        case BuiltinOp.ADD:
          return this.add(op);
        case BuiltinOp.MEAN:
          return this.mean(op);
        case BuiltinOp.CONV_2D:
          return this.conv(op, false);
        case BuiltinOp.DEPTHWISE_CONV_2D:
          return this.conv(op, true);
        case BuiltinOp.FULLY_CONNECTED:
          return this.dense(op);
        case BuiltinOp.AVERAGE_POOL_2D:
        case BuiltinOp.MAX_POOL_2D:
          return this.pool(op, op.code === BuiltinOp.MAX_POOL_2D);
        case BuiltinOp.RESHAPE:
          return this.reshape(op);
        case BuiltinOp.SOFTMAX:
          if (!last) this.fail('SOFTMAX is only supported as the last operator (it is dropped: argmax is unchanged)');
          this.dropped.push(`operator ${op.index} (SOFTMAX): trailing softmax dropped; logits are its int8 input, argmax unchanged`);
          return;
        default:
          this.fail(`not supported; supported: ${TFLITE_SUPPORTED.join(', ')}`);
      }
    });
    this.op = undefined;
    const outIdx = dqOut ? dqOut.inputs[0] : g.outputs[0];
    const lastOp = ops[ops.length - 1];
    if (!lastOp || lastOp.outputs[0] !== outIdx) throw new HilError('the last operator does not produce the model output', this.file);
    if (this.layers.length === 0) throw new HilError('no computing layer (conv, depthwise conv, fully connected, pool)', this.file);
    // the model output is the last layer's (a trailing softmax is dropped, a reshape moves no bytes)
    if (this.curId !== this.layers.length) throw new HilError('the model output is not the last imported layer\'s output', this.file);
    // a graph (some layer reads other than its predecessor's output): every layer names its inputs (SPEC section 2)
    if (this.inputs.some((ins, i) => ins.length !== 1 || ins[0] !== i)) {
      if (!isTflite(this.arithmetic)) throw new HilError('a graph model (skip connections, ADD) needs a tflite-* arithmetic', this.file);
      this.layers.forEach((l, i) => (l.inputs = this.inputs[i]));
    }
    const classes = this.curShape[0] * this.curShape[1] * this.curShape[2];
    return {
      layers: this.layers, from: this.from, input, output: this.curQ, inputShape: this.inputShape, classes,
      dropped: this.dropped, noops: this.noops, notes: this.notes,
    };
  }

  private options(op: TfliteOperator, type: number, name: string): FbTable {
    if (op.optionsType !== type || !op.options) this.fail(`missing ${name} options`);
    return op.options;
  }

  private push(layer: LayerJson, op: TfliteOperator, out: TfliteTensor, outShape: Shape3, outQ: Q, inputs: number[] = [this.curId]): void {
    this.layers.push(layer);
    this.inputs.push(inputs);
    this.from.push([`operator ${op.index} (${op.opName}, output "${out.name}")`]);
    this.cur = out.index;
    this.curId = this.layers.length;
    this.curShape = outShape;
    this.curQ = outQ;
    this.known.set(out.index, { id: this.curId, shape: outShape, q: outQ });
  }

  /** The two operands of ADD or MUL: both imported tensors of one shape, or one broadcast to the other
   * (each dimension equal or 1: [1,1,1,C], a scalar; TFLite's broadcasting). `a` is the full-shape
   * one (the operation is symmetric: a broadcast first operand is swapped to second). */
  private operands(op: TfliteOperator): { a: Operand; b: Operand; in2_shape?: Shape3; const2?: number[] } {
    if (op.inputs.length !== 2) this.fail(`has ${op.inputs.length} inputs, expected 2`);
    const first: Operand = { id: this.curId, shape: this.curShape, q: this.curQ };
    const otherIdx = op.inputs[0] === this.cur ? op.inputs[1] : op.inputs[0];
    const known = this.known.get(otherIdx);
    if (known?.pad) this.fail('reads a PAD output: PAD is only folded into a CONV_2D or DEPTHWISE_CONV_2D that reads it');
    const second: Operand = known ?? this.constant(otherIdx);
    const fits = (x: Shape3, into: Shape3) => x.every((d, k) => d === 1 || d === into[k]);
    const same = (x: Shape3, y: Shape3) => x[0] === y[0] && x[1] === y[1] && x[2] === y[2];
    const const2 = second.data ? { const2: second.data } : {};
    if (same(first.shape, second.shape)) return { a: first, b: second, ...const2 };
    if (fits(second.shape, first.shape)) return { a: first, b: second, in2_shape: second.shape, ...const2 };
    if (!second.data && fits(first.shape, second.shape)) return { a: second, b: first, in2_shape: first.shape };
    return this.fail(`inputs of shapes ${JSON.stringify(first.shape)} and ${JSON.stringify(second.shape)}: neither broadcasts to the other (each dimension equal or 1${second.data ? '; a constant operand must broadcast to the tensor' : ''})`);
  }

  /** A constant int8 operand of ADD or MUL (a scalar, per-channel values, a whole tensor): its values travel in the layer. */
  private constant(i: number): Operand {
    const t = this.g.tensors[i];
    const count = t ? t.shape.reduce((x, y) => x * y, 1) : 0;
    if (!t || t.type !== 'INT8' || t.data.length !== count || count === 0) {
      this.fail(`its operand "${t?.name ?? i}" is neither an imported tensor nor an int8 constant`);
    }
    const shape = toShape3(t.shape.length === 0 ? [1] : t.shape) ?? this.fail(`constant "${t.name}" of shape ${JSON.stringify(t.shape)} unsupported`);
    return { id: -1, shape, q: this.q(t), data: Array.from(new Int8Array(t.data.buffer, t.data.byteOffset, t.data.length)) };
  }

  /** TFLite's int8 MUL of two imported tensors (one may broadcast): M/s = QuantizeMultiplier(s1 * s2 / s_out). */
  private mul(op: TfliteOperator): void {
    if (!isTflite(this.arithmetic)) this.fail('MUL needs a tflite-* arithmetic (import with --arithmetic tflite-double or tflite-single)');
    const o = this.options(op, OptionsType.Mul, 'Mul');
    const { a, b, in2_shape, const2 } = this.operands(op);
    const { out, outShape, outQ } = this.outTensor(op);
    if (shapeSize(outShape) !== shapeSize(a.shape)) this.fail(`output shape ${JSON.stringify(outShape)} is not the inputs' ${JSON.stringify(a.shape)}`);
    let q: { multiplier: number; shift: number };
    try {
      q = quantizeMultiplierQ31((a.q.scale * b.q.scale) / outQ.scale);
    } catch (e) {
      this.fail((e as Error).message);
    }
    if (q.multiplier === 0 || q.shift > 15) this.fail(`MUL scale ratio gives multiplier ${q.multiplier}, shift ${q.shift}: not supported`);
    const layer: LayerJson = {
      op: 'mul', in_shape: a.shape, out_shape: a.shape, ...(in2_shape ? { in2_shape } : {}), ...(const2 ? { const2 } : {}), in_zp: a.q.zp, in2_zp: b.q.zp, out_zp: outQ.zp,
      ...this.activation(o.i8(0), outQ), multiplier: [q.multiplier], shift: [q.shift],
    };
    this.push(layer, op, out, a.shape, outQ, const2 ? [a.id] : [a.id, b.id]);
  }

  /** TFLite's int8 MEAN over the spatial axes (all but batch and channels; keep_dims or not): TFLite
   * Micro's EvalIntegerMean. One quantization in and out: the truncated mean (multiplier 0); else
   * QuantizedMeanOrSum's multiplier. yono15: the global average pool of the trained zoo's arithmetic. */
  private mean(op: TfliteOperator): void {
    // ReducerOptions' keep_dims only shapes the output ([1,1,1,C] or [1,C]): the same bytes
    const axisT = this.tensor(op.inputs[1], 'axis');
    if (axisT.type !== 'INT32' || axisT.data.length === 0 || axisT.data.length % 4) this.fail(`axis "${axisT.name}" must be a constant INT32 tensor`);
    const rank = this.g.tensors[op.inputs[0]]?.shape.length ?? 0;
    const dv = new DataView(axisT.data.buffer, axisT.data.byteOffset, axisT.data.length);
    const axes = [...new Set(Array.from({ length: axisT.data.length / 4 }, (_, k) => dv.getInt32(4 * k, true)).map((x) => (x < 0 ? x + rank : x)))].sort();
    const spatial = Array.from({ length: Math.max(0, rank - 2) }, (_, k) => k + 1);
    if (rank < 3 || axes.join() !== spatial.join()) this.fail(`reduces axes ${JSON.stringify(axes)} of a rank-${rank} tensor: only the spatial axes ${JSON.stringify(spatial)} (a global average) are supported`);
    const { out, outShape, outQ } = this.outTensor(op);
    const [H, W, C] = this.curShape;
    if (outShape[0] !== 1 || outShape[1] !== 1 || outShape[2] !== C) this.fail(`output shape ${JSON.stringify(out.shape)} is not [1,1,1,${C}] or [1,${C}]`);
    const n = H * W;
    const base = { in_shape: this.curShape, out_shape: outShape, in_zp: this.curQ.zp, out_zp: outQ.zp };
    if (!isTflite(this.arithmetic)) {
      const { multiplier, shift } = this.requant(this.curQ.scale, [1 / n], outQ.scale);
      this.push({ op: 'avgpool_global', ...base, multiplier: multiplier[0], shift: shift[0] }, op, out, outShape, outQ);
      return;
    }
    // TFLite Micro compares the float32 scales and the zero points exactly
    if (outQ.zp === this.curQ.zp && outQ.scale === this.curQ.scale) {
      this.push({ op: 'mean', ...base, multiplier: 0, shift: 0 }, op, out, outShape, outQ);
      return;
    }
    let q: { multiplier: number; shift: number };
    try {
      q = tfliteMeanMultiplier(this.curQ.scale / outQ.scale, n);
    } catch (e) {
      this.fail((e as Error).message);
    }
    if (q.multiplier === 0) this.fail(`scale ratio ${this.curQ.scale / outQ.scale} is too small for TFLite's multiplier`);
    this.push({ op: 'mean', ...base, ...q }, op, out, outShape, outQ);
  }

  /** CONCATENATION of two imported tensors on the channel axis with one quantization (TFLite Micro's
   * int8 kernel copies bytes): a concat layer. */
  private concat(op: TfliteOperator): void {
    if (!isTflite(this.arithmetic)) this.fail('CONCATENATION makes a graph model: import with a tflite-* arithmetic');
    const o = this.options(op, OptionsType.Concatenation, 'Concatenation');
    const rank = this.g.tensors[op.outputs[0]]?.shape.length ?? 0;
    const axis = o.i32(0);
    if (axis !== -1 && axis !== rank - 1) this.fail(`axis ${axis}: only the channel (last) axis is supported`);
    if (o.i8(1) !== 0) this.fail('fused activation on CONCATENATION not supported');
    if (op.inputs.length !== 2) this.fail(`has ${op.inputs.length} inputs: only 2 are supported`);
    const b = this.known.get(op.inputs[1]);
    if (!b || b.pad) this.fail(`its second input "${this.g.tensors[op.inputs[1]]?.name ?? op.inputs[1]}" is not an imported tensor`);
    const { out, outShape, outQ } = this.outTensor(op);
    const sameQ = (q: Q) => q.zp === outQ.zp && Math.abs(q.scale / outQ.scale - 1) <= 1e-6;
    if (!sameQ(this.curQ) || !sameQ(b.q)) this.fail('inputs and output must share one quantization (requantizing concatenation is not supported)');
    const [H, W, C1] = this.curShape;
    if (b.shape[0] !== H || b.shape[1] !== W || outShape[0] !== H || outShape[1] !== W || outShape[2] !== C1 + b.shape[2]) {
      this.fail(`shapes ${JSON.stringify(this.curShape)} + ${JSON.stringify(b.shape)} -> ${JSON.stringify(outShape)} are not a channel concatenation`);
    }
    this.push({ op: 'concat', in_shape: this.curShape, in2_shape: b.shape, out_shape: outShape }, op, out, outShape, outQ, [this.curId, b.id]);
  }

  /** TFLite's int8 LOGISTIC as the 256-entry table TFLite builds (LUTPopulate, in float32): for every
   * int8 x, round(sigmoid(in_scale * (x - in_zp)) / out_scale) + out_zp, clamped. */
  private logistic(op: TfliteOperator): void {
    if (!isTflite(this.arithmetic)) this.fail('LOGISTIC becomes a table layer of format 2: import with a tflite-* arithmetic');
    const { out, outShape, outQ } = this.outTensor(op);
    const f = Math.fround;
    const inv = f(1 / f(outQ.scale));
    const table: number[] = [];
    for (let v = -128; v <= 127; v++) {
      const deq = f(f(this.curQ.scale) * f(v - this.curQ.zp));
      const t = f(f(1) / f(f(1) + f(Math.exp(-deq))));
      const rescaled = Math.round(f(t * inv)); // t >= 0: half up = TfLiteRound
      table.push(Math.max(-128, Math.min(127, rescaled + outQ.zp)));
    }
    this.push({ op: 'lut', in_shape: this.curShape, out_shape: outShape, table }, op, out, outShape, outQ);
  }

  /** PAD of H and W with the zero point (TFLite's int8 PAD; same quantization in and out): no layer,
   * the convolution that reads it takes the padding (SPEC: padding positions hold in_zp). */
  private pad(op: TfliteOperator): void {
    const p = this.tensor(op.inputs[1], 'paddings');
    if (p.type !== 'INT32' || p.data.length !== 32) this.fail(`paddings "${p.name}" must be a constant INT32 [4, 2] tensor`);
    const dv = new DataView(p.data.buffer, p.data.byteOffset, p.data.length);
    const v = Array.from({ length: 8 }, (_, k) => dv.getInt32(4 * k, true));
    if (v[0] || v[1] || v[6] || v[7]) this.fail(`pads the batch or channel axis (${JSON.stringify(v)}): only H and W are folded`);
    const out = this.tensor(op.outputs[0], 'output');
    const outQ = this.q(out);
    if (outQ.zp !== this.curQ.zp || Math.abs(outQ.scale / this.curQ.scale - 1) > 1e-6) this.fail('PAD that requantizes is not supported');
    if (this.curPad) this.fail('PAD of a PAD is not supported');
    this.noops.push(`operator ${op.index} (PAD, output "${out.name}"): [top, bottom, left, right] = ${JSON.stringify([v[2], v[3], v[4], v[5]])}, folded into the convolution that reads it`);
    this.known.set(out.index, { id: this.curId, shape: this.curShape, q: outQ, pad: [v[2], v[3], v[4], v[5]] });
  }

  /** TFLite's int8 ADD of two imported tensors, one may broadcast (TFLM add_common.cc's Prepare). */
  private add(op: TfliteOperator): void {
    if (!isTflite(this.arithmetic)) this.fail('ADD needs a tflite-* arithmetic (import with --arithmetic tflite-double or tflite-single)');
    const o = this.options(op, OptionsType.Add, 'Add');
    const actCode = o.i8(0);
    const { a, b, in2_shape, const2 } = this.operands(op);
    const { out, outShape, outQ } = this.outTensor(op);
    if (shapeSize(outShape) !== shapeSize(a.shape)) this.fail(`output shape ${JSON.stringify(outShape)} is not the inputs' ${JSON.stringify(a.shape)}`);
    const leftShift = 20;
    const twice = 2 * Math.max(a.q.scale, b.q.scale);
    const q = [a.q.scale / twice, b.q.scale / twice, twice / (2 ** leftShift * outQ.scale)].map((r) => quantizeMultiplierQ31(r));
    if (q.some((x) => x.shift > 0 || x.multiplier === 0)) this.fail('ADD scales give a multiplier TFLite cannot take (>= 1 or 0)');
    const layer: LayerJson = {
      op: 'add', in_shape: a.shape, out_shape: a.shape, ...(in2_shape ? { in2_shape } : {}), ...(const2 ? { const2 } : {}), in_zp: a.q.zp, in2_zp: b.q.zp, out_zp: outQ.zp,
      ...this.activation(actCode, outQ), left_shift: leftShift, multiplier: q.map((x) => x.multiplier), shift: q.map((x) => x.shift),
    };
    this.push(layer, op, out, a.shape, outQ, const2 ? [a.id] : [a.id, b.id]);
  }

  private outTensor(op: TfliteOperator): { out: TfliteTensor; outShape: Shape3; outQ: Q } {
    if (op.outputs.length !== 1) this.fail(`has ${op.outputs.length} outputs, expected 1`);
    const out = this.tensor(op.outputs[0], 'output');
    if (out.type !== 'INT8') this.fail(`output tensor "${out.name}" is ${out.type}, expected INT8`);
    const outShape = toShape3(out.shape) ?? this.fail(`output shape ${JSON.stringify(out.shape)} unsupported`);
    return { out, outShape, outQ: this.q(out) };
  }

  /** Clamp bounds of a fused activation in the output's quantization. */
  private activation(code: number, q: Q): { act_min: number; act_max: number } {
    const at = (real: number) => q.zp + Math.round(real / q.scale);
    const clamp = (v: number) => Math.max(-128, Math.min(127, v));
    switch (code) {
      case 0:
        return { act_min: -128, act_max: 127 };
      case 1:
        return { act_min: clamp(q.zp), act_max: 127 };
      case 2:
        return { act_min: clamp(at(-1)), act_max: clamp(at(1)) };
      case 3:
        return { act_min: clamp(q.zp), act_max: clamp(at(6)) };
      default:
        return this.fail(`fused activation ${ACT_NAMES[code] ?? code} not supported (NONE, RELU, RELU6, RELU_N1_TO_1)`);
    }
  }

  /** Window geometry; SAME padding is TensorFlow's (extra pad bottom/right). */
  private geometry(inSize: number, k: number, stride: number, padCode: number, outSize: number, axis: string): number {
    if (stride < 1) this.fail(`stride_${axis} ${stride}`);
    const padding: Padding = padCode === 0 ? 'same' : 'valid';
    const g = convGeometry(inSize, k, stride, padding);
    if (g.out !== outSize) this.fail(`${padding} padding gives ${axis} ${g.out} but the output tensor has ${outSize}`);
    return g.pad;
  }

  /** Per-output-channel int8 weights (zero point 0), their scales, int32 bias (zeros when absent). */
  private weightsAndBias(op: TfliteOperator, oc: number, channelAxis: number) {
    const w = this.tensor(op.inputs[1], 'weight');
    if (w.type !== 'INT8') this.fail(`weights "${w.name}" are ${w.type}, expected INT8 (hybrid/float weights not supported)`);
    const count = w.shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== count) this.fail(`weights "${w.name}" are not constant (${w.data.length} bytes for ${count} values)`);
    const qp = w.quant ?? this.fail(`weights "${w.name}" have no quantization`);
    if (qp.zeroPoint.some((z) => z !== 0)) this.fail(`weights "${w.name}" are not symmetric (non-zero zero point)`);
    let scales: number[];
    if (qp.scale.length === 1) scales = new Array<number>(oc).fill(qp.scale[0]);
    else if (qp.scale.length === oc && qp.quantizedDimension === channelAxis) scales = qp.scale;
    else this.fail(`weights "${w.name}": ${qp.scale.length} scales along dimension ${qp.quantizedDimension}, expected 1 or ${oc} along ${channelAxis}`);
    // TFLite takes a zero weight scale (a dead channel: all its weights are 0) and so do its arithmetics
    if (scales.some((s) => !(s > 0) && !(s === 0 && isTflite(this.arithmetic)))) this.fail(`weights "${w.name}" have a zero or negative scale`);
    const weights = Array.from(new Int8Array(w.data.buffer, w.data.byteOffset, w.data.length));

    let bias = new Array<number>(oc).fill(0);
    const bi = op.inputs[2];
    if (bi !== undefined && bi >= 0) {
      const b = this.tensor(bi, 'bias');
      if (b.type !== 'INT32') this.fail(`bias "${b.name}" is ${b.type}, expected INT32`);
      if (b.data.length !== 4 * oc) this.fail(`bias "${b.name}" has ${b.data.length / 4} values for ${oc} channels`);
      const dv = new DataView(b.data.buffer, b.data.byteOffset, b.data.length);
      bias = Array.from({ length: oc }, (_, k) => dv.getInt32(4 * k, true));
    }
    return { w, weights, scales, bias };
  }

  private requant(inScale: number, wScales: number[], outScale: number): { multiplier: number[]; shift: number[] } {
    const multiplier: number[] = [];
    const shift: number[] = [];
    // TFLite: effective_output_scale = (double)input_scale * (double)filter_scale / (double)output_scale
    const q = isTflite(this.arithmetic) ? quantizeMultiplierQ31 : quantizeMultiplier;
    wScales.forEach((ws, c) => {
      try {
        const r = q((inScale * ws) / outScale);
        multiplier.push(r.multiplier);
        shift.push(r.shift);
      } catch (e) {
        this.fail(`channel ${c}: ${(e as Error).message}`);
      }
    });
    return { multiplier, shift };
  }

  private conv(op: TfliteOperator, depthwise: boolean): void {
    const o = depthwise
      ? this.options(op, OptionsType.DepthwiseConv2D, 'DepthwiseConv2D')
      : this.options(op, OptionsType.Conv2D, 'Conv2D');
    // field numbers: Conv2DOptions padding 0, stride_w 1, stride_h 2, act 3, dilation_w 4, dilation_h 5;
    // DepthwiseConv2DOptions padding 0, stride_w 1, stride_h 2, depth_multiplier 3, act 4, dilation 5, 6
    const padCode = o.i8(0);
    const strideW = o.i32(1);
    const strideH = o.i32(2);
    const actCode = o.i8(depthwise ? 4 : 3);
    const dilW = o.i32(depthwise ? 5 : 4, 1);
    const dilH = o.i32(depthwise ? 6 : 5, 1);
    if (dilW !== 1 || dilH !== 1) this.fail(`dilation ${dilH}x${dilW} not supported (only 1)`);
    const { out, outShape, outQ } = this.outTensor(op);
    const [H, W, C] = this.curShape;
    const [OH, OW, OC] = outShape;
    const wt = this.tensor(op.inputs[1], 'weight');
    if (wt.shape.length !== 4) this.fail(`weights "${wt.name}" shape ${JSON.stringify(wt.shape)} is not 4-D`);
    const [w0, KH, KW, w3] = wt.shape;
    if (depthwise) {
      if (w0 !== 1 || w3 !== OC) this.fail(`weights shape ${JSON.stringify(wt.shape)} is not [1,KH,KW,${OC}]`);
      if (OC % C !== 0) this.fail(`${OC} output channels are not a multiple of ${C} input channels`);
    } else if (w0 !== OC || w3 !== C) {
      this.fail(`weights shape ${JSON.stringify(wt.shape)} is not [${OC},KH,KW,${C}]`);
    }
    let pad_top: number;
    let pad_left: number;
    if (this.curPad) {
      // a folded PAD (its value is the zero point: real 0, exactly our padding) then VALID
      const [pt, pb, pl, pr] = this.curPad;
      if (padCode !== 1) this.fail('reads a PAD output with SAME padding: only PAD then VALID is folded');
      if (Math.floor((H + pt + pb - KH) / strideH) + 1 !== OH || Math.floor((W + pl + pr - KW) / strideW) + 1 !== OW) {
        this.fail(`PAD ${JSON.stringify(this.curPad)} then VALID does not give the output tensor's ${OH}x${OW}`);
      }
      if (pt >= KH || pl >= KW || pb >= KH || pr >= KW) this.fail(`PAD ${JSON.stringify(this.curPad)} reaches a whole kernel (${KH}x${KW}) beyond the input: not foldable`);
      pad_top = pt;
      pad_left = pl;
    } else {
      pad_top = this.geometry(H, KH, strideH, padCode, OH, 'h');
      pad_left = this.geometry(W, KW, strideW, padCode, OW, 'w');
    }
    const { weights, scales, bias } = this.weightsAndBias(op, OC, depthwise ? 3 : 0);
    const layer: LayerJson = {
      op: depthwise ? 'depthwise_conv2d' : 'conv2d',
      in_shape: this.curShape,
      out_shape: outShape,
      kh: KH, kw: KW, stride_h: strideH, stride_w: strideW, pad_top, pad_left,
      ...(depthwise ? { depth_multiplier: OC / C } : {}),
      in_zp: this.curQ.zp,
      out_zp: outQ.zp,
      ...this.activation(actCode, outQ),
      weights, bias,
      ...this.requant(this.curQ.scale, scales, outQ.scale),
    };
    this.push(layer, op, out, outShape, outQ);
  }

  private dense(op: TfliteOperator): void {
    const o = this.options(op, OptionsType.FullyConnected, 'FullyConnected');
    // FullyConnectedOptions: fused_activation_function 0, weights_format 1
    const actCode = o.i8(0);
    if (o.i8(1) !== 0) this.fail('shuffled weights format not supported');
    const { out, outShape, outQ } = this.outTensor(op);
    const wt = this.tensor(op.inputs[1], 'weight');
    if (wt.shape.length !== 2) this.fail(`weights "${wt.name}" shape ${JSON.stringify(wt.shape)} is not [OUT, IN]`);
    const [OUT, IN] = wt.shape;
    const inSize = this.curShape[0] * this.curShape[1] * this.curShape[2];
    if (IN !== inSize) this.fail(`weights take ${IN} inputs but the input tensor has ${inSize} values (batched input?)`);
    if (outShape[0] * outShape[1] * outShape[2] !== OUT) this.fail(`output tensor has ${JSON.stringify(out.shape)}, weights give ${OUT}`);
    const { weights, scales, bias } = this.weightsAndBias(op, OUT, 0);
    const layer: LayerJson = {
      op: 'dense',
      in_features: IN,
      out_features: OUT,
      in_zp: this.curQ.zp,
      out_zp: outQ.zp,
      ...this.activation(actCode, outQ),
      weights, bias,
      ...this.requant(this.curQ.scale, scales, outQ.scale),
    };
    this.push(layer, op, out, [1, 1, OUT], outQ);
  }

  private pool(op: TfliteOperator, max: boolean): void {
    const o = this.options(op, OptionsType.Pool2D, 'Pool2D');
    // Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_width 3, filter_height 4, act 5
    const padCode = o.i8(0);
    const [strideW, strideH, kw, kh] = [o.i32(1), o.i32(2), o.i32(3), o.i32(4)];
    if (o.i8(5) !== 0) this.fail(`fused activation ${ACT_NAMES[o.i8(5)] ?? o.i8(5)} on a pool not supported`);
    const { out, outShape, outQ } = this.outTensor(op);
    const [H, W, C] = this.curShape;
    if (outShape[2] !== C) this.fail('pooling changes the channel count');
    const padTop = this.geometry(H, kh, strideH, padCode, outShape[0], 'h');
    const padLeft = this.geometry(W, kw, strideW, padCode, outShape[1], 'w');
    // our pools have no padding: fine when SAME happens to need none (windows all inside)
    if (padTop !== 0 || padLeft !== 0 || (outShape[0] - 1) * strideH + kh > H || (outShape[1] - 1) * strideW + kw > W) {
      this.fail('pool windows reach into padding (SAME padding that pads); only windows inside the input are supported');
    }
    const base = { in_shape: this.curShape, out_shape: outShape };
    if (max) {
      if (outQ.zp !== this.curQ.zp || Math.abs(outQ.scale / this.curQ.scale - 1) > 1e-6) this.fail('MAX_POOL_2D with different input and output quantization');
      this.push({ op: 'maxpool2d', ...base, kh, kw, stride_h: strideH, stride_w: strideW }, op, out, outShape, outQ);
      return;
    }
    const n = kh * kw;
    let common: Record<string, number>;
    if (isTflite(this.arithmetic)) {
      // TFLite's int8 average pool: the rounded mean of the int8 values, no rescaling
      if (outQ.zp !== this.curQ.zp || Math.abs(outQ.scale / this.curQ.scale - 1) > 1e-6) this.fail('AVERAGE_POOL_2D with different input and output quantization (TFLite requires the same)');
      common = { in_zp: this.curQ.zp, out_zp: outQ.zp, multiplier: 0, shift: 0 };
    } else {
      const { multiplier, shift } = this.requant(this.curQ.scale, [1 / n], outQ.scale);
      common = { in_zp: this.curQ.zp, out_zp: outQ.zp, multiplier: multiplier[0], shift: shift[0] };
    }
    // a window covering the whole input is the (older, already supported) global average
    const layer: LayerJson = kh === H && kw === W && outShape[0] === 1 && outShape[1] === 1
      ? { op: 'avgpool_global', ...base, ...common }
      : { op: 'avgpool2d', ...base, kh, kw, stride_h: strideH, stride_w: strideW, ...common };
    this.push(layer, op, out, outShape, outQ);
  }

  private reshape(op: TfliteOperator): void {
    const out = this.tensor(op.outputs[0], 'output');
    const outShape = toShape3(out.shape) ?? this.fail(`output shape ${JSON.stringify(out.shape)} unsupported`);
    const size = (s: Shape3) => s[0] * s[1] * s[2];
    if (size(outShape) !== size(this.curShape)) this.fail(`changes the element count ${size(this.curShape)} -> ${size(outShape)}`);
    const outQ = this.q(out);
    if (outQ.zp !== this.curQ.zp || Math.abs(outQ.scale / this.curQ.scale - 1) > 1e-6) this.fail('RESHAPE that requantizes is not supported');
    // row-major NHWC: a reshape moves no bytes
    this.noops.push(`operator ${op.index} (RESHAPE, output "${out.name}"): ${JSON.stringify(this.curShape)} -> ${JSON.stringify(outShape)}, no-op in (h,w,c) layout`);
    this.cur = out.index;
    this.curShape = outShape;
    // same bytes, same tensor id, a new shape
    this.known.set(out.index, { id: this.curId, shape: outShape, q: outQ });
    // before the first layer, a reshape only re-labels the model input (same bytes)
    if (this.layers.length === 0) {
      this.inputShape = outShape;
      this.known.set(out.index, { id: 0, shape: outShape, q: outQ });
    }
  }
}
