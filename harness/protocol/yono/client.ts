/**
 * Host half of the firmware protocol (firmware/SPEC.md): sequence numbers, CRC-checked
 * frames, timeouts with re-sends, chunked input upload with one acknowledgement per chunk,
 * and the handshake that refuses a firmware the harness did not build.
 */
import { crc32 } from 'node:zlib';
import { ReadlineParser } from '@serialport/parser-readline';
import type { Link } from '../../capabilities/link.js';
import type { DeviceActivity } from '../../capabilities/device-activity.js';
import { HilError } from '../../util/errors.js';
import { LinkFault, NO_TRAFFIC, PRELOADED_ENTRY, type DeviceHello, type DeviceProtocol, type InferResult, type PreloadedResult, type ProtocolStats, type SelectResult } from '../device.js';
import { Cmd, decodeFrame, DeviceErr, encodeFrame, ERR, ErrCode, MAX_PAYLOAD, PROTO_VERSION, REPLY, UPLOAD_CHUNK_BYTES, type Frame } from './frame.js';

export interface ClientOptions {
  /** Time to wait for one reply before re-sending. */
  replyTimeoutMs?: number;
  /** Re-sends of one command before giving up. */
  retries?: number;
}

class DeviceError extends HilError {
  constructor(readonly code: number, message: string, where: string) {
    super(message, where);
  }
}

export class ProtocolClient implements DeviceProtocol {
  readonly protocol = 'yono';
  private readonly activityListeners = new Set<(a: DeviceActivity) => void>();
  private seq = 0;
  /** Replies awaited, by sequence number: several may be in flight when pipelining. */
  private readonly pending = new Map<number, { resolve: (f: Frame | undefined) => void; reject: (e: Error) => void }>();
  private dead?: string;
  private readonly replyTimeoutMs: number;
  private readonly retries: number;
  readonly stats: ProtocolStats = { ...NO_TRAFFIC };
  /** one recovery at a time: the device has a single input buffer (see classify) */
  private recovery: Promise<unknown> = Promise.resolve();
  /** outputs per model id, from the handshake: INFER leaves out more than INLINE_OUTPUTS (proto 7) */
  private readonly outputCounts = new Map<number, number>();

  constructor(private readonly link: Link, options: ClientOptions = {}) {
    this.replyTimeoutMs = options.replyTimeoutMs ?? 5000;
    this.retries = options.retries ?? 3;
    // frames are the bytes between 0x00 delimiters (COBS): split the byte stream on them
    const frames = new ReadlineParser({ delimiter: Buffer.from([0]), encoding: 'latin1', includeDelimiter: false });
    frames.on('data', (frame: string) => this.receive(Buffer.from(frame, 'latin1')));
    link.onData((chunk) => frames.write(chunk));
    link.onClose((reason) => {
      this.dead = reason;
      for (const p of this.pending.values()) p.reject(new LinkFault(`link lost: ${reason}`, link.description));
      this.pending.clear();
    });
  }

