/**
 * A fake MLPerf Tiny device (a test double for firmware on a board) on an in-memory byte Link:
 * name%, profile%, db load/db <hex>, infer N W, results%, timestamp%, computing with the host
 * reference (softmax of the dequantized logits, as our PROTO=mlperf_tiny front end prints them).
 * It takes `usPerInference` per inference. In energy mode (EE_CFG_ENERGY_MODE) it prints no
 * m-lap-us: its timestamps are pin pulses, reported as device activity (one timed region of N
 * inferences per infer) so that a power-instrument simulator driven by it (test/sims/device-drive.ts)
 * plays the window and its two timestamp events. In performance mode it prints the stamps.
 */
import type { Link } from '../../harness/capabilities/link.js';
import type { ActivitySource, DeviceActivity } from '../../harness/capabilities/device-activity.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { runInt8 } from '../../harness/reference/int8.js';

export interface FakeMlperfOptions {
  model: Int8Model;
  profile: string;
  usPerInference: number;
  energyMode: boolean;
}

export class FakeMlperfDevice implements Link, ActivitySource {
  readonly description = 'fake MLPerf Tiny device';
  readonly stats = { bytesOut: 0, bytesIn: 0 };
  /** every command received, without its '%' */
  readonly commands: string[] = [];
  private readonly listeners = new Set<(a: DeviceActivity) => void>();
  private handler?: (chunk: Buffer) => void;
  private text = '';
  private buffer = new Int8Array(0);
  private loaded = 0;
  private lastScores?: string;
  private clockUs = 1000;

  constructor(private readonly options: FakeMlperfOptions) {}

  onActivity(listener: (a: DeviceActivity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async write(bytes: Buffer): Promise<void> {
    this.stats.bytesOut += bytes.length;
    this.text += bytes.toString('latin1');
    for (let at = this.text.indexOf('%'); at >= 0; at = this.text.indexOf('%')) {
      const cmd = this.text.slice(0, at);
      this.text = this.text.slice(at + 1);
      this.commands.push(cmd);
      const out = [...this.answer(cmd), 'm-ready'].map((l) => `${l}\r\n`).join('');
      setImmediate(() => {
        this.stats.bytesIn += out.length;
        this.handler?.(Buffer.from(out, 'latin1'));
      });
    }
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.handler = handler;
  }

  onClose(): void {}

  async close(): Promise<void> {}

  private answer(cmd: string): string[] {
    const [verb, ...args] = cmd.trim().split(/\s+/);
    const m = this.options.model;
    const inputBytes = m.input.shape.reduce((a, b) => a * b, 1);
    switch (verb) {
      case 'name':
        return ['m-name-dut-[fake]'];
      case 'profile':
        return ['m-profile-[ULPMark for tinyML Firmware V0.0.1]', `m-model-[${this.options.profile}]`];
      case 'timestamp':
        return this.options.energyMode ? [] : [`m-lap-us-${this.clockUs}`];
      case 'results':
        return this.lastScores ? [this.lastScores] : ['e-[No results: no inference has run]'];
      case 'db': {
        if (args[0] === 'load') {
          const n = Number(args[1]);
          if (n > inputBytes) return [`e-[Supplied buffer size ${n} exceeds maximum of ${inputBytes}]`];
          this.buffer = new Int8Array(n);
          this.loaded = 0;
          return [`m-[Expecting ${n} bytes]`];
        }
        const hex = Buffer.from(args[0] ?? '', 'hex');
        for (const b of hex) if (this.loaded < this.buffer.length) this.buffer[this.loaded++] = (b << 24) >> 24;
        return this.loaded === this.buffer.length ? ['m-load-done'] : [];
      }
      case 'infer': {
        const n = Number(args[0] ?? 1);
        const w = Number(args[1] ?? 10);
        if (this.loaded !== inputBytes) return [`e-[Input db has ${this.loaded} elements, expected ${inputBytes}]`];
        const logits = runInt8(m, this.buffer);
        const top = Math.max(...logits);
        const e = Array.from(logits, (q) => Math.exp(m.output.scale * (q - top)));
        const sum = e.reduce((a, b) => a + b, 0);
        this.lastScores = `m-results-[${e.map((x) => (x / sum).toFixed(6)).join(',')}]`;
        const start = (this.clockUs += w * this.options.usPerInference);
        const end = (this.clockUs += n * this.options.usPerInference);
        // the window is timed by the pin (energy mode) or by the stamps; either way it happened
        for (const l of this.listeners) l({ kind: 'infer', runs_ticks: [n * this.options.usPerInference] });
        const stamps = this.options.energyMode ? [] : [`m-lap-us-${start}`, `m-lap-us-${end}`];
        return [`m-warmup-start-${w}`, 'm-warmup-done', `m-infer-start-${n}`, ...stamps.slice(0, 1), ...stamps.slice(1), 'm-infer-done', this.lastScores];
      }
      default:
        return [`e-[Unknown command: ${verb}]`];
    }
  }
}
