/**
 * The part of ONNX's onnx.proto the importer reads (field numbers from onnx/onnx.proto):
 * ModelProto{ir_version 1, graph 7, opset_import 8}, GraphProto{node 1, name 2, initializer 5,
 * input 11, output 12}, NodeProto{input 1, output 2, name 3, op_type 4, attribute 5, domain 7},
 * AttributeProto{name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20},
 * TensorProto{dims 1, data_type 2, float_data 4, int32_data 5, int64_data 7, name 8, raw_data 9,
 * double_data 10, data_location 14}, ValueInfoProto{name 1, type 2}.
 */
import { HilError } from '../../util/errors.js';
import { PbMessage } from './protobuf.js';

/** TensorProto.DataType values the importer can read */
export const OnnxType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** the values as numbers (float32, int32, int64 or double) */
  values: number[];
}

export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  t?: OnnxTensor;
  floats: number[];
  ints: number[];
}

export interface OnnxNode {
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** dims; a symbolic or missing dimension is -1 */
  shape: number[];
}

export interface OnnxGraph {
  irVersion: number;
  opset: number;
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

function tensor(m: PbMessage, source: string): OnnxTensor {
  const name = m.string(8);
  const dims = m.ints(1);
  const dataType = m.int(2);
  if (m.int(14) === 1) throw new HilError(`initializer "${name}" uses external data (not supported: embed the weights in the .onnx file)`, source);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = m.bytes(9);
  let values: number[];
  if (raw && raw.length > 0) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = dataType === OnnxType.INT64 || dataType === OnnxType.DOUBLE ? 8 : 4;
    if (raw.length !== count * width) throw new HilError(`initializer "${name}": raw_data has ${raw.length} bytes for ${count} values`, source);
    values = Array.from({ length: count }, (_, k) => {
      switch (dataType) {
        case OnnxType.FLOAT:
          return dv.getFloat32(4 * k, true);
        case OnnxType.INT32:
          return dv.getInt32(4 * k, true);
        case OnnxType.INT64:
          return Number(dv.getBigInt64(8 * k, true));
        case OnnxType.DOUBLE:
          return dv.getFloat64(8 * k, true);
        default:
          throw new HilError(`initializer "${name}": data type ${dataType} not supported (float, int32, int64, double)`, source);
      }
    });
  } else if (dataType === OnnxType.FLOAT) {
    values = m.floats(4);
  } else if (dataType === OnnxType.INT32) {
    values = m.ints(5);
  } else if (dataType === OnnxType.INT64) {
    values = m.ints(7);
  } else {
    throw new HilError(`initializer "${name}": data type ${dataType} not supported (float, int32, int64)`, source);
  }
  if (values.length !== count) throw new HilError(`initializer "${name}": ${values.length} values for dims ${JSON.stringify(dims)}`, source);
  return { name, dims, dataType, values };
}

function valueInfo(m: PbMessage): OnnxValueInfo {
  const tt = m.message(2)?.message(1);
  const dims = tt?.message(2)?.messages(1) ?? [];
  return {
    name: m.string(1),
    elemType: tt?.int(1) ?? 0,
    shape: dims.map((d) => (d.all(1).length > 0 ? d.int(1) : -1)),
  };
}

export function readOnnx(bytes: Uint8Array, source: string): OnnxGraph {
  const model = new PbMessage(bytes, source);
  const g = model.message(7);
  if (!g) throw new HilError('not an ONNX model: no graph (field 7)', source);
  const opsets = model.messages(8).filter((o) => o.string(1) === '' || o.string(1) === 'ai.onnx');
  const nodes = g.messages(1).map((n, index): OnnxNode => {
    const attrs = new Map<string, OnnxAttribute>();
    for (const a of n.messages(5)) {
      const name = a.string(1);
      const t = a.message(5);
      attrs.set(name, {
        name,
        f: a.all(2).length ? a.float(2) : undefined,
        i: a.all(3).length ? a.int(3) : undefined,
        s: a.all(4).length ? a.string(4) : undefined,
        t: t ? tensor(t, source) : undefined,
        floats: a.floats(7),
        ints: a.ints(8),
      });
    }
    return { index, name: n.string(3), opType: n.string(4), domain: n.string(7), inputs: n.strings(1), outputs: n.strings(2), attrs };
  });
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.messages(5).map((m) => tensor(m, source))) initializers.set(t.name, t);
  return {
    irVersion: model.int(1),
    opset: opsets.length ? Math.max(...opsets.map((o) => o.int(2))) : 0,
    name: g.string(2),
    nodes,
    initializers,
    // graph inputs may also list the initializers (IR < 4): keep only real inputs
    inputs: g.messages(11).map(valueInfo).filter((v) => !initializers.has(v.name)),
    outputs: g.messages(12).map(valueInfo),
  };
}
