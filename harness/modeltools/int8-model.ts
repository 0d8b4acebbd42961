/**
 * The int8 model file format `yono-int8/1` (firmware/SPEC.md section 2), its loader/validator
 * and the model hash. Field names are exactly the SPEC's: the quantizer, the code generator and
 * the host reference all share these types.
 */
import { sha256 } from '../util/hash.js';
import { readFileSync } from 'node:fs';
import { HilError } from '../util/errors.js';

export const INT8_FORMAT = 'yono-int8/1';
/** Version 2 (2026-12) adds the model-level `arithmetic` field (SPEC sections 2-3). */
export const INT8_FORMAT_V2 = 'yono-int8/2';
export type Int8Format = typeof INT8_FORMAT | typeof INT8_FORMAT_V2;

/**
 * How a model requantizes (SPEC section 3). `yono15`: 15-bit multipliers, one rounding (every
 * model before format 2; absent = yono15). `tflite-double`: TFLite's 31-bit multipliers and shifts,
 * MultiplyByQuantizedMultiplier = SaturatingRoundingDoublingHighMul then RoundingDivideByPOT (TFLite
 * Micro's reference kernels, CMSIS-NN). `tflite-single`: the same multipliers, one rounding
 * (TFLITE_SINGLE_ROUNDING, XNNPACK).
 */
export type Arithmetic = 'yono15' | 'tflite-double' | 'tflite-single';
export const ARITHMETICS: readonly Arithmetic[] = ['yono15', 'tflite-double', 'tflite-single'];
export const isTflite = (a: Arithmetic | undefined): boolean => a === 'tflite-double' || a === 'tflite-single';

/** [H, W, C] */
export type Shape3 = [number, number, number];

export interface Conv2dLayer {
  op: 'conv2d';
  in_shape: Shape3;
  out_shape: Shape3;
  kh: number;
  kw: number;
  stride_h: number;
  stride_w: number;
  pad_top: number;
  pad_left: number;
  in_zp: number;
  out_zp: number;
  act_min: number;
  act_max: number;
  /** OC*KH*KW*IC, order [oc][kh][kw][ic] */
  weights: number[];
  bias: number[];
  multiplier: number[];
  shift: number[];
}

export interface MaxPool2dLayer {
  op: 'maxpool2d';
  in_shape: Shape3;
  out_shape: Shape3;
  kh: number;
  kw: number;
  stride_h: number;
  stride_w: number;
}

export interface AvgPoolGlobalLayer {
  op: 'avgpool_global';
  in_shape: Shape3;
  /** [1, 1, C] */
  out_shape: Shape3;
  in_zp: number;
  out_zp: number;
  multiplier: number;
  shift: number;
}

export interface DenseLayer {
  op: 'dense';
  in_features: number;
  out_features: number;
  in_zp: number;
  out_zp: number;
  act_min: number;
  act_max: number;
  /** OUT*IN, order [out][in] */
  weights: number[];
  bias: number[];
  multiplier: number[];
  shift: number[];
}

/** Per-channel conv over one input channel each: OC = IC * depth_multiplier (SPEC section 2). */
export interface DepthwiseConv2dLayer {
  op: 'depthwise_conv2d';
  in_shape: Shape3;
  out_shape: Shape3;
  kh: number;
  kw: number;
  stride_h: number;
  stride_w: number;
  pad_top: number;
  pad_left: number;
  depth_multiplier: number;
  in_zp: number;
  out_zp: number;
  act_min: number;
  act_max: number;
  /** KH*KW*OC, order [kh][kw][oc] (TFLite's [1][KH][KW][OC]) */
  weights: number[];
  bias: number[];
  multiplier: number[];
  shift: number[];
}

/** Windowed average without padding; multiplier/shift include 1/(kh*kw) and the scale ratio. */
export interface AvgPool2dLayer {
  op: 'avgpool2d';
  in_shape: Shape3;
  out_shape: Shape3;
  kh: number;
  kw: number;
  stride_h: number;
  stride_w: number;
  in_zp: number;
  out_zp: number;
  multiplier: number;
  shift: number;
}

