/**
 * A minimal TFLite flatbuffer writer for tests (schema.fbs field numbers, file identifier "TFL3"):
 * enough to build the int8 graphs the importer (harness/modeltools/import/tflite.ts) reads: CONV_2D,
 * DEPTHWISE_CONV_2D, FULLY_CONNECTED, pools, ADD, MUL, MEAN, LOGISTIC, CONCATENATION, RESHAPE,
 * SOFTMAX, with constant tensors (test/fixtures/tflite-models.ts builds whole networks on it). Objects are laid out
 * parent first, children after, so every uoffset points forward as flatbuffers require.
 */

type Scalar = { t: 'u8' | 'i8' | 'i32' | 'u32' | 'f32'; v: number };
type Obj =
  | { k: 'table'; fields: (Scalar | Obj | undefined)[] }
  | { k: 'string'; s: string }
  | { k: 'bytes'; b: Uint8Array }
  | { k: 'i32s'; v: number[] }
  | { k: 'f32s'; v: number[] }
  | { k: 'i64s'; v: number[] }
  | { k: 'tables'; v: Obj[] };
type Field = Scalar | Obj | undefined;

const isScalar = (f: Scalar | Obj): f is Scalar => 't' in f;
const SIZE = { u8: 1, i8: 1, i32: 4, u32: 4, f32: 4 } as const;

class Writer {
  buf = Buffer.alloc(1 << 16);
  pos = 0;

  private ensure(n: number): void {
    while (this.pos + n > this.buf.length) {
      const b = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(b);
      this.buf = b;
    }
  }

  pad(align: number, extra = 0): void {
    while ((this.pos + extra) % align !== 0) this.u8(0);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v & 0xff, this.pos++);
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.pos);
    this.pos += 4;
  }

  scalar(s: Scalar): void {
    this.ensure(4);
    if (s.t === 'u8') this.buf.writeUInt8(s.v, this.pos);
    else if (s.t === 'i8') this.buf.writeInt8(s.v, this.pos);
    else if (s.t === 'i32') this.buf.writeInt32LE(s.v, this.pos);
    else if (s.t === 'u32') this.buf.writeUInt32LE(s.v, this.pos);
    else this.buf.writeFloatLE(s.v, this.pos);
    this.pos += SIZE[s.t];
  }

  /** Writes o at the current position (after alignment); returns where a uoffset must point. */
  write(o: Obj): number {
    switch (o.k) {
      case 'string': {
        this.pad(4);
        const at = this.pos;
        const b = Buffer.from(o.s, 'utf8');
        this.i32(b.length);
        for (const x of b) this.u8(x);
        this.u8(0);
        return at;
      }
      case 'bytes': {
        this.pad(16, 4);
        const at = this.pos;
        this.i32(o.b.length);
        for (const x of o.b) this.u8(x);
        return at;
      }
      case 'i32s':
      case 'f32s': {
        this.pad(4);
        const at = this.pos;
        this.i32(o.v.length);
        for (const x of o.v) this.scalar({ t: o.k === 'i32s' ? 'i32' : 'f32', v: x });
        return at;
      }
      case 'i64s': {
        this.pad(8, 4);
        const at = this.pos;
        this.i32(o.v.length);
        for (const x of o.v) {
          this.ensure(8);
          this.buf.writeBigInt64LE(BigInt(x), this.pos);
          this.pos += 8;
        }
        return at;
      }
      case 'tables': {
        this.pad(4);
        const at = this.pos;
        this.i32(o.v.length);
        const slots = o.v.map(() => {
          const p = this.pos;
          this.i32(0);
          return p;
        });
        o.v.forEach((t, i) => this.patch(slots[i], this.write(t)));
        return at;
      }
      case 'table':
        return this.table(o.fields);
    }
  }

  private patch(slot: number, target: number): void {
    this.buf.writeUInt32LE(target - slot, slot);
  }

  private table(fields: Field[]): number {
    // inline layout relative to the table start: soffset, then fields in order, naturally aligned
    const offs: number[] = [];
    let size = 4;
    for (const f of fields) {
      if (!f) {
        offs.push(0);
        continue;
      }
      const n = isScalar(f) ? SIZE[f.t] : 4;
      size = Math.ceil(size / n) * n;
      offs.push(size);
      size += n;
    }
    size = Math.ceil(size / 4) * 4;
    this.pad(2);
    const vt = this.pos;
    this.u16(4 + 2 * fields.length);
    this.u16(size);
    for (const o of offs) this.u16(o);
    this.pad(4);
    const at = this.pos;
    this.ensure(size);
    this.buf.fill(0, at, at + size);
    this.buf.writeInt32LE(at - vt, at);
    const children: [number, Obj][] = [];
    fields.forEach((f, i) => {
      if (!f) return;
      this.pos = at + offs[i];
      if (isScalar(f)) this.scalar(f);
      else children.push([at + offs[i], f]);
    });
    this.pos = at + size;
    for (const [slot, o] of children) this.patch(slot, this.write(o));
    return at;
  }
}

