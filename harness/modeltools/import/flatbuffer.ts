/**
 * A minimal read-only FlatBuffers accessor (tables, scalars, strings, vectors, unions), enough to
 * walk a TFLite model. Every offset is bounds-checked, so a truncated or corrupt file is an
 * error naming the file, never a silent garbage read.
 */
import { HilError } from '../../util/errors.js';

export class FbReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** for error messages */
    readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(msg: string): never {
    throw new HilError(`corrupt flatbuffer: ${msg}`, this.source);
  }

  private check(pos: number, size: number): void {
    if (!Number.isInteger(pos) || pos < 0 || pos + size > this.bytes.length) {
      this.fail(`read of ${size} bytes at ${pos} outside the ${this.bytes.length}-byte file`);
    }
  }

  u8(pos: number): number {
    this.check(pos, 1);
    return this.view.getUint8(pos);
  }
  i8(pos: number): number {
    this.check(pos, 1);
    return this.view.getInt8(pos);
  }
  u16(pos: number): number {
    this.check(pos, 2);
    return this.view.getUint16(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4);
    return this.view.getInt32(pos, true);
  }
  u32(pos: number): number {
    this.check(pos, 4);
    return this.view.getUint32(pos, true);
  }
  f32(pos: number): number {
    this.check(pos, 4);
    return this.view.getFloat32(pos, true);
  }
  /** int64 as a JS number; throws if it is not exactly representable */
  i64(pos: number): number {
    this.check(pos, 8);
    const v = this.view.getBigInt64(pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`int64 ${v} at ${pos} too large`);
    return Number(v);
  }

  /** The root table (offset at byte 0). */
  root(): FbTable {
    return new FbTable(this, this.u32(0));
  }

  /** 4-byte file identifier at bytes 4..8 (e.g. "TFL3"). */
  identifier(): string {
    this.check(4, 4);
    return String.fromCharCode(...this.bytes.subarray(4, 8));
  }
}

/** One table: field i lives at the vtable slot 4 + 2*i (0 = absent, use the default). */
export class FbTable {
  private readonly vtable: number;
  private readonly vtableSize: number;

  constructor(
    readonly r: FbReader,
    readonly pos: number,
  ) {
    this.vtable = pos - r.i32(pos);
    this.vtableSize = r.u16(this.vtable);
    if (this.vtableSize < 4 || this.vtableSize % 2 !== 0) r.fail(`vtable size ${this.vtableSize} at ${this.vtable}`);
  }

  /** Absolute position of field `i`, or undefined when absent. */
  private field(i: number): number | undefined {
    const slot = 4 + 2 * i;
    if (slot >= this.vtableSize) return undefined;
    const off = this.r.u16(this.vtable + slot);
    return off === 0 ? undefined : this.pos + off;
  }

  has(i: number): boolean {
    return this.field(i) !== undefined;
  }

  u8(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === undefined ? dflt : this.r.u8(p);
  }
  i8(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === undefined ? dflt : this.r.i8(p);
  }
  i32(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === undefined ? dflt : this.r.i32(p);
  }
  u32(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === undefined ? dflt : this.r.u32(p);
  }
  f32(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === undefined ? dflt : this.r.f32(p);
  }
  i64(i: number, dflt = 0): number {
    const p = this.field(i);
    return p === undefined ? dflt : this.r.i64(p);
  }

  /** Follows the uoffset stored at field i. */
  private deref(i: number): number | undefined {
    const p = this.field(i);
    return p === undefined ? undefined : p + this.r.u32(p);
  }

  table(i: number): FbTable | undefined {
    const p = this.deref(i);
    return p === undefined ? undefined : new FbTable(this.r, p);
  }

  string(i: number): string | undefined {
    const p = this.deref(i);
    if (p === undefined) return undefined;
    const n = this.r.u32(p);
    this.r.u8(p + 4 + n - (n > 0 ? 1 : 0)); // bounds check
    return Buffer.from(this.r.bytes.buffer, this.r.bytes.byteOffset + p + 4, n).toString('utf8');
  }

  /** Start and length of the vector at field i (empty when absent). */
  private vector(i: number, elemSize: number): { start: number; length: number } {
    const p = this.deref(i);
    if (p === undefined) return { start: 0, length: 0 };
    const length = this.r.u32(p);
    if (length > 0) this.r.u8(p + 4 + length * elemSize - 1); // bounds check of the last byte
    return { start: p + 4, length };
  }

  tables(i: number): FbTable[] {
    const { start, length } = this.vector(i, 4);
    const out: FbTable[] = [];
    for (let k = 0; k < length; k++) {
      const e = start + 4 * k;
      out.push(new FbTable(this.r, e + this.r.u32(e)));
    }
    return out;
  }

  i32s(i: number): number[] {
    const { start, length } = this.vector(i, 4);
    return Array.from({ length }, (_, k) => this.r.i32(start + 4 * k));
  }
  f32s(i: number): number[] {
    const { start, length } = this.vector(i, 4);
    return Array.from({ length }, (_, k) => this.r.f32(start + 4 * k));
  }
  i64s(i: number): number[] {
    const { start, length } = this.vector(i, 8);
    return Array.from({ length }, (_, k) => this.r.i64(start + 8 * k));
  }
  /** A view (no copy) of a [ubyte] vector. */
  bytes(i: number): Uint8Array {
    const { start, length } = this.vector(i, 1);
    return this.r.bytes.subarray(start, start + length);
  }
}
