/**
 * MLPerf Tiny as a DeviceProtocol: any device that speaks the MLPerf Tiny text protocol (our
 * firmware built with PROTO=mlperf_tiny, or another submitter's firmware) driven by the same
 * experiments as a `yono` device, through MlperfTinyClient over the session's Link.
 *
 * What the protocol cannot say is filled in from what the harness knows, and marked:
 * - hello(): `proto` is 0 (the yono protocol version field; 0 = not a yono device), `build` is ''
 *   (an MLPerf Tiny device does not report a build), `board` is the rig's, the one model is
 *   the harness's model (name, input, classes) or, without one, named after the profile tag;
 *   `timer` 'm-lap-us' at 1 MHz. The device's own words are in `mlperf` (name, profile).
 * - infer(): the device prints one start/end stamp pair for all N runs, so each of the N
 *   entries of `ticks` is the window's mean (elapsed us / N), not a separate measurement.
 * - results: `scores` holds the m-results vector as printed (dequantized floats on our firmware);
 *   `logits` is empty (the protocol carries no int8 logits); `predicted` = first argmax of scores.
 */
import type { Link } from '../../capabilities/link.js';
import type { DeviceActivity } from '../../capabilities/device-activity.js';
import { argmaxFirst } from '../../util/argmax.js';
import { HilError } from '../../util/errors.js';
import { NO_TRAFFIC, type DeviceHello, type DeviceModelInfo, type DeviceProtocol, type InferResult, type ProtocolStats, type SelectResult } from '../device.js';
import { DB_BYTES_ENERGY, DB_BYTES_PERFORMANCE, lapDiffUs, MlperfTinyClient } from './client.js';
import { classify } from './parser.js';

export interface MlperfDriverOptions {
  /** ms to wait for m-ready after an ordinary command */
  replyTimeoutMs?: number;
  /** the rig's board: an MLPerf Tiny device does not name it */
  board?: string;
  /** the model the harness expects the device to serve (input shape and size, classes) */
  model?: Omit<DeviceModelInfo, 'id'>;
  /** the profile tag the device must report (m-model-[...] of profile%); a mismatch refuses the device */
  profile?: string;
  /**
   * MLPerf Tiny energy mode (EE_CFG_ENERGY_MODE): 26 bytes per db line instead of 31, and the
   * device prints no m-lap-us (its timestamps are pulses on a pin), so infer() has no ticks
   */
  energyMode?: boolean;
  log?: (line: string) => void;
}

