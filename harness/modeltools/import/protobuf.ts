/**
 * Minimal protobuf wire-format reader (proto2/proto3 binary): a message becomes a list of
 * (field number, value) pairs; typed accessors decode them on demand. Enough for ONNX.
 */
import { HilError } from '../../util/errors.js';

export interface PbField {
  num: number;
  wire: number;
  /** varint: the value; fixed32/64: the bytes' position; length-delimited: the bytes */
  varint?: bigint;
  bytes: Uint8Array;
}

export class PbMessage {
  private readonly fields: PbField[] = [];

  constructor(
    readonly buf: Uint8Array,
    readonly source: string,
  ) {
    let pos = 0;
    const fail = (why: string): never => {
      throw new HilError(`corrupt protobuf: ${why} at byte ${pos}`, source);
    };
    const varint = (): bigint => {
      let v = 0n;
      let shift = 0n;
      for (;;) {
        if (pos >= buf.length) fail('truncated varint');
        const b = buf[pos++];
        v |= BigInt(b & 0x7f) << shift;
        if ((b & 0x80) === 0) return v;
        shift += 7n;
        if (shift > 63n) fail('varint longer than 10 bytes');
      }
    };
    while (pos < buf.length) {
      const key = Number(varint());
      const num = key >>> 3;
      const wire = key & 7;
      if (num === 0) fail('field number 0');
      switch (wire) {
        case 0:
          this.fields.push({ num, wire, varint: varint(), bytes: new Uint8Array(0) });
          break;
        case 1:
        case 5: {
          const n = wire === 1 ? 8 : 4;
          if (pos + n > buf.length) fail('truncated fixed field');
          this.fields.push({ num, wire, bytes: buf.subarray(pos, pos + n) });
          pos += n;
          break;
        }
        case 2: {
          const n = Number(varint());
          if (pos + n > buf.length) fail(`field ${num}: ${n} bytes past the end`);
          this.fields.push({ num, wire, bytes: buf.subarray(pos, pos + n) });
          pos += n;
          break;
        }
        default:
          fail(`unsupported wire type ${wire} (field ${num})`);
      }
    }
  }

  all(num: number): PbField[] {
    return this.fields.filter((f) => f.num === num);
  }

  private last(num: number): PbField | undefined {
    const a = this.all(num);
    return a[a.length - 1];
  }

  /** int32/int64/enum as a JS number (two's complement for negatives). */
  int(num: number, dflt = 0): number {
    const f = this.last(num);
    return f?.varint === undefined ? dflt : toSigned(f.varint);
  }

  float(num: number, dflt = 0): number {
    const f = this.last(num);
    if (!f || f.wire !== 5) return dflt;
    return new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
  }

  string(num: number, dflt = ''): string {
    const f = this.last(num);
    return f ? Buffer.from(f.bytes).toString('utf8') : dflt;
  }

  strings(num: number): string[] {
    return this.all(num).map((f) => Buffer.from(f.bytes).toString('utf8'));
  }

  bytes(num: number): Uint8Array | undefined {
    return this.last(num)?.bytes;
  }

  message(num: number): PbMessage | undefined {
    const f = this.last(num);
    return f ? new PbMessage(f.bytes, this.source) : undefined;
  }

  messages(num: number): PbMessage[] {
    return this.all(num).map((f) => new PbMessage(f.bytes, this.source));
  }

  /** repeated int32/int64, packed or not */
  ints(num: number): number[] {
    const out: number[] = [];
    for (const f of this.all(num)) {
      if (f.wire === 0 && f.varint !== undefined) out.push(toSigned(f.varint));
      else if (f.wire === 2) out.push(...new PbPacked(f.bytes, this.source).varints().map(toSigned));
    }
    return out;
  }

  /** repeated float, packed or not */
  floats(num: number): number[] {
    const out: number[] = [];
    for (const f of this.all(num)) {
      const dv = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
      if (f.wire === 5) out.push(dv.getFloat32(0, true));
      else if (f.wire === 2) for (let i = 0; i + 4 <= f.bytes.length; i += 4) out.push(dv.getFloat32(i, true));
    }
    return out;
  }
}

class PbPacked {
  constructor(
    private readonly buf: Uint8Array,
    private readonly source: string,
  ) {}

  varints(): bigint[] {
    const out: bigint[] = [];
    let pos = 0;
    while (pos < this.buf.length) {
      let v = 0n;
      let shift = 0n;
      for (;;) {
        if (pos >= this.buf.length) throw new HilError('corrupt protobuf: truncated packed varint', this.source);
        const b = this.buf[pos++];
        v |= BigInt(b & 0x7f) << shift;
        if ((b & 0x80) === 0) break;
        shift += 7n;
      }
      out.push(v);
    }
    return out;
  }
}

/** 64-bit two's complement varint -> number (int64 fields such as dims and ints). */
function toSigned(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}
