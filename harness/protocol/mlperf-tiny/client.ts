/**
 * Host side of the MLPerf Tiny text protocol (mlcommons/tiny benchmark/api and the runner's
 * device_under_test.py): a command is "<text>%", the device answers with lines and ends every
 * command with "m-ready". Works over any byte stream, so the same client drives our firmware
 * built with PROTO=mlperf_tiny and any MLPerf Tiny submission.
 */
import { HilError } from '../../util/errors.js';
import { classify, LineParser, type Reply } from './parser.js';

/** The minimal byte stream the client needs (a serial port, a pty, a test double). */
export interface ByteStream {
  write(bytes: Buffer): Promise<void>;
  onData(handler: (chunk: Buffer) => void): void;
  onClose(handler: (reason: string) => void): void;
  description: string;
}

/** EE_CMD_SIZE of the official firmware: it keeps only the first 80 characters of a command. */
export const EE_CMD_SIZE = 80;
/** Bytes per "db" line the official runner sends: 31 in performance mode, 26 in energy mode. */
export const DB_BYTES_PERFORMANCE = 31;
export const DB_BYTES_ENERGY = 26;
/** "db " + 2 hex digits per byte must stay below EE_CMD_SIZE. */
export const DB_BYTES_MAX = Math.floor((EE_CMD_SIZE - 1 - 'db '.length) / 2);

export interface MlperfTinyClientOptions {
  /** ms to wait for m-ready after a command (the runner's SerialDevice waits 5 s) */
  timeoutMs?: number;
  /** default ms for an infer command, whose runtime the host cannot know */
  inferTimeoutMs?: number;
  /** device lines that are not replies to a command (boot banner, stray log output) */
  log?: (line: string) => void;
}

export interface InferResult {
  count: number;
  warmup: number;
  /** the m-lap-us-N stamps printed during the command: [start, end] on a performance-mode device */
  lapsUs: number[];
  /** end - start from the stamps (modulo 2^32: the device prints a 32-bit unsigned long) */
  elapsedUs?: number;
  /** the m-results-[...] vector printed after the timed runs */
  results?: number[];
  /** host wall-clock ms of the whole command */
  wallMs: number;
}

export interface LoadResult {
  bytes: number;
  /** "db <hex>" commands sent */
  lines: number;
  /** bytes written and read on the wire for the whole upload (db load included) */
  wireBytesOut: number;
  wireBytesIn: number;
  wallMs: number;
}

