/**
 * The QEMU cycle-counting plugin (firmware/tools/qemu-cycles/yono_cycles.c): built here with the
 * host gcc (cached by source hash under firmware/build/), given its arguments from the rig and
 * the board, and read back as one JSON line per closed marker window.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CacheSpec, ClassCostModel, Rig } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { FIRMWARE_DIR, rel } from '../util/paths.js';
import { hasTool } from '../util/tools.js';

export const PLUGIN_SOURCE_DIR = path.join(FIRMWARE_DIR, 'tools', 'qemu-cycles');
const SOURCES = ['yono_cycles.c', 'qemu-plugin-api.h'];

/** Counters of one window, as the plugin writes them (see COUNTER_NAMES). */
export const INSTRUCTION_CLASSES = ['alu', 'load', 'load_pipe', 'store', 'ldm', 'stm', 'mul', 'mull', 'div', 'branch', 'other'] as const;
export type InstructionClass = (typeof INSTRUCTION_CLASSES)[number];
export const EXTRA_COUNTERS = [
  'ldm_words', 'stm_words', 'taken', 'tbs',
  'r_flash', 'w_flash', 'r_sram', 'w_sram', 'r_periph', 'w_periph', 'r_other', 'w_other',
  'flash_rbytes', 'flash_dmiss', 'fetch_lines', 'fetch_miss', 'fetch_miss_seq',
] as const;
export type ExtraCounter = (typeof EXTRA_COUNTERS)[number];

export type WindowCounts = { seq: number; insns: number; marker_errors: number } & Record<InstructionClass | ExtraCounter, number>;

/** Marker windows closed on the device, in order. */
export interface WindowSource {
  /**
   * Windows closed since the last call, in order. `expect`: how many the caller knows were
   * closed (e.g. the timed runs of the INFER just answered); the call waits up to `waitMs` for
   * them (the plugin writes and flushes before the firmware even sends its reply, so the wait
   * only covers the file system).
   */
  drain(expect?: number, waitMs?: number): Promise<WindowCounts[]>;
}

/** Parses one output line; undefined for the config/exit lines and anything that is not a window. */
export function parseWindowLine(line: string): WindowCounts | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(t) as Record<string, unknown>;
  } catch {
    throw new HilError(`cycle plugin output is not JSON: ${t.slice(0, 80)}`, 'yono_cycles');
  }
  if (o.type !== 'window') return undefined;
  const w: Record<string, number> = {};
  for (const k of ['seq', 'insns', 'marker_errors', ...INSTRUCTION_CLASSES, ...EXTRA_COUNTERS]) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new HilError(`cycle plugin window lacks counter "${k}"`, 'yono_cycles');
    w[k] = v;
  }
  const sum = INSTRUCTION_CLASSES.reduce((a, c) => a + w[c], 0);
  if (sum !== w.insns) throw new HilError(`cycle plugin window ${w.seq}: classes sum to ${sum}, not ${w.insns}`, 'yono_cycles');
  return w as WindowCounts;
}

/** Every complete window line of a text (a trailing partial line is ignored). */
export function parseWindows(text: string): WindowCounts[] {
  const lines = text.split('\n');
  lines.pop(); // incomplete (or empty) last line
  return lines.map(parseWindowLine).filter((w): w is WindowCounts => w !== undefined);
}

/** Reads a growing plugin output file incrementally. */
export class WindowFile implements WindowSource {
  private offset = 0;
  private partial = '';

  constructor(readonly file: string) {}

  /** Forget what is in the file so far (a restarted QEMU truncates it). */
  reset(): void {
    this.offset = 0;
    this.partial = '';
  }

  private readNew(): WindowCounts[] {
    if (!fs.existsSync(this.file)) return [];
    const size = fs.statSync(this.file).size;
    if (size < this.offset) this.reset(); // truncated: a new QEMU
    if (size === this.offset) return [];
    const fd = fs.openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const text = this.partial + buf.subarray(0, n).toString('utf8');
      const cut = text.lastIndexOf('\n') + 1;
      this.partial = text.slice(cut);
      return parseWindows(text.slice(0, cut));
    } finally {
      fs.closeSync(fd);
    }
  }

  async drain(expect = 0, waitMs = 500): Promise<WindowCounts[]> {
    const got = this.readNew();
    const deadline = Date.now() + waitMs;
    while (got.length < expect && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      got.push(...this.readNew());
    }
    return got;
  }
}

