/**
 * QEMU adapter: boots the ELF on an emulated Cortex-M machine with -icount (deterministic
 * virtual time) and exposes its UART as a pseudo-terminal that the serialport package opens.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DeviceClock, TickModel } from '../capabilities/figures.js';
import type { Link } from '../capabilities/link.js';
import { emulatedTickModel } from '../estimate/cycle-model.js';
import type { Flasher } from '../capabilities/flasher.js';
import { buildPlugin, pluginOption, pluginPath, WindowFile, type WindowSource } from '../estimate/plugin.js';
import { SerialLink } from '../link/serial-link.js';
import type { Rig } from '../rig/rig.js';
import { onCleanup } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';
import { requireTools } from '../util/tools.js';
import { startQemu, type QemuProcess } from './qemu-process.js';
import type { Dut, DutOptions, ImageLayout } from './dut.js';
import type { ExtImage } from '../firmware/build.js';
import { readBoard } from '../firmware/board.js';

/** "Flashing" an emulated board is choosing the ELF that QEMU's loader puts in its flash. */
export class QemuLoaderFlasher implements Flasher {
  readonly kind = 'qemu-loader';
  elf?: string;
  async flash(elfPath: string): Promise<void> {
    if (!fs.existsSync(elfPath)) throw new HilError('firmware image not found', elfPath);
    this.elf = elfPath;
  }
}

export class QemuDut implements Dut {
  readonly description: string;
  readonly figures = 'emulated-estimate' as const;
  private qemu?: QemuProcess;
  private ptyPath?: string;
  private link?: Link;
  private removeCleanup?: () => void;
  private readonly flasher = new QemuLoaderFlasher();
  private extImage?: ExtImage;
  private preloadImage?: { file: string; base: number };
  private layout?: ImageLayout;
  private windowDir?: string;
  private windowFile?: WindowFile;

  constructor(
    private readonly rig: Rig,
    private readonly options: DutOptions = {},
  ) {
    this.description = `QEMU ${this.machine} (rig ${rig.name})`;
  }

  tickModel(clock: DeviceClock): TickModel {
    const cost = this.rig.estimate;
    if (!cost) throw new HilError('estimate: an emulated rig needs a cost model to turn instructions into time', this.rig.file);
    return emulatedTickModel(cost, clock.timer_hz, this.rig.dut.icount_shift ?? 0);
  }

  describe(): Record<string, unknown> {
    return { kind: 'qemu', description: this.description, qemu_args: this.flasher.elf ? this.args(rel(this.flasher.elf)) : undefined };
  }

  /**
   * Marker windows counted by the cycle plugin (instruction classes, flash accesses), when the
   * rig's estimate has a class model; undefined otherwise. Valid after start().
   */
  get windows(): WindowSource | undefined {
    return this.windowFile;
  }

  /**
   * The plugin's output file, in a temporary folder made at start() and removed at close(), when
   * the rig has a class model (a placeholder path before start(), for run.json).
   */
  get canCountInstructions(): boolean {
    return this.rig.estimate?.class_model !== undefined;
  }

  preloadCapacity(): number {
    return readBoard(this.rig.board).preloadBytes ?? 0;
  }

