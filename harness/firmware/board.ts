/** Board facts, read from firmware/boards/<board>/board.mk (their single source). */
import fs from 'node:fs';
import path from 'node:path';
import { HilError } from '../util/errors.js';
import { FIRMWARE_DIR, rel } from '../util/paths.js';

export interface BoardFacts {
  name: string;
  core: string;
  flashBytes: number;
  ramBytes: number;
  clockHz: number;
  timer: string;
  timerHz: number;
  qemuMachine?: string;
  /** External model storage (the int8-ext baseline): its size, and where QEMU maps it (mps2 PSRAM). */
  extStorageBytes?: number;
  extStorageBase?: number;
  /** Spare memory QEMU's loader fills with test inputs for RUN_PRELOADED (SPEC section 1); undefined without one. */
  preloadBase?: number;
  preloadBytes?: number;
}

export function listBoards(): string[] {
  const dir = path.join(FIRMWARE_DIR, 'boards');
  return fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'board.mk'))).sort();
}

export function readBoard(board: string): BoardFacts {
  const file = path.join(FIRMWARE_DIR, 'boards', board, 'board.mk');
  if (!fs.existsSync(file)) throw new HilError(`unknown board; available: ${listBoards().join(', ')}`, board);
  const vars: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)\s*[:?]?=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  const num = (key: string): number => {
    const v = Number(vars[key]);
    if (!Number.isFinite(v) || v <= 0) throw new HilError(`${key} must be a positive number, got "${vars[key] ?? ''}"`, rel(file));
    return v;
  };
  const str = (key: string): string => {
    if (!vars[key]) throw new HilError(`${key} is missing`, rel(file));
    return vars[key];
  };
  return {
    name: board,
    core: str('CORE'),
    flashBytes: num('FLASH_SIZE'),
    ramBytes: num('RAM_SIZE'),
    clockHz: num('CLOCK_HZ'),
    timer: str('TIMER'),
    timerHz: num('TIMER_HZ'),
    qemuMachine: vars.QEMU_MACHINE,
    extStorageBytes: vars.EXT_STORAGE_SIZE ? num('EXT_STORAGE_SIZE') : undefined,
    extStorageBase: vars.EXT_STORAGE_BASE ? Number(vars.EXT_STORAGE_BASE) : undefined,
    preloadBase: vars.PRELOAD_BASE ? num('PRELOAD_BASE') : undefined,
    preloadBytes: vars.PRELOAD_SIZE ? num('PRELOAD_SIZE') : undefined,
  };
}
