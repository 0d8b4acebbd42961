/**
 * Bring your own firmware: an image the harness did not build (another submitter's MLPerf Tiny
 * firmware, a yono firmware built elsewhere). Supported: an ELF (addresses inside), a raw .bin
 * with its load address, an Intel HEX file (addresses inside). Its identity in the results is
 * the SHA-256 of the file (first 16 hex as the firmware hash); nothing on the device is checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HilError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { readBoard } from './board.js';
import { measureElf, type FirmwareBuild, type ImageFormat } from './build.js';

export interface PrebuiltSpec {
  image: string;
  protocol: string;
  /** .bin only */
  loadAddress?: number;
  profile?: string;
}

export const IMAGE_FORMATS: Record<string, ImageFormat> = { '.elf': 'elf', '.axf': 'elf', '.bin': 'bin', '.hex': 'hex', '.ihex': 'hex' };

/** The image's format from its extension; a .bin without a load address is refused. `where` names the option or field. */
export function imageFormat(file: string, loadAddress: number | undefined, where: { image: string; loadAddress: string }): ImageFormat {
  const format = IMAGE_FORMATS[path.extname(file).toLowerCase()];
  if (!format) throw new HilError(`'${path.basename(file)}' is not an image the harness can boot; give a .elf, a .bin (with a load address) or a .hex`, where.image);
  if (format === 'bin' && loadAddress === undefined) throw new HilError(`a raw .bin image needs its load address (e.g. 0x08000000)`, where.loadAddress);
  if (format !== 'bin' && loadAddress !== undefined) throw new HilError(`only a raw .bin takes a load address; a .${format} image carries its own`, where.loadAddress);
  return format;
}

/** "0x08000000" or "134217728" -> a number; one line naming `where` otherwise. */
export function parseAddress(text: string | number, where: string): number {
  const n = typeof text === 'number' ? text : /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new HilError(`expected an address like 0x08000000, got "${text}"`, where);
  return n;
}

/** Bytes an Intel HEX file puts into memory (data records). */
function hexDataBytes(file: string): number {
  let n = 0;
  for (const line of fs.readFileSync(file, 'latin1').split(/\r?\n/)) {
    if (!line.startsWith(':') || line.length < 11) continue;
    if (line.slice(7, 9) === '00') n += parseInt(line.slice(1, 3), 16);
  }
  return n;
}

export function prebuiltFirmware(boardName: string, spec: PrebuiltSpec, where: { image: string; loadAddress: string } = { image: '--firmware', loadAddress: '--load-address' }): FirmwareBuild {
  const file = path.resolve(spec.image);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new HilError(`firmware image ${spec.image} not found`, where.image);
  const format = imageFormat(file, spec.loadAddress, where);
  const board = readBoard(boardName);
  const bytes = fs.readFileSync(file);
  const hash = sha256(bytes);
  let flashBytes = bytes.length;
  let ramBytes = 0;
  if (format === 'elf') {
    if (bytes.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new HilError(`${spec.image} is not an ELF file`, where.image);
    ({ flashBytes, ramBytes } = measureElf(file));
  } else if (format === 'hex') flashBytes = hexDataBytes(file);
  return {
    board,
    elf: file,
    buildHash: hash.slice(0, 16),
    models: [],
    memory: { flashBytes, ramBytes, flashBudget: board.flashBytes, ramBudget: board.ramBytes },
    cached: true,
    variant: 'int8',
    protocol: spec.protocol,
    profile: spec.profile,
    prebuilt: { file, format, loadAddress: spec.loadAddress, sha256: hash, bytes: bytes.length },
  };
}
