/**
 * The known waveform the simulators play: idle current, then n "inference" regions at a higher
 * current bracketed by the marker, with seeded Gaussian noise. Defined per sample on the
 * instrument's grid (what any instrument reports), plus the nominal continuous-time figures.
 */
import { Rng } from '../../harness/modeltools/nn/prng.js';
export interface WaveformSpec {
  sample_hz: number;
  idle_a: number;
  active_a: number;
  active_ms: number;
  gap_ms: number;
  lead_ms: number;
  windows: number;
  noise_a: number;
  seed: number;
}

export const INFERENCE: Omit<WaveformSpec, 'sample_hz'> = {
  idle_a: 0.002,
  active_a: 0.018,
  active_ms: 12.5,
  gap_ms: 8,
  lead_ms: 5,
  windows: 5,
  noise_a: 0.0003,
  seed: 42,
};

export interface Waveform {
  spec: WaveformSpec;
  current_a: Float64Array;
  marker: Uint8Array;
  /** sample index ranges [start, end) where the marker is high */
  regions: { start: number; end: number }[];
}

/** the project's seeded PRNG (mulberry32) as a function */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

export function makeWaveform(spec: WaveformSpec): Waveform {
  const per = (ms: number) => Math.round((ms * spec.sample_hz) / 1000);
  const lead = per(spec.lead_ms);
  const active = per(spec.active_ms);
  const gap = per(spec.gap_ms);
  const n = lead + spec.windows * (active + gap);
  const current = new Float64Array(n);
  const marker = new Uint8Array(n);
  const regions: Waveform['regions'] = [];
  const rand = rng(spec.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  for (let w = 0; w < spec.windows; w++) {
    const start = lead + w * (active + gap);
    regions.push({ start, end: start + active });
    marker.fill(1, start, start + active);
  }
  for (let i = 0; i < n; i++) current[i] = Math.max(1e-6, (marker[i] ? spec.active_a : spec.idle_a) + spec.noise_a * gauss());
  return { spec, current_a: current, marker, regions };
}

/** Energy the simulator played in each region: sum(V * I * dt) over the region's samples, J. */
export function playedEnergies(w: Waveform, supplyV: number): number[] {
  const dt = 1 / w.spec.sample_hz;
  return w.regions.map((r) => {
    let e = 0;
    for (let i = r.start; i < r.end; i++) e += supplyV * w.current_a[i] * dt;
    return e;
  });
}

/** The nominal continuous-time energy of one region (no noise, exact duration), J. */
export function nominalEnergy(spec: WaveformSpec, supplyV: number): number {
  return supplyV * spec.active_a * (spec.active_ms / 1000);
}
