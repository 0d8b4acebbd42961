/**
 * Builds the firmware for one board and one model set: generates the model sources, runs the
 * firmware Makefile with the build hash the handshake will check, and reports flash/SRAM use.
 * Builds are cached by hash under firmware/build/.
 */
import type { MarkerStyle } from '../capabilities/power-monitor.js';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkFootprint, generateFirmwareSources } from '../codegen/codegen.js';
import type { DeployModel } from '../compress/pq-model.js'; // int8 or pq
import type { Variant } from '../codegen/codegen.js';
import { HilError } from '../util/errors.js';
import { hashTree, sha256 } from '../util/hash.js';
import { FIRMWARE_DIR, rel } from '../util/paths.js';
import { requireTools } from '../util/tools.js';
import { readBoard, type BoardFacts } from './board.js';

export interface MemoryUse {
  flashBytes: number;
  ramBytes: number;
  flashBudget: number;
  ramBudget: number;
}

export interface FirmwareBuild {
  board: BoardFacts;
  elf: string;
  buildHash: string;
  models: { name: string; hash: string }[];
  memory: MemoryUse;
  cached: boolean;
  variant: Variant;
  /** int8-ext: the image the flasher puts in the board's external storage (SPEC section 5) */
  extImage?: ExtImage;
  /** the device protocol the firmware speaks (a protocol/drivers.ts name); default 'yono' */
  protocol?: string;
  /** mlperf-tiny: the profile tag the device must report */
  profile?: string;
  /** mlperf-tiny: built for (or, prebuilt, driven in) energy mode: timestamps on the marker pin, 26-byte db lines */
  mlperfEnergy?: boolean;
  /**
   * A prebuilt image the harness did not build (bring your own firmware): `elf` is its path,
   * `buildHash` the first 16 hex of its SHA-256, and nothing on the device is checked against it.
   */
  prebuilt?: PrebuiltImage;
}

/** How a prebuilt image is laid out: an ELF carries its addresses, a raw .bin needs one, Intel HEX has them. */
export type ImageFormat = 'elf' | 'bin' | 'hex';

export interface PrebuiltImage {
  file: string;
  format: ImageFormat;
  /** .bin only: where the image goes in the device's address space */
  loadAddress?: number;
  sha256: string;
  bytes: number;
}

/**
 * How the firmware drives the power monitor's GPIO marker: `level` = high during each measured
 * region (PPK2, INA226 bridge); `pulse` = idle high, a low pulse at each region boundary (the
 * LPM01A reports falling edges only, MLPerf Tiny's convention). boards/stm32-common/stm32-marker.h
 */
export interface ExtImage {
  file: string;
  bytes: number;
  /** SRAM slot a switch loads a model into (= the largest blob) */
  slotBytes: number;
  /** where QEMU maps the storage (mps2 PSRAM); undefined on real boards */
  base?: number;
  blobs: { name: string; addr: number; bytes: number }[];
}

/** Hash of everything that goes into the image: firmware sources, board, generated models. */
function computeBuildHash(board: string, modelsHash: string): string {
  // All of boards/: boards share code (e.g. boards/mps2-common).
  const sources = hashTree(FIRMWARE_DIR, ['Makefile', 'runtime', 'kernels', 'boards'], (r) => r.startsWith('build'));
  return sha256(`${board}\n${sources}\n${modelsHash}`).slice(0, 16);
}

/** Reads text+data (flash) and data+bss (SRAM, stack included in bss by the linker script). */
export function measureElf(elf: string): { flashBytes: number; ramBytes: number } {
  const out = execFileSync('arm-none-eabi-size', ['-B', elf], { encoding: 'utf8' });
  const row = out.trim().split('\n')[1]?.trim().split(/\s+/).map(Number);
  if (!row || row.length < 3 || row.slice(0, 3).some((n) => !Number.isFinite(n))) throw new HilError('cannot read section sizes', elf);
  const [text, data, bss] = row;
  return { flashBytes: text + data, ramBytes: data + bss };
}

