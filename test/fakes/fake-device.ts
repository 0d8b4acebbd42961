/**
 * A fake of the firmware, speaking the wire protocol of firmware/SPEC.md over an in-memory
 * byte Link and computing with the host reference. Used by the contract tests, which run the same
 * suite against it and against the real firmware on QEMU. It can corrupt or drop frames to
 * exercise the client's re-sends.
 */
import { crc32 } from 'node:zlib';
import { argmaxFirst } from '../../harness/util/argmax.js';
import type { Link } from '../../harness/capabilities/link.js';
import { Cmd, decodeFrame, encodeFrame, ERR, MAX_PAYLOAD, PROTO_VERSION, REPLY } from '../../harness/protocol/yono/frame.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { runInt8 } from '../../harness/reference/int8.js';

export interface FakeDeviceOptions {
  models: Int8Model[];
  build?: string;
  board?: string;
  /** Replies to drop (by reply count, 0-based) to simulate a lossy link. */
  dropReplies?: Set<number>;
  /** Host frames to corrupt on arrival (by count, 0-based): the device answers ERR seq 0xff. */
  corruptRequests?: Set<number>;
  /** Never answer anything (a silent board). */
  silent?: boolean;
  ticksPerRun?: number;
  /** int8-ext: models live in "external storage" and must be SELECTed before INFER */
  variant?: 'int8' | 'pq' | 'int8-ext';
}

export class FakeDeviceLink implements Link {
  readonly description = 'fake device';
  readonly stats = { bytesOut: 0, bytesIn: 0 };
  private dataHandlers: ((chunk: Buffer) => void)[] = [];
  private closeHandlers: ((reason: string) => void)[] = [];
  private rx = Buffer.alloc(0);
  private input = Buffer.alloc(0);
  private requests = 0;
  private replies = 0;
  private readonly inputCapacity: number;
  private loaded = -1;
  /** the last inference's output vector (READ_OUTPUT, proto 7) */
  private lastOutput: Int8Array | undefined;

  constructor(private readonly options: FakeDeviceOptions) {
    this.inputCapacity = Math.max(...options.models.map((m) => m.input.shape.reduce((a, b) => a * b, 1)));
  }

