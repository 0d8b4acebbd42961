/**
 * Imports a float ONNX graph (a linear chain of Conv incl. depthwise group=C, Gemm, MatMul+Add,
 * Relu, Clip(0,inf), MaxPool, AveragePool, GlobalAveragePool, Flatten/Reshape, trailing Softmax)
 * into our float model (nn/Sequential) and quantizes it with our quantizer, calibrated on a
 * prepared data set. ONNX is NCHW, we are NHWC: conv weights are transposed, and a Flatten of an
 * (H, W, C) tensor flattens in (c, h, w) order there but (h, w, c) here, so the columns of the
 * next dense layer are permuted to match.
 */
import { sha256 } from '../../util/hash.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadPrepared } from '../../datasets/prepared.js';
import { HilError } from '../../util/errors.js';
import { convGeometry, Conv2d, type Padding } from '../nn/conv2d.js';
import { DepthwiseConv2d } from '../nn/depthwise.js';
import { Dense } from '../nn/layers.js';
import { Sequential, type LayerSpec } from '../nn/model.js';
import type { Int8Data } from '../nn/trainer.js';
import { modelHash, validateInt8Model, type Shape3 } from '../int8-model.js';
import { quantizeModel } from '../quantize.js';
import { readOnnx, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx-schema.js';
import { IMPORTER_VERSION, summarize, type ImportResult } from './report.js';

export const ONNX_SUPPORTED = [
  'Conv (group 1 or depthwise group=C)', 'Gemm', 'MatMul(+Add)', 'Relu', 'Clip(0, inf)', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'Flatten', 'Reshape (to [1, N])', 'Identity', 'Dropout', 'Softmax (last node only)',
];
const FLOAT = 1;
/** calibration sample order seed: fixed so an import is reproducible */
const CALIBRATION_SEED = 1;

export interface OnnxImportOptions {
  name: string;
  dataset: string;
  /** int8 calibration samples (the data set's train split, its input quantization) */
  calibration: Int8Data;
  calibrationSamples: number;
}

export interface OnnxImportResult extends ImportResult {
  /** the float model the graph became (before quantization) */
  float: Sequential;
}

/** Imports with calibration samples from the data set's train split. */
export function importOnnxFile(path: string, o: { name: string; dataset: string; calibrationSamples: number }): OnnxImportResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new HilError(`cannot read: ${(e as Error).message}`, path);
  }
  const train = loadPrepared(o.dataset, 'train');
  if (train.count === 0) throw new HilError('no train samples to calibrate the quantization with', `data set ${o.dataset}`);
  const calibration: Int8Data = {
    x: train.x, y: train.y, count: train.count, inputBytes: train.inputBytes,
    scale: train.manifest.input_scale, zeroPoint: train.manifest.input_zero_point,
  };
  return importOnnx(bytes, basename(path), { ...o, calibration });
}

