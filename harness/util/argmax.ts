/** First index of the maximum: the tie rule of the firmware (SPEC section 3), used everywhere. */
export function argmaxFirst(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