  async write(bytes: Buffer): Promise<void> {
    this.stats.bytesOut += bytes.length;
    this.rx = Buffer.concat([this.rx, bytes]);
    let end: number;
    while ((end = this.rx.indexOf(0)) >= 0) {
      const wire = this.rx.subarray(0, end);
      this.rx = this.rx.subarray(end + 1);
      this.handle(Buffer.from(wire));
    }
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.dataHandlers.push(handler);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler);
  }

  async close(): Promise<void> {
    /* nothing held */
  }

  private reply(type: number, seq: number, payload: Buffer): void {
    const n = this.replies++;
    if (this.options.dropReplies?.has(n)) return;
    const wire = encodeFrame({ type, seq, payload });
    this.stats.bytesIn += wire.length;
    // Deliver asynchronously, like a real link.
    setImmediate(() => {
      for (const h of this.dataHandlers) h(wire);
    });
  }

  private error(seq: number, code: number, text: string): void {
    this.reply(ERR, seq, Buffer.concat([Buffer.from([code]), Buffer.from(text, 'latin1')]));
  }

  private handle(wire: Buffer): void {
    if (this.options.silent) return;
    const n = this.requests++;
    const decoded = decodeFrame(wire);
    if (!decoded.ok || this.options.corruptRequests?.has(n)) return this.error(0xff, 1, 'bad frame');
    const { type, seq, payload } = decoded.frame;
    const models = this.options.models;
    switch (type) {
      case Cmd.HELLO: {
        const hello = {
          proto: PROTO_VERSION,
          build: this.options.build ?? 'fake',
          board: this.options.board ?? 'fake-board',
          core: 'none',
          clock_hz: 1e6,
          timer: 'fake',
          timer_hz: 1e6,
          max_payload: MAX_PAYLOAD,
          input_buffer: this.inputCapacity,
          variant: this.options.variant ?? 'int8',
          ext_storage: this.options.variant === 'int8-ext' ? 512 * (models.length + 1) : 0,
          models: models.map((m, id) => ({
            id,
            name: m.name,
            input: m.input.shape,
            input_bytes: m.input.shape.reduce((a, b) => a * b, 1),
            classes: m.classes,
            hash: 'fake',
          })),
        };
        return this.reply(type | REPLY, seq, Buffer.from(JSON.stringify(hello)));
      }
      case Cmd.PING:
        return this.reply(type | REPLY, seq, payload);
      case Cmd.CHUNK: {
        if (payload.length < 4) return this.error(seq, 6, 'short chunk');
        const offset = payload.readUInt32LE(0);
        const data = payload.subarray(4);
        if (offset > this.input.length) return this.error(seq, 6, 'gap in upload');
        if (offset + data.length > this.inputCapacity) return this.error(seq, 3, 'input overflow');
        this.input = Buffer.concat([this.input.subarray(0, offset), data]);
        const ack = Buffer.alloc(4);
        ack.writeUInt32LE(this.input.length, 0);
        return this.reply(type | REPLY, seq, ack);
      }
      case Cmd.INFER: {
        if (payload.length !== 5 && payload.length !== 9) return this.error(seq, 6, 'bad infer payload');
        const id = payload[0];
        const runs = payload.readUInt16LE(1);
        const model = models[id];
        if (!model) return this.error(seq, 2, `no model ${id}`);
        if (this.options.variant === 'int8-ext' && this.loaded !== id) return this.error(seq, 8, 'model is in external storage and not loaded: SELECT it first');
        const bytes = model.input.shape.reduce((a, b) => a * b, 1);
        if (this.input.length !== bytes) return this.error(seq, 4, `have ${this.input.length} bytes, need ${bytes}`);
        if (payload.length === 9 && crc32(this.input) !== payload.readUInt32LE(5)) return this.error(seq, 7, 'input CRC-32 mismatch');
        const logits = runInt8(model, new Int8Array(this.input.buffer, this.input.byteOffset, this.input.length));
        const best = argmaxFirst(logits);
        this.lastOutput = logits;
        const wide = logits.length > 255 ? 4 : 0; // SPEC section 1, version 5
        // version 7: outputs that do not fit with one run stay out of the reply (0xFE), for READ_OUTPUT
        const inline = 3 + wide + logits.length + 2 + 4 <= MAX_PAYLOAD ? logits.length : 0;
        const out = Buffer.alloc(3 + wide + inline + 2 + 4 * runs);
        out[0] = id;
        out[1] = wide ? (inline ? 0xff : 0xfe) : best;
        out[2] = wide ? 0 : logits.length;
        if (wide) {
          out.writeUInt16LE(best, 3);
          out.writeUInt16LE(logits.length, 5);
        }
        Buffer.from(logits.buffer, logits.byteOffset, inline).copy(out, 3 + wide);
        out.writeUInt16LE(runs, 3 + wide + inline);
        for (let r = 0; r < runs; r++) out.writeUInt32LE(this.options.ticksPerRun ?? 1000, 5 + wide + inline + 4 * r);
        return this.reply(type | REPLY, seq, out);
      }
      case Cmd.SELECT: {
        if (payload.length !== 1 && payload.length !== 3) return this.error(seq, 6, 'SELECT payload is u8 model[, u16 repeat]');
        const id = payload[0];
        const repeat = payload.length === 3 ? payload.readUInt16LE(1) : 1;
        if (!models[id]) return this.error(seq, 2, `no model ${id}`);
        if (repeat < 1) return this.error(seq, 6, 'SELECT repeat must be >= 1');
        const ext = this.options.variant === 'int8-ext';
        const blob = ext ? models[id].layers.reduce((a, l) => a + ('weights' in l ? l.weights.length : 0), 0) : 0;
        if (ext) this.loaded = id;
        const out = Buffer.alloc(19);
        out[0] = id;
        out.writeUInt16LE(repeat, 1);
        out.writeUInt32LE(repeat * (10 + blob), 3);
        out.writeUInt32LE(repeat * blob, 7);
        out.writeUInt32LE(repeat * blob, 11);
        out.writeUInt32LE(ext ? repeat : 0, 15);
        return this.reply(type | REPLY, seq, out);
      }
      case Cmd.READ_OUTPUT: {
        // proto 7: a slice of the last inference's output vector
        if (payload.length !== 6) return this.error(seq, 6, 'READ_OUTPUT payload is u32 offset, u16 n');
        const offset = payload.readUInt32LE(0);
        const n = payload.readUInt16LE(4);
        const last = this.lastOutput;
        if (!last) return this.error(seq, 6, 'no inference has run: no output to read');
        if (n > MAX_PAYLOAD - 6 || offset + n > last.length) return this.error(seq, 6, `READ_OUTPUT slice ends at ${offset + n} beyond the outputs ${last.length}`);
        const out = Buffer.alloc(6 + n);
        out.writeUInt32LE(offset, 0);
        out.writeUInt16LE(n, 4);
        Buffer.from(last.buffer, last.byteOffset + offset, n).copy(out, 6);
        return this.reply(type | REPLY, seq, out);
      }
      default:
        return this.error(seq, 5, `unknown command ${type}`);
    }
  }
}
