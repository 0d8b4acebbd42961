/**
 * The emulated power "instrument" of a QEMU rig: a stated model, not a measurement. QEMU models no
 * power, so this monitor turns what the device reports (ticks of each timed run, the ticks and
 * storage reads of each model switch; see activity.ts) into a piecewise-constant current timeline
 * at the model's supply voltage, and samples it like an instrument would. The one analysis in
 * energy.ts then cuts and integrates it exactly as for a PPK2 or LPM01A capture.
 *
 * Timeline, from startCapture() (t = 0), every command appended after the previous one:
 *  - a gap of `gap_s` before each marked region: unmarked, MCU running (run current);
 *  - INFER: each timed run is one marked region at run current, runs separated by gaps;
 *  - SELECT (one marked region for all `repeat` switches; for each of them, in order):
 *      CPU part  (ticks - storage_ticks) / repeat, as seconds via secondsOfTicks, at run current;
 *      storage   storageSeconds(model, bytes, reads) / repeat at run + read current (the MCU
 *                polls the bus while the transfer runs; the emulated memcpy's ticks are dropped);
 *  - the storage part, when a storage model is given, draws standby current all the time except
 *    during reads (read current) and for `awake_after_access_s` after each read (awake current),
 *    a tail that overlaps whatever comes next, e.g. the next window;
 *  - idle(seconds): unmarked, MCU asleep (idle current), for experiments that model the sleep
 *    between sensor events;
 *  - a trailing gap, padded to a whole sample.
 *
 * Samples: uniform at `sample_hz` (default 1 MHz), each the exact average current over its
 * period (the segments are integrated, not point-sampled), so the energy of any whole-sample span
 * is exact. Marker edges sit at the sample nearest each region boundary, which moves each window
 * edge by at most half a sample: a window's energy is within supply_v x max current x sample
 * period of the model's exact value (the capture's notes give the figure). exactWindowEnergies()
 * gives the unrounded values for tests and a sanity column.
 *
 * Memory: 8 bytes per sample; 10 s at 1 MHz is 1e7 samples = 80 MB. Captures longer than
 * `max_samples` (default 3e7) are refused with a HilError naming a lower sample_hz.
 */
import type { Capture, MarkerEdge, PowerMonitor, PowerMonitorConfig } from '../capabilities/power-monitor.js';
import { describeStorage, storageSeconds, type StorageModel } from '../estimate/storage-model.js';
import { HilError } from '../util/errors.js';
import type { ActivitySource, DeviceActivity } from '../capabilities/device-activity.js';

/** The board's side of the model (rig file `power: { kind: emulated, ... }`). */
export interface EmulatedPowerModel {
  supply_v: number;
  /** MCU current while running at the estimate clock, A */
  run_current_a: number;
  /** MCU current asleep between sensor events, A */
  idle_current_a: number;
  source: string;
  /** names the model in descriptions, e.g. "qemu-mps2-an386 power model" */
  label?: string;
}

export interface EmulatedMonitorOptions {
  power: EmulatedPowerModel;
  /** the baseline's external storage; absent = in-memory variant (no storage channel) */
  storage?: StorageModel;
  /** CPU seconds of device timer ticks, from the rig's cost model (injected) */
  secondsOfTicks: (ticks: number) => number;
  activity: ActivitySource;
  /** default 1e6 */
  sample_hz?: number;
  /** unmarked MCU-running time before each marked region, s; default 50e-6 */
  gap_s?: number;
  /** refuse captures longer than this many samples; default 3e7 (240 MB) */
  max_samples?: number;
}

/** Total supply current (MCU + storage) over [start_s, end_s). */
export interface TimelineSegment {
  start_s: number;
  end_s: number;
  current_a: number;
}

/** A capture's timeline before sampling: contiguous segments from 0 to duration_s, and the marked regions. */
export interface EmulatedTimeline {
  supply_v: number;
  duration_s: number;
  segments: TimelineSegment[];
  windows: { start_s: number; end_s: number }[];
}

export const DEFAULT_EMULATED_SAMPLE_HZ = 1_000_000;
export const DEFAULT_EMULATED_GAP_S = 50e-6;
const DEFAULT_MAX_SAMPLES = 30_000_000;