/** The fields ADD and MUL share: two int8 inputs (the second one broadcast or constant) -> one output. */
interface TwoInputLayer {
  in_shape: Shape3;
  out_shape: Shape3;
  /** the second input's shape when it is broadcast: every dimension in_shape's or 1 (absent = in_shape) */
  in2_shape?: Shape3;
  /** a constant second operand (int8, in2_shape or in_shape elements): the layer then reads one tensor */
  const2?: number[];
  in_zp: number;
  in2_zp: number;
  out_zp: number;
  act_min: number;
  act_max: number;
  multiplier: number[];
  shift: number[];
}

/**
 * Element-wise sum of two tensors of one shape, TFLite's int8 ADD (SPEC section 3; `tflite-*`
 * arithmetic only): multiplier/shift = [input 1, input 2, output] (shifts <= 0), left_shift 20.
 */
export interface AddLayer extends TwoInputLayer {
  op: 'add';
  left_shift: number;
}

/** An element-wise int8 -> int8 function as a 256-entry table (`yono-int8/2`): y = table[x + 128].
 * TFLite's int8 LOGISTIC (and TANH) are such tables (LUTPopulate); any arithmetic. */
export interface LutLayer {
  op: 'lut';
  in_shape: Shape3;
  out_shape: Shape3;
  /** 256 int8 values, the output for x = -128 .. 127 */
  table: number[];
}

/** Element-wise product of two tensors of one shape, TFLite's int8 MUL (`tflite-*` arithmetic only):
 * y = clamp(out_zp + MBQM((x1 - in_zp) * (x2 - in2_zp), M, s)), M/s = QuantizeMultiplier(s1 * s2 / s_out). */
export interface MulLayer extends TwoInputLayer {
  op: 'mul';
}

/** The mean over H and W per channel, TFLite Micro's int8 MEAN over the spatial axes (reduce_common.cc,
 * EvalIntegerMean; `tflite-*` arithmetic only). multiplier 0: input and output share one quantization,
 * y = trunc(sum / n) of the int8 values (reference_ops::Mean); else y = clamp(out_zp + MBQM(sum - n * in_zp,
 * M, s)) with M/s TFLite's QuantizedMeanOrSum multiplier (QuantizeMultiplier(in_scale / out_scale) with 1/n
 * folded in: `tfliteMeanMultiplier`). */
export type MeanLayer = Omit<AvgPoolGlobalLayer, 'op'> & { op: 'mean' };

/** Two tensors side by side on the channel axis (`yono-int8/2` graphs): out = [in | in2] per pixel;
 * one quantization for all three (TFLite Micro's int8 CONCATENATION copies bytes). */
export interface ConcatLayer {
  op: 'concat';
  in_shape: Shape3;
  in2_shape: Shape3;
  out_shape: Shape3;
}

/** Optional on every layer of a `yono-int8/2` model: the tensors it reads (SPEC section 2). */
export interface LayerInputs {
  /** tensor ids: 0 = the model input, k = the output of layers[k-1]; absent = [its own index] */
  inputs?: number[];
}

export type Int8Layer = (
  | Conv2dLayer
  | MaxPool2dLayer
  | AvgPoolGlobalLayer
  | DenseLayer
  | DepthwiseConv2dLayer
  | AvgPool2dLayer
  | AddLayer
  | LutLayer
  | ConcatLayer
  | MulLayer
  | MeanLayer
) & LayerInputs;
export type Int8Op = Int8Layer['op'];
export const INT8_OPS: readonly Int8Op[] = ['conv2d', 'depthwise_conv2d', 'maxpool2d', 'avgpool2d', 'avgpool_global', 'dense', 'add', 'lut', 'concat', 'mul', 'mean'];

/** The tensor ids layer i reads: its `inputs`, or the previous layer's output (a chain). */
export function layerInputs(l: Int8Layer, i: number): number[] {
  return l.inputs ?? [i];
}

/** A model whose layers name their inputs (a DAG, SPEC section 2); else a chain. */
export function isGraph(m: Pick<Int8Model, 'layers'>): boolean {
  return m.layers.some((l) => l.inputs !== undefined);
}