function sourceHash(): string {
  return sha256(SOURCES.map((f) => `${f}\0${fs.readFileSync(path.join(PLUGIN_SOURCE_DIR, f), 'utf8')}`).join('\0')).slice(0, 16);
}

/** Where the plugin for the current sources lives (built or not). */
export function pluginPath(): string {
  return path.join(FIRMWARE_DIR, 'build', `qemu-cycles-${sourceHash()}`, 'yono_cycles.so');
}

/** Builds the plugin with the host gcc unless the build for these sources exists; returns its path. */
export function buildPlugin(): string {
  const so = pluginPath();
  if (fs.existsSync(so)) return so;
  if (!hasTool('gcc')) {
    throw new HilError('not installed: gcc (the host C compiler that builds the QEMU cycle plugin; install with: apt-get install gcc)', 'estimate.class_model');
  }
  fs.mkdirSync(path.dirname(so), { recursive: true });
  const tmp = `${so}.${process.pid}.tmp`;
  const cc = spawnSync('gcc', ['-shared', '-fPIC', '-fvisibility=hidden', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, path.join(PLUGIN_SOURCE_DIR, 'yono_cycles.c')], {
    encoding: 'utf8',
  });
  if (cc.status !== 0) {
    fs.rmSync(tmp, { force: true });
    const first = `${cc.stderr}`.split('\n').find((l) => /error/.test(l)) ?? `${cc.stderr}`.trim().split('\n')[0] ?? 'gcc failed';
    throw new HilError(`cycle plugin build failed: ${first}`, rel(PLUGIN_SOURCE_DIR));
  }
  fs.renameSync(tmp, so); // atomic: concurrent builders agree
  return so;
}

/** Memory map facts the plugin needs, from the board's board.mk (FLASH_/RAM_ORIGIN, _SIZE). */
export function boardRegions(board: string): { flash: [number, number]; sram: [number, number] } {
  const file = path.join(FIRMWARE_DIR, 'boards', board, 'board.mk');
  const vars: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)\s*[:?]?=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  const num = (k: string) => {
    const v = Number(vars[k]);
    if (!Number.isFinite(v)) throw new HilError(`${k} is missing or not a number`, rel(file));
    return v;
  };
  return { flash: [num('FLASH_ORIGIN'), num('FLASH_SIZE')], sram: [num('RAM_ORIGIN'), num('RAM_SIZE')] };
}

/** The register each board's board_marker_on/off writes (firmware/boards/.../board.c). */
const MARKER_ADDRESS: Record<string, number> = {
  'mps2-an386': 0x40028000, // FPGAIO LED0
  'mps2-an500': 0x40028000,
  netduinoplus2: 0x40020018, // GPIOA BSRR (PA8)
};

export function markerAddress(board: string): number | undefined {
  return MARKER_ADDRESS[board];
}

const hex = (n: number) => `0x${n.toString(16)}`;
const cacheArg = (c?: CacheSpec, fallbackLine = 16) => (c ? `${c.lines}:${c.line_bytes}:${c.ways ?? c.lines}` : `0:${fallbackLine}`);

/** The value of QEMU's -plugin option. */
export function pluginOption(so: string, rig: Rig, model: ClassCostModel, outFile: string): string {
  const marker = markerAddress(rig.board);
  if (marker === undefined) throw new HilError(`no marker register known for board ${rig.board} (harness/estimate/plugin.ts)`, rel(rig.file));
  const r = boardRegions(rig.board);
  const args = [
    `out=${outFile}`,
    `marker=${hex(marker)}`,
    `flash=${hex(r.flash[0])}:${hex(r.flash[1])}`,
    `sram=${hex(r.sram[0])}:${hex(r.sram[1])}`,
    `icache=${cacheArg(model.flash.icache, 16)}`,
    `dcache=${cacheArg(model.flash.dcache, 8)}`,
  ];
  for (const a of args) if (a.includes(',')) throw new HilError(`plugin argument contains a comma: ${a}`, 'yono_cycles');
  return [so, ...args].join(',');
}
