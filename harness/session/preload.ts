/**
 * Test inputs placed in device memory before the firmware starts (an emulated board's spare
 * RAM, filled by QEMU's loader; a real board's external flash, written once by its flasher): the accuracy experiment then runs sample i with a short command
 * instead of sending its bytes over the UART. The layout is one block per data set, each its
 * whole test split (a built-in set's, or a user's data), back to back; data sets that do not fit
 * stay on the streaming path.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { modelTestSet } from '../datasets/model-data.js';
import type { Int8Model } from '../modeltools/int8-model.js';

export interface PreloadBlock {
  /** the inputs' key (model-data.ts ModelTestSet.key: a built-in name, or model:data) */
  dataset: string;
  /** byte offset of the block's first sample in the preloaded image */
  offset: number;
  count: number;
  inputBytes: number;
}

export interface PreloadImage {
  file: string;
  bytes: number;
  /** CRC-32 (zlib) of the whole image, compared with the device's PRELOAD_CRC of its region */
  crc: number;
  blocks: PreloadBlock[];
  /** data sets left out because the region is full */
  left: string[];
  remove(): void;
}

/** Writes the image of the models' test splits that fit in `capacity` bytes (undefined: none fits). */
export function writePreloadImage(models: Int8Model[], capacity: number): PreloadImage | undefined {
  const blocks: PreloadBlock[] = [];
  const parts: Uint8Array[] = [];
  const left: string[] = [];
  let offset = 0;
  const sets = new Map(models.map((m) => modelTestSet(m)).map((t) => [t.key, t]));
  for (const [dataset, split] of sets) {
    const bytes = split.count * split.inputBytes;
    // 4-byte aligned blocks: the device copies each input into its aligned input buffer anyway
    const start = Math.ceil(offset / 4) * 4;
    if (start + bytes > capacity) {
      left.push(dataset);
      continue;
    }
    if (start > offset) parts.push(new Uint8Array(start - offset));
    parts.push(new Uint8Array(split.x.buffer, split.x.byteOffset, bytes));
    blocks.push({ dataset, offset: start, count: split.count, inputBytes: split.inputBytes });
    offset = start + bytes;
  }
  if (blocks.length === 0) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-preload-'));
  const file = path.join(dir, 'inputs.bin');
  const image = Buffer.concat(parts);
  fs.writeFileSync(file, image);
  return { file, bytes: offset, crc: crc32(image), blocks, left, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