export interface QuantTensor {
  scale: number;
  zero_point: number;
}

export interface Int8Model {
  format: Int8Format;
  /** absent = yono15 (format 1 models never carry it, so their hash is unchanged) */
  arithmetic?: Arithmetic;
  name: string;
  dataset: string;
  classes: number;
  input: QuantTensor & { shape: Shape3 };
  output: QuantTensor;
  layers: Int8Layer[];
}

/** Most outputs a model may have: INFER's u16 count (SPEC section 1). Up to 2035 travel in the INFER
 * reply; more are read back with READ_OUTPUT (protocol 7). */
export const MAX_OUTPUTS = 65535;

/** SPEC limits */
export const MULTIPLIER_MIN = 16384;
export const MULTIPLIER_MAX = 32767;
export const SHIFT_MIN = 1;
export const SHIFT_MAX = 46;
/** TFLite arithmetic: multiplier 0 (a channel whose real multiplier is too small: output out_zp)
 * or in [2^30, 2^31); shift = TFLite's exponent (> 0 shifts left) in [-31, 30]. */
export const Q31_MULTIPLIER_MIN = 2 ** 30;
export const Q31_MULTIPLIER_MAX = 2 ** 31 - 1;
export const Q31_SHIFT_MIN = -31;
export const Q31_SHIFT_MAX = 30;
const INT32_MAX = 2 ** 31 - 1;
/** model names become C identifiers' comments, JSON strings and directory names */
const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export function shapeSize(s: Shape3): number {
  return s[0] * s[1] * s[2];
}

/** Size in elements of a layer's output tensor. */
export function layerOutSize(l: Int8Layer): number {
  return l.op === 'dense' ? l.out_features : shapeSize(l.out_shape);
}

/** Size in elements of a layer's input tensor. */
export function layerInSize(l: Int8Layer): number {
  return l.op === 'dense' ? l.in_features : shapeSize(l.in_shape);
}

/** JSON with object keys sorted recursively and no whitespace: the input of the model hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** First 16 hex chars of SHA-256 of the canonical JSON: identifies the model on the device. */
export function modelHash(model: Int8Model): string {
  return sha256(canonicalJson(model)).slice(0, 16);
}

/** Reads and validates a `yono-int8/1` model file; throws HilError naming the file and field. */
export function loadInt8Model(path: string): Int8Model {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HilError(`cannot read model: ${(e as Error).message}`, path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HilError(`not valid JSON: ${(e as Error).message}`, path);
  }
  return validateInt8Model(value, path);
}

type Obj = Record<string, unknown>;

/** Field-path aware checks; every failure is a HilError "<source>: <path>: <problem>". */
class Checker {
  /** the model's arithmetic: decides the multiplier/shift ranges */
  arithmetic: Arithmetic = 'yono15';
  /** the model's format (ops since format 2 need it) */
  format: Int8Format = INT8_FORMAT_V2;

  constructor(private readonly source: string) {}

  fail(path: string, msg: string): never {
    throw new HilError(`${path}: ${msg}`, this.source);
  }