  private windowsPath(create: boolean): string | undefined {
    if (!this.rig.estimate?.class_model || this.options.instructionWindows === false) return undefined;
    if (create) this.windowDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'yono-cycles-'));
    return path.join(this.windowDir ?? path.join(os.tmpdir(), 'yono-cycles-XXXXXX'), 'windows.jsonl');
  }

  private pluginArgs(start: boolean): string[] {
    const model = this.rig.estimate?.class_model;
    const out = this.windowsPath(start);

    if (!model || !out) return [];
    return ['-plugin', pluginOption(start ? buildPlugin() : pluginPath(), this.rig, model, out)];
  }

  private removeWindowDir(): void {
    if (this.windowDir) fs.rmSync(this.windowDir, { recursive: true, force: true });
    this.windowDir = undefined;
  }

  private get machine(): string {
    return this.rig.dut.machine ?? this.rig.board;
  }

  /** The QEMU command line, exposed for run.json so a run can be reproduced by hand. */
  args(elf: string, options: { buildPlugin?: boolean } = {}): string[] {
    return [
      '-M', this.machine,
      '-nographic',
      '-monitor', 'none',
      '-serial', 'pty',
      '-icount', `shift=${this.rig.dut.icount_shift ?? 0}`,
      ...this.pluginArgs(options.buildPlugin ?? false),
      ...(this.rig.dut.extra_args ?? []),
      // the int8-ext baseline's external storage: QEMU's loader fills the board's RAM region with ext.bin
      ...(this.extImage ? ['-device', `loader,file=${this.extImage.file},addr=0x${(this.extImage.base ?? 0).toString(16)},force-raw=on`] : []),
      // test inputs for RUN_PRELOADED, in the board's preload region (SPEC section 1)
      ...(this.preloadImage ? ['-device', `loader,file=${this.preloadImage.file},addr=0x${this.preloadImage.base.toString(16)},force-raw=on`] : []),
      // a raw .bin goes to its load address and an Intel HEX file to its own addresses through
      // QEMU's generic loader; an M-profile core then fetches its vector table from there
      ...(this.layout?.format === 'bin'
        ? ['-device', `loader,file=${elf},addr=0x${(this.layout.loadAddress ?? 0).toString(16)},force-raw=on`]
        : this.layout?.format === 'hex'
          ? ['-device', `loader,file=${elf}`]
          : ['-kernel', elf]),
    ];
  }

  async flash(elfPath: string, extImage?: ExtImage, layout?: ImageLayout): Promise<void> {
    await this.flasher.flash(elfPath);
    this.layout = layout;
    if (extImage) {
      if (extImage.base === undefined) throw new HilError('board has no emulated external storage (EXT_STORAGE_BASE in board.mk)', this.description);
      if (!fs.existsSync(extImage.file)) throw new HilError('external model image not found', extImage.file);
    }
    this.extImage = extImage;
  }

  /**
   * Raw bytes QEMU's loader puts at the board's PRELOAD_BASE at the next start(), for
   * RUN_PRELOADED; undefined removes them.
   */
  preload(file: string | undefined): void {
    if (file === undefined) {
      this.preloadImage = undefined;
      return;
    }
    const board = readBoard(this.rig.board);
    if (board.preloadBase === undefined || board.preloadBytes === undefined) {
      throw new HilError(`board ${board.name} has no preload region (PRELOAD_BASE/PRELOAD_SIZE in board.mk)`, this.description);
    }
    if (!fs.existsSync(file)) throw new HilError('preload file not found', file);
    const bytes = fs.statSync(file).size;
    if (bytes > board.preloadBytes) throw new HilError(`preload file of ${bytes} B exceeds the ${board.preloadBytes} B preload region of board ${board.name}`, file);
    this.preloadImage = { file, base: board.preloadBase };
  }

  async start(): Promise<void> {
    if (!this.flasher.elf) throw new HilError('start() before flash()', this.description);
    requireTools(['qemu-system-arm']);
    const args = this.args(this.flasher.elf, { buildPlugin: true });
    const out = this.windowsPath(true);
    this.windowFile = out ? new WindowFile(out) : undefined;
    this.removeCleanup = onCleanup(() => this.close());
    this.qemu = await startQemu(args, this.description, this.rig.dut.boot_timeout_ms ?? 10000);
    this.ptyPath = this.qemu.pty;
  }

  /** The emulator's process id while it runs (fault injection: pause or kill it). */
  get pid(): number | undefined {
    return this.qemu?.child.pid;
  }

  async reset(): Promise<void> {
    await this.close();
    await this.start();
  }

  async connect(): Promise<Link> {
    const exited = this.qemu?.exited();
    if (!this.ptyPath || !this.qemu || exited) throw new HilError(`QEMU is not running${exited ? ` (${exited})` : ''}`, this.description);
    const path = this.options.route ? await this.options.route(this.ptyPath) : this.ptyPath;
    this.link = await SerialLink.open({ path, baudRate: this.rig.link.baud ?? 115200, label: `QEMU ${this.machine} serial0`, retryForMs: this.rig.dut.boot_timeout_ms ?? 10000 });
    return this.link;
  }

  async close(): Promise<void> {
    this.removeCleanup?.();
    this.removeCleanup = undefined;
    const link = this.link;
    this.link = undefined;
    await link?.close();
    const qemu = this.qemu;
    this.qemu = undefined;
    await qemu?.stop();
    this.removeWindowDir();
  }
}
