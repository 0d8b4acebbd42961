/** The power monitor a rig's `power` block names (undefined when it has none or `kind: none`). */
import type { MarkerStyle, PowerMonitor, PowerMonitorConfig } from '../capabilities/power-monitor.js';
import type { Rig } from '../rig/rig.js';
import { findPortByUsbSerial, listSerialPorts, type SerialPortInfo } from '../discovery/serial-ports.js';
import { HilError } from '../util/errors.js';
import { findStorage } from '../estimate/storage-model.js';
import type { ActivitySource } from '../capabilities/device-activity.js';
import { EmulatedPowerMonitor } from './emulated.js';
import type { PortFactory } from './instrument-port.js';
import { Ina226Monitor } from './ina226.js';
import { Lpm01aMonitor } from './lpm01a.js';
import { Ppk2Monitor } from './ppk2.js';

export interface PowerFactoryOptions {
  portFactory?: PortFactory;
  listPorts?: () => SerialPortInfo[];
  /** emulated: what the device did (the protocol client) */
  activity?: ActivitySource;
  /** emulated: CPU seconds of device timer ticks, from the rig's cost model */
  secondsOfTicks?: (ticks: number) => number;
  /** emulated: name of the rig's storage model for the baseline; undefined = no storage channel */
  storage?: string;
}

function createEmulated(rig: Rig, options: PowerFactoryOptions): EmulatedPowerMonitor {
  const p = rig.power!;
  const where = `${rig.name}: power`;
  if (!options.activity) throw new HilError('kind emulated needs the device activity (createPowerMonitor option activity, from the protocol client)', where);
  if (!options.secondsOfTicks) throw new HilError("kind emulated needs secondsOfTicks (createPowerMonitor option, from the rig's cost model)", where);
  for (const f of ['supply_v', 'run_current_a', 'idle_current_a', 'source'] as const) {
    if (p[f] === undefined) throw new HilError('required for kind emulated', `${where}.${f}`);
  }
  return new EmulatedPowerMonitor({
    power: { supply_v: p.supply_v!, run_current_a: p.run_current_a!, idle_current_a: p.idle_current_a!, source: p.source!, label: `${rig.name} power model` },
    storage: options.storage === undefined ? undefined : findStorage(rig, options.storage),
    secondsOfTicks: options.secondsOfTicks,
    activity: options.activity,
    sample_hz: p.sample_hz,
  });
}

export function createPowerMonitor(rig: Rig, options: PowerFactoryOptions = {}): PowerMonitor | undefined {
  const p = rig.power;
  if (!p || p.kind === 'none') return undefined;
  if (p.kind === 'emulated') return createEmulated(rig, options);
  let port = p.port ?? p.url;
  if (!port) {
    const ports = (options.listPorts ?? listSerialPorts)();
    const found = findPortByUsbSerial(ports, p.usb_serial ?? '');
    if (!found) {
      const seen = ports.map((x) => `${x.path}${x.serialNumber ? ` (${x.serialNumber})` : ''}`).join(', ') || 'none';
      throw new HilError(`no serial port with USB serial ${p.usb_serial}; ports seen: ${seen} (try 'hil rigs doctor')`, `${rig.name}: power.usb_serial`);
    }
    port = found.path;
  }
  const common = { port, portFactory: options.portFactory };
  switch (p.kind) {
    case 'ppk2':
      return new Ppk2Monitor(common);
    case 'lpm01a':
      return new Lpm01aMonitor(common);
    case 'ina226':
      return new Ina226Monitor(common);
  }
}

/** The configure() argument from the rig's power block (the schema requires voltage_mv for instruments). */
export function powerConfig(rig: Rig): PowerMonitorConfig | undefined {
  const p = rig.power;
  if (!p || p.kind === 'none') return undefined;
  if (p.kind === 'emulated') {
    if (p.supply_v === undefined) throw new HilError('required for kind emulated', `${rig.name}: power.supply_v`);
    return { voltage_mv: Math.round(p.supply_v * 1000), sample_hz: p.sample_hz };
  }
  if (p.voltage_mv === undefined) throw new HilError('required for a power instrument', `${rig.name}: power.voltage_mv`);
  return { voltage_mv: p.voltage_mv, sample_hz: p.sample_hz, marker: p.marker };
}

/** The marker style the rig's instrument needs from the firmware (see MarkerStyle). */
export function markerStyle(rig: Pick<Rig, 'power'>): MarkerStyle {
  return rig.power?.kind === 'lpm01a' ? 'pulse' : 'level';
}