  obj(v: unknown, path: string): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'must be an object');
    return v as Obj;
  }

  int(o: Obj, key: string, path: string, min: number, max: number): number {
    const v = o[key];
    const p = `${path}.${key}`;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(p, `must be an integer, got ${JSON.stringify(v)}`);
    if (v < min || v > max) this.fail(p, `must be in [${min}, ${max}], got ${v}`);
    return v;
  }

  num(o: Obj, key: string, path: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      this.fail(`${path}.${key}`, `must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  str(o: Obj, key: string, path: string): string {
    const v = o[key];
    if (typeof v !== 'string' || v.length === 0) this.fail(`${path}.${key}`, 'must be a non-empty string');
    return v;
  }

  shape(o: Obj, key: string, path: string): Shape3 {
    const v = o[key];
    const p = `${path}.${key}`;
    if (!Array.isArray(v) || v.length !== 3) this.fail(p, 'must be [H, W, C]');
    for (const d of v) {
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 65535) {
        this.fail(p, `dimensions must be integers in [1, 65535], got ${JSON.stringify(v)}`);
      }
    }
    return [v[0], v[1], v[2]] as Shape3;
  }

  ints(o: Obj, key: string, path: string, len: number, min: number, max: number): number[] {
    const v = o[key];
    const p = `${path}.${key}`;
    if (!Array.isArray(v)) this.fail(p, 'must be an array of integers');
    if (v.length !== len) this.fail(p, `must have ${len} entries, got ${v.length}`);
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
        this.fail(`${p}[${i}]`, `must be an integer in [${min}, ${max}], got ${JSON.stringify(x)}`);
      }
    }
    return v as number[];
  }

  sameShape(got: Shape3, want: Shape3, path: string, what: string): void {
    if (got[0] !== want[0] || got[1] !== want[1] || got[2] !== want[2]) {
      this.fail(path, `${JSON.stringify(got)} does not match ${what} ${JSON.stringify(want)}`);
    }
  }
}

/**
 * Validates an already parsed model (e.g. straight from the quantizer). Checks types, ranges,
 * array lengths, that shapes chain layer to layer, and that the int32 accumulator cannot
 * overflow (SPEC section 3).
 */
export function validateInt8Model(value: unknown, source: string): Int8Model {
  const c = new Checker(source);
  const m = c.obj(value, '$');
  if (m.format !== INT8_FORMAT && m.format !== INT8_FORMAT_V2) {
    c.fail('$.format', `must be "${INT8_FORMAT}" or "${INT8_FORMAT_V2}", got ${JSON.stringify(m.format)}`);
  }
  const format = m.format as Int8Format;
  let arithmetic: Arithmetic | undefined;
  if (m.arithmetic !== undefined) {
    if (format === INT8_FORMAT) c.fail('$.arithmetic', `needs "format": "${INT8_FORMAT_V2}"`);
    if (!ARITHMETICS.includes(m.arithmetic as Arithmetic)) c.fail('$.arithmetic', `must be one of ${ARITHMETICS.join(', ')}, got ${JSON.stringify(m.arithmetic)}`);
    arithmetic = m.arithmetic as Arithmetic;
  }
  c.arithmetic = arithmetic ?? 'yono15';
  c.format = format;
  const name = c.str(m, 'name', '$');
  if (!NAME_RE.test(name)) c.fail('$.name', `must match ${NAME_RE.source}, got ${JSON.stringify(name)}`);
  const dataset = c.str(m, 'dataset', '$');
  // > 255 outputs (e.g. an autoencoder's reconstruction) travel in INFER's wide form (SPEC section 1);
  // more than fit one frame are read back with READ_OUTPUT (protocol 7)
  const classes = c.int(m, 'classes', '$', 1, MAX_OUTPUTS);
  const inp = c.obj(m.input, '$.input');
  const input = {
    shape: c.shape(inp, 'shape', '$.input'),
    scale: c.num(inp, 'scale', '$.input'),
    zero_point: c.int(inp, 'zero_point', '$.input', -128, 127),
  };
  const outp = c.obj(m.output, '$.output');
  const output = { scale: c.num(outp, 'scale', '$.output'), zero_point: c.int(outp, 'zero_point', '$.output', -128, 127) };
  if (!Array.isArray(m.layers) || m.layers.length === 0) c.fail('$.layers', 'must be a non-empty array');

  const layers: Int8Layer[] = [];
  // tensor t: 0 = the input, i + 1 = layers[i]'s output
  const shapes: Shape3[] = [input.shape];
  const graph = (m.layers as unknown[]).some((lv) => lv !== null && typeof lv === 'object' && 'inputs' in lv);
  if (graph && format === INT8_FORMAT) c.fail('$.layers', `layer "inputs" (a graph) need "format": "${INT8_FORMAT_V2}"`);
  (m.layers as unknown[]).forEach((lv, i) => {
    const p = `$.layers[${i}]`;
    const o = c.obj(lv, p);
    let inputs: number[] | undefined;
    // add and mul with a constant second operand (const2) read one tensor
    const two = o.op === 'concat' || ((o.op === 'add' || o.op === 'mul') && o.const2 === undefined);
    if (graph) {
      inputs = c.ints(o, 'inputs', p, two ? 2 : 1, 0, i);
    } else if (two) {
      c.fail(`${p}.inputs`, `an ${String(o.op)} layer names its two input tensors (a graph model)`);
    }
    const first = inputs ? inputs[0] : i;
    const l = validateLayer(c, o, p, shapes[first], shapeSize(shapes[first]));
    if ((l.op === 'add' || l.op === 'mul') && inputs && !l.const2) c.sameShape(shapes[inputs[1]], l.in2_shape ?? l.in_shape, `${p}.inputs[1]`, l.in2_shape ? 'in2_shape' : 'in_shape');
    if (l.op === 'concat' && inputs) c.sameShape(shapes[inputs[1]], l.in2_shape, `${p}.inputs[1]`, 'in2_shape');
    layers.push(inputs ? { ...l, inputs } : l);
    shapes.push(l.op === 'dense' ? [1, 1, l.out_features] : l.out_shape);
  });
  const curSize = shapeSize(shapes[shapes.length - 1]);
  if (curSize !== classes) c.fail('$.classes', `is ${classes} but the last layer outputs ${curSize} values`);

  return { format, ...(arithmetic ? { arithmetic } : {}), name, dataset, classes, input, output, layers };
}

/**
 * Validates one layer on its own, given the shape it receives (for importers and per-operator
 * tests); the same checks as inside validateInt8Model.
 */
export function validateInt8Layer(value: unknown, prev: Shape3, source: string, arithmetic: Arithmetic = 'yono15'): Int8Layer {
  const c = new Checker(source);
  c.arithmetic = arithmetic;
  return validateLayer(c, c.obj(value, '$'), '$', prev, shapeSize(prev));
}

function validateLayer(c: Checker, o: Obj, p: string, prev: Shape3, prevSize: number): Int8Layer {
  const op = o.op;
  switch (op) {
    case 'conv2d': {
      const g = convGeometry(c, o, p, prev);
      const k = g.kh * g.kw * g.in_shape[2];
      const base = commonQuant(c, o, p, g.out_shape[2], k, (ch, j) => ch * k + j);
      return { op, ...g, ...base };
    }
    case 'depthwise_conv2d': {
      const g = convGeometry(c, o, p, prev);
      const depth_multiplier = c.int(o, 'depth_multiplier', p, 1, 255);
      const [ic, oc] = [g.in_shape[2], g.out_shape[2]];
      if (oc !== ic * depth_multiplier) {
        c.fail(`${p}.out_shape`, `channels must be in_shape channels (${ic}) * depth_multiplier (${depth_multiplier}) = ${ic * depth_multiplier}, got ${oc}`);
      }
      // weights [kh][kw][oc]: channel ch's j-th tap is at j * OC + ch
      const base = commonQuant(c, o, p, oc, g.kh * g.kw, (ch, j) => j * oc + ch);
      return { op, ...g, depth_multiplier, ...base };
    }
    case 'dense': {
      const in_features = c.int(o, 'in_features', p, 1, 65535);
      if (in_features !== prevSize) c.fail(`${p}.in_features`, `is ${in_features} but the previous output has ${prevSize} values`);
      const out_features = c.int(o, 'out_features', p, 1, 65535);
      const base = commonQuant(c, o, p, out_features, in_features, (ch, j) => ch * in_features + j);
      return { op, in_features, out_features, ...base };
    }
    case 'maxpool2d':
      return { op, ...poolGeometry(c, o, p, prev) };
    case 'avgpool2d': {
      const g = poolGeometry(c, o, p, prev);
      return { op, ...g, ...scalarRequant(c, o, p) };
    }
    case 'add': {
      const g = elementwiseGeometry(c, o, p, prev, 'add', 'ADD');
      const left_shift = c.int(o, 'left_shift', p, 0, 20);
      const multiplier = c.ints(o, 'multiplier', p, 3, Q31_MULTIPLIER_MIN, Q31_MULTIPLIER_MAX);
      const shift = c.ints(o, 'shift', p, 3, Q31_SHIFT_MIN, 0);
      return { op, ...g, left_shift, multiplier, shift };
    }
    case 'mul': {
      const g = elementwiseGeometry(c, o, p, prev, 'mul', 'MUL');
      // |(x1 - zp1) * (x2 - zp2)| <= 65025: a left shift up to 15 stays in int32
      const multiplier = c.ints(o, 'multiplier', p, 1, Q31_MULTIPLIER_MIN, Q31_MULTIPLIER_MAX);
      const shift = c.ints(o, 'shift', p, 1, Q31_SHIFT_MIN, 15);
      return { op, ...g, multiplier, shift };
    }
    case 'mean': {
      if (!isTflite(c.arithmetic)) c.fail(`${p}.op`, `mean needs a tflite-* arithmetic (TFLite's int8 MEAN)`);
      const in_shape = c.shape(o, 'in_shape', p);
      c.sameShape(in_shape, prev, `${p}.in_shape`, 'the previous output');
      const out_shape = c.shape(o, 'out_shape', p);
      c.sameShape(out_shape, [1, 1, in_shape[2]], `${p}.out_shape`, 'expected');
      // |sum - n * in_zp| <= 255 * n must stay in int32 (TFLite's accumulator)
      if (in_shape[0] * in_shape[1] > 2 ** 23) c.fail(`${p}.in_shape`, 'more than 2^23 values per channel');
      const in_zp = c.int(o, 'in_zp', p, -128, 127);
      const out_zp = c.int(o, 'out_zp', p, -128, 127);
      // TFLite's mean multiplier is QuantizeMultiplier's times 2^k / n: it may fall below 2^30
      const multiplier = c.int(o, 'multiplier', p, 0, Q31_MULTIPLIER_MAX);
      const shift = c.int(o, 'shift', p, Q31_SHIFT_MIN, Q31_SHIFT_MAX);
      if (multiplier === 0 && (shift !== 0 || out_zp !== in_zp)) c.fail(`${p}.multiplier`, 'is 0 (one quantization in and out): shift must be 0 and out_zp equal in_zp');
      return { op, in_shape, out_shape, in_zp, out_zp, multiplier, shift };
    }
    case 'concat': {
      const in_shape = c.shape(o, 'in_shape', p);
      c.sameShape(in_shape, prev, `${p}.in_shape`, 'its first input');
      const in2_shape = c.shape(o, 'in2_shape', p);
      const out_shape = c.shape(o, 'out_shape', p);
      c.sameShape(out_shape, [in_shape[0], in_shape[1], in_shape[2] + in2_shape[2]], `${p}.out_shape`, 'in_shape with the channels of both');
      c.sameShape([in2_shape[0], in2_shape[1], 1], [in_shape[0], in_shape[1], 1], `${p}.in2_shape`, 'in_shape (height, width)');
      return { op, in_shape, in2_shape, out_shape };
    }
    case 'lut': {
      if (c.format !== INT8_FORMAT_V2) c.fail(`${p}.op`, `lut needs "format": "${INT8_FORMAT_V2}"`);
      const in_shape = c.shape(o, 'in_shape', p);
      c.sameShape(in_shape, prev, `${p}.in_shape`, 'the previous output');
      const out_shape = c.shape(o, 'out_shape', p);
      c.sameShape(out_shape, in_shape, `${p}.out_shape`, 'in_shape');
      return { op, in_shape, out_shape, table: c.ints(o, 'table', p, 256, -128, 127) };
    }
    case 'avgpool_global': {
      const in_shape = c.shape(o, 'in_shape', p);
      c.sameShape(in_shape, prev, `${p}.in_shape`, 'the previous output');
      const out_shape = c.shape(o, 'out_shape', p);
      c.sameShape(out_shape, [1, 1, in_shape[2]], `${p}.out_shape`, 'expected');
      return { op, in_shape, out_shape, ...scalarRequant(c, o, p) };
    }
    default:
      return c.fail(`${p}.op`, `unknown op ${JSON.stringify(op)} (${INT8_OPS.join(', ')})`);
  }
}

