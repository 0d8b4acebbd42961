/**
 * A board the instrument simulators can "measure" while the real firmware runs on QEMU: it
 * listens to the protocol client's device activity (harness/capabilities/device-activity.ts) and turns every
 * timed region the device reports into the supply current a board would have drawn, sampled on
 * the instrument's grid:
 *  - idle current between commands (the MCU waiting on its UART), GPIO marker low;
 *  - INFER: one marked region per timed run, ticks / timer_hz long, at the inference current;
 *  - SELECT: one marked region for all `repeat` switches (as the firmware marks it), ticks /
 *    timer_hz long, at the switch current, its storage_ticks part at switch + storage current.
 * Idle guard samples separate consecutive regions (the marker is low between them on a board).
 *
 * The marker is given both ways, for either kind of instrument: `marker` is the level per sample
 * (high inside a region: PPK2, INA226 bridge), `boundaries` the region boundaries in order (an
 * LPM01A sees a falling edge at each: the firmware's MARKER=pulse). A region shorter than half a
 * sample has no marked sample but still two boundaries, at the same place.
 *
 * Pacing is not real time: a region's samples are handed to the instrument the moment its
 * activity is reported; between activities the simulator streams idle samples on a timer, so the
 * driver sees a live stream. Activity reported while the instrument is not streaming is not
 * seen (as on a bench: nothing samples the board then) and only counted.
 *
 * Every marked region played while streaming is recorded (PlayedWindow): its samples, the charge
 * the simulator put on the wire before the instrument's own rounding, and the samples it dropped.
 */
import type { ActivitySource, DeviceActivity } from '../../harness/capabilities/device-activity.js';
import { rng } from './waveform.js';

/** Currents of the simulated board, A. */
export interface BoardCurrents {
  /** between commands */
  idle_a: number;
  /** during a timed inference run */
  infer_a: number;
  /** during a model switch (CPU) */
  select_a: number;
  /** added while the switch reads external storage */
  storage_a?: number;
  /** Gaussian noise on every sample */
  noise_a?: number;
  seed?: number;
}

/** A region boundary: the marker pulse falls before sample `at` of the block. */
export interface Boundary {
  at: number;
  /** PlayedWindow.n */
  window: number;
  edge: 'start' | 'end';
}

/** Samples for the instrument to encode, in order; `drop[i]` = not sent (lost on the way). */
export interface SampleBlock {
  current_a: Float64Array;
  marker: Uint8Array;
  drop: Uint8Array;
  /** region starts and ends, in order (a pulse-marker instrument reports an event at each) */
  boundaries: Boundary[];
}

export interface PlayedWindow {
  /** index over every window played while streaming, since the drive was created */
  n: number;
  /** which capture (arm .. disarm) it was played in, from 0 */
  capture: number;
  kind: 'select' | 'infer';
  /** index of the region's first sample in its capture, counting every sample played (dropped ones too) */
  at: number;
  /** samples of the marked region on the instrument's grid */
  samples: number;
  /** length the device's ticks give, s (before rounding to whole samples) */
  device_s: number;
  /** sum(V * I * dt) over the region's samples as played (before the instrument's quantisation), J */
  energy_j: number;
  /** the region's own samples that were dropped */
  dropped: number;
  /** samples dropped right before the region (a lost rise edge in level mode) */
  dropped_before: number;
}

/** Drop `count` samples starting `offset` samples from the start of played window `window` (may be negative). */
export interface DeviceDrop {
  window: number;
  offset: number;
  count: number;
}

export interface DeviceDriveOptions {
  activity: ActivitySource;
  /** the device timer's rate, from HELLO */
  timer_hz: number;
  currents: BoardCurrents;
  drops?: DeviceDrop[];
  /** idle samples at the start of a capture (default 100) */
  lead_samples?: number;
  /** idle samples before every region and after the last one of an activity (default 20) */
  guard_samples?: number;
}

