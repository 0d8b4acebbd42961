import { Layer, Param, Shape3, size } from './types.js';

export class Relu implements Layer {
  readonly op = 'relu';
  readonly outShape: Shape3;
  private readonly out: Float32Array;
  private readonly dx: Float32Array;

  constructor(readonly inShape: Shape3) {
    this.outShape = inShape;
    this.out = new Float32Array(size(inShape));
    this.dx = new Float32Array(size(inShape));
  }
  params(): Param[] {
    return [];
  }
  forward(x: Float32Array): Float32Array {
    const o = this.out;
    for (let i = 0; i < o.length; i++) o[i] = x[i] > 0 ? x[i] : 0;
    return o;
  }
  backward(dy: Float32Array): Float32Array {
    const o = this.out;
    const d = this.dx;
    for (let i = 0; i < d.length; i++) d[i] = o[i] > 0 ? dy[i] : 0;
    return d;
  }
}

/** Max pooling without padding; windows that run past the edge are dropped (floor). */
export class MaxPool2d implements Layer {
  readonly op = 'maxpool2d';
  readonly outShape: Shape3;
  private readonly out: Float32Array;
  private readonly arg: Int32Array;
  private readonly dx: Float32Array;

  constructor(
    readonly inShape: Shape3,
    readonly kh: number,
    readonly kw: number,
    readonly strideH = kh,
    readonly strideW = kw,
  ) {
    const [H, W, C] = inShape;
    this.outShape = [Math.floor((H - kh) / strideH) + 1, Math.floor((W - kw) / strideW) + 1, C];
    this.out = new Float32Array(size(this.outShape));
    this.arg = new Int32Array(size(this.outShape));
    this.dx = new Float32Array(size(inShape));
  }
  params(): Param[] {
    return [];
  }
  forward(x: Float32Array): Float32Array {
    const [, W, C] = this.inShape;
    const [OH, OW] = this.outShape;
    let o = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let c = 0; c < C; c++, o++) {
          let best = -Infinity;
          let bi = 0;
          for (let ky = 0; ky < this.kh; ky++) {
            const row = (oy * this.strideH + ky) * W;
            for (let kx = 0; kx < this.kw; kx++) {
              const i = (row + ox * this.strideW + kx) * C + c;
              if (x[i] > best) {
                best = x[i];
                bi = i;
              }
            }
          }
          this.out[o] = best;
          this.arg[o] = bi;
        }
      }
    }
    return this.out;
  }
  backward(dy: Float32Array): Float32Array {
    this.dx.fill(0);
    for (let o = 0; o < dy.length; o++) this.dx[this.arg[o]] += dy[o];
    return this.dx;
  }
}

/** Average pooling without padding; windows that run past the edge are dropped (floor). */
export class AvgPool2d implements Layer {
  readonly op = 'avgpool2d';
  readonly outShape: Shape3;
  private readonly out: Float32Array;
  private readonly dx: Float32Array;

  constructor(
    readonly inShape: Shape3,
    readonly kh: number,
    readonly kw: number,
    readonly strideH = kh,
    readonly strideW = kw,
  ) {
    const [H, W, C] = inShape;
    this.outShape = [Math.floor((H - kh) / strideH) + 1, Math.floor((W - kw) / strideW) + 1, C];
    if (this.outShape[0] < 1 || this.outShape[1] < 1) throw new Error(`avgpool2d: window ${kh}x${kw} larger than input ${H}x${W}`);
    this.out = new Float32Array(size(this.outShape));
    this.dx = new Float32Array(size(inShape));
  }
  params(): Param[] {
    return [];
  }
  /** Calls f(o, i) for every (output index, input index in its window) pair. */
  private each(f: (o: number, i: number) => void): void {
    const [, W, C] = this.inShape;
    const [OH, OW] = this.outShape;
    let o = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let c = 0; c < C; c++, o++) {
          for (let ky = 0; ky < this.kh; ky++) {
            const row = (oy * this.strideH + ky) * W;
            for (let kx = 0; kx < this.kw; kx++) f(o, (row + ox * this.strideW + kx) * C + c);
          }
        }
      }
    }
  }
  forward(x: Float32Array): Float32Array {
    const inv = 1 / (this.kh * this.kw);
    const out = this.out;
    out.fill(0);
    this.each((o, i) => (out[o] += x[i]));
    for (let o = 0; o < out.length; o++) out[o] *= inv;
    return out;
  }
  backward(dy: Float32Array): Float32Array {
    const inv = 1 / (this.kh * this.kw);
    const dx = this.dx;
    dx.fill(0);
    this.each((o, i) => (dx[i] += dy[o] * inv));
    return dx;
  }
}