/** Window geometry shared by conv2d and depthwise_conv2d (padding rules of SPEC section 2). */
function convGeometry(c: Checker, o: Obj, p: string, prev: Shape3) {
  const in_shape = c.shape(o, 'in_shape', p);
  c.sameShape(in_shape, prev, `${p}.in_shape`, 'the previous output');
  const out_shape = c.shape(o, 'out_shape', p);
  const kh = c.int(o, 'kh', p, 1, 255);
  const kw = c.int(o, 'kw', p, 1, 255);
  const stride_h = c.int(o, 'stride_h', p, 1, 255);
  const stride_w = c.int(o, 'stride_w', p, 1, 255);
  const pad_top = c.int(o, 'pad_top', p, 0, kh - 1);
  const pad_left = c.int(o, 'pad_left', p, 0, kw - 1);
  // every window must overlap the input (bottom/right padding is implied by out_h/out_w)
  if ((out_shape[0] - 1) * stride_h - pad_top > in_shape[0] - 1) c.fail(`${p}.out_shape`, 'out_h: last window starts below the input');
  if ((out_shape[1] - 1) * stride_w - pad_left > in_shape[1] - 1) c.fail(`${p}.out_shape`, 'out_w: last window starts right of the input');
  return { in_shape, out_shape, kh, kw, stride_h, stride_w, pad_top, pad_left };
}