export function importOnnx(bytes: Uint8Array, fileName: string, o: OnnxImportOptions): OnnxImportResult {
  const g = readOnnx(bytes, fileName);
  const conv = new OnnxConverter(g, fileName).run();
  const float = new Sequential(conv.inputShape, conv.layers.map((l) => l.spec));
  float.layers.forEach((l, i) => {
    const src = conv.layers[i];
    if (l instanceof Conv2d || l instanceof DepthwiseConv2d || l instanceof Dense) {
      if (!src.weights || !src.bias || src.weights.length !== l.weight.w.length || src.bias.length !== l.bias.w.length) {
        throw new HilError(`${src.from}: weights do not fit the layer (internal shape mismatch)`, fileName);
      }
      l.weight.w.set(src.weights);
      l.bias.w.set(src.bias);
    }
  });
  const outSize = float.outputShape[0] * float.outputShape[1] * float.outputShape[2];
  if (conv.outputSize > 0 && conv.outputSize !== outSize) {
    throw new HilError(`graph output has ${conv.outputSize} values, the converted model ${outSize}`, fileName);
  }
  let model;
  try {
    model = quantizeModel(float, {
      name: o.name,
      dataset: o.dataset,
      input: { scale: o.calibration.scale, zero_point: o.calibration.zeroPoint },
      calibration: o.calibration,
      calibrationSamples: o.calibrationSamples,
      seed: CALIBRATION_SEED,
    });
  } catch (e) {
    if (e instanceof HilError) throw new HilError(`${e.where ? e.where + ': ' : ''}${e.message}`, fileName);
    throw e;
  }
  model = validateInt8Model(model, `${fileName} (imported)`);
  // int8 layers: relu and flatten fold away, so map each int8 layer to the float layers it came from
  const from: string[][] = [];
  let pending: string[] = [];
  conv.layers.forEach((l) => {
    pending.push(l.from);
    if (l.spec.op !== 'relu' && l.spec.op !== 'flatten') {
      from.push(pending);
      pending = [];
    } else if (l.spec.op === 'relu' && from.length > 0) {
      from[from.length - 1].push(...pending);
      pending = [];
    }
  });
  return {
    model,
    float,
    report: {
      model: o.name,
      dataset: o.dataset,
      source_file: fileName,
      source_sha256: sha256(bytes),
      source_format: 'onnx',
      importer_version: IMPORTER_VERSION,
      dropped_ops: conv.dropped,
      noop_ops: conv.noops,
      ...summarize(model, from),
      int8_model_hash: modelHash(model),
      notes: [`ONNX IR ${g.irVersion}, opset ${g.opset}; NCHW converted to NHWC`],
      calibration: {
        dataset: o.dataset,
        split: 'train',
        samples: Math.min(o.calibrationSamples, o.calibration.count),
        method: `per-tensor min/max of float activations over a seeded shuffle (seed ${CALIBRATION_SEED}), range widened to include 0`,
      },
    },
  };
}

interface ConvertedLayer {
  spec: LayerSpec;
  /** in our layout: conv [oc][kh][kw][ic], depthwise [kh][kw][oc], dense [out][in] */
  weights?: Float32Array;
  bias?: Float32Array;
  from: string;
}

class OnnxConverter {
  private readonly layers: ConvertedLayer[] = [];
  private readonly dropped: string[] = [];
  private readonly noops: string[] = [];
  private cur = '';
  private shape: Shape3 = [1, 1, 1];
  /** set by a Flatten of an (H, W, C) tensor: ONNX's order there is (c, h, w) */
  private nchwFlat?: Shape3;
  /** the dense layer a following Add may supply the bias of */
  private matmul?: { layer: ConvertedLayer; output: string };
  private node?: OnnxNode;

  constructor(
    private readonly g: OnnxGraph,
    private readonly file: string,
  ) {}

  private label(n: OnnxNode): string {
    return `node ${n.index} (${n.opType}, "${n.name || n.outputs[0]}")`;
  }

  private fail(msg: string): never {
    throw new HilError(this.node ? `${this.label(this.node)}: ${msg}` : msg, this.file);
  }

  private init(name: string | undefined, what: string): OnnxTensor {
    const t = name ? this.g.initializers.get(name) : undefined;
    if (!t) this.fail(`${what} "${name ?? ''}" must be a constant initializer`);
    return t;
  }

  private attrInts(n: OnnxNode, key: string, dflt: number[]): number[] {
    const a = n.attrs.get(key);
    return a && a.ints.length > 0 ? a.ints : dflt;
  }

  private attrInt(n: OnnxNode, key: string, dflt: number): number {
    return n.attrs.get(key)?.i ?? dflt;
  }

  private attrFloat(n: OnnxNode, key: string, dflt: number): number {
    return n.attrs.get(key)?.f ?? dflt;
  }

