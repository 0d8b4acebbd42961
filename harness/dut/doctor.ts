/**
 * `hil rigs doctor`: what is plugged in (USB devices, serial ports), which rig each belongs to
 * (by USB serial number or port path), and exactly what each real-board rig still lacks.
 * Discovery is kept apart from the rig description; the report logic takes injected lists.
 */
import type { Rig } from '../rig/rig.js';
import { listSerialPorts, findPortByUsbSerial, type SerialPortInfo } from '../discovery/serial-ports.js';
import { readBoard } from '../firmware/board.js';
import { RspClient } from '../flashers/gdb-remote.js';
import { createDut } from './factory.js';
import { NetPort } from '../link/net-port.js';
import { HilError } from '../util/errors.js';
import { describeHolder, rigLockHolder, type LockHolder } from '../util/rig-lock.js';

export interface UsbDeviceInfo {
  vendorId: number;
  productId: number;
  serialNumber?: string;
  product?: string;
}

/** USB vendor ids of the instruments a rig uses. */
export const KNOWN_VENDORS: Record<number, string> = {
  0x0483: 'ST-Link (STMicroelectronics)',
  0x0d28: 'CMSIS-DAP / DAPLink (Arm)',
  0x1366: 'J-Link (SEGGER)',
  0x1915: 'Nordic (PPK2)',
};
const PROBE_VENDOR: Record<string, number> = { stlink: 0x0483, 'cmsis-dap': 0x0d28, jlink: 0x1366 };

export interface UsbScan {
  devices: UsbDeviceInfo[];
  /** Why no list could be read ("no USB bus visible"), when that is the case. */
  problem?: string;
}

/** Lists USB devices with the `usb` package; a host without a USB bus is a finding, not a crash. */
export async function scanUsb(): Promise<UsbScan> {
  try {
    const usb = await import('usb');
    const list = usb.getDeviceList();
    if (list.length === 0) return { devices: [], problem: 'no USB bus visible (no devices listed)' };
    const devices: UsbDeviceInfo[] = [];
    for (const d of list) {
      const desc = d.deviceDescriptor;
      devices.push({ vendorId: desc.idVendor, productId: desc.idProduct, serialNumber: await readSerial(d, desc.iSerialNumber) });
    }
    return { devices };
  } catch (e) {
    return { devices: [], problem: `no USB bus visible (${(e as Error).message})` };
  }
}

type UsbDevice = { open(): void; close(): void; getStringDescriptor(i: number, cb: (err: unknown, s?: string) => void): void };

