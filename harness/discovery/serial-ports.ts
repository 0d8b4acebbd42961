/**
 * Serial ports on this host with the USB identity of the device behind each. Read from sysfs
 * (/sys/class/tty, /dev/serial/by-id) rather than SerialPort.list(): the latter spawns udevadm,
 * which minimal hosts lack, and then emits an unhandled 'error' that kills the process.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface SerialPortInfo {
  path: string;
  byId?: string;
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Walks up from a tty's device node to the USB device that carries idVendor/idProduct/serial. */
function usbParent(dir: string): string | undefined {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'idVendor'))) return d;
  }
  return undefined;
}

export function listSerialPorts(root = { sys: '/sys/class/tty', byId: '/dev/serial/by-id', dev: '/dev' }): SerialPortInfo[] {
  const byId = new Map<string, string>();
  try {
    for (const link of fs.readdirSync(root.byId)) {
      const full = path.join(root.byId, link);
      byId.set(path.resolve(root.byId, fs.readlinkSync(full)), full);
    }
  } catch {
    // no USB serial devices at all (the directory appears with the first one)
  }
  const ports: SerialPortInfo[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(root.sys);
  } catch {
    return ports;
  }
  for (const name of names.sort()) {
    let device: string;
    try {
      device = fs.realpathSync(path.join(root.sys, name, 'device'));
    } catch {
      continue; // virtual terminals have no device
    }
    const usb = usbParent(device);
    if (!usb) continue; // on-board UARTs (ttyS*) are not what a rig plugs in
    const devPath = path.join(root.dev, name);
    const hex = (f: string) => {
      const t = readText(path.join(usb, f));
      return t === undefined ? undefined : parseInt(t, 16);
    };
    ports.push({
      path: devPath,
      byId: byId.get(devPath),
      vendorId: hex('idVendor'),
      productId: hex('idProduct'),
      serialNumber: readText(path.join(usb, 'serial')),
      manufacturer: readText(path.join(usb, 'manufacturer')),
      product: readText(path.join(usb, 'product')),
    });
  }
  return ports;
}

/** The port offered by the USB device with this serial number (the ST-Link VCP, a PPK2...). */
export function findPortByUsbSerial(ports: SerialPortInfo[], usbSerial: string): SerialPortInfo | undefined {
  return ports.find((p) => p.serialNumber === usbSerial || (p.byId !== undefined && p.byId.includes(`_${usbSerial}-`)));
}
