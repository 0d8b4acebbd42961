import { convGeometry, Padding } from './conv2d.js';
import { Layer, Param, Shape3 } from './types.js';

export interface DepthwiseConv2dConfig {
  inShape: Shape3;
  kh: number;
  kw: number;
  depthMultiplier?: number;
  strideH?: number;
  strideW?: number;
  padding: Padding;
  needInputGrad?: boolean;
}

/**
 * NHWC depthwise conv: output channel oc filters input channel floor(oc / depthMultiplier).
 * Weights [kh][kw][oc] (the SPEC / TFLite order), so the quantizer copies them unchanged and,
 * per window tap, all channels' weights are contiguous like the input pixel's channels.
 */
export class DepthwiseConv2d implements Layer {
  readonly op = 'depthwise_conv2d';
  readonly inShape: Shape3;
  readonly outShape: Shape3;
  readonly kh: number;
  readonly kw: number;
  readonly depthMultiplier: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly weight: Param;
  readonly bias: Param;
  private readonly needInputGrad: boolean;
  /** per output pixel and tap: input pixel offset (x index of channel 0), -1 for padding */
  private readonly taps: Int32Array;
  private x: Float32Array;
  private readonly out: Float32Array;
  private readonly dx: Float32Array;

  constructor(c: DepthwiseConv2dConfig) {
    const [H, W, C] = c.inShape;
    this.inShape = c.inShape;
    this.kh = c.kh;
    this.kw = c.kw;
    this.depthMultiplier = c.depthMultiplier ?? 1;
    this.strideH = c.strideH ?? 1;
    this.strideW = c.strideW ?? 1;
    const gh = convGeometry(H, c.kh, this.strideH, c.padding);
    const gw = convGeometry(W, c.kw, this.strideW, c.padding);
    if (gh.out < 1 || gw.out < 1) throw new Error(`depthwise_conv2d: kernel ${c.kh}x${c.kw} larger than input ${H}x${W}`);
    this.padTop = gh.pad;
    this.padLeft = gw.pad;
    const OC = C * this.depthMultiplier;
    this.outShape = [gh.out, gw.out, OC];
    this.needInputGrad = c.needInputGrad ?? true;
    const T = c.kh * c.kw;
    this.weight = { name: 'weight', w: new Float32Array(T * OC), g: new Float32Array(T * OC) };
    this.bias = { name: 'bias', w: new Float32Array(OC), g: new Float32Array(OC) };
    this.out = new Float32Array(gh.out * gw.out * OC);
    this.dx = new Float32Array(H * W * C);
    this.x = new Float32Array(H * W * C);
    this.taps = new Int32Array(gh.out * gw.out * T);
    let t = 0;
    for (let oy = 0; oy < gh.out; oy++) {
      for (let ox = 0; ox < gw.out; ox++) {
        for (let ky = 0; ky < c.kh; ky++) {
          const iy = oy * this.strideH - this.padTop + ky;
          for (let kx = 0; kx < c.kw; kx++) {
            const ix = ox * this.strideW - this.padLeft + kx;
            this.taps[t++] = iy >= 0 && iy < H && ix >= 0 && ix < W ? (iy * W + ix) * C : -1;
          }
        }
      }
    }
  }

  params(): Param[] {
    return [this.weight, this.bias];
  }

  forward(x: Float32Array): Float32Array {
    const { out, taps, depthMultiplier: DM } = this;
    const C = this.inShape[2];
    const OC = this.outShape[2];
    const T = this.kh * this.kw;
    const P = this.outShape[0] * this.outShape[1];
    const w = this.weight.w;
    const b = this.bias.w;
    this.x = x; // the producer's buffer stays valid until the next forward
    for (let p = 0; p < P; p++) {
      const ob = p * OC;
      for (let oc = 0; oc < OC; oc++) out[ob + oc] = b[oc];
      for (let t = 0; t < T; t++) {
        const xb = taps[p * T + t];
        if (xb < 0) continue;
        const wb = t * OC;
        if (DM === 1) {
          for (let c = 0; c < C; c++) out[ob + c] += x[xb + c] * w[wb + c];
        } else {
          for (let c = 0, oc = 0; c < C; c++) {
            const v = x[xb + c];
            for (let d = 0; d < DM; d++, oc++) out[ob + oc] += v * w[wb + oc];
          }
        }
      }
    }
    return out;
  }

  backward(dy: Float32Array): Float32Array {
    const { x, dx, taps, depthMultiplier: DM, needInputGrad } = this;
    const C = this.inShape[2];
    const OC = this.outShape[2];
    const T = this.kh * this.kw;
    const P = this.outShape[0] * this.outShape[1];
    const w = this.weight.w;
    const gw = this.weight.g;
    const gb = this.bias.g;
    if (needInputGrad) dx.fill(0);
    for (let p = 0; p < P; p++) {
      const ob = p * OC;
      for (let oc = 0; oc < OC; oc++) gb[oc] += dy[ob + oc];
      for (let t = 0; t < T; t++) {
        const xb = taps[p * T + t];
        if (xb < 0) continue;
        const wb = t * OC;
        for (let c = 0, oc = 0; c < C; c++) {
          const v = x[xb + c];
          let g = 0;
          for (let d = 0; d < DM; d++, oc++) {
            const e = dy[ob + oc];
            gw[wb + oc] += e * v;
            g += e * w[wb + oc];
          }
          if (needInputGrad) dx[xb + c] += g;
        }
      }
    }
    return dx;
  }
}
