/** [H, W, C]; dense vectors are [1, 1, N]. */
export type Shape3 = [number, number, number];

export function size(s: Shape3): number {
  return s[0] * s[1] * s[2];
}

/** A trainable tensor with its gradient accumulator (summed over the mini-batch). */
export interface Param {
  name: string;
  w: Float32Array;
  g: Float32Array;
}

/**
 * One sample at a time: forward() caches what backward() needs; backward() adds to the param
 * gradients and returns dL/dx. Returned buffers are owned by the layer and reused.
 */
export interface Layer {
  readonly op: string;
  readonly inShape: Shape3;
  readonly outShape: Shape3;
  forward(x: Float32Array): Float32Array;
  backward(dy: Float32Array): Float32Array;
  params(): Param[];
}
