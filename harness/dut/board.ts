/**
 * A real board: flashed and reset through its debug probe (a Flasher), reached over a serial
 * port found by path or by the USB serial number of the device that offers it.
 */
import fs from 'node:fs';
import type { DeviceClock, TickModel } from '../capabilities/figures.js';
import type { Flasher } from '../capabilities/flasher.js';
import type { Link } from '../capabilities/link.js';
import { findPortByUsbSerial, listSerialPorts, type SerialPortInfo } from '../discovery/serial-ports.js';
import { createFlasher } from '../flashers/factory.js';
import { SerialLink } from '../link/serial-link.js';
import type { BoardDutSpec, Rig } from '../rig/rig.js';
import { readBoard } from '../firmware/board.js';
import { HilError } from '../util/errors.js';
import type { ImageLayout, Dut } from './dut.js';
import type { ExtImage } from '../firmware/build.js';

export interface BoardDutOptions {
  flasher?: Flasher;
  listPorts?: () => SerialPortInfo[];
  openLink?: (path: string, baud: number) => Promise<Link>;
}

export class BoardDut implements Dut {
  readonly description: string;
  readonly figures = 'measured' as const;
  readonly canCountInstructions = false;
  /** The board's preload region in its external flash (board.mk PRELOAD_*), when its flasher can write it. */
  preloadCapacity(): number {
    const board = readBoard(this.rig.board);
    return board.preloadBase === undefined || this.preloadUnavailable() ? 0 : (board.preloadBytes ?? 0);
  }

  preloadUnavailable(): string | undefined {
    return readBoard(this.rig.board).preloadBytes ? this.externalWriteProblem() : undefined;
  }

  /** Why the flasher cannot write the board's external flash, or undefined when it can. */
  private externalWriteProblem(): string | undefined {
    return this.flasher.writeExternal ? this.flasher.externalFlashProblem?.() : `the ${this.flasher.kind} flasher cannot write the board's external flash`;
  }

  async writePreload(file: string): Promise<void> {
    const base = readBoard(this.rig.board).preloadBase;
    if (this.preloadCapacity() === 0 || !this.flasher.writeExternal || base === undefined) {
      throw new HilError(this.preloadUnavailable() ?? `board ${this.rig.board} has no preload region`, this.description);
    }
    const bytes = fs.statSync(file).size;
    if (bytes > this.preloadCapacity()) throw new HilError(`preload file of ${bytes} B exceeds the ${this.preloadCapacity()} B preload region of board ${this.rig.board}`, file);
    await this.link?.close();
    this.link = undefined;
    await this.flasher.writeExternal(file, base);
    await this.waitForPort();
  }
  private readonly flasher: Flasher;
  private link?: Link;
  private flashed = false;

  constructor(
    private readonly rig: Rig & { dut: BoardDutSpec },
    private readonly options: BoardDutOptions = {},
  ) {
    const p = rig.dut.probe;
    this.description = `${rig.board} via ${p.kind}${p.usb_serial ? ` ${p.usb_serial}` : ''} (rig ${rig.name})`;
    this.flasher = options.flasher ?? createFlasher(rig.flasher, p);
  }

  /** The board's timer is its DWT cycle counter: cycles and time are measured. */
  tickModel(clock: DeviceClock): TickModel {
    return {
      source: 'measured',
      instructions: () => undefined,
      cycles: (t) => (t * clock.clock_hz) / clock.timer_hz,
      ms: (t) => (t / clock.timer_hz) * 1000,
      clockHz: clock.clock_hz,
      description: `${clock.timer} cycle counter @ ${(clock.clock_hz / 1e6).toFixed(0)} MHz`,
    };
  }

  describe(): Record<string, unknown> {
    const p = this.rig.dut.probe;
    const f = this.rig.flasher;
    return {
      kind: 'board', description: this.description, probe: p.kind, usb_serial: p.usb_serial, flasher: this.flasher.kind,
      ...(this.rig.link.url ? { link_url: this.rig.link.url } : {}),
      ...(f.kind === 'gdb-remote' ? { gdb_server: `${f.host ?? 'localhost'}:${f.port}` } : {}),
    };
  }

  /** The serial device path now (USB ports get a new name after re-enumeration), or the remote port's URL. */
  portPath(): string {
    const l = this.rig.link;
    if (l.url) return l.url;
    if (l.path) {
      if (!fs.existsSync(l.path)) throw new HilError('serial port not present (board unplugged?)', `${this.rig.name}: link.path ${l.path}`);
      return l.path;
    }
    const ports = (this.options.listPorts ?? listSerialPorts)();
    const port = findPortByUsbSerial(ports, l.usb_serial ?? '');
    if (!port) {
      const seen = ports.map((p) => `${p.path}${p.serialNumber ? ` (${p.serialNumber})` : ''}`).join(', ') || 'none';
      throw new HilError(`no serial port with USB serial ${l.usb_serial}; ports seen: ${seen} (try 'hil rigs doctor')`, `${this.rig.name}: link.usb_serial`);
    }
    return port.path;
  }

  async flash(elfPath: string, extImage?: ExtImage, layout?: ImageLayout): Promise<void> {
    if (layout && layout.format !== 'elf') throw new HilError(`a board rig flashes ELF images only; convert the .${layout.format} image to an ELF`, this.description);
    if (extImage) {
      // the int8-ext baseline's image goes where the board's external storage is memory-mapped (board.mk EXT_STORAGE_BASE)
      const why = extImage.base === undefined ? `board ${this.rig.board} names no EXT_STORAGE_BASE to write it at` : this.externalWriteProblem();
      if (why || !this.flasher.writeExternal || extImage.base === undefined) {
        throw new HilError(`cannot write the external model image (${extImage.bytes} B): ${why}; write ${extImage.file} to the board's external storage at offset 0 by hand`, this.description);
      }
      await this.flasher.writeExternal(extImage.file, extImage.base);
    }
    await this.flasher.flash(elfPath);
    this.flashed = true;
  }

  /** A board runs as soon as it is flashed (the flash tools reset it); start only checks that. */
  async start(): Promise<void> {
    if (!this.flashed) throw new HilError('start() before flash()', this.description);
  }

  async reset(): Promise<void> {
    await this.link?.close();
    this.link = undefined;
    if (!this.flasher.reset) throw new HilError(`the ${this.flasher.kind} flasher cannot reset the board`, this.description);
    await this.flasher.reset();
    await this.waitForPort();
  }

  /** After a reset a USB CDC port may vanish and come back (probes that re-enumerate). */
  async waitForPort(): Promise<string> {
    const deadline = Date.now() + (this.rig.dut.boot_timeout_ms ?? 10000);
    await sleep(this.rig.dut.reset_settle_ms ?? 100);
    for (;;) {
      try {
        return this.portPath();
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  }

  async connect(): Promise<Link> {
    const path = await this.waitForPort();
    const baud = this.rig.link.baud ?? 115200;
    this.link = await (this.options.openLink ?? ((p, b) => SerialLink.open({ path: p, baudRate: b, label: this.rig.board, retryForMs: this.rig.dut.boot_timeout_ms ?? 10000 })))(path, baud);
    return this.link;
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    await link?.close();
    await this.flasher.close?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
