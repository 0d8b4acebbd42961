/**
 * NumPy's `.npz` (numpy.savez / savez_compressed): a zip archive of `<key>.npy` members. The zip
 * directory is read here (end-of-central-directory record, zip64 when numpy wrote it, central
 * directory entries, local headers); members are stored or deflated, inflated with Node's zlib
 * and checked against their CRC-32. No npm package: the subset numpy writes is small.
 */
import { readFileSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { HilError } from '../util/errors.js';
import { parseNpy, type NpyArray } from './npy.js';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The arrays of an .npz file by key (member name without `.npy`), in archive order. */
export function readNpz(path: string): Map<string, NpyArray> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new HilError(`cannot read: ${(e as Error).message}`, path);
  }
  return parseNpz(bytes, path);
}

export function parseNpz(bytes: Buffer, where: string): Map<string, NpyArray> {
  const arrays = new Map<string, NpyArray>();
  for (const e of zipEntries(bytes, where)) {
    if (!e.name.endsWith('.npy')) continue;
    const member = `${where}: ${e.name}`;
    arrays.set(e.name.slice(0, -4), parseNpy(memberBytes(bytes, e, member), member));
  }
  if (arrays.size === 0) throw new HilError('the archive holds no .npy member', where);
  return arrays;
}

function zipEntries(b: Buffer, where: string): ZipEntry[] {
  const corrupt = (what: string): never => {
    throw new HilError(`not a valid .npz (zip) file: ${what}`, where);
  };
  // the end-of-central-directory record: the last 22 bytes plus a comment of up to 65535
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (b.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) corrupt('no end-of-central-directory record');
  let count = b.readUInt16LE(eocd + 10);
  let cdOffset = b.readUInt32LE(eocd + 16);
  if ((count === 0xffff || cdOffset === U32_MAX) && eocd >= 20 && b.readUInt32LE(eocd - 20) === ZIP64_LOCATOR) {
    const z = Number(b.readBigUInt64LE(eocd - 20 + 8));
    if (z + 56 > b.length || b.readUInt32LE(z) !== ZIP64_EOCD) corrupt('bad zip64 end-of-central-directory record');
    count = Number(b.readBigUInt64LE(z + 32));
    cdOffset = Number(b.readBigUInt64LE(z + 48));
  }
  const entries: ZipEntry[] = [];
  let at = cdOffset;
  for (let k = 0; k < count; k++) {
    if (at + 46 > b.length || b.readUInt32LE(at) !== CENTRAL) corrupt(`central directory entry ${k} missing`);
    const nameLen = b.readUInt16LE(at + 28);
    const extraLen = b.readUInt16LE(at + 30);
    const commentLen = b.readUInt16LE(at + 32);
    if (at + 46 + nameLen + extraLen > b.length) corrupt(`central directory entry ${k} truncated`);
    const e: ZipEntry = {
      flags: b.readUInt16LE(at + 8),
      method: b.readUInt16LE(at + 10),
      crc: b.readUInt32LE(at + 16),
      compressedSize: b.readUInt32LE(at + 20),
      size: b.readUInt32LE(at + 24),
      localOffset: b.readUInt32LE(at + 42),
      name: b.toString('utf8', at + 46, at + 46 + nameLen),
    };
    readZip64Extra(b.subarray(at + 46 + nameLen, at + 46 + nameLen + extraLen), e);
    entries.push(e);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Sizes and offset that did not fit 32 bits are in the zip64 extra field (id 1), in this order. */
function readZip64Extra(extra: Buffer, e: ZipEntry): void {
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const len = extra.readUInt16LE(i + 2);
    if (id === 1) {
      let p = i + 4;
      const next = (): number => {
        const v = p + 8 <= i + 4 + len ? Number(extra.readBigUInt64LE(p)) : U32_MAX;
        p += 8;
        return v;
      };
      if (e.size === U32_MAX) e.size = next();
      if (e.compressedSize === U32_MAX) e.compressedSize = next();
      if (e.localOffset === U32_MAX) e.localOffset = next();
    }
    i += 4 + len;
  }
}

function memberBytes(b: Buffer, e: ZipEntry, where: string): Buffer {
  const corrupt = (what: string): never => {
    throw new HilError(`corrupt .npz member: ${what}`, where);
  };
  if (e.flags & 1) corrupt('encrypted');
  if (e.localOffset + 30 > b.length || b.readUInt32LE(e.localOffset) !== LOCAL) corrupt('no local header where the directory points');
  const start = e.localOffset + 30 + b.readUInt16LE(e.localOffset + 26) + b.readUInt16LE(e.localOffset + 28);
  if (start + e.compressedSize > b.length) corrupt(`${e.compressedSize} compressed bytes announced, the file ends first`);
  const raw = b.subarray(start, start + e.compressedSize);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = inflateRawSync(raw);
    } catch (err) {
      return corrupt(`deflate data: ${(err as Error).message}`);
    }
  } else return corrupt(`compression method ${e.method} (numpy writes 0 stored or 8 deflate)`);
  if (data.length !== e.size) corrupt(`${data.length} bytes, the directory says ${e.size}`);
  if (crc32(data) >>> 0 !== e.crc) corrupt('CRC-32 mismatch');
  return data;
}