export class MlperfTinyDriver implements DeviceProtocol {
  readonly protocol = 'mlperf-tiny';
  readonly client: MlperfTinyClient;
  private readonly listeners = new Set<(a: DeviceActivity) => void>();
  /** bytes per db line: 31, or 26 in energy mode (as the runner: DUT._max_bytes) */
  readonly bytesPerLine: number;
  private badLines = 0;
  private helloInfo?: DeviceHello;
  /** one operation at a time: an upload is many commands, and another's must not interleave */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly link: Link,
    private readonly options: MlperfDriverOptions = {},
  ) {
    this.client = new MlperfTinyClient(link, { timeoutMs: options.replyTimeoutMs ?? 5000, log: options.log });
    this.bytesPerLine = options.energyMode ? DB_BYTES_ENERGY : DB_BYTES_PERFORMANCE;
  }

  get energyMode(): boolean {
    return this.options.energyMode ?? false;
  }

  get stats(): ProtocolStats {
    return { ...NO_TRAFFIC, commands: this.client.stats.commands, badFrames: this.badLines };
  }

  async hello(totalMs = 10000): Promise<DeviceHello> {
    return this.exclusive(async () => {
      await this.client.waitReady(totalMs);
      const lines = await this.client.command('name');
      const name = lines.map(classify).find((r) => r.kind === 'name');
      const profile = await this.client.profile();
      const where = this.link.description;
      if (this.options.profile !== undefined && profile !== this.options.profile) {
        throw new HilError(`device serves profile '${profile}', expected '${this.options.profile}' (--profile / rig dut.firmware.profile)`, where);
      }
      const m = this.options.model;
      const model: DeviceModelInfo = { id: 0, name: m?.name ?? profile, input: m?.input ?? [], input_bytes: m?.input_bytes ?? 0, classes: m?.classes ?? 0, hash: m?.hash ?? '' };
      this.helloInfo = {
        proto: 0,
        build: '',
        board: this.options.board ?? '',
        core: '',
        clock_hz: 0,
        timer: 'm-lap-us',
        timer_hz: 1e6,
        max_payload: this.bytesPerLine,
        input_buffer: model.input_bytes,
        variant: 'int8',
        ext_storage: 0,
        models: [model],
        mlperf: { dut: name?.kind === 'name' ? name.device : '', vendor: name?.kind === 'name' ? name.vendor : '', profile },
      };
      return this.helloInfo;
    });
  }

  /** One model per MLPerf Tiny device: selecting it is a no-op of zero ticks. */
  async select(model: number, repeat = 1): Promise<SelectResult> {
    this.checkModel(model);
    const r: SelectResult = { model, repeat, ticks: 0, storage_ticks: 0, storage_bytes: 0, storage_reads: 0 };
    this.emit({ kind: 'select', ...r });
    return r;
  }

  /** db load N, then db lines of 31 bytes (26 in energy mode); the device must end with m-load-done. */
  async upload(input: Uint8Array | Int8Array): Promise<void> {
    await this.exclusive(() => this.client.load(input, { bytesPerLine: this.bytesPerLine }));
  }

  async infer(model: number, runs = 1, warmup = 0, timeoutMs?: number): Promise<InferResult> {
    this.checkModel(model);
    return this.exclusive(() => this.inferNow(model, runs, warmup, timeoutMs));
  }

  /** upload + infer 1 0, as one operation. */
  async classify(model: number, input: Uint8Array | Int8Array): Promise<InferResult> {
    this.checkModel(model);
    return this.exclusive(async () => {
      await this.client.load(input, { bytesPerLine: this.bytesPerLine });
      return this.inferNow(model, 1, 0);
    });
  }

  onActivity(listener: (a: DeviceActivity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async inferNow(model: number, runs: number, warmup: number, timeoutMs?: number): Promise<InferResult> {
    if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
      throw new HilError(`infer needs runs >= 1 and warmup >= 0, got ${runs}, ${warmup}`, this.link.description);
    }
    const cmd = `infer ${runs} ${warmup}`;
    const lines = await this.client.command(cmd, timeoutMs ?? 60000);
    const replies = lines.map(classify);
    const laps = replies.flatMap((r) => (r.kind === 'lap' ? [r.us] : []));
    const results = replies.find((r) => r.kind === 'results');
    const where = this.link.description;
    if (results?.kind !== 'results') {
      const bad = lines.find((l) => l.trim().startsWith('m-results'));
      if (bad !== undefined) {
        this.badLines++;
        throw new HilError(`'${cmd}': malformed results line '${bad.trim().slice(0, 60)}' (expected m-results-[<numbers>])`, where);
      }
      throw new HilError(`'${cmd}': no m-results line in the reply`, where);
    }
    if (this.energyMode && laps.length > 0) throw new HilError(`'${cmd}': ${laps.length} m-lap-us stamps from a device expected in energy mode (its timestamps go to a pin)`, where);
    if (!this.energyMode && laps.length < 2) throw new HilError(`'${cmd}': ${laps.length} m-lap-us stamps, need a start and an end (is the device in energy mode?)`, where);
    const expected = this.helloInfo?.models[0]?.classes ?? 0;
    if (expected > 0 && results.values.length !== expected) {
      this.badLines++;
      throw new HilError(`'${cmd}': m-results has ${results.values.length} scores, the model has ${expected} classes`, where);
    }
    // energy mode: the device times nothing itself (the energy monitor does), so no ticks
    const ticks = this.energyMode ? [] : new Array<number>(runs).fill(lapDiffUs(laps[0], laps[1]) / runs);
    const r: InferResult = { model, predicted: argmaxFirst(results.values), logits: new Int8Array(0), scores: results.values, ticks };
    this.emit({ kind: 'infer', runs_ticks: r.ticks });
    return r;
  }

  private checkModel(model: number): void {
    if (model !== 0) throw new HilError(`model id ${model}: an MLPerf Tiny device serves one model (id 0)`, this.link.description);
  }

  private emit(a: DeviceActivity): void {
    for (const l of this.listeners) l(a);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
