/** Sequential model built from a JSON-able architecture spec, with He init and (de)serialisation. */
import { Conv2d, Padding } from './conv2d.js';
import { DepthwiseConv2d } from './depthwise.js';
import { AvgPool2d, Dense, Flatten, GlobalAvgPool, MaxPool2d, Relu } from './layers.js';
import { Rng } from './prng.js';
import { Layer, Param, Shape3 } from './types.js';

export type LayerSpec =
  | { op: 'conv2d'; filters: number; kh: number; kw: number; stride?: [number, number]; padding: Padding }
  | { op: 'depthwise_conv2d'; kh: number; kw: number; depth_multiplier?: number; stride?: [number, number]; padding: Padding }
  | { op: 'relu' }
  | { op: 'maxpool2d'; kh: number; kw: number; stride?: [number, number] }
  | { op: 'avgpool2d'; kh: number; kw: number; stride?: [number, number] }
  | { op: 'avgpool_global' }
  | { op: 'flatten' }
  | { op: 'dense'; units: number };

export class Sequential {
  readonly layers: Layer[] = [];

  constructor(
    readonly inputShape: Shape3,
    readonly spec: LayerSpec[],
  ) {
    let shape = inputShape;
    spec.forEach((s, i) => {
      const first = i === 0;
      let l: Layer;
      switch (s.op) {
        case 'conv2d':
          l = new Conv2d({
            inShape: shape, outCh: s.filters, kh: s.kh, kw: s.kw,
            strideH: s.stride?.[0], strideW: s.stride?.[1], padding: s.padding, needInputGrad: !first,
          });
          break;
        case 'depthwise_conv2d':
          l = new DepthwiseConv2d({
            inShape: shape, kh: s.kh, kw: s.kw, depthMultiplier: s.depth_multiplier,
            strideH: s.stride?.[0], strideW: s.stride?.[1], padding: s.padding, needInputGrad: !first,
          });
          break;
        case 'relu':
          l = new Relu(shape);
          break;
        case 'maxpool2d':
          l = new MaxPool2d(shape, s.kh, s.kw, s.stride?.[0] ?? s.kh, s.stride?.[1] ?? s.kw);
          break;
        case 'avgpool2d':
          l = new AvgPool2d(shape, s.kh, s.kw, s.stride?.[0] ?? s.kh, s.stride?.[1] ?? s.kw);
          break;
        case 'avgpool_global':
          l = new GlobalAvgPool(shape);
          break;
        case 'flatten':
          l = new Flatten(shape);
          break;
        case 'dense':
          l = new Dense(shape, s.units, !first);
          break;
      }
      this.layers.push(l);
      shape = l.outShape;
    });
  }

  get outputShape(): Shape3 {
    return this.layers[this.layers.length - 1].outShape;
  }

  params(): Param[] {
    return this.layers.flatMap((l) => l.params());
  }

  forward(x: Float32Array): Float32Array {
    let h = x;
    for (const l of this.layers) h = l.forward(h);
    return h;
  }

  backward(dy: Float32Array): void {
    let g = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) g = this.layers[i].backward(g);
  }

  /** He-normal weights (std sqrt(2 / fan_in)), zero biases. */
  init(rng: Rng): void {
    for (const l of this.layers) {
      if (l instanceof Conv2d || l instanceof Dense || l instanceof DepthwiseConv2d) {
        // a depthwise filter sees one input channel: fan-in kh*kw
        const fanIn = l instanceof Dense ? l.inFeatures : l instanceof DepthwiseConv2d ? l.kh * l.kw : l.kh * l.kw * l.inShape[2];
        const std = Math.sqrt(2 / fanIn);
        const w = l.weight.w;
        for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
        l.bias.w.fill(0);
      }
    }
  }

  /** Multiply-accumulates per inference (conv, depthwise, dense; pooling adds are not counted). */
  macs(): number {
    let n = 0;
    for (const l of this.layers) {
      if (l instanceof Conv2d) n += l.outShape[0] * l.outShape[1] * l.outShape[2] * l.kh * l.kw * l.inShape[2];
      else if (l instanceof DepthwiseConv2d) n += l.outShape[0] * l.outShape[1] * l.outShape[2] * l.kh * l.kw;
      else if (l instanceof Dense) n += l.inFeatures * l.outFeatures;
    }
    return n;
  }

  paramCount(): number {
    return this.params().reduce((a, p) => a + p.w.length, 0);
  }
}


/** Softmax cross-entropy: writes dL/dlogits into grad, returns the loss. */
export function softmaxCrossEntropy(logits: Float32Array, label: number, grad: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i] - max);
    grad[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) grad[i] /= sum;
  const loss = -Math.log(Math.max(grad[label], 1e-30));
  grad[label] -= 1;
  return loss;
}