/** The serial number needs the device opened, which fails without permissions: then unknown. */
async function readSerial(d: UsbDevice, index: number): Promise<string | undefined> {
  if (!index) return undefined;
  try {
    d.open();
    return await new Promise((resolve) => d.getStringDescriptor(index, (err, s) => resolve(err ? undefined : s)));
  } catch {
    return undefined;
  } finally {
    try {
      d.close();
    } catch {
      // was not open
    }
  }
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

export interface RigCheck {
  rig: string;
  ok: boolean;
  lines: string[];
  /** names network services (shown as "remote") */
  remote?: boolean;
  /** another job holds the rig's lock */
  busy?: boolean;
}

export function checkRig(rig: Rig, usb: UsbScan, ports: SerialPortInfo[], exists: (p: string) => boolean): RigCheck {
  const lines: string[] = [];
  let ok = true;
  const miss = (text: string) => {
    ok = false;
    lines.push(`missing: ${text}`);
  };
  if (rig.dut.kind === 'qemu') {
    // an emulated rig has no hardware to find: say which stated models its figures will come from
    const tools = rig.estimate?.class_model ? 'qemu-system-arm and gcc (cycle plugin)' : 'qemu-system-arm';
    const emulated = [`emulated: needs ${tools}`];
    if (rig.power?.kind === 'emulated') emulated.push(`power: emulated model, ${rig.power.run_current_a} A running / ${rig.power.idle_current_a} A idle at ${rig.power.supply_v} V (emulated-estimate)`);
    if (rig.storage?.length) emulated.push(`storage models (int8-ext baseline): ${rig.storage.map((s) => s.name).join(', ')}`);
    return { rig: rig.name, ok: true, lines: emulated };
  }
  const probe = rig.dut.probe;
  const gdb = remoteGdbServer(rig);
  if (gdb) {
    lines.push(`probe: ${probe.kind} behind the GDB server ${gdb} (not looked for on this machine's USB)`);
  } else {
    checkProbe();
  }
  function checkProbe(): void {
    const vendor = PROBE_VENDOR[probe.kind];
    const candidates = usb.devices.filter((d) => d.vendorId === vendor);
    const found = probe.usb_serial ? candidates.find((d) => d.serialNumber === probe.usb_serial) : candidates[0];
    if (found) lines.push(`probe: ${probe.kind} ${hex4(found.vendorId)}:${hex4(found.productId)}${found.serialNumber ? ` serial ${found.serialNumber}` : ''}`);
    else if (usb.problem) miss(`probe ${probe.kind}${probe.usb_serial ? ` serial ${probe.usb_serial}` : ''} (${usb.problem})`);
    else if (candidates.length > 0) miss(`probe ${probe.kind} serial ${probe.usb_serial}; ${probe.kind} probes present: ${candidates.map((c) => c.serialNumber ?? '(serial unreadable)').join(', ')}`);
    else miss(`probe ${probe.kind}${probe.usb_serial ? ` serial ${probe.usb_serial}` : ''}: no USB device with vendor ${hex4(vendor)} is connected`);
  }

  const link = rig.link;
  if (link.url) {
    // network services are checked by checkRemote()
  } else if (link.path) {
    if (exists(link.path)) lines.push(`link: ${link.path}`);
    else miss(`link port ${link.path} does not exist`);
  } else if (link.usb_serial) {
    const p = findPortByUsbSerial(ports, link.usb_serial);
    if (p) lines.push(`link: ${p.path} (USB serial ${link.usb_serial})`);
    else miss(`link: no serial port offered by USB serial ${link.usb_serial}`);
  }

  const power = rig.power;
  if (power && power.kind !== 'none' && !power.url) {
    if (power.port) {
      if (exists(power.port)) lines.push(`power: ${power.kind} on ${power.port}`);
      else miss(`power monitor ${power.kind}: port ${power.port} does not exist`);
    } else if (power.usb_serial) {
      const p = findPortByUsbSerial(ports, power.usb_serial);
      if (p) lines.push(`power: ${power.kind} on ${p.path}`);
      else miss(`power monitor ${power.kind}: no serial port offered by USB serial ${power.usb_serial}`);
    }
  }
  // preloaded test inputs: where the board has a region, whether this rig's flasher can fill it
  const dut = createDut(rig);
  const base = readBoard(rig.board).preloadBase;
  if (dut.preloadCapacity() > 0 && base !== undefined) lines.push(`preload: ${dut.preloadCapacity() / 2 ** 20} MiB of external flash from 0x${base.toString(16)}, written once by the ${rig.flasher.kind} flasher`);
  else if (dut.preloadUnavailable?.()) lines.push(`preload: not used (${dut.preloadUnavailable?.()}); accuracy inputs stream`);
  return { rig: rig.name, ok, lines };
}

/** "host:port" of a rig's GDB server on another machine (flasher gdb-remote), else undefined. */
export function remoteGdbServer(rig: Rig): string | undefined {
  const f = rig.flasher;
  if (f.kind !== 'gdb-remote') return undefined;
  const host = f.host ?? 'localhost';
  return `${host}:${f.port ?? 3333}`;
}

/** True for a rig that names network services (a serial URL or a GDB server). */
export function isRemoteRig(rig: Rig): boolean {
  return rig.link.url !== undefined || rig.power?.url !== undefined || rig.flasher.kind === 'gdb-remote';
}

export interface RemoteCheckOptions {
  /** per service: TCP connect and each answer (default 2000 ms) */
  timeoutMs?: number;
  /** the live holder of the rig's lock (default: read from the lock directory) */
  holder?: (rig: string) => LockHolder | undefined;
}

/**
 * Asks each network service a rig names whether it answers: a serial URL is opened (TCP connect;
 * for rfc2217:// the COM-PORT option and 8N1 at the rig's baud rate answered), a GDB server is
 * asked qSupported. A rig another job holds is not touched (ser2net would drop that job's
 * connection, a GDB server would halt its target): the holder is named instead.
 */
export async function checkRemote(rig: Rig, options: RemoteCheckOptions = {}): Promise<RigCheck> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const lines: string[] = [];
  let ok = true;
  if (!isRemoteRig(rig)) return { rig: rig.name, ok, lines };
  const holder = (options.holder ?? ((r) => rigLockHolder(r)))(rig.name);
  if (holder) return { rig: rig.name, ok: true, lines: [`busy: in use by ${describeHolder(holder)}; its services were not touched`] };
  const serial = async (field: string, url: string, baud: number) => {
    // ser2net drops a new connection at once for a moment after its last client left: retried within the timeout
    const port = new NetPort(url, { baudRate: baud, connectTimeoutMs: timeoutMs, negotiateTimeoutMs: timeoutMs, retryForMs: timeoutMs });
    try {
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
      const s = port.settings;
      lines.push(port.address.scheme === 'rfc2217'
        ? `${field}: ${url} answers (RFC 2217 COM-PORT accepted, ${s.baudRate} baud 8N1 confirmed)`
        : `${field}: ${url} accepts connections (raw TCP)`);
    } catch (e) {
      ok = false;
      lines.push(`missing: ${field} ${url}: ${e instanceof HilError ? e.message : String(e)}`);
    } finally {
      await new Promise<void>((r) => port.close(() => r()));
    }
  };
  if (rig.link.url) await serial('link', rig.link.url, rig.link.baud ?? 115200);
  if (rig.power?.url) await serial(`power ${rig.power.kind}`, rig.power.url, 115200);
  const gdb = rig.flasher.kind === 'gdb-remote' ? `${rig.flasher.host ?? 'localhost'}:${rig.flasher.port ?? 3333}` : undefined;
  if (gdb) {
    let client: RspClient | undefined;
    try {
      client = await RspClient.connect(rig.flasher.host ?? 'localhost', rig.flasher.port ?? 3333, timeoutMs);
      await client.send('qSupported:swbreak+;hwbreak+', 'qSupported');
      const features = await client.reply('qSupported', timeoutMs);
      const size = /PacketSize=([0-9a-fA-F]+)/.exec(features);
      lines.push(`flasher: GDB server ${gdb} answers qSupported${size ? ` (PacketSize ${parseInt(size[1], 16)})` : ''}`);
    } catch (e) {
      ok = false;
      lines.push(`missing: flasher GDB server ${gdb}: ${e instanceof HilError ? e.message : String(e)}`);
    } finally {
      client?.close();
    }
  }
  return { rig: rig.name, ok, lines };
}