/** Exact energy of the timeline between two times (default: all of it), J. */
export function timelineEnergy(t: EmulatedTimeline, from_s = 0, to_s = t.duration_s): number {
  let charge = 0;
  for (const s of t.segments) {
    const a = Math.max(s.start_s, from_s);
    const b = Math.min(s.end_s, to_s);
    if (b > a) charge += s.current_a * (b - a);
  }
  return charge * t.supply_v;
}

/** Exact energy of each marked region, J, in order (what windowEnergies() approximates to the edge rounding). */
export function exactWindowEnergies(t: EmulatedTimeline): number[] {
  return t.windows.map((w) => timelineEnergy(t, w.start_s, w.end_s));
}

interface McuSegment {
  start_s: number;
  end_s: number;
  current_a: number;
  marked: boolean;
}

function positive(v: number | undefined, what: string, where: string): void {
  if (v === undefined || !Number.isFinite(v) || v <= 0) throw new HilError(`${what} must be a positive number (got ${v})`, where);
}

export class EmulatedPowerMonitor implements PowerMonitor {
  readonly instrument = 'emulated';
  readonly description: string;
  private sampleHz: number;
  private readonly gapS: number;
  private readonly maxSamples: number;
  private opened = false;
  private unsubscribe?: () => void;
  private mcu: McuSegment[] = [];
  private reads: { start_s: number; end_s: number }[] = [];
  private t = 0;
  private problem?: string;
  private empty = 0;
  private timeline?: EmulatedTimeline;

  constructor(private readonly options: EmulatedMonitorOptions) {
    const p = options.power;
    const where = 'emulated power model';
    positive(p.supply_v, 'supply_v', where);
    positive(p.run_current_a, 'run_current_a', where);
    if (!(p.idle_current_a >= 0)) throw new HilError(`idle_current_a must be >= 0 (got ${p.idle_current_a})`, where);
    this.sampleHz = options.sample_hz ?? DEFAULT_EMULATED_SAMPLE_HZ;
    positive(this.sampleHz, 'sample_hz', where);
    this.gapS = options.gap_s ?? DEFAULT_EMULATED_GAP_S;
    this.checkGap();
    this.maxSamples = options.max_samples ?? DEFAULT_MAX_SAMPLES;
    const s = options.storage;
    const storage = s ? `storage ${describeStorage(s)}` : 'no external storage (in-memory variant)';
    this.description =
      `emulated ${p.label ?? 'power model'}: ${p.supply_v} V, run ${(p.run_current_a * 1e3).toPrecision(3)} mA, ` +
      `idle ${(p.idle_current_a * 1e3).toPrecision(3)} mA; ${storage}`;
  }

  private checkGap(): void {
    if (!(this.gapS >= 2 / this.sampleHz)) {
      throw new HilError(`gap_s ${this.gapS} s must be at least two samples (${2 / this.sampleHz} s at ${this.sampleHz} Hz) so that consecutive windows stay apart`, 'emulated power model');
    }
  }

  get sample_hz(): number {
    return this.sampleHz;
  }

  /** The timeline of the last stopCapture() (for exact energies). */
  get lastTimeline(): EmulatedTimeline | undefined {
    return this.timeline;
  }

  async open(): Promise<void> {
    this.opened = true;
  }

  /** The model is stated at one supply: a different voltage_mv is refused, not rescaled. */
  async configure(config: PowerMonitorConfig): Promise<void> {
    const v = this.options.power.supply_v;
    if (Math.abs(config.voltage_mv - v * 1000) > 0.5) {
      throw new HilError(`the emulated power model is stated at ${v * 1000} mV; configure asked for ${config.voltage_mv} mV`, 'emulated power model');
    }
    if (config.sample_hz !== undefined) {
      positive(config.sample_hz, 'sample_hz', 'emulated power model');
      this.sampleHz = config.sample_hz;
      this.checkGap();
    }
  }

  async startCapture(): Promise<void> {
    if (!this.opened) throw new HilError('startCapture() before open()', 'emulated power model');
    this.unsubscribe?.();
    this.mcu = [];
    this.reads = [];
    this.t = 0;
    this.problem = undefined;
    this.empty = 0;
    this.timeline = undefined;
    this.unsubscribe = this.options.activity.onActivity((a) => this.onActivity(a));
  }

  /** Appends `seconds` asleep (idle current, unmarked); only while capturing. */
  idle(seconds: number): void {
    if (!this.unsubscribe) return;
    if (!(seconds >= 0)) throw new RangeError(`idle: seconds must be >= 0 (got ${seconds})`);
    this.push(seconds, this.options.power.idle_current_a, false);
  }

