import { Param } from './types.js';

/** Adam (Kingma & Ba) with bias correction; gradients are averaged over the batch then zeroed. */
export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(
    private readonly params: Param[],
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float32Array(p.w.length));
    this.v = params.map((p) => new Float32Array(p.w.length));
  }

  step(lr: number, batchSize: number): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const inv = 1 / batchSize;
    this.params.forEach((p, k) => {
      const m = this.m[k];
      const v = this.v[k];
      const { w, g } = p;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * inv;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
        g[i] = 0;
      }
    });
  }
}
