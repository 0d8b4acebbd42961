/** The power monitor a rig's `power` block names (undefined when it has none or `kind: none`). */
import type { PowerMonitor, PowerMonitorConfig } from '../capabilities/power-monitor.js';
import type { Rig } from '../rig/rig.js';
import { findPortByUsbSerial, listSerialPorts, type SerialPortInfo } from '../discovery/serial-ports.js';
import { HilError } from '../util/errors.js';
import type { PortFactory } from './instrument-port.js';
import { Ina226Monitor } from './ina226.js';
import { Lpm01aMonitor } from './lpm01a.js';
import { Ppk2Monitor } from './ppk2.js';

export interface PowerFactoryOptions {
  portFactory?: PortFactory;
  listPorts?: () => SerialPortInfo[];
}

export function createPowerMonitor(rig: Rig, options: PowerFactoryOptions = {}): PowerMonitor | undefined {
  const p = rig.power;
  if (!p || p.kind === 'none') return undefined;
  let port = p.port;
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
  if (p.voltage_mv === undefined) throw new HilError('required for a power instrument', `${rig.name}: power.voltage_mv`);
  return { voltage_mv: p.voltage_mv, sample_hz: p.sample_hz, marker: p.marker };
}