  private push(seconds: number, current: number, marked: boolean): void {
    if (seconds <= 0) return;
    this.mcu.push({ start_s: this.t, end_s: this.t + seconds, current_a: current, marked });
    this.t += seconds;
  }

  private gap(): void {
    this.push(this.gapS, this.options.power.run_current_a, false);
  }

  private cpuSeconds(ticks: number, what: string): number | undefined {
    if (!(Number.isFinite(ticks) && ticks >= 0)) {
      this.problem ??= `${what}: ticks must be finite and >= 0 (got ${ticks})`;
      return undefined;
    }
    return this.options.secondsOfTicks(ticks);
  }

  private onActivity(a: DeviceActivity): void {
    const run = this.options.power.run_current_a;
    if (a.kind === 'infer') {
      for (const ticks of a.runs_ticks) {
        const s = this.cpuSeconds(ticks, 'INFER run');
        if (s === undefined) return;
        this.gap();
        this.push(s, run, true);
      }
      return;
    }
    const storage = this.options.storage;
    if (!Number.isInteger(a.repeat) || a.repeat < 1) {
      this.problem ??= `SELECT: repeat must be an integer >= 1 (got ${a.repeat})`;
      return;
    }
    if (a.storage_ticks > a.ticks) {
      this.problem ??= `SELECT: storage_ticks ${a.storage_ticks} exceed the switch's ticks ${a.ticks}`;
      return;
    }
    const touched = a.storage_ticks > 0 || a.storage_bytes > 0 || a.storage_reads > 0;
    if (touched && !storage) {
      this.problem ??=
        `SELECT read external storage (${a.storage_bytes} B in ${a.storage_reads} reads) but this monitor has no storage model ` +
        `(pass the rig's storage model name: createPowerMonitor(rig, { storage }))`;
      return;
    }
    const cpu = this.cpuSeconds(a.ticks - a.storage_ticks, 'SELECT');
    if (cpu === undefined) return;
    let io = 0;
    if (storage && touched) {
      try {
        io = storageSeconds(storage, a.storage_bytes, a.storage_reads);
      } catch (e) {
        this.problem ??= `SELECT: ${(e as Error).message}`;
        return;
      }
    }
    if (cpu + io <= 0) {
      this.empty++;
      return;
    }
    this.gap();
    for (let i = 0; i < a.repeat; i++) {
      this.push(cpu / a.repeat, run, true);
      if (io > 0) {
        const start = this.t;
        this.push(io / a.repeat, run, true);
        this.reads.push({ start_s: start, end_s: this.t });
      }
    }
  }

  async stopCapture(): Promise<Capture> {
    if (!this.unsubscribe) throw new HilError('stopCapture() without startCapture()', 'emulated power model');
    this.unsubscribe();
    this.unsubscribe = undefined;
    if (this.problem) throw new HilError(this.problem, 'emulated power model');
    const dt = 1 / this.sampleHz;
    const end = this.t + this.gapS;
    const n = Math.max(1, Math.ceil(end / dt - 1e-9));
    if (n > this.maxSamples) {
      const hz = Math.floor(this.maxSamples / end);
      throw new HilError(
        `a ${end.toFixed(3)} s capture at ${this.sampleHz} Hz needs ${n} samples (limit ${this.maxSamples}); configure sample_hz <= ${hz} or capture shorter runs`,
        'emulated power model',
      );
    }
    const duration = n * dt;
    // trailing gap, padded to a whole sample and ending exactly at `duration`
    this.mcu.push({ start_s: this.t, end_s: duration, current_a: this.options.power.run_current_a, marked: false });
    this.t = duration;
    const segments = mergeSegments(this.mcu, this.storageSegments(duration), duration);
    const windows = marked(this.mcu);
    this.timeline = { supply_v: this.options.power.supply_v, duration_s: duration, segments, windows };
    return this.sample(this.timeline, n, dt);
  }

  /** The storage channel as contiguous segments over [0, duration): standby, reads, awake tails. */
  private storageSegments(duration: number): TimelineSegment[] {
    const s = this.options.storage;
    if (!s) return [{ start_s: 0, end_s: duration, current_a: 0 }];
    const out: TimelineSegment[] = [];
    let t = 0;
    const add = (end: number, current: number) => {
      if (end > t) out.push({ start_s: t, end_s: end, current_a: current });
      t = Math.max(t, end);
    };
    this.reads.forEach((r, i) => {
      add(r.start_s, s.standby_current_a);
      add(r.end_s, s.read_current_a);
      const next = i + 1 < this.reads.length ? this.reads[i + 1].start_s : duration;
      add(Math.min(r.end_s + s.awake_after_access_s, next, duration), s.awake_current_a);
    });
    add(duration, s.standby_current_a);
    return out;
  }