/** Window geometry shared by maxpool2d and avgpool2d: no padding, channels unchanged. */
/** The checks ADD and MUL share: two inputs of one shape, their zero points, the clamp. */
function elementwiseGeometry(c: Checker, o: Obj, p: string, prev: Shape3, op: string, tflite: string) {
  if (!isTflite(c.arithmetic)) c.fail(`${p}.op`, `${op} needs a tflite-* arithmetic (TFLite's int8 ${tflite})`);
  const in_shape = c.shape(o, 'in_shape', p);
  c.sameShape(in_shape, prev, `${p}.in_shape`, 'its first input');
  const out_shape = c.shape(o, 'out_shape', p);
  c.sameShape(out_shape, in_shape, `${p}.out_shape`, 'in_shape');
  let in2_shape: Shape3 | undefined;
  if (o.in2_shape !== undefined) {
    in2_shape = c.shape(o, 'in2_shape', p);
    const s2 = in2_shape;
    if (s2.some((d, k) => d !== 1 && d !== in_shape[k])) c.fail(`${p}.in2_shape`, `${JSON.stringify(s2)} does not broadcast to in_shape ${JSON.stringify(in_shape)} (each dimension equal or 1)`);
  }
  const const2 = o.const2 === undefined ? undefined : c.ints(o, 'const2', p, shapeSize(in2_shape ?? in_shape), -128, 127);
  const in_zp = c.int(o, 'in_zp', p, -128, 127);
  const in2_zp = c.int(o, 'in2_zp', p, -128, 127);
  const out_zp = c.int(o, 'out_zp', p, -128, 127);
  const act_min = c.int(o, 'act_min', p, -128, 127);
  const act_max = c.int(o, 'act_max', p, act_min, 127);
  return { in_shape, out_shape, ...(in2_shape ? { in2_shape } : {}), ...(const2 ? { const2 } : {}), in_zp, in2_zp, out_zp, act_min, act_max };
}

