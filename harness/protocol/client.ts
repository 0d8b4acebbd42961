/**
 * Host half of the firmware protocol (firmware/SPEC.md): sequence numbers, CRC-checked
 * frames, timeouts with re-sends, chunked input upload with one acknowledgement per chunk,
 * and the handshake that refuses a firmware the harness did not build.
 */
import type { Link } from '../capabilities/link.js';
import { HilError } from '../util/errors.js';
import { Cmd, decodeFrame, encodeFrame, ERR, ErrCode, MAX_PAYLOAD, PROTO_VERSION, REPLY, UPLOAD_CHUNK_BYTES, type Frame } from './frame.js';

export interface DeviceModelInfo {
  id: number;
  name: string;
  input: number[];
  input_bytes: number;
  classes: number;
  hash: string;
}

export interface DeviceHello {
  proto: number;
  build: string;
  board: string;
  core: string;
  clock_hz: number;
  timer: string;
  timer_hz: number;
  max_payload: number;
  input_buffer: number;
  models: DeviceModelInfo[];
}

export interface InferResult {
  model: number;
  predicted: number;
  logits: Int8Array;
  /** Timer ticks of each timed run. */
  ticks: number[];
}

export interface ClientOptions {
  /** Time to wait for one reply before re-sending. */
  replyTimeoutMs?: number;
  /** Re-sends of one command before giving up. */
  retries?: number;
}

export interface ProtocolStats {
  commands: number;
  resends: number;
  badFrames: number;
}

/** What the harness expects to find on the device; a mismatch refuses the run. */
export interface ExpectedFirmware {
  build: string;
  board: string;
  models: { name: string; hash: string }[];
}

class DeviceError extends HilError {
  constructor(readonly code: number, message: string, where: string) {
    super(message, where);
  }
}

export class ProtocolClient {
  private seq = 0;
  private pending?: { seq: number; resolve: (f: Frame) => void; reject: (e: Error) => void };
  private dead?: string;
  private readonly replyTimeoutMs: number;
  private readonly retries: number;
  readonly stats: ProtocolStats = { commands: 0, resends: 0, badFrames: 0 };

  constructor(private readonly link: Link, options: ClientOptions = {}) {
    this.replyTimeoutMs = options.replyTimeoutMs ?? 5000;
    this.retries = options.retries ?? 3;
    link.onFrame((bytes) => this.receive(bytes));
    link.onClose((reason) => {
      this.dead = reason;
      this.pending?.reject(new HilError(`link lost: ${reason}`, link.description));
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
    const pending = this.pending;
    if (!pending) return;
    if (frame.type === ERR && frame.seq === 0xff) {
      // The device saw a corrupted command: re-send at once rather than wait for the timeout.
      this.stats.badFrames++;
      return;
    }
    if (frame.seq !== pending.seq) return; // a late reply to an earlier, re-sent command
    this.pending = undefined;
    pending.resolve(frame);
  }

  /** Sends one command and returns its reply payload; re-sends on timeout or a corrupted reply. */
  async request(type: number, payload: Buffer = Buffer.alloc(0), timeoutMs = this.replyTimeoutMs): Promise<Buffer> {
    if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload too large: ${payload.length}`);
    this.stats.commands++;
    this.seq = (this.seq + 1) % 0xff; // 0xff is reserved for the device's "bad frame" errors
    const seq = this.seq;
    const wire = encodeFrame({ type, seq, payload });
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (this.dead) throw new HilError(`link lost: ${this.dead}`, this.link.description);
      if (attempt > 0) this.stats.resends++;
      const reply = new Promise<Frame | undefined>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending = undefined;
          resolve(undefined);
        }, timeoutMs);
        this.pending = {
          seq,
          resolve: (f) => {
            clearTimeout(timer);
            resolve(f);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
      });
      await this.link.write(wire);
      const frame = await reply;
      if (!frame) continue;
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
    throw new HilError(
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

  async infer(model: number, runs = 1, warmup = 0, timeoutMs = this.replyTimeoutMs): Promise<InferResult> {
    const payload = Buffer.alloc(5);
    payload.writeUInt8(model, 0);
    payload.writeUInt16LE(runs, 1);
    payload.writeUInt16LE(warmup, 3);
    const reply = await this.request(Cmd.INFER, payload, timeoutMs);
    const nClasses = reply[2];
    const logits = new Int8Array(reply.buffer.slice(reply.byteOffset + 3, reply.byteOffset + 3 + nClasses));
    const runsOff = 3 + nClasses;
    const nRuns = reply.readUInt16LE(runsOff);
    const ticks: number[] = [];
    for (let i = 0; i < nRuns; i++) ticks.push(reply.readUInt32LE(runsOff + 2 + 4 * i));
    return { model: reply[0], predicted: reply[1], logits, ticks };
  }
}

/** Refuses a device whose firmware is not the one the harness built, and says why. */
export function checkFirmware(hello: DeviceHello, expected: ExpectedFirmware, where: string): void {
  const problems: string[] = [];
  if (hello.build !== expected.build) problems.push(`build hash ${hello.build} != expected ${expected.build}`);
  if (hello.board !== expected.board) problems.push(`board ${hello.board} != rig board ${expected.board}`);
  for (const m of expected.models) {
    const found = hello.models.find((d) => d.name === m.name);
    if (!found) problems.push(`model ${m.name} missing on the device`);
    else if (found.hash !== m.hash) problems.push(`model ${m.name} hash ${found.hash} != expected ${m.hash}`);
  }
  if (problems.length > 0) {
    throw new HilError(`firmware does not match what the harness built: ${problems.join('; ')}`, where);
  }
}