export class DeviceDrive {
  readonly windows: PlayedWindow[] = [];
  /** activities reported while no instrument was streaming */
  unseen = 0;
  /** captures started so far */
  captures = 0;
  /** samples played (sent or dropped) in each capture */
  readonly samplesPerCapture: number[] = [];
  /** indices (as PlayedWindow.at) of the samples dropped in each capture */
  readonly droppedAt: number[][] = [];
  private sink?: (b: SampleBlock) => void;
  private hz = 0;
  private supplyV = 0;
  private readonly noise: () => number;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: DeviceDriveOptions) {
    const rand = rng(options.currents.seed ?? 7);
    const sd = options.currents.noise_a ?? 0;
    this.noise = () => (sd === 0 ? 0 : sd * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
    this.unsubscribe = options.activity.onActivity((a) => this.onActivity(a));
  }

  get streaming(): boolean {
    return this.sink !== undefined;
  }

  /** The instrument started streaming at `sample_hz` with the board at `supply_v`: samples go to `sink` from now on. */
  arm(sample_hz: number, supply_v: number, sink: (b: SampleBlock) => void): void {
    this.hz = sample_hz;
    this.supplyV = supply_v;
    this.sink = sink;
    this.captures++;
    this.samplesPerCapture.push(0);
    this.droppedAt.push([]);
    this.idle(this.options.lead_samples ?? 100);
  }

  disarm(): void {
    this.sink = undefined;
  }

  /** `n` idle samples, marker low (the simulator's stream timer calls this). */
  idle(n: number): void {
    if (!this.sink) return;
    const b = block(n);
    for (let i = 0; i < n; i++) b.current_a[i] = this.amps(this.options.currents.idle_a);
    this.emit(b);
  }

  private emit(b: SampleBlock): void {
    const c = this.captures - 1;
    for (let i = 0; i < b.drop.length; i++) if (b.drop[i]) this.droppedAt[c].push(this.samplesPerCapture[c] + i);
    this.samplesPerCapture[c] += b.current_a.length;
    this.sink?.(b);
  }

  /** Played windows of capture `c` (0-based), in order. */
  windowsOf(c: number): PlayedWindow[] {
    return this.windows.filter((w) => w.capture === c);
  }

  dispose(): void {
    this.disarm();
    this.unsubscribe();
  }

  private amps(mean: number): number {
    return Math.max(1e-6, mean + this.noise());
  }

  private onActivity(a: DeviceActivity): void {
    if (!this.sink) {
      this.unseen++;
      return;
    }
    const c = this.options.currents;
    const regions: { kind: PlayedWindow['kind']; seconds: number; parts: { n: number; a: number }[] }[] = [];
    const samplesOf = (s: number) => Math.round(s * this.hz);
    const sec = (ticks: number) => ticks / this.options.timer_hz;
    if (a.kind === 'infer') {
      for (const t of a.runs_ticks) regions.push({ kind: 'infer', seconds: sec(t), parts: [{ n: samplesOf(sec(t)), a: c.infer_a }] });
    } else {
      const n = samplesOf(sec(a.ticks));
      const io = Math.min(n, samplesOf(sec(a.storage_ticks)));
      // the `repeat` switches of one window are lumped: CPU part, then the storage reads
      regions.push({ kind: 'select', seconds: sec(a.ticks), parts: [{ n: n - io, a: c.select_a }, { n: io, a: c.select_a + (c.storage_a ?? 0) }] });
    }
    const guard = this.options.guard_samples ?? 20;
    const total = regions.reduce((s, r) => s + guard + r.parts.reduce((x, p) => x + p.n, 0), guard);
    const b = block(total);
    let k = 0;
    const spans: { start: number; end: number; w: PlayedWindow }[] = [];
    for (const r of regions) {
      for (let i = 0; i < guard; i++) b.current_a[k++] = this.amps(c.idle_a);
      const start = k;
      let charge = 0;
      for (const p of r.parts) {
        for (let i = 0; i < p.n; i++, k++) {
          b.current_a[k] = this.amps(p.a);
          b.marker[k] = 1;
          charge += b.current_a[k] / this.hz;
        }
      }
      const w: PlayedWindow = {
        n: this.windows.length,
        capture: this.captures - 1,
        kind: r.kind,
        at: this.samplesPerCapture[this.captures - 1] + start,
        samples: k - start,
        device_s: r.seconds,
        energy_j: charge * this.supplyV,
        dropped: 0,
        dropped_before: 0,
      };
      this.windows.push(w);
      spans.push({ start, end: k, w });
      b.boundaries.push({ at: start, window: w.n, edge: 'start' }, { at: k, window: w.n, edge: 'end' });
    }
    for (let i = 0; i < guard; i++) b.current_a[k++] = this.amps(c.idle_a);
    for (const s of spans) {
      for (const d of this.options.drops ?? []) {
        if (d.window !== s.w.n) continue;
        const from = Math.max(0, s.start + d.offset);
        const to = Math.min(total, s.start + d.offset + d.count);
        b.drop.fill(1, from, to);
      }
    }
    for (const s of spans) {
      for (let i = s.start; i < s.end; i++) s.w.dropped += b.drop[i];
      for (let i = s.start - 1; i >= 0 && b.drop[i]; i--) s.w.dropped_before++;
    }
    this.emit(b);
  }
}

function block(n: number): SampleBlock {
  return { current_a: new Float64Array(n), marker: new Uint8Array(n), drop: new Uint8Array(n), boundaries: [] };
}