function poolGeometry(c: Checker, o: Obj, p: string, prev: Shape3) {
  const in_shape = c.shape(o, 'in_shape', p);
  c.sameShape(in_shape, prev, `${p}.in_shape`, 'the previous output');
  const out_shape = c.shape(o, 'out_shape', p);
  const kh = c.int(o, 'kh', p, 1, 255);
  const kw = c.int(o, 'kw', p, 1, 255);
  const stride_h = c.int(o, 'stride_h', p, 1, 255);
  const stride_w = c.int(o, 'stride_w', p, 1, 255);
  if (out_shape[2] !== in_shape[2]) c.fail(`${p}.out_shape`, 'channels must equal in_shape channels');
  if ((out_shape[0] - 1) * stride_h + kh > in_shape[0]) c.fail(`${p}.out_shape`, 'out_h: window runs past the input (no padding)');
  if ((out_shape[1] - 1) * stride_w + kw > in_shape[1]) c.fail(`${p}.out_shape`, 'out_w: window runs past the input (no padding)');
  return { in_shape, out_shape, kh, kw, stride_h, stride_w };
}

/** Zero points and the single requant pair of avgpool_global / avgpool2d. With TFLite arithmetic
 * the pools are TFLite's (SPEC section 3): same zero point in and out, multiplier = shift = 0. */
