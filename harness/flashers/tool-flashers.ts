/**
 * Flashers that drive a host tool: OpenOCD, pyOCD, probe-rs, st-flash, dfu-util. Each one is
 * just the argument arrays it runs; running and error reporting are shared.
 */
import fs from 'node:fs';
import type { Flasher, ProbeRef } from '../capabilities/flasher.js';
import type { FlasherSpec } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import { spawnTool, type ToolRunner } from './run-tool.js';

export interface ToolFlasherOptions {
  /** Overrides the tool's executable (tests, non-standard installs). */
  binary?: string;
  runner?: ToolRunner;
  timeoutMs?: number;
}

/** The .bin next to the ELF (the firmware Makefile writes both). */
export function binFor(elf: string): string {
  const bin = elf.replace(/\.elf$/, '.bin');
  if (!fs.existsSync(bin)) throw new HilError('raw image missing: the build writes firmware.bin next to firmware.elf', bin);
  return bin;
}

export abstract class ToolFlasher implements Flasher {
  abstract readonly kind: string;
  abstract readonly tool: string;
  /** Arguments that write (and verify) the image. */
  abstract flashArgs(elf: string): string[];
  /** Arguments that reset the target, or undefined when the tool cannot. */
  abstract resetArgs(): string[] | undefined;
  /** Arguments that write a raw image to external flash at `address` and restart the target; undefined when the tool cannot. */
  externalArgs(_file: string, _address: number): string[] | undefined {
    return undefined;
  }

  constructor(
    protected readonly spec: FlasherSpec,
    protected readonly probe: ProbeRef,
    protected readonly options: ToolFlasherOptions = {},
  ) {}

  private async run(args: string[], what: string, timeoutMs = this.options.timeoutMs ?? 120000): Promise<void> {
    const binary = this.options.binary ?? this.tool;
    const r = await (this.options.runner ?? spawnTool)(binary, [...args, ...(this.spec.extra_args ?? [])], timeoutMs);
    if (r.code !== 0) {
      const last = r.output.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
      throw new HilError(`${what} failed (${this.tool} exit ${r.code})${last ? `: ${last}` : ''}`, `flasher ${this.kind}${this.probe.usb_serial ? ` probe ${this.probe.usb_serial}` : ''}`);
    }
  }

  async flash(elf: string): Promise<void> {
    if (!fs.existsSync(elf)) throw new HilError('firmware image not found', elf);
    await this.run(this.flashArgs(elf), 'flashing');
  }

  externalFlashProblem(): string | undefined {
    return this.externalArgs('', 0) ? undefined : `the ${this.kind} flasher cannot write the board's external flash`;
  }

  async writeExternal(file: string, address: number): Promise<void> {
    const args = this.externalArgs(file, address);
    if (!args) throw new HilError(this.externalFlashProblem() ?? 'cannot write external flash', `flasher ${this.kind}`);
    if (!fs.existsSync(file)) throw new HilError('image for external flash not found', file);
    // erase, program and verify of a QSPI NOR through a debug probe: allow 20 KB/s (7.8 MB: 6.5 min)
    const timeoutMs = Math.max(this.options.timeoutMs ?? 120000, Math.ceil(fs.statSync(file).size / 20));
    await this.run(args, `writing external flash at 0x${address.toString(16)}`, timeoutMs);
  }

  async reset(): Promise<void> {
    const args = this.resetArgs();
    if (!args) throw new HilError(`${this.tool} cannot reset the target; power-cycle the board`, `flasher ${this.kind}`);
    await this.run(args, 'reset');
  }
}

export class OpenOcdFlasher extends ToolFlasher {
  readonly kind = 'openocd';
  readonly tool = 'openocd';
  private base(): string[] {
    const files = (this.spec.config ?? []).flatMap((f) => ['-f', f]);
    // The board file sources the interface; the serial picks one of several identical probes.
    return this.probe.usb_serial ? [...files, '-c', `adapter serial ${this.probe.usb_serial}`] : files;
  }
  flashArgs(elf: string): string[] {
    return [...this.base(), '-c', `program {${elf}} verify reset exit`];
  }
  resetArgs(): string[] {
    return [...this.base(), '-c', 'init', '-c', 'reset run', '-c', 'shutdown'];
  }
  /** Through the stmqspi flash bank the rig's config declares (flasher.external_flash: true). */
  override externalArgs(file: string, address: number): string[] | undefined {
    if (this.spec.external_flash !== true) return undefined;
    const at = `0x${address.toString(16)}`;
    return [...this.base(), '-c', 'init', '-c', 'reset init', '-c', `flash write_image erase {${file}} ${at} bin`, '-c', `verify_image {${file}} ${at} bin`, '-c', 'reset run', '-c', 'shutdown'];
  }
  override externalFlashProblem(): string | undefined {
    return this.spec.external_flash === true
      ? undefined
      : "the openocd flasher writes external flash only when the rig declares flasher.external_flash: true (its config must define the stmqspi flash bank, as board/stm32f7discovery.cfg does)";
  }
}

export class PyOcdFlasher extends ToolFlasher {
  readonly kind = 'pyocd';
  readonly tool = 'pyocd';
  private base(): string[] {
    return ['-t', this.spec.target ?? '', ...(this.probe.usb_serial ? ['-u', this.probe.usb_serial] : [])];
  }
  flashArgs(elf: string): string[] {
    return ['flash', ...this.base(), '--format', 'elf', elf];
  }
  resetArgs(): string[] {
    return ['reset', ...this.base()];
  }
}

export class ProbeRsFlasher extends ToolFlasher {
  readonly kind = 'probe-rs';
  readonly tool = 'probe-rs';
  private base(): string[] {
    const p = this.probe;
    // probe-rs selects a probe by VID:PID[:serial]; without the ids it takes the only probe.
    const sel = p.vendorId !== undefined && p.productId !== undefined ? [`${hex4(p.vendorId)}:${hex4(p.productId)}${p.usb_serial ? `:${p.usb_serial}` : ''}`] : [];
    return ['--chip', this.spec.target ?? '', ...(sel.length ? ['--probe', sel[0]] : [])];
  }
  flashArgs(elf: string): string[] {
    return ['download', ...this.base(), '--verify', elf];
  }
  resetArgs(): string[] {
    return ['reset', ...this.base()];
  }
}

export class StFlashFlasher extends ToolFlasher {
  readonly kind = 'st-flash';
  readonly tool = 'st-flash';
  private base(): string[] {
    return this.probe.usb_serial ? ['--serial', this.probe.usb_serial] : [];
  }
  flashArgs(elf: string): string[] {
    return [...this.base(), '--reset', 'write', binFor(elf), this.spec.address ?? '0x08000000'];
  }
  resetArgs(): string[] {
    return [...this.base(), 'reset'];
  }
}

export class DfuUtilFlasher extends ToolFlasher {
  readonly kind = 'dfu-util';
  readonly tool = 'dfu-util';
  flashArgs(elf: string): string[] {
    const serial = this.probe.usb_serial ? ['-S', this.probe.usb_serial] : [];
    return ['-a', String(this.spec.alt ?? 0), ...serial, '-s', `${this.spec.address ?? '0x08000000'}:leave`, '-D', binFor(elf)];
  }
  /** The DFU boot loader leaves to the application after the download; there is no reset. */
  resetArgs(): undefined {
    return undefined;
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