export interface WTensor {
  name: string;
  shape: number[];
  type: 'INT8' | 'INT32';
  data?: Uint8Array;
  scale: number[];
  zeroPoint: number[];
  axis?: number;
}

export interface WOperator {
  /** BuiltinOperator code */
  code: number;
  inputs: number[];
  outputs: number[];
  /** builtin_options union type and the options table's fields */
  optionsType?: number;
  options?: Scalar[];
}

const TYPE_CODE = { INT8: 9, INT32: 2 } as const;

export const i8 = (v: number): Scalar => ({ t: 'i8', v });
export const i32 = (v: number): Scalar => ({ t: 'i32', v });

/** A one-subgraph .tflite file. */
export function writeTflite(g: { tensors: WTensor[]; operators: WOperator[]; inputs: number[]; outputs: number[] }): Uint8Array {
  const codes = [...new Set(g.operators.map((o) => o.code))];
  const buffers: Obj[] = [{ k: 'table', fields: [] }]; // buffer 0: empty, by convention
  const tensors: Obj[] = g.tensors.map((t) => {
    let buffer = 0;
    if (t.data) {
      buffers.push({ k: 'table', fields: [{ k: 'bytes', b: t.data }] });
      buffer = buffers.length - 1;
    }
    const quant: Obj = { k: 'table', fields: [undefined, undefined, { k: 'f32s', v: t.scale }, { k: 'i64s', v: t.zeroPoint }, undefined, undefined, i32(t.axis ?? 0)] };
    return { k: 'table', fields: [{ k: 'i32s', v: t.shape }, { t: 'i8', v: TYPE_CODE[t.type] }, { t: 'u32', v: buffer }, { k: 'string', s: t.name }, quant] };
  });
  const operators: Obj[] = g.operators.map((o) => ({
    k: 'table',
    fields: [
      { t: 'u32', v: codes.indexOf(o.code) },
      { k: 'i32s', v: o.inputs },
      { k: 'i32s', v: o.outputs },
      o.optionsType ? { t: 'u8', v: o.optionsType } : undefined,
      o.options ? { k: 'table', fields: o.options } : undefined,
    ],
  }));
  const model: Obj = {
    k: 'table',
    fields: [
      { t: 'u32', v: 3 },
      { k: 'tables', v: codes.map((c) => ({ k: 'table', fields: [i8(Math.min(c, 127)), undefined, i32(1), i32(c)] }) as Obj) },
      { k: 'tables', v: [{ k: 'table', fields: [{ k: 'tables', v: tensors }, { k: 'i32s', v: g.inputs }, { k: 'i32s', v: g.outputs }, { k: 'tables', v: operators }, { k: 'string', s: 'main' }] }] },
      { k: 'string', s: 'yono-hil test writer' },
      { k: 'tables', v: buffers },
    ],
  };
  const w = new Writer();
  w.i32(0); // root uoffset, patched below
  for (const c of 'TFL3') w.u8(c.charCodeAt(0));
  const root = w.write(model);
  w.buf.writeUInt32LE(root, 0);
  return new Uint8Array(w.buf.subarray(0, w.pos));
}
