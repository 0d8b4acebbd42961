/** The loadable segments of a 32-bit little-endian ARM ELF (what a loader writes to memory). */
import fs from 'node:fs';
import { HilError } from '../util/errors.js';

export interface Segment {
  /** Load (physical) address: where the bytes go, e.g. .data's initial values in flash. */
  address: number;
  data: Buffer;
}

export interface ElfImage {
  entry: number;
  segments: Segment[];
}

const PT_LOAD = 1;

export function readElf(file: string): ElfImage {
  const b = fs.readFileSync(file);
  if (b.length < 52 || b.readUInt32BE(0) !== 0x7f454c46) throw new HilError('not an ELF file', file);
  if (b[4] !== 1 || b[5] !== 1) throw new HilError('expected a 32-bit little-endian ELF', file);
  if (b.readUInt16LE(18) !== 40) throw new HilError('not an ARM ELF (e_machine != 40)', file);
  const entry = b.readUInt32LE(24);
  const phoff = b.readUInt32LE(28);
  const phentsize = b.readUInt16LE(42);
  const phnum = b.readUInt16LE(44);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (h + 32 > b.length) throw new HilError('truncated program header table', file);
    if (b.readUInt32LE(h) !== PT_LOAD) continue;
    const offset = b.readUInt32LE(h + 4);
    const paddr = b.readUInt32LE(h + 12);
    const filesz = b.readUInt32LE(h + 16);
    if (filesz === 0) continue; // .bss / stack: nothing to write
    if (offset + filesz > b.length) throw new HilError(`segment ${i} runs past the end of the file`, file);
    segments.push({ address: paddr, data: b.subarray(offset, offset + filesz) });
  }
  if (segments.length === 0) throw new HilError('no loadable segment', file);
  return { entry, segments: segments.sort((x, y) => x.address - y.address) };
}