export function buildFirmware(
  boardName: string,
  models: DeployModel[],
  options: {
    log?: (line: string) => void;
    variant?: Variant;
    marker?: MarkerStyle;
    /** host protocol front end, make PROTO (runtime/proto_<protocol>.c); default 'yono' */
    protocol?: string;
    /** PROTO=mlperf_tiny: index of the served model in `models` (default 0), the profile% tag (default: its name), energy mode (timestamps on the marker pin) */
    mlperf?: { model?: number; profile?: string; energy?: boolean };
  } = {},
): FirmwareBuild {
  const log = options.log ?? (() => undefined);
  requireTools(['make', 'arm-none-eabi-gcc', 'arm-none-eabi-size']);
  const board = readBoard(boardName);
  const budget = { flashBytes: board.flashBytes, ramBytes: board.ramBytes, board: `board ${board.name}`, extStorageBytes: board.extStorageBytes };
  checkFootprint(models, budget, options.variant);

  fs.mkdirSync(path.join(FIRMWARE_DIR, 'build'), { recursive: true });
  const staging = fs.mkdtempSync(path.join(FIRMWARE_DIR, 'build', '.gen-'));
  let gen;
  try {
    gen = generateFirmwareSources(models, staging, options.variant);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  const marker = options.marker ?? 'level';
  // Non-default settings only enter the hash, so existing build hashes stay the same.
  const protocol = options.protocol ?? 'yono';
  const makeVars = [
    ...(protocol !== 'yono' ? [`PROTO=${protocol}`] : []),
    ...(options.mlperf?.model !== undefined && options.mlperf.model !== 0 ? [`MLPERF_MODEL=${options.mlperf.model}`] : []),
    ...(options.mlperf?.profile ? [`MLPERF_PROFILE=${options.mlperf.profile}`] : []),
    ...(options.mlperf?.energy ? ['MLPERF_ENERGY=1'] : []),
  ];
  const hashInputs = [gen.inputsHash, ...(marker === 'level' ? [] : [`marker ${marker}`]), ...makeVars];
  const buildHash = computeBuildHash(boardName, hashInputs.join('\n'));
  const out = path.join(FIRMWARE_DIR, 'build', `${boardName}-${buildHash}`);
  const elf = path.join(out, 'firmware.elf');
  const modelsInfo = gen.perModel.map((m) => ({ name: m.name, hash: m.hash }));
  const ext = gen.extImage;
  const extImage = (): ExtImage | undefined =>
    ext && { file: path.join(out, 'generated', 'ext.bin'), bytes: ext.bytes, slotBytes: ext.slotBytes, base: board.extStorageBase, blobs: ext.blobs };
  if (fs.existsSync(elf) && (!ext || fs.existsSync(path.join(out, 'generated', 'ext.bin')))) {
    fs.rmSync(staging, { recursive: true, force: true });
    const use = measureElf(elf);
    return { board, elf, buildHash, models: modelsInfo, memory: { ...use, flashBudget: board.flashBytes, ramBudget: board.ramBytes }, cached: true, variant: gen.variant, extImage: extImage() };
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const genDir = path.join(out, 'generated');
  fs.renameSync(staging, genDir);
  log(`building firmware ${buildHash} for ${boardName} (${models.map((m) => m.name).join(', ')})`);
  const make = spawnSync('make', ['-C', FIRMWARE_DIR, `BOARD=${boardName}`, `BUILD_HASH=${buildHash}`, `OUT=${out}`, `GEN_DIR=${genDir}`, `MARKER=${marker}`, ...makeVars, `-j2`], {
    encoding: 'utf8',
  });
  if (make.status !== 0) {
    const text = `${make.stdout}\n${make.stderr}`;
    fs.rmSync(out, { recursive: true, force: true });
    const overflow = /region `(\w+)' overflowed by (\d+) bytes/.exec(text);
    if (overflow) {
      throw new HilError(`firmware does not fit: ${overflow[1]} overflowed by ${overflow[2]} bytes`, `board ${boardName}`);
    }
    // gcc/ld/make diagnostics look like "file:line:col: error: ..." or "make: *** ..."; the
    // echoed command lines also contain "error" (-Werror) and must be skipped.
    const lines = text.split('\n').filter((l) => !/^\s*arm-none-eabi-/.test(l));
    const firstError = lines.find((l) => /(^|: )(fatal )?error[: ]/i.test(l)) ?? lines.find((l) => /\*\*\*/.test(l)) ?? lines.filter(Boolean).pop();
    throw new HilError(`firmware build failed: ${firstError}`, rel(FIRMWARE_DIR));
  }
  const use = measureElf(elf);
  return { board, elf, buildHash, models: modelsInfo, memory: { ...use, flashBudget: board.flashBytes, ramBudget: board.ramBytes }, cached: false, variant: gen.variant, extImage: extImage() };
}