export function formatDoctor(usb: UsbScan, ports: SerialPortInfo[], checks: RigCheck[]): string {
  const out: string[] = ['USB devices:'];
  if (usb.problem) out.push(`  ${usb.problem}`);
  for (const d of usb.devices) {
    out.push(`  ${hex4(d.vendorId)}:${hex4(d.productId)}${d.serialNumber ? ` serial ${d.serialNumber}` : ''}${KNOWN_VENDORS[d.vendorId] ? `  ${KNOWN_VENDORS[d.vendorId]}` : ''}`);
  }
  out.push('serial ports:');
  if (ports.length === 0) out.push('  none');
  for (const p of ports) {
    const id = p.vendorId === undefined ? '' : ` ${hex4(p.vendorId)}:${hex4(p.productId ?? 0)}`;
    out.push(`  ${p.path}${id}${p.serialNumber ? ` serial ${p.serialNumber}` : ''}${p.product ? ` (${p.product})` : ''}`);
  }
  out.push('rigs:');
  for (const c of checks) {
    out.push(`  ${c.rig}${c.remote ? ' (remote)' : ''}: ${c.ok ? (c.busy ? 'busy' : 'ready') : 'NOT READY'}`);
    for (const l of c.lines) out.push(`    ${l}`);
  }
  return out.join('\n');
}

export async function runDoctor(rigs: Rig[], exists: (p: string) => boolean, remote: RemoteCheckOptions = {}): Promise<{ text: string; ready: boolean }> {
  const usb = await scanUsb();
  const ports = listSerialPorts();
  const checks = await Promise.all(
    rigs.map(async (r) => {
      const local = checkRig(r, usb, ports, exists);
      if (!isRemoteRig(r)) return local;
      const net = await checkRemote(r, remote);
      const busy = net.lines.some((l) => l.startsWith('busy:'));
      return { rig: r.name, ok: local.ok && net.ok, remote: true, busy, lines: [...local.lines, ...net.lines] };
    }),
  );
  return { text: formatDoctor(usb, ports, checks), ready: checks.every((c) => c.ok) };
}