  private receive(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) {
      this.stats.badFrames++;
      return; // the timeout re-sends the command
    }
    const frame = decoded.frame;
    if (frame.type === ERR && frame.seq === 0xff) {
      // The device saw a corrupted command and dropped it: re-send the oldest unanswered one now
      // instead of waiting out its timeout (commands are idempotent; a duplicate answer is ignored).
      this.stats.naks++;
      const oldest = this.pending.entries().next();
      if (!oldest.done) {
        this.pending.delete(oldest.value[0]);
        oldest.value[1].resolve(undefined);
      }
      return;
    }
    const pending = this.pending.get(frame.seq);
    if (!pending) return; // a late reply to an earlier, re-sent command
    this.pending.delete(frame.seq);
    pending.resolve(frame);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) % 0xff; // 0xff is reserved for the device's "bad frame" errors
    return this.seq;
  }

  /** Writes one command and returns its reply, or undefined after the timeout (no re-send). */
  private send(type: number, seq: number, payload: Buffer, timeoutMs: number): Promise<Frame | undefined> {
    if (this.dead) return Promise.reject(new LinkFault(`link lost: ${this.dead}`, this.link.description));
    const reply = new Promise<Frame | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        this.stats.timeouts++;
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    return this.link.write(encodeFrame({ type, seq, payload })).then(() => reply);
  }

  /** A reply frame -> its payload, or the device's error as a HilError. */
  private payloadOf(type: number, frame: Frame): Buffer {
    if (frame.type === ERR) {
      const code = frame.payload[0] ?? 0;
      const text = frame.payload.subarray(1).toString('latin1');
      throw new DeviceError(code, `device error ${code} (${ErrCode[code] ?? 'unknown'}): ${text}`, this.link.description);
    }
    if (frame.type !== (type | REPLY)) {
      throw new HilError(`device answered command 0x${type.toString(16)} with frame type 0x${frame.type.toString(16)}`, this.link.description);
    }
    return frame.payload;
  }

  /** Sends one command and returns its reply payload; re-sends on timeout or a corrupted reply. */
  async request(type: number, payload: Buffer = Buffer.alloc(0), timeoutMs = this.replyTimeoutMs): Promise<Buffer> {
    if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload too large: ${payload.length}`);
    this.stats.commands++;
    const seq = this.nextSeq();
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) this.stats.resends++;
      const frame = await this.send(type, seq, payload, timeoutMs);
      if (frame) return this.payloadOf(type, frame);
    }
    throw new LinkFault(
      `device did not answer command 0x${type.toString(16)} after ${this.retries + 1} tries of ${timeoutMs} ms`,
      this.link.description,
    );
  }

  /** Handshake: protocol version, build, board, models. Tries for up to `totalMs` (the device may still be booting). */
  async hello(totalMs = 10000): Promise<DeviceHello> {
    const started = Date.now();
    let lastError: unknown;
    while (Date.now() - started < totalMs) {
      try {
        const payload = await this.request(Cmd.HELLO, Buffer.alloc(0), Math.min(1000, this.replyTimeoutMs));
        let hello: DeviceHello;
        try {
          hello = JSON.parse(payload.toString('utf8')) as DeviceHello;
        } catch {
          throw new HilError('handshake reply is not valid JSON', this.link.description);
        }
        if (hello.proto !== PROTO_VERSION) {
          throw new HilError(`firmware speaks protocol ${hello.proto}, harness speaks ${PROTO_VERSION}: rebuild the firmware`, this.link.description);
        }
        for (const m of hello.models ?? []) this.outputCounts.set(m.id, m.classes);
        return hello;
      } catch (e) {
        if (e instanceof HilError && !/did not answer/.test(e.message)) throw e;
        lastError = e;
      }
    }
    const why = lastError instanceof Error ? ` (${lastError.message})` : '';
    throw new HilError(`no handshake from the firmware within ${totalMs} ms${why}`, this.link.description);
  }

  async ping(data: Buffer): Promise<Buffer> {
    return this.request(Cmd.PING, data);
  }

  /** Uploads one input tensor in chunks of at most `chunkBytes`, each acknowledged. */
  async upload(input: Uint8Array | Int8Array, chunkBytes = UPLOAD_CHUNK_BYTES): Promise<void> {
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    for (let offset = 0; offset < bytes.length || offset === 0; offset += chunkBytes) {
      const part = bytes.subarray(offset, Math.min(bytes.length, offset + chunkBytes));
      const payload = Buffer.alloc(4 + part.length);
      payload.writeUInt32LE(offset, 0);
      part.copy(payload, 4);
      const ack = await this.request(Cmd.CHUNK, payload);
      const buffered = ack.readUInt32LE(0);
      if (buffered !== offset + part.length) {
        throw new HilError(`chunk at ${offset} acknowledged ${buffered} bytes, expected ${offset + part.length}`, this.link.description);
      }
      if (bytes.length === 0) break;
    }
  }

  async infer(model: number, runs = 1, warmup = 0, timeoutMs = this.replyTimeoutMs, inputCrc?: number): Promise<InferResult> {
    const r = parseInfer(await this.request(Cmd.INFER, inferPayload(model, runs, warmup, inputCrc), timeoutMs));
    // outputs too many for the reply (proto 7): read back before anything else runs
    if (r.omitted) r.result.logits = await this.readOutputs(r.omitted);
    return this.reportInfer(r.result);
  }

  /** Makes `model` the active one (an external-storage model is loaded), `repeat` times inside one marker window. */
  async select(model: number, repeat = 1, timeoutMs = this.replyTimeoutMs): Promise<SelectResult> {
    const payload = Buffer.alloc(3);
    payload.writeUInt8(model, 0);
    payload.writeUInt16LE(repeat, 1);
    const r = await this.request(Cmd.SELECT, payload, timeoutMs);
    if (r.length !== 19) throw new HilError(`SELECT reply of ${r.length} bytes, expected 19`, this.link.description);
    const result: SelectResult = {
      model: r[0],
      repeat: r.readUInt16LE(1),
      ticks: r.readUInt32LE(3),
      storage_ticks: r.readUInt32LE(7),
      storage_bytes: r.readUInt32LE(11),
      storage_reads: r.readUInt32LE(15),
    };
    this.emitActivity({ kind: 'select', ...result });
    return result;
  }

  onActivity(listener: (a: DeviceActivity) => void): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
  }

  private emitActivity(a: DeviceActivity): void {
    for (const l of this.activityListeners) l(a);
  }

  private reportInfer(result: InferResult): InferResult {
    this.emitActivity({ kind: 'infer', runs_ticks: result.ticks });
    return result;
  }

  /**
   * One input, one inference, without a round trip between the upload and the inference: the
   * CHUNK frames and the INFER are written back to back and their replies awaited together.
   * The INFER carries the input's CRC-32, so a chunk lost on the way can never run a stale
   * input; any failure falls back to the acknowledged upload() + infer() path.
   */
  async classify(model: number, input: Uint8Array | Int8Array, chunkBytes = UPLOAD_CHUNK_BYTES): Promise<InferResult> {
    if ((this.outputCounts.get(model) ?? 0) > INLINE_OUTPUTS) {
      // the outputs are read back after the INFER (proto 7): no other sample's INFER may run in
      // between, so such samples go one at a time, in order, through the recovery chain
      const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
      const run = this.recovery.then(async () => {
        await this.upload(input, chunkBytes);
        return this.infer(model, 1, 0, this.replyTimeoutMs, crc32(bytes));
      });
      this.recovery = run.catch(() => undefined);
      return run;
    }
    // never write a sample's frames into a recovery in progress: it owns the input buffer
    await this.recovery;
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const sends: { type: number; reply: Promise<Frame | undefined>; expectAck?: number }[] = [];
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      const part = bytes.subarray(offset, Math.min(bytes.length, offset + chunkBytes));
      const payload = Buffer.alloc(4 + part.length);
      payload.writeUInt32LE(offset, 0);
      part.copy(payload, 4);
      sends.push({ type: Cmd.CHUNK, reply: this.send(Cmd.CHUNK, this.nextSeq(), payload, this.replyTimeoutMs), expectAck: offset + part.length });
    }
    sends.push({ type: Cmd.INFER, reply: this.send(Cmd.INFER, this.nextSeq(), inferPayload(model, 1, 0, crc32(bytes)), this.replyTimeoutMs) });
    this.stats.commands += sends.length;
    const frames = await Promise.all(sends.map((s) => s.reply));
    try {
      if (frames.every((f) => f !== undefined)) {
        let acked = true;
        for (let i = 0; i < sends.length - 1; i++) {
          acked &&= this.payloadOf(Cmd.CHUNK, frames[i] as Frame).readUInt32LE(0) === sends[i].expectAck;
        }
        const { result } = parseInfer(this.payloadOf(Cmd.INFER, frames[sends.length - 1] as Frame));
        if (acked) return this.reportInfer(result);
      }
    } catch (e) {
      if (!recoverable(e)) throw e;
    }
    return this.recover(model, input, chunkBytes);
  }

  /**
   * The acknowledged path for one input, one recovery at a time: with two samples in flight both
   * may fail together, and two interleaved uploads into the device's one input buffer would
   * corrupt each other. A stale input (CRC) is uploaded again, a few times.
   */
  private recover(model: number, input: Uint8Array | Int8Array, chunkBytes: number): Promise<InferResult> {
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const run = this.recovery.then(async () => {
      for (let attempt = 1; ; attempt++) {
        this.stats.recoveries++;
        this.stats.resends++;
        try {
          // short chunks: on a noisy link a short frame is likelier to arrive whole
          await this.upload(input, Math.min(chunkBytes, RECOVERY_CHUNK_BYTES));
          return await this.infer(model, 1, 0, this.replyTimeoutMs, crc32(bytes));
        } catch (e) {
          if (attempt > this.retries || !recoverable(e) || e instanceof LinkFault) throw e;
        }
      }
    });
    this.recovery = run.catch(() => undefined);
    return run;
  }

  /**
   * RUN_PRELOADED (proto 4): runs `count` inputs the loader put in the board's preload region,
   * starting `offset` bytes into it, one model input after the other. Each result carries the
   * CRC-32 of the bytes the device ran, to be compared with the host's inputs.
   */
  async runPreloaded(
    model: number,
    offset: number,
    count: number,
    withLogits: boolean,
    timeoutMs = this.replyTimeoutMs,
  ): Promise<PreloadedResult[]> {
    const payload = Buffer.alloc(8);
    payload.writeUInt8(model, 0);
    payload.writeUInt32LE(offset, 1);
    payload.writeUInt16LE(count, 5);
    payload.writeUInt8(withLogits ? 1 : 0, 7);
    const r = await this.request(Cmd.RUN_PRELOADED, payload, timeoutMs);
    const n = r.length >= 3 ? r.readUInt16LE(1) : -1;
    const entry = n > 0 ? (r.length - 3) / n : 0;
    if (n !== count || r[0] !== model || !Number.isInteger(entry) || entry < PRELOADED_ENTRY || (!withLogits && entry !== PRELOADED_ENTRY)) {
      throw new HilError(`RUN_PRELOADED reply of ${r.length} bytes does not hold ${count} results of model ${model}`, this.link.description);
    }
    const out: PreloadedResult[] = [];
    for (let i = 0, at = 3; i < n; i++, at += entry) {
      const logits = withLogits ? new Int8Array(r.buffer.slice(r.byteOffset + at + PRELOADED_ENTRY, r.byteOffset + at + entry)) : undefined;
      out.push({ predicted: r.readUInt16LE(at), crc: r.readUInt32LE(at + 2), outputCrc: r.readUInt32LE(at + 6), ...(logits ? { logits } : {}) });
    }
    return out;
  }

  /** READ_OUTPUT (proto 7): the last inference's `n` outputs, in slices that fit one reply frame. */
  async readOutputs(n: number): Promise<Int8Array> {
    const out = new Int8Array(n);
    const slice = MAX_PAYLOAD - 6;
    for (let offset = 0; offset < n; offset += slice) {
      const len = Math.min(slice, n - offset);
      const payload = Buffer.alloc(6);
      payload.writeUInt32LE(offset, 0);
      payload.writeUInt16LE(len, 4);
      const r = await this.request(Cmd.READ_OUTPUT, payload);
      if (r.length !== 6 + len || r.readUInt32LE(0) !== offset || r.readUInt16LE(4) !== len) {
        throw new HilError(`READ_OUTPUT reply of ${r.length} bytes does not hold outputs ${offset}..${offset + len - 1}`, this.link.description);
      }
      out.set(new Int8Array(r.buffer, r.byteOffset + 6, len), offset);
    }
    return out;
  }

  /** PRELOAD_CRC (proto 7): the CRC-32 of a range of the preload region, as the device reads it. */
  async preloadCrc(offset: number, length: number, timeoutMs = this.replyTimeoutMs): Promise<number> {
    const payload = Buffer.alloc(8);
    payload.writeUInt32LE(offset, 0);
    payload.writeUInt32LE(length, 4);
    const r = await this.request(Cmd.PRELOAD_CRC, payload, timeoutMs);
    if (r.length !== 12 || r.readUInt32LE(0) !== offset || r.readUInt32LE(4) !== length) {
      throw new HilError(`PRELOAD_CRC reply of ${r.length} bytes does not answer offset ${offset}, length ${length}`, this.link.description);
    }
    return r.readUInt32LE(8);
  }
}

/** Upload chunk size of the recovery path. */
const RECOVERY_CHUNK_BYTES = 256;

/** A refusal the acknowledged path repairs: a stale or partial input (CRC, size) or a chunk out of order. */
function recoverable(e: unknown): boolean {
  return e instanceof DeviceError && ([DeviceErr.INPUT_SIZE, DeviceErr.INPUT_CRC, DeviceErr.BAD_PAYLOAD] as number[]).includes(e.code);
}

function inferPayload(model: number, runs: number, warmup: number, inputCrc?: number): Buffer {
  const payload = Buffer.alloc(inputCrc === undefined ? 5 : 9);
  payload.writeUInt8(model, 0);
  payload.writeUInt16LE(runs, 1);
  payload.writeUInt16LE(warmup, 3);
  if (inputCrc !== undefined) payload.writeUInt32LE(inputCrc, 5);
  return payload;
}

/** Most outputs an INFER reply carries (one run, wide form); more are read with READ_OUTPUT (proto 7). */
export const INLINE_OUTPUTS = MAX_PAYLOAD - 9 - 4;

/** INFER reply: u8 model, u8 predicted, u8 n, i8 outputs[n], u16 runs, u32 ticks[runs]; or, for more
 * than 255 outputs (version 5, SPEC section 1), n = 0 then u16 predicted, u16 n before the outputs;
 * byte 1 0xFE (version 7): the n outputs are not in the reply (`omitted` = n; READ_OUTPUT them). */
function parseInfer(reply: Buffer): { result: InferResult; omitted: number } {
  const wide = reply[2] === 0;
  const nClasses = wide ? reply.readUInt16LE(5) : reply[2];
  const omitted = wide && reply[1] === 0xfe ? nClasses : 0;
  const at = wide ? 7 : 3;
  const inline = nClasses - omitted;
  const logits = new Int8Array(reply.buffer.slice(reply.byteOffset + at, reply.byteOffset + at + inline));
  const runsOff = at + inline;
  const nRuns = reply.readUInt16LE(runsOff);
  const ticks: number[] = [];
  for (let i = 0; i < nRuns; i++) ticks.push(reply.readUInt32LE(runsOff + 2 + 4 * i));
  return { result: { model: reply[0], predicted: wide ? reply.readUInt16LE(3) : reply[1], logits, ticks }, omitted };
}