  run(): { inputShape: Shape3; layers: ConvertedLayer[]; dropped: string[]; noops: string[]; outputSize: number } {
    const g = this.g;
    for (const n of g.nodes) {
      if (n.domain !== '' && n.domain !== 'ai.onnx') {
        this.node = n;
        this.fail(`operator domain "${n.domain}" not supported (only the default ONNX domain)`);
      }
    }
    if (g.inputs.length !== 1 || g.outputs.length !== 1) {
      throw new HilError(`only single-input, single-output graphs are supported (has ${g.inputs.length} inputs, ${g.outputs.length} outputs)`, this.file);
    }
    const inp = g.inputs[0];
    if (inp.elemType !== FLOAT) throw new HilError(`input "${inp.name}" has element type ${inp.elemType}, expected float (1)`, this.file);
    const s = inp.shape;
    const dims = s.length > 1 && (s[0] === 1 || s[0] === -1) ? s.slice(1) : s;
    if (dims.some((d) => d < 1)) throw new HilError(`input "${inp.name}" shape ${JSON.stringify(s)} has unknown dimensions besides the batch`, this.file);
    // NCHW [C,H,W] -> [H,W,C]; [N] -> [1,1,N]
    let inputShape: Shape3;
    if (dims.length === 3) inputShape = [dims[1], dims[2], dims[0]];
    else if (dims.length === 1) inputShape = [1, 1, dims[0]];
    else throw new HilError(`input "${inp.name}" shape ${JSON.stringify(s)} is not [N,C,H,W] or [N,F]`, this.file);
    this.cur = inp.name;
    this.shape = inputShape;

    g.nodes.forEach((n, i) => {
      this.node = n;
      const last = i === g.nodes.length - 1;
      if (n.opType === 'Add' && this.matmul && n.inputs.includes(this.matmul.output)) return this.addBias(n);
      if (n.inputs[0] !== this.cur) this.fail(`not a linear chain: its data input "${n.inputs[0]}" is not the previous node's output "${this.cur}"`);
      this.matmul = undefined;
      switch (n.opType) {
        case 'Conv':
          return this.conv(n);
        case 'Gemm':
          return this.gemm(n);
        case 'MatMul':
          return this.matmulNode(n);
        case 'Relu':
          return this.push({ spec: { op: 'relu' }, from: this.label(n) }, n, this.shape);
        case 'Clip':
          return this.clip(n);
        case 'MaxPool':
        case 'AveragePool':
          return this.pool(n);
        case 'GlobalAveragePool':
          return this.push({ spec: { op: 'avgpool_global' }, from: this.label(n) }, n, [1, 1, this.shape[2]]);
        case 'Flatten':
          if (this.attrInt(n, 'axis', 1) !== 1) this.fail('only axis 1 is supported');
          return this.flatten(n);
        case 'Reshape':
          return this.reshape(n);
        case 'Identity':
        case 'Dropout':
          this.noops.push(`${this.label(n)}: no-op at inference`);
          this.cur = n.outputs[0];
          return;
        case 'Softmax':
          if (!last) this.fail('Softmax is only supported as the last node (it is dropped: argmax is unchanged)');
          this.dropped.push(`${this.label(n)}: trailing softmax dropped; logits are its input, argmax unchanged`);
          this.cur = n.outputs[0];
          return;
        default:
          this.fail(`not supported; supported: ${ONNX_SUPPORTED.join(', ')}`);
      }
    });
    this.node = undefined;
    if (this.cur !== g.outputs[0].name) throw new HilError(`the last node does not produce the graph output "${g.outputs[0].name}"`, this.file);
    if (this.layers.length === 0) throw new HilError('no layer to import', this.file);
    const outDims = g.outputs[0].shape.filter((d, k) => !(k === 0 && (d === 1 || d === -1)));
    const outputSize = outDims.length > 0 && outDims.every((d) => d > 0) ? outDims.reduce((a, b) => a * b, 1) : 0;
    return { inputShape, layers: this.layers, dropped: this.dropped, noops: this.noops, outputSize };
  }

