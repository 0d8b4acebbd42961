/**
 * TEST-ONLY ONNX writer: turns one of our float models (nn/Sequential, NHWC) into an ONNX
 * ModelProto (NCHW) with hand-encoded protobuf, so the importer can be checked by a round trip.
 * Field numbers as in onnx/onnx.proto (see harness/modeltools/import/onnx-schema.ts).
 */
import { Conv2d } from '../../harness/modeltools/nn/conv2d.js';
import { DepthwiseConv2d } from '../../harness/modeltools/nn/depthwise.js';
import { AvgPool2d, Dense, MaxPool2d } from '../../harness/modeltools/nn/layers.js';
import type { Sequential } from '../../harness/modeltools/nn/model.js';

class Pb {
  private readonly parts: Buffer[] = [];

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      out.push(b);
    } while (x > 0n);
    this.parts.push(Buffer.from(out));
  }

  int(num: number, v: number): this {
    this.varint((num << 3) | 0);
    this.varint(v);
    return this;
  }

  float(num: number, v: number): this {
    this.varint((num << 3) | 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.parts.push(b);
    return this;
  }

  bytes(num: number, v: Uint8Array): this {
    this.varint((num << 3) | 2);
    this.varint(v.length);
    this.parts.push(Buffer.from(v));
    return this;
  }

  str(num: number, s: string): this {
    return this.bytes(num, Buffer.from(s, 'utf8'));
  }

  msg(num: number, m: Pb): this {
    return this.bytes(num, m.done());
  }

  packedInts(num: number, vs: number[]): this {
    const inner = new Pb();
    for (const v of vs) inner.varint(v);
    return this.bytes(num, inner.done());
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

type Attr = { name: string; i?: number; f?: number; s?: string; ints?: number[] };

function attr(a: Attr): Pb {
  const m = new Pb().str(1, a.name);
  if (a.f !== undefined) m.float(2, a.f).int(20, 1);
  else if (a.i !== undefined) m.int(3, a.i).int(20, 2);
  else if (a.s !== undefined) m.str(4, a.s).int(20, 3);
  else m.packedInts(8, a.ints ?? []).int(20, 7);
  return m;
}

export function onnxTensor(name: string, dims: number[], values: ArrayLike<number>, dataType = 1): Pb {
  const raw = dataType === 7 ? Buffer.alloc(8 * values.length) : Buffer.alloc(4 * values.length);
  for (let i = 0; i < values.length; i++) {
    if (dataType === 7) raw.writeBigInt64LE(BigInt(values[i]), 8 * i);
    else raw.writeFloatLE(values[i], 4 * i);
  }
  return new Pb().packedInts(1, dims).int(2, dataType).str(8, name).bytes(9, raw);
}

function valueInfo(name: string, dims: number[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, new Pb().int(1, d));
  return new Pb().str(1, name).msg(2, new Pb().msg(1, new Pb().int(1, 1).msg(2, shape)));
}

export interface OnnxNodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Attr[];
}

/** A ModelProto from explicit nodes and initializers (for hand-made error cases too). */
export function onnxModel(o: { nodes: OnnxNodeSpec[]; inits: Pb[]; input: [string, number[]]; output: [string, number[]]; opset?: number }): Buffer {
  const g = new Pb();
  o.nodes.forEach((n, i) => {
    const m = new Pb();
    for (const x of n.inputs) m.str(1, x);
    for (const x of n.outputs) m.str(2, x);
    m.str(3, n.name ?? `${n.op.toLowerCase()}_${i}`).str(4, n.op);
    for (const a of n.attrs ?? []) m.msg(5, attr(a));
    g.msg(1, m);
  });
  g.str(2, 'yono_test_graph');
  for (const t of o.inits) g.msg(5, t);
  g.msg(11, valueInfo(...o.input));
  g.msg(12, valueInfo(...o.output));
  return new Pb()
    .int(1, 8)
    .str(2, 'yono-test-writer')
    .msg(7, g)
    .msg(8, new Pb().str(1, '').int(2, o.opset ?? 13))
    .done();
}

/**
 * Our float model as ONNX: NCHW input [1,C,H,W], Conv weights [oc][ic][kh][kw], explicit pads,
 * Flatten then Gemm(transB=1) with columns in ONNX's (c,h,w) order, the `matmulAt` dense layer as
 * MatMul + Add instead, and a trailing Softmax.
 */
export function sequentialToOnnx(model: Sequential, opts: { matmulAt?: number; softmax?: boolean } = {}): Buffer {
  const nodes: OnnxNodeSpec[] = [];
  const inits: Pb[] = [];
  let cur = 'input';
  let n = 0;
  const next = () => `t${n++}`;
  let four = true; // the current ONNX tensor is 4-D NCHW
  let flatFrom: [number, number, number] | undefined;
  const [H0, W0, C0] = model.inputShape;
  model.layers.forEach((l, i) => {
    const out = next();
    const [H, W, C] = l.inShape;
    if (l instanceof Conv2d || l instanceof DepthwiseConv2d) {
      const [OH, OW, OC] = l.outShape;
      const KH = l.kh;
      const KW = l.kw;
      const dw = l instanceof DepthwiseConv2d;
      const icg = dw ? 1 : C;
      const w = new Float32Array(OC * icg * KH * KW);
      for (let oc = 0; oc < OC; oc++)
        for (let ic = 0; ic < icg; ic++)
          for (let ky = 0; ky < KH; ky++)
            for (let kx = 0; kx < KW; kx++) {
              const ours = dw ? (ky * KW + kx) * OC + oc : ((oc * KH + ky) * KW + kx) * C + ic;
              w[((oc * icg + ic) * KH + ky) * KW + kx] = l.weight.w[ours];
            }
      const bottom = (OH - 1) * l.strideH + KH - H - l.padTop;
      const right = (OW - 1) * l.strideW + KW - W - l.padLeft;
      inits.push(onnxTensor(`w${i}`, [OC, icg, KH, KW], w), onnxTensor(`b${i}`, [OC], l.bias.w));
      nodes.push({
        op: 'Conv', inputs: [cur, `w${i}`, `b${i}`], outputs: [out], name: `conv_${i}`,
        attrs: [
          { name: 'kernel_shape', ints: [KH, KW] }, { name: 'strides', ints: [l.strideH, l.strideW] },
          { name: 'pads', ints: [l.padTop, l.padLeft, Math.max(0, bottom), Math.max(0, right)] },
          { name: 'group', i: dw ? C : 1 },
        ],
      });
    } else if (l instanceof Dense) {
      if (four) {
        const f = next();
        nodes.push({ op: 'Flatten', inputs: [cur], outputs: [f], attrs: [{ name: 'axis', i: 1 }] });
        if (H * W > 1 && C > 1) flatFrom = [H, W, C];
        cur = f;
        four = false;
      }
      const IN = l.inFeatures;
      const OUT = l.outFeatures;
      // ONNX column index (c,h,w) <- our column index (h,w,c)
      const col = (j: number): number => {
        if (!flatFrom) return j;
        const [fh, fw, fc] = flatFrom;
        const c = j % fc;
        const hw = (j - c) / fc;
        return c * fh * fw + hw;
      };
      const useMatMul = opts.matmulAt === i;
      const w = new Float32Array(OUT * IN);
      for (let o = 0; o < OUT; o++)
        for (let j = 0; j < IN; j++) {
          const v = l.weight.w[o * IN + j];
          if (useMatMul) w[col(j) * OUT + o] = v;
          else w[o * IN + col(j)] = v;
        }
      flatFrom = undefined;
      if (useMatMul) {
        const mm = next();
        inits.push(onnxTensor(`w${i}`, [IN, OUT], w), onnxTensor(`b${i}`, [OUT], l.bias.w));
        nodes.push({ op: 'MatMul', inputs: [cur, `w${i}`], outputs: [mm], name: `matmul_${i}` });
        nodes.push({ op: 'Add', inputs: [mm, `b${i}`], outputs: [out], name: `add_${i}` });
      } else {
        inits.push(onnxTensor(`w${i}`, [OUT, IN], w), onnxTensor(`b${i}`, [OUT], l.bias.w));
        nodes.push({ op: 'Gemm', inputs: [cur, `w${i}`, `b${i}`], outputs: [out], name: `gemm_${i}`, attrs: [{ name: 'transB', i: 1 }] });
      }
    } else if (l instanceof MaxPool2d || l instanceof AvgPool2d) {
      nodes.push({
        op: l instanceof MaxPool2d ? 'MaxPool' : 'AveragePool', inputs: [cur], outputs: [out], name: `pool_${i}`,
        attrs: [{ name: 'kernel_shape', ints: [l.kh, l.kw] }, { name: 'strides', ints: [l.strideH, l.strideW] }],
      });
    } else if (l.op === 'relu') {
      nodes.push({ op: 'Relu', inputs: [cur], outputs: [out], name: `relu_${i}` });
    } else if (l.op === 'avgpool_global') {
      nodes.push({ op: 'GlobalAveragePool', inputs: [cur], outputs: [out], name: `gap_${i}` });
    } else if (l.op === 'flatten') {
      nodes.push({ op: 'Flatten', inputs: [cur], outputs: [out], name: `flatten_${i}`, attrs: [{ name: 'axis', i: 1 }] });
      if (H * W > 1 && C > 1) flatFrom = [H, W, C];
      four = false;
    } else {
      throw new Error(`onnx-writer: layer ${l.op} not handled`);
    }
    cur = out;
  });
  const classes = model.outputShape[2];
  if (opts.softmax !== false) {
    const out = next();
    nodes.push({ op: 'Softmax', inputs: [cur], outputs: [out], name: 'softmax', attrs: [{ name: 'axis', i: 1 }] });
    cur = out;
  }
  return onnxModel({ nodes, inits, input: ['input', [1, C0, H0, W0]], output: [cur, [1, classes]] });
}
