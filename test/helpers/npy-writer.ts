/**
 * Writes .npy and .npz files as numpy.save / numpy.savez[_compressed] do (format 1.0, C order,
 * members stored or deflated), so tests can hand `hil import` array files without Python.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export type Dtype = '<f4' | '<f8' | '|i1' | '|u1' | '<i8' | '<i4';

/** One .npy file: the header padded to a multiple of 64 bytes (numpy's alignment), then the data. */
export function npy(descr: Dtype, shape: number[], values: ArrayLike<number>): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  const width = descr === '<f8' || descr === '<i8' ? 8 : descr === '<f4' || descr === '<i4' ? 4 : 1;
  const data = Buffer.alloc(values.length * width);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (descr === '<f4') data.writeFloatLE(v, 4 * i);
    else if (descr === '<f8') data.writeDoubleLE(v, 8 * i);
    else if (descr === '|i1') data.writeInt8(v, i);
    else if (descr === '|u1') data.writeUInt8(v, i);
    else if (descr === '<i4') data.writeInt32LE(v, 4 * i);
    else data.writeBigInt64LE(BigInt(v), 8 * i);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

/** A zip of `<key>.npy` members, as numpy.savez (stored) or savez_compressed (deflate). */
export function npz(arrays: Record<string, Buffer>, compressed = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [key, data] of Object.entries(arrays)) {
    const name = Buffer.from(`${key}.npy`);
    const body = compressed ? deflateRawSync(data) : data;
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(compressed ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(compressed ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(arrays).length, 8);
  end.writeUInt16LE(Object.keys(arrays).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