function scalarRequant(c: Checker, o: Obj, p: string) {
  const in_zp = c.int(o, 'in_zp', p, -128, 127);
  const out_zp = c.int(o, 'out_zp', p, -128, 127);
  if (isTflite(c.arithmetic)) {
    if (out_zp !== in_zp) c.fail(`${p}.out_zp`, `must equal in_zp (${in_zp}) with ${c.arithmetic} arithmetic (TFLite's average pool does not rescale)`);
    return { in_zp, out_zp, multiplier: c.int(o, 'multiplier', p, 0, 0), shift: c.int(o, 'shift', p, 0, 0) };
  }
  return {
    in_zp, out_zp,
    multiplier: c.int(o, 'multiplier', p, MULTIPLIER_MIN, MULTIPLIER_MAX),
    shift: c.int(o, 'shift', p, SHIFT_MIN, SHIFT_MAX),
  };
}

/** Per-channel multiplier and shift tables in the ranges of the model's arithmetic. */
function requantTables(c: Checker, o: Obj, p: string, oc: number): { multiplier: number[]; shift: number[] } {
  if (!isTflite(c.arithmetic)) {
    return { multiplier: c.ints(o, 'multiplier', p, oc, MULTIPLIER_MIN, MULTIPLIER_MAX), shift: c.ints(o, 'shift', p, oc, SHIFT_MIN, SHIFT_MAX) };
  }
  const multiplier = c.ints(o, 'multiplier', p, oc, 0, Q31_MULTIPLIER_MAX);
  const shift = c.ints(o, 'shift', p, oc, Q31_SHIFT_MIN, Q31_SHIFT_MAX);
  multiplier.forEach((m, i) => {
    if (m !== 0 && m < Q31_MULTIPLIER_MIN) c.fail(`${p}.multiplier[${i}]`, `must be 0 or in [2^30, 2^31) with ${c.arithmetic} arithmetic, got ${m}`);
    if (m === 0 && shift[i] !== 0) c.fail(`${p}.shift[${i}]`, `must be 0 where the multiplier is 0, got ${shift[i]}`);
  });
  return { multiplier, shift };
}

/**
 * Fields shared by conv2d, depthwise_conv2d and dense: zero points, activation range,
 * per-channel arrays. `at(ch, j)` is the index of channel ch's j-th weight (of k).
 */
function commonQuant(c: Checker, o: Obj, p: string, oc: number, k: number, at: (ch: number, j: number) => number) {
  const in_zp = c.int(o, 'in_zp', p, -128, 127);
  const out_zp = c.int(o, 'out_zp', p, -128, 127);
  const act_min = c.int(o, 'act_min', p, -128, 127);
  const act_max = c.int(o, 'act_max', p, act_min, 127);
  const weights = c.ints(o, 'weights', p, oc * k, -128, 127);
  const bias = c.ints(o, 'bias', p, oc, -(2 ** 31), INT32_MAX);
  const { multiplier, shift } = requantTables(c, o, p, oc);
  // int32 accumulator bound (SPEC 3): |bias| + 256 * sum|w| < 2^31. |x - in_zp| <= 255; the extra
  // margin keeps every partial sum in range whatever order a kernel adds the terms in.
  for (let ch = 0; ch < oc; ch++) {
    let abs = 0;
    for (let j = 0; j < k; j++) abs += Math.abs(weights[at(ch, j)]);
    if (Math.abs(bias[ch]) + 256 * abs > INT32_MAX) {
      c.fail(`${p}.bias[${ch}]`, 'int32 accumulator may overflow: |bias| + 256*sum|w| >= 2^31');
    }
  }
  return { in_zp, out_zp, act_min, act_max, weights, bias, multiplier, shift };
}
