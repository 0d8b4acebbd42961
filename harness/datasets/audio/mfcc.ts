/**
 * MFCC front end (project code, float64): frames -> Hann window -> power spectrum (radix-2 FFT)
 * -> triangular mel filter bank (HTK mel scale) -> natural log -> orthonormal DCT-II.
 */

/** In-place iterative radix-2 FFT of (re, im); length must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n !== im.length || (n & (n - 1)) !== 0) throw new Error(`fft: length ${n} is not a power of two`);
  // bit-reversal permutation
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const half = len >> 1;
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(ang * k);
      const wi = Math.sin(ang * k);
      for (let s = k; s < n; s += len) {
        const t = s + half;
        const xr = re[t] * wr - im[t] * wi;
        const xi = re[t] * wi + im[t] * wr;
        re[t] = re[s] - xr;
        im[t] = im[s] - xi;
        re[s] += xr;
        im[s] += xi;
      }
    }
  }
}

/** Periodic Hann window (the usual choice for STFT frames). */
export function hann(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
}

export const hzToMel = (f: number): number => 2595 * Math.log10(1 + f / 700);
export const melToHz = (m: number): number => 700 * (10 ** (m / 2595) - 1);

/**
 * Triangular filters, equally spaced on the mel scale from fLow to fHigh, peak 1, over the
 * nFft/2 + 1 power-spectrum bins: weights[f][bin].
 */
export function melFilterBank(nFilters: number, nFft: number, sampleRate: number, fLow: number, fHigh: number): Float64Array[] {
  const bins = nFft / 2 + 1;
  const lo = hzToMel(fLow);
  const hi = hzToMel(fHigh);
  const edges = Array.from({ length: nFilters + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (nFilters + 1)));
  return Array.from({ length: nFilters }, (_, f) => {
    const [a, b, c] = [edges[f], edges[f + 1], edges[f + 2]];
    const w = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const hz = (k * sampleRate) / nFft;
      w[k] = hz > a && hz < c ? (hz <= b ? (hz - a) / (b - a) : (c - hz) / (c - b)) : 0;
    }
    return w;
  });
}

/** Orthonormal DCT-II matrix rows 0..nOut-1 of length n: dct[k][i]. */
export function dctMatrix(nOut: number, n: number): Float64Array[] {
  return Array.from({ length: nOut }, (_, k) => {
    const scale = Math.sqrt((k === 0 ? 1 : 2) / n);
    return Float64Array.from({ length: n }, (_, i) => scale * Math.cos((Math.PI * k * (2 * i + 1)) / (2 * n)));
  });
}

export interface MfccConfig {
  sampleRate: number;
  /** samples per frame (window length) */
  frame: number;
  /** samples between frame starts */
  hop: number;
  /** FFT size, a power of two >= frame */
  nFft: number;
  melFilters: number;
  fLow: number;
  fHigh: number;
  coefficients: number;
  /** added to mel energies before the log (silence floor) */
  logFloor: number;
}

/** Computes MFCCs of whole signals with one config (filter bank, window and DCT built once). */
export class Mfcc {
  private readonly window: Float64Array;
  private readonly bank: Float64Array[];
  private readonly dct: Float64Array[];
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  private readonly logMel: Float64Array;

  constructor(readonly c: MfccConfig) {
    if (c.nFft < c.frame || (c.nFft & (c.nFft - 1)) !== 0) throw new Error(`nFft ${c.nFft} must be a power of two >= frame ${c.frame}`);
    this.window = hann(c.frame);
    this.bank = melFilterBank(c.melFilters, c.nFft, c.sampleRate, c.fLow, c.fHigh);
    this.dct = dctMatrix(c.coefficients, c.melFilters);
    this.re = new Float64Array(c.nFft);
    this.im = new Float64Array(c.nFft);
    this.logMel = new Float64Array(c.melFilters);
  }

  /** Frames that fit a signal of n samples (no padding at the end). */
  frames(n: number): number {
    return n < this.c.frame ? 0 : 1 + Math.floor((n - this.c.frame) / this.c.hop);
  }

  /** [frames][coefficients], row-major. */
  compute(signal: Float32Array | Float64Array): Float64Array {
    const { frame, hop, nFft, coefficients, logFloor } = this.c;
    const nFrames = this.frames(signal.length);
    const out = new Float64Array(nFrames * coefficients);
    const bins = nFft / 2 + 1;
    for (let t = 0; t < nFrames; t++) {
      this.re.fill(0);
      this.im.fill(0);
      for (let i = 0; i < frame; i++) this.re[i] = signal[t * hop + i] * this.window[i];
      fft(this.re, this.im);
      this.bank.forEach((w, f) => {
        let e = 0;
        for (let k = 0; k < bins; k++) if (w[k] !== 0) e += w[k] * (this.re[k] * this.re[k] + this.im[k] * this.im[k]);
        this.logMel[f] = Math.log(e + logFloor);
      });
      for (let k = 0; k < coefficients; k++) {
        let s = 0;
        for (let f = 0; f < this.logMel.length; f++) s += this.dct[k][f] * this.logMel[f];
        out[t * coefficients + k] = s;
      }
    }
    return out;
  }
}