  private sample(tl: EmulatedTimeline, n: number, dt: number): Capture {
    const acc = new Float64Array(n);
    let maxA = 0;
    for (const seg of tl.segments) {
      const c = seg.current_a;
      if (c > maxA) maxA = c;
      const ia = Math.min(n - 1, Math.floor(seg.start_s / dt));
      const ib = Math.floor(seg.end_s / dt);
      if (ia >= ib) {
        acc[ia] += c * (seg.end_s - seg.start_s);
        continue;
      }
      acc[ia] += c * ((ia + 1) * dt - seg.start_s);
      const full = c * dt;
      for (let i = ia + 1; i < ib && i < n; i++) acc[i] += full;
      if (ib < n) acc[ib] += c * (seg.end_s - ib * dt);
    }
    for (let i = 0; i < n; i++) acc[i] /= dt;

    const edges: MarkerEdge[] = [];
    let widened = 0;
    let lastFall = 0;
    for (const w of tl.windows) {
      const rise = Math.max(Math.round(w.start_s / dt), lastFall);
      let fall = Math.round(w.end_s / dt);
      if (fall <= rise) {
        fall = rise + 1;
        widened++;
      }
      edges.push({ index: rise, kind: 'rise' }, { index: fall, kind: 'fall' });
      lastFall = fall;
    }

    const p = this.options.power;
    const s = this.options.storage;
    const boundJ = p.supply_v * maxA * dt;
    const notes = [
      `emulated estimate from a stated model, not a measurement: MCU ${p.run_current_a * 1e3} mA running, ${p.idle_current_a * 1e3} mA idle at ${p.supply_v} V (${p.source})`,
      s ? `external storage: ${describeStorage(s)} (${s.source})` : 'no external storage channel (in-memory variant)',
      `time of device ticks from the rig's cost model; ${this.gapS * 1e6} us unmarked MCU-running gap before each marked region`,
      `samples are exact averages of the model's current; edges at the nearest sample: each window's energy is within ${boundJ.toPrecision(3)} J of the model's exact value`,
    ];
    if (this.empty > 0) notes.push(`${this.empty} SELECT(s) took zero time in the model and produced no window`);
    if (widened > 0) notes.push(`${widened} marked region(s) shorter than half a sample were widened to one sample: raise sample_hz`);
    return {
      instrument: this.instrument,
      description: this.description,
      sample_period_s: dt,
      supply_v: p.supply_v,
      current_a: acc,
      marker_mode: 'level',
      edges,
      received_samples: n,
      lost_samples: 0,
      loss_spans: [],
      resolution_a: 0,
      notes,
    };
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.opened = false;
  }
}

/** Marked MCU segments joined into regions. */
function marked(mcu: McuSegment[]): { start_s: number; end_s: number }[] {
  const out: { start_s: number; end_s: number }[] = [];
  let open: { start_s: number; end_s: number } | undefined;
  for (const m of mcu) {
    if (m.marked && open && open.end_s === m.start_s) open.end_s = m.end_s;
    else if (m.marked) {
      open = { start_s: m.start_s, end_s: m.end_s };
      out.push(open);
    } else open = undefined;
  }
  return out;
}

/** Sum of two contiguous piecewise-constant functions over [0, duration). */
function mergeSegments(a: TimelineSegment[], b: TimelineSegment[], duration: number): TimelineSegment[] {
  const out: TimelineSegment[] = [];
  let i = 0;
  let j = 0;
  let t = 0;
  while (t < duration && i < a.length && j < b.length) {
    const end = Math.min(a[i].end_s, b[j].end_s);
    const c = a[i].current_a + b[j].current_a;
    if (end > t) {
      const last = out[out.length - 1];
      if (last && last.current_a === c && last.end_s === t) last.end_s = end;
      else out.push({ start_s: t, end_s: end, current_a: c });
      t = end;
    }
    if (a[i].end_s <= t) i++;
    if (b[j].end_s <= t) j++;
  }
  return out;
}
