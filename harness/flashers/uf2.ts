/**
 * UF2 "flashing": the board's boot loader shows a USB drive; copying a .uf2 file to it writes
 * the flash. The image is converted here (512-byte blocks, 256 payload bytes each).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Flasher } from '../capabilities/flasher.js';
import type { FlasherSpec } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import { readElf, type Segment } from './elf.js';

const MAGIC0 = 0x0a324655;
const MAGIC1 = 0x9e5d5157;
const MAGIC_END = 0x0ab16f30;
const FLAG_FAMILY = 0x00002000;
const PAYLOAD = 256;

export function toUf2(segments: Segment[], familyId?: number): Buffer {
  const chunks: { address: number; data: Buffer }[] = [];
  for (const s of segments) {
    for (let o = 0; o < s.data.length; o += PAYLOAD) chunks.push({ address: s.address + o, data: s.data.subarray(o, o + PAYLOAD) });
  }
  const out = Buffer.alloc(512 * chunks.length);
  chunks.forEach((c, i) => {
    const b = out.subarray(512 * i, 512 * (i + 1));
    b.writeUInt32LE(MAGIC0, 0);
    b.writeUInt32LE(MAGIC1, 4);
    b.writeUInt32LE(familyId === undefined ? 0 : FLAG_FAMILY, 8);
    b.writeUInt32LE(c.address, 12);
    b.writeUInt32LE(PAYLOAD, 16);
    b.writeUInt32LE(i, 20);
    b.writeUInt32LE(chunks.length, 24);
    b.writeUInt32LE(familyId ?? 0, 28);
    c.data.copy(b, 32);
    b.writeUInt32LE(MAGIC_END, 508);
  });
  return out;
}

export class Uf2Flasher implements Flasher {
  readonly kind = 'uf2';
  constructor(private readonly spec: FlasherSpec) {}

  async flash(elf: string): Promise<void> {
    const mount = this.spec.mount ?? '';
    // Every UF2 boot loader serves INFO_UF2.TXT; its absence means the drive is not mounted.
    if (!fs.existsSync(path.join(mount, 'INFO_UF2.TXT'))) {
      throw new HilError('no UF2 boot loader drive here (INFO_UF2.TXT missing): put the board in boot loader mode and mount it', `flasher.mount ${mount}`);
    }
    const image = toUf2(readElf(elf).segments, this.spec.family_id === undefined ? undefined : Number(this.spec.family_id));
    // The boot loader starts writing as blocks arrive and resets the board when done.
    await fs.promises.writeFile(path.join(mount, 'firmware.uf2'), image);
  }
}