  private push(l: ConvertedLayer, n: OnnxNode, shape: Shape3): void {
    this.layers.push(l);
    this.cur = n.outputs[0];
    this.shape = shape;
  }

  /** ONNX pads [top, left, bottom, right] -> our 'valid' / TF-'same' (extra pad bottom/right). */
  private padding(n: OnnxNode, kh: number, kw: number, sh: number, sw: number): Padding {
    const auto = n.attrs.get('auto_pad')?.s ?? 'NOTSET';
    if (auto === 'VALID') return 'valid';
    if (auto === 'SAME_UPPER') return 'same';
    if (auto !== 'NOTSET') this.fail(`auto_pad ${auto} not supported (NOTSET, VALID, SAME_UPPER)`);
    const pads = this.attrInts(n, 'pads', [0, 0, 0, 0]);
    if (pads.every((p) => p === 0)) return 'valid';
    const [H, W] = this.shape;
    const gh = convGeometry(H, kh, sh, 'same');
    const gw = convGeometry(W, kw, sw, 'same');
    const totalH = Math.max((gh.out - 1) * sh + kh - H, 0);
    const totalW = Math.max((gw.out - 1) * sw + kw - W, 0);
    if (pads[0] === gh.pad && pads[2] === totalH - gh.pad && pads[1] === gw.pad && pads[3] === totalW - gw.pad) return 'same';
    return this.fail(
      `pads ${JSON.stringify(pads)} on ${H}x${W} with stride ${sh}x${sw} are neither VALID nor TensorFlow-SAME ` +
        `(which pads [${gh.pad},${gw.pad},${totalH - gh.pad},${totalW - gw.pad}]); not supported`,
    );
  }

  private noDilation(n: OnnxNode): void {
    if (this.attrInts(n, 'dilations', [1, 1]).some((d) => d !== 1)) this.fail('dilation other than 1 not supported');
  }