export class GlobalAvgPool implements Layer {
  readonly op = 'avgpool_global';
  readonly outShape: Shape3;
  private readonly out: Float32Array;
  private readonly dx: Float32Array;

  constructor(readonly inShape: Shape3) {
    this.outShape = [1, 1, inShape[2]];
    this.out = new Float32Array(inShape[2]);
    this.dx = new Float32Array(size(inShape));
  }
  params(): Param[] {
    return [];
  }
  forward(x: Float32Array): Float32Array {
    const C = this.inShape[2];
    const n = this.inShape[0] * this.inShape[1];
    this.out.fill(0);
    for (let p = 0; p < n; p++) for (let c = 0; c < C; c++) this.out[c] += x[p * C + c];
    for (let c = 0; c < C; c++) this.out[c] /= n;
    return this.out;
  }
  backward(dy: Float32Array): Float32Array {
    const C = this.inShape[2];
    const n = this.inShape[0] * this.inShape[1];
    for (let p = 0; p < n; p++) for (let c = 0; c < C; c++) this.dx[p * C + c] = dy[c] / n;
    return this.dx;
  }
}

/** NHWC data is already in (h, w, c) flatten order, so flatten only changes the shape. */
export class Flatten implements Layer {
  readonly op = 'flatten';
  readonly outShape: Shape3;
  constructor(readonly inShape: Shape3) {
    this.outShape = [1, 1, size(inShape)];
  }
  params(): Param[] {
    return [];
  }
  forward(x: Float32Array): Float32Array {
    return x;
  }
  backward(dy: Float32Array): Float32Array {
    return dy;
  }
}

/** Fully connected; weights [out][in] (the SPEC order). */
export class Dense implements Layer {
  readonly op = 'dense';
  readonly outShape: Shape3;
  readonly inFeatures: number;
  readonly weight: Param;
  readonly bias: Param;
  private x: Float32Array;
  private readonly out: Float32Array;
  private readonly dx: Float32Array;

  constructor(
    readonly inShape: Shape3,
    readonly outFeatures: number,
    private readonly needInputGrad = true,
  ) {
    this.inFeatures = size(inShape);
    this.outShape = [1, 1, outFeatures];
    this.weight = { name: 'weight', w: new Float32Array(outFeatures * this.inFeatures), g: new Float32Array(outFeatures * this.inFeatures) };
    this.bias = { name: 'bias', w: new Float32Array(outFeatures), g: new Float32Array(outFeatures) };
    this.x = new Float32Array(this.inFeatures);
    this.out = new Float32Array(outFeatures);
    this.dx = new Float32Array(this.inFeatures);
  }
  params(): Param[] {
    return [this.weight, this.bias];
  }
  forward(x: Float32Array): Float32Array {
    const IN = this.inFeatures;
    const w = this.weight.w;
    this.x = x; // the producer's buffer stays valid until the next forward
    for (let o = 0; o < this.outFeatures; o++) {
      let acc = this.bias.w[o];
      const wb = o * IN;
      for (let i = 0; i < IN; i++) acc += x[i] * w[wb + i];
      this.out[o] = acc;
    }
    return this.out;
  }
  backward(dy: Float32Array): Float32Array {
    const IN = this.inFeatures;
    const { w, g: gw } = this.weight;
    const x = this.x;
    if (this.needInputGrad) this.dx.fill(0);
    for (let o = 0; o < this.outFeatures; o++) {
      const g = dy[o];
      if (g === 0) continue;
      this.bias.g[o] += g;
      const wb = o * IN;
      for (let i = 0; i < IN; i++) gw[wb + i] += g * x[i];
      if (this.needInputGrad) for (let i = 0; i < IN; i++) this.dx[i] += g * w[wb + i];
    }
    return this.dx;
  }
}
