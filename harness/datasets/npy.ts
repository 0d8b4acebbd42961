/**
 * NumPy's `.npy` array format (numpy.lib.format, versions 1.0-3.0): the magic `\x93NUMPY`, a
 * version, a header length (u16 for 1.x, u32 for 2.x/3.x), a Python dict literal with `descr`,
 * `fortran_order` and `shape`, then the raw C-order data. Numeric dtypes only (bool, int, uint,
 * float of 1-8 bytes, either byte order); anything else is refused with one line.
 */
import { HilError } from '../util/errors.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export type NpyKind = 'int' | 'uint' | 'float' | 'bool';

export interface NpyArray {
  /** the dtype as written, e.g. `<f4`, `|i1` */
  descr: string;
  kind: NpyKind;
  /** bytes per element */
  itemBytes: number;
  shape: number[];
  /** element count (product of shape) */
  size: number;
  /** element i of the C-order data, as a number (int64 beyond 2^53 loses precision) */
  get(i: number): number;
  /** the raw data bytes (C order, `descr`'s byte order) */
  data: Buffer;
}

/** Parses a whole .npy file; `where` names it in errors. */
export function parseNpy(bytes: Buffer, where: string): NpyArray {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) throw new HilError('not a .npy file (no \\x93NUMPY magic)', where);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new HilError(`.npy format version ${major}.${bytes[7]} is not 1.x-3.x`, where);
  const headerLenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + headerLenBytes) throw new HilError('truncated .npy header', where);
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataAt = 8 + headerLenBytes + headerLen;
  if (dataAt > bytes.length) throw new HilError(`truncated .npy header (${headerLen} bytes announced)`, where);
  const header = bytes.subarray(8 + headerLenBytes, dataAt).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new HilError(`.npy header lacks descr, fortran_order or shape: ${header.trim().slice(0, 120)}`, where);
  }
  if (fortran === 'True') throw new HilError('Fortran-order array; save it with numpy.ascontiguousarray first', where);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => (/^\d+L?$/.test(s) ? parseInt(s, 10) : NaN));
  if (shape.some((d) => !Number.isInteger(d))) throw new HilError(`bad shape (${shapeText})`, where);

  const m = /^([<>|=])([biuf])(\d+)$/.exec(descr);
  if (!m) throw new HilError(`dtype '${descr}' is not a numeric dtype (bool, int, uint, float)`, where);
  const [, order, code, widthText] = m;
  const itemBytes = Number(widthText);
  const kind: NpyKind = code === 'b' ? 'bool' : code === 'i' ? 'int' : code === 'u' ? 'uint' : 'float';
  const allowed = kind === 'float' ? [4, 8] : kind === 'bool' ? [1] : [1, 2, 4, 8];
  if (!allowed.includes(itemBytes)) throw new HilError(`dtype '${descr}' is not supported (${kind} of ${allowed.join('/')} bytes)`, where);
  const big = order === '>';
  const size = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(dataAt);
  if (data.length !== size * itemBytes) {
    throw new HilError(`shape (${shape.join(', ')}) of ${descr} needs ${size * itemBytes} data bytes, the file has ${data.length}`, where);
  }
  return { descr, kind, itemBytes, shape, size, data, get: reader(data, kind, itemBytes, big) };
}

function reader(d: Buffer, kind: NpyKind, n: number, big: boolean): (i: number) => number {
  if (kind === 'float') {
    if (n === 4) return big ? (i) => d.readFloatBE(4 * i) : (i) => d.readFloatLE(4 * i);
    return big ? (i) => d.readDoubleBE(8 * i) : (i) => d.readDoubleLE(8 * i);
  }
  const signed = kind === 'int';
  if (n === 1) return signed ? (i) => d.readInt8(i) : (i) => d[i];
  if (n === 2) return signed ? (big ? (i) => d.readInt16BE(2 * i) : (i) => d.readInt16LE(2 * i)) : big ? (i) => d.readUInt16BE(2 * i) : (i) => d.readUInt16LE(2 * i);
  if (n === 4) return signed ? (big ? (i) => d.readInt32BE(4 * i) : (i) => d.readInt32LE(4 * i)) : big ? (i) => d.readUInt32BE(4 * i) : (i) => d.readUInt32LE(4 * i);
  if (signed) return big ? (i) => Number(d.readBigInt64BE(8 * i)) : (i) => Number(d.readBigInt64LE(8 * i));
  return big ? (i) => Number(d.readBigUInt64BE(8 * i)) : (i) => Number(d.readBigUInt64LE(8 * i));
}