  private conv(n: OnnxNode): void {
    const w = this.init(n.inputs[1], 'weight');
    if (w.dims.length !== 4) this.fail(`weight dims ${JSON.stringify(w.dims)} are not [OC, IC/group, KH, KW] (only 2-D convolutions)`);
    const [OC, ICg, KH, KW] = w.dims;
    const C = this.shape[2];
    const group = this.attrInt(n, 'group', 1);
    this.noDilation(n);
    const [sh, sw] = this.attrInts(n, 'strides', [1, 1]);
    const padding = this.padding(n, KH, KW, sh, sw);
    const b = n.inputs[2] ? this.init(n.inputs[2], 'bias').values : new Array<number>(OC).fill(0);
    if (b.length !== OC) this.fail(`bias has ${b.length} values for ${OC} channels`);
    const gh = convGeometry(this.shape[0], KH, sh, padding);
    const gw = convGeometry(this.shape[1], KW, sw, padding);
    const out: Shape3 = [gh.out, gw.out, OC];
    const from = this.label(n);
    const W = w.values;
    if (group === 1) {
      if (ICg !== C) this.fail(`weights expect ${ICg} input channels, the input has ${C}`);
      // ONNX [oc][ic][ky][kx] -> ours [oc][ky][kx][ic]
      const weights = new Float32Array(OC * KH * KW * C);
      for (let oc = 0; oc < OC; oc++)
        for (let ky = 0; ky < KH; ky++)
          for (let kx = 0; kx < KW; kx++)
            for (let ic = 0; ic < C; ic++) weights[((oc * KH + ky) * KW + kx) * C + ic] = W[((oc * C + ic) * KH + ky) * KW + kx];
      this.push({ spec: { op: 'conv2d', filters: OC, kh: KH, kw: KW, stride: [sh, sw], padding }, weights, bias: Float32Array.from(b), from }, n, out);
    } else if (group === C && ICg === 1 && OC % C === 0) {
      // depthwise: ONNX [oc][1][ky][kx] -> ours [ky][kx][oc]; oc reads input channel oc / multiplier in both
      const weights = new Float32Array(KH * KW * OC);
      for (let oc = 0; oc < OC; oc++)
        for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) weights[(ky * KW + kx) * OC + oc] = W[(oc * KH + ky) * KW + kx];
      this.push(
        { spec: { op: 'depthwise_conv2d', kh: KH, kw: KW, depth_multiplier: OC / C, stride: [sh, sw], padding }, weights, bias: Float32Array.from(b), from },
        n,
        out,
      );
    } else {
      this.fail(`group ${group} with ${C} input channels: only group 1 or depthwise (group = input channels) are supported`);
    }
  }

  /** Our dense weights [out][in] from a matrix in ONNX's column order (c, h, w) after a Flatten. */
  private denseWeights(get: (o: number, i: number) => number, OUT: number, IN: number): Float32Array {
    const wts = new Float32Array(OUT * IN);
    const f = this.nchwFlat;
    for (let o = 0; o < OUT; o++) {
      if (!f) {
        for (let i = 0; i < IN; i++) wts[o * IN + i] = get(o, i);
        continue;
      }
      const [H, W, C] = f;
      for (let h = 0; h < H; h++)
        for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) wts[o * IN + (h * W + x) * C + c] = get(o, (c * H + h) * W + x);
    }
    return wts;
  }

  private inFeatures(): number {
    return this.shape[0] * this.shape[1] * this.shape[2];
  }

  private gemm(n: OnnxNode): void {
    if (this.attrInt(n, 'transA', 0) !== 0) this.fail('transA = 1 not supported');
    const alpha = this.attrFloat(n, 'alpha', 1);
    const beta = this.attrFloat(n, 'beta', 1);
    const transB = this.attrInt(n, 'transB', 0) === 1;
    const B = this.init(n.inputs[1], 'weight');
    if (B.dims.length !== 2) this.fail(`weight dims ${JSON.stringify(B.dims)} are not 2-D`);
    const [OUT, IN] = transB ? B.dims : [B.dims[1], B.dims[0]];
    if (IN !== this.inFeatures()) this.fail(`weights take ${IN} inputs, the input has ${this.inFeatures()}`);
    const v = B.values;
    // alpha and beta fold into the weights and the bias
    const weights = this.denseWeights((o, i) => alpha * (transB ? v[o * IN + i] : v[i * OUT + o]), OUT, IN);
    const c = n.inputs[2] ? this.init(n.inputs[2], 'bias').values : [];
    if (c.length !== 0 && c.length !== OUT && c.length !== 1) this.fail(`bias has ${c.length} values for ${OUT} outputs`);
    const bias = Float32Array.from({ length: OUT }, (_, o) => beta * (c.length === 0 ? 0 : c.length === 1 ? c[0] : c[o]));
    this.nchwFlat = undefined;
    this.push({ spec: { op: 'dense', units: OUT }, weights, bias, from: this.label(n) }, n, [1, 1, OUT]);
  }

  private matmulNode(n: OnnxNode): void {
    const B = this.init(n.inputs[1], 'weight');
    if (B.dims.length !== 2) this.fail(`weight dims ${JSON.stringify(B.dims)} are not 2-D`);
    const [IN, OUT] = B.dims;
    if (IN !== this.inFeatures()) this.fail(`weights take ${IN} inputs, the input has ${this.inFeatures()}`);
    const v = B.values;
    const weights = this.denseWeights((o, i) => v[i * OUT + o], OUT, IN);
    const layer: ConvertedLayer = { spec: { op: 'dense', units: OUT }, weights, bias: new Float32Array(OUT), from: this.label(n) };
    this.nchwFlat = undefined;
    this.push(layer, n, [1, 1, OUT]);
    this.matmul = { layer, output: n.outputs[0] };
  }

  /** MatMul followed by Add(bias): the bias of that dense layer. */
  private addBias(n: OnnxNode): void {
    const m = this.matmul ?? this.fail('internal: no MatMul');
    const other = n.inputs.find((x) => x !== m.output);
    const b = this.init(other, 'bias').values;
    const OUT = m.layer.bias?.length ?? 0;
    if (b.length !== OUT && b.length !== 1) this.fail(`bias has ${b.length} values for ${OUT} outputs`);
    m.layer.bias = Float32Array.from({ length: OUT }, (_, o) => (b.length === 1 ? b[0] : b[o]));
    m.layer.from += ` + ${this.label(n)}`;
    this.matmul = undefined;
    this.cur = n.outputs[0];
  }

  private clip(n: OnnxNode): void {
    // opset < 11: attributes; later: optional inputs 1 (min) and 2 (max)
    const bound = (k: number, attr: string, dflt: number): number => {
      const name = n.inputs[k];
      if (name) {
        const t = this.init(name, attr);
        if (t.values.length !== 1) this.fail(`${attr} must be a scalar`);
        return t.values[0];
      }
      return this.attrFloat(n, attr, dflt);
    };
    const lo = bound(1, 'min', -Infinity);
    const hi = bound(2, 'max', Infinity);
    if (lo === 0 && hi === Infinity) return this.push({ spec: { op: 'relu' }, from: this.label(n) }, n, this.shape);
    this.fail(`Clip(${lo}, ${hi}) not supported: only Clip(0, inf) = ReLU (ReLU6 needs a relu6 layer in the float model and quantizer)`);
  }

  private pool(n: OnnxNode, ): void {
    const max = n.opType === 'MaxPool';
    const [kh, kw] = this.attrInts(n, 'kernel_shape', []);
    if (!kh || !kw) this.fail('kernel_shape must have 2 entries');
    const [sh, sw] = this.attrInts(n, 'strides', [1, 1]);
    const pads = this.attrInts(n, 'pads', [0, 0, 0, 0]);
    const auto = n.attrs.get('auto_pad')?.s ?? 'NOTSET';
    if (pads.some((p) => p !== 0) || (auto !== 'NOTSET' && auto !== 'VALID')) this.fail('padded pooling not supported (no pads, auto_pad NOTSET or VALID)');
    if (this.attrInt(n, 'ceil_mode', 0) !== 0) this.fail('ceil_mode 1 not supported');
    this.noDilation(n);
    const [H, W, C] = this.shape;
    const out: Shape3 = [Math.floor((H - kh) / sh) + 1, Math.floor((W - kw) / sw) + 1, C];
    if (out[0] < 1 || out[1] < 1) this.fail(`window ${kh}x${kw} larger than the ${H}x${W} input`);
    const from = this.label(n);
    if (!max && kh === H && kw === W) return this.push({ spec: { op: 'avgpool_global' }, from }, n, [1, 1, C]);
    const spec: LayerSpec = max
      ? { op: 'maxpool2d', kh, kw, stride: [sh, sw] }
      : { op: 'avgpool2d', kh, kw, stride: [sh, sw] };
    this.push({ spec, from }, n, out);
  }

  private flatten(n: OnnxNode): void {
    const [H, W, C] = this.shape;
    // (h, w, c) and (c, h, w) orders agree when only one of them varies
    if (H * W > 1 && C > 1) this.nchwFlat = this.shape;
    this.push({ spec: { op: 'flatten' }, from: this.label(n) }, n, [1, 1, H * W * C]);
  }

  private reshape(n: OnnxNode): void {
    const target = this.init(n.inputs[1], 'shape').values;
    const size = this.inFeatures();
    const ok = target.length === 2 && [1, -1, 0].includes(target[0]) && (target[1] === -1 || target[1] === size);
    if (!ok) this.fail(`Reshape to ${JSON.stringify(target)} not supported: only a flatten to [1, ${size}] (or [1, -1])`);
    this.flatten(n);
  }
}
