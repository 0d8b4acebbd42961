/**
 * The part of TFLite's schema.fbs (tensorflow/lite/schema/schema.fbs, file identifier "TFL3")
 * the importer needs, decoded into plain objects. Field numbers are the schema's declaration
 * order (a union takes two slots: its type, then its value).
 */
import { HilError } from '../../util/errors.js';
import { FbReader, FbTable } from './flatbuffer.js';

/** TensorType enum */
export const TENSOR_TYPES = [
  'FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8',
  'FLOAT64', 'COMPLEX128', 'UINT64', 'RESOURCE', 'VARIANT', 'UINT32', 'UINT16', 'INT4',
] as const;

/** BuiltinOperator enum, 0..161 (names only serve error messages and reports) */
const BUILTIN_NAMES = (
  'ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE ' +
  'EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D ' +
  'LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 ' +
  'RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM ' +
  'CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND ' +
  'SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE ' +
  'BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM ' +
  'CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT ' +
  'SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT ' +
  'SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND ' +
  'LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE ' +
  'RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL ' +
  'REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE ' +
  'MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 ' +
  'SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM ' +
  'CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND ' +
  'HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ' +
  'ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL ' +
  'GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX ' +
  'UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT'
).split(' ');

export const BuiltinOp = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  DEQUANTIZE: 6,
  PAD: 34,
  QUANTIZE: 114,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  MEAN: 40,
  RESHAPE: 22,
  SOFTMAX: 25,
  CUSTOM: 32,
} as const;

export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `BUILTIN_${code}`;
}

/** BuiltinOptions union member numbers (1-based, as in the union declaration). */
export const OptionsType = { Conv2D: 1, DepthwiseConv2D: 2, Pool2D: 5, FullyConnected: 8, Softmax: 9, Concatenation: 10, Add: 11, Mul: 21, Reshape: 17, Reducer: 27 } as const;

export interface TfliteQuant {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: string;
  /** constant data (empty for activations) */
  data: Uint8Array;
  quant?: TfliteQuant;
}

export interface TfliteOperator {
  index: number;
  /** builtin operator code, or -1 for a custom op */
  code: number;
  /** BUILTIN name or the custom op's name */
  opName: string;
  inputs: number[];
  outputs: number[];
  optionsType: number;
  options?: FbTable;
}

export interface TfliteGraph {
  version: number;
  description: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
  subgraphCount: number;
}

/** Decodes subgraph 0 of a .tflite file. */
export function readTflite(bytes: Uint8Array, source: string): TfliteGraph {
  if (bytes.length < 8) throw new HilError('not a TFLite flatbuffer: file too short', source);
  const r = new FbReader(bytes, source);
  const id = r.identifier();
  if (id !== 'TFL3') throw new HilError(`not a TFLite flatbuffer: file identifier ${JSON.stringify(id)}, expected "TFL3"`, source);
  const model = r.root();
  const version = model.u32(0);
  const codes = model.tables(1).map((c) => {
    // builtin_code (field 3) superseded the byte-sized deprecated_builtin_code (field 0) for
    // codes >= 127; older writers set only the latter, so the larger of the two wins
    const code = Math.max(c.i8(0), c.i32(3));
    return code === BuiltinOp.CUSTOM ? { code: -1, name: c.string(1) ?? 'CUSTOM' } : { code, name: builtinName(code) };
  });
  const subgraphs = model.tables(2);
  if (subgraphs.length === 0) throw new HilError('model has no subgraph', source);
  const buffers = model.tables(4);
  const sg = subgraphs[0];

  const tensors = sg.tables(0).map((t, index): TfliteTensor => {
    const typeCode = t.i8(1);
    const bufIdx = t.u32(2);
    let data: Uint8Array = new Uint8Array(0);
    if (bufIdx > 0) {
      const b = buffers[bufIdx] ?? r.fail(`tensor ${index} refers to buffer ${bufIdx} of ${buffers.length}`);
      data = b.bytes(0);
      if (data.length === 0 && b.has(1)) {
        // >2 GB layout: data stored after the flatbuffer (offset from the file start)
        const off = b.i64(1);
        const size = b.i64(2);
        if (off > 1) data = bytes.subarray(off, off + size);
      }
    }
    const q = t.table(4);
    let quant: TfliteQuant | undefined;
    if (q) {
      const scale = q.f32s(2);
      if (scale.length > 0) quant = { scale, zeroPoint: q.i64s(3), quantizedDimension: q.i32(6) };
    }
    return {
      index,
      name: t.string(3) ?? `tensor${index}`,
      shape: t.i32s(0),
      type: TENSOR_TYPES[typeCode] ?? `TYPE_${typeCode}`,
      data,
      quant,
    };
  });

  const operators = sg.tables(3).map((o, index): TfliteOperator => {
    const opcodeIndex = o.u32(0);
    const c = codes[opcodeIndex] ?? r.fail(`operator ${index} uses opcode ${opcodeIndex} of ${codes.length}`);
    return {
      index,
      code: c.code,
      opName: c.name,
      inputs: o.i32s(1),
      outputs: o.i32s(2),
      optionsType: o.u8(3),
      options: o.table(4),
    };
  });

  return {
    version,
    description: model.string(3) ?? '',
    tensors,
    inputs: sg.i32s(1),
    outputs: sg.i32s(2),
    operators,
    subgraphCount: subgraphs.length,
  };
}
