/**
 * Collects a capture as samples stream in: one uniform time base where lost samples are NaN
 * placeholders, marker edges by sample index, loss spans, the worst resolution seen. The
 * drivers only decode their protocol and feed this.
 */
import type { Capture, LossSpan, MarkerEdge } from '../capabilities/power-monitor.js';

class GrowArray {
  data: Float64Array;
  length = 0;
  constructor(initial = 1 << 16) {
    this.data = new Float64Array(initial);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

export class CaptureBuilder {
  private readonly current = new GrowArray();
  private readonly voltage?: GrowArray;
  private readonly edges: MarkerEdge[] = [];
  private readonly spans: LossSpan[] = [];
  private level?: boolean;
  private resolution = 0;
  received = 0;
  lost = 0;
  readonly notes: string[] = [];

  constructor(
    private readonly head: { instrument: string; description: string; sample_period_s: number; supply_v: number; marker_mode: Capture['marker_mode'] },
    withVoltage = false,
  ) {
    if (withVoltage) this.voltage = new GrowArray();
  }

  /** Index the next sample will get. */
  get index(): number {
    return this.current.length;
  }

  /**
   * One received sample. `marker` is the sampled marker level (level-mode instruments);
   * `resolutionA` the amplitude step of this sample.
   */
  sample(currentA: number, resolutionA: number, marker?: boolean, voltageV?: number): void {
    if (marker !== undefined) this.markerLevel(marker);
    this.current.push(currentA);
    this.voltage?.push(voltageV ?? NaN);
    this.received++;
    if (resolutionA > this.resolution) this.resolution = resolutionA;
  }

  /** Records the marker level seen at the next sample; a change is an edge there. */
  markerLevel(high: boolean): void {
    if (this.level !== undefined && high !== this.level) this.edges.push({ index: this.index, kind: high ? 'rise' : 'fall' });
    this.level = high;
  }

  /** An edge the instrument reported as an event (LPM01A), placed before the next sample. */
  event(kind: MarkerEdge['kind']): void {
    this.edges.push({ index: this.index, kind });
  }

  /** `count` samples missing right here (position known exactly: counter or sequence gap). */
  gap(count: number): void {
    if (count <= 0) return;
    const start = this.index;
    for (let i = 0; i < count; i++) {
      this.current.push(NaN);
      this.voltage?.push(NaN);
    }
    this.lost += count;
    this.spans.push({ start, end: this.index, lost: count, exact: true });
  }

  /**
   * `count` samples missing somewhere since sample `since` (only the interval is known). The
   * placeholders go here so later samples keep their time; every window overlapping
   * [since, here + count) is treated as broken.
   */
  gapSomewhereSince(since: number, count: number): void {
    if (count <= 0) return;
    for (let i = 0; i < count; i++) {
      this.current.push(NaN);
      this.voltage?.push(NaN);
    }
    this.lost += count;
    this.spans.push({ start: since, end: this.index, lost: count, exact: false });
  }

  build(): Capture {
    return {
      ...this.head,
      current_a: this.current.view(),
      voltage_v: this.voltage?.view(),
      edges: [...this.edges],
      received_samples: this.received,
      lost_samples: this.lost,
      loss_spans: [...this.spans],
      resolution_a: this.resolution,
      notes: [...this.notes],
    };
  }
}