/** end - start of two m-lap-us values, which wrap at 2^32 us. */
export function lapDiffUs(start: number, end: number): number {
  return (((end - start) % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

export class MlperfTinyClient {
  readonly stats = { bytesOut: 0, bytesIn: 0, commands: 0 };
  private readonly timeoutMs: number;
  private readonly inferTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly queue: string[] = [];
  private waiter?: () => void;
  private closed?: string;
  /** one command at a time: replies are only told apart by order */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stream: ByteStream,
    options: MlperfTinyClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.inferTimeoutMs = options.inferTimeoutMs ?? 60000;
    this.log = options.log ?? (() => undefined);
    const parser = new LineParser((line) => {
      this.queue.push(line);
      this.waiter?.();
    });
    stream.onData((chunk) => {
      this.stats.bytesIn += chunk.length;
      parser.push(chunk);
    });
    stream.onClose((reason) => {
      this.closed = reason;
      this.waiter?.();
    });
  }

  get description(): string {
    return this.stream.description;
  }

  /**
   * Waits for the m-ready prompt. The boot banner may be gone before the host listens (a
   * pseudo-terminal drops output nobody reads), so every `probeEveryMs` the host sends "name%",
   * which any MLPerf Tiny firmware answers with m-ready. Lines still arriving after the prompt
   * (a late banner, a probe's reply) are drained so the next command sees only its own reply.
   */
  async waitReady(timeoutMs = 10000, options: { probeEveryMs?: number; settleMs?: number } = {}): Promise<void> {
    const probeEveryMs = options.probeEveryMs ?? 1000;
    const settleMs = options.settleMs ?? 200;
    return this.exclusive(async () => {
      const deadline = Date.now() + timeoutMs;
      let nextProbe = probeEveryMs > 0 ? Date.now() + probeEveryMs : Infinity;
      let last: string | undefined;
      for (;;) {
        const line = await this.nextLine(Math.min(deadline, nextProbe), 'waiting for m-ready');
        if (line !== undefined) {
          if (classify(line).kind === 'ready') break;
          this.log(line);
          last = line;
          continue;
        }
        if (Date.now() >= deadline) {
          const seen = last === undefined ? 'nothing received' : `last line '${last.slice(0, 80)}'`;
          throw new HilError(`no m-ready prompt within ${timeoutMs} ms (${seen}): is it MLPerf Tiny firmware?`, this.description);
        }
        await this.send('name');
        nextProbe = Date.now() + probeEveryMs;
      }
      for (let line = await this.nextLine(Date.now() + settleMs, 'settling'); line !== undefined; line = await this.nextLine(Date.now() + settleMs, 'settling')) {
        this.log(line);
      }
    });
  }

  /**
   * Sends one command and returns its reply lines (m-ready excluded). An e-[...] line (or the
   * official firmware's plain "exceeds maximum" refusal of db load) becomes one HilError naming
   * the command, thrown once the device is back at its prompt so the stream stays in step.
   */
  async command(text: string, timeoutMs = this.timeoutMs): Promise<string[]> {
    if (text.includes('%')) throw new HilError(`'%' ends a command and cannot appear in one: '${text}'`, 'mlperf-tiny');
    if (text.length >= EE_CMD_SIZE) {
      throw new HilError(`command has ${text.length} characters; the device keeps only ${EE_CMD_SIZE}: '${text.slice(0, 24)}...'`, 'mlperf-tiny');
    }
    return this.exclusive(async () => {
      for (const stale of this.queue.splice(0)) this.log(stale);
      await this.send(text);
      const lines: string[] = [];
      let error: string | undefined;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = await this.nextLine(deadline, `'${text}'`);
        if (line === undefined) {
          if (error) break;
          const seen = lines.length ? `; last line '${lines[lines.length - 1].slice(0, 80)}'` : '; nothing received';
          throw new HilError(`'${short(text)}': no m-ready within ${timeoutMs} ms${seen}`, this.description);
        }
        const r = classify(line);
        if (r.kind === 'ready') break;
        lines.push(line);
        if (r.kind === 'error') error ??= r.message;
        else if (/exceeds maximum/i.test(line)) error ??= line.trim();
      }
      if (error !== undefined) throw new HilError(`'${short(text)}' refused: ${error}`, this.description);
      return lines;
    });
  }

  /** name%: the bracketed name of "m-name-dut-[...]". */
  async name(): Promise<string> {
    const r = this.find(await this.command('name'), 'name', 'name');
    return r.vendor;
  }

  /** profile%: the model tag of "m-model-[...]" (kws01, ic01, vww01, ad01 or a model name). */
  async profile(): Promise<string> {
    return this.find(await this.command('profile'), 'model', 'profile').model;
  }

  /** timestamp%: the device time in us (undefined for an energy-mode device, which pulses a pin instead). */
  async timestamp(): Promise<number | undefined> {
    const lap = (await this.command('timestamp')).map(classify).find((r) => r.kind === 'lap');
    return lap?.kind === 'lap' ? lap.us : undefined;
  }

  /**
   * Uploads one input: "db load N", then "db <hex>" lines of `bytesPerLine` bytes (31 like the
   * runner in performance mode, 26 in energy mode); the last line must be answered m-load-done.
   */
  async load(data: Uint8Array | Int8Array, options: { bytesPerLine?: number } = {}): Promise<LoadResult> {
    const per = options.bytesPerLine ?? DB_BYTES_PERFORMANCE;
    if (!Number.isInteger(per) || per < 1 || per > DB_BYTES_MAX) {
      throw new HilError(`bytesPerLine ${per} not in 1..${DB_BYTES_MAX} (a db line must stay under ${EE_CMD_SIZE} characters)`, 'mlperf-tiny');
    }
    if (data.length === 0) throw new HilError('nothing to load: 0 bytes', 'mlperf-tiny');
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const [out0, in0, t0] = [this.stats.bytesOut, this.stats.bytesIn, Date.now()];
    await this.command(`db load ${bytes.length}`);
    let lines = 0;
    for (let at = 0; at < bytes.length; at += per) {
      const cmd = `db ${bytes.subarray(at, Math.min(bytes.length, at + per)).toString('hex')}`;
      const done = (await this.command(cmd)).some((l) => classify(l).kind === 'load-done');
      lines++;
      const last = at + per >= bytes.length;
      if (done !== last) {
        throw new HilError(
          last ? `'${short(cmd)}': no m-load-done after all ${bytes.length} bytes` : `'${short(cmd)}': m-load-done after ${at + per} of ${bytes.length} bytes`,
          this.description,
        );
      }
    }
    return { bytes: bytes.length, lines, wireBytesOut: this.stats.bytesOut - out0, wireBytesIn: this.stats.bytesIn - in0, wallMs: Date.now() - t0 };
  }

  /** infer N W%: W untimed warmups, then N runs between two m-lap-us stamps; the results follow. */
  async infer(count: number, warmup: number, options: { timeoutMs?: number } = {}): Promise<InferResult> {
    if (!Number.isInteger(count) || count < 1) throw new HilError(`inference count must be an integer >= 1, got ${count}`, 'mlperf-tiny infer');
    if (!Number.isInteger(warmup) || warmup < 0) throw new HilError(`warmup must be an integer >= 0, got ${warmup}`, 'mlperf-tiny infer');
    const t0 = Date.now();
    const replies = (await this.command(`infer ${count} ${warmup}`, options.timeoutMs ?? this.inferTimeoutMs)).map(classify);
    const wallMs = Date.now() - t0;
    const lapsUs = replies.flatMap((r) => (r.kind === 'lap' ? [r.us] : []));
    const res = replies.find((r) => r.kind === 'results');
    return {
      count,
      warmup,
      lapsUs,
      elapsedUs: lapsUs.length >= 2 ? lapDiffUs(lapsUs[0], lapsUs[1]) : undefined,
      results: res?.kind === 'results' ? res.values : undefined,
      wallMs,
    };
  }

  /** results%: the score vector of the last inference. */
  async results(): Promise<number[]> {
    return this.find(await this.command('results'), 'results', 'results').values;
  }

  private find<K extends Reply['kind']>(lines: string[], kind: K, cmd: string): Extract<Reply, { kind: K }> {
    const r = lines.map(classify).find((x) => x.kind === kind);
    if (!r) {
      const seen = lines.length ? `got '${lines.map((l) => l.slice(0, 60)).join("' '")}'` : 'got only m-ready';
      throw new HilError(`'${cmd}': no ${kind} line in the reply (${seen})`, this.description);
    }
    return r as Extract<Reply, { kind: K }>;
  }

  private async send(text: string): Promise<void> {
    if (this.closed) throw new HilError(`'${short(text)}': ${this.closed}`, this.description);
    const bytes = Buffer.from(`${text}%`, 'latin1');
    this.stats.bytesOut += bytes.length;
    this.stats.commands++;
    await this.stream.write(bytes);
  }

  /** The next line, or undefined once `deadline` (ms since epoch) has passed. */
  private async nextLine(deadline: number, what: string): Promise<string | undefined> {
    for (;;) {
      const line = this.queue.shift();
      if (line !== undefined) return line;
      if (this.closed) throw new HilError(`${what}: ${this.closed}`, this.description);
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** A command as it appears in messages: db hex lines are long and say little. */
function short(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
