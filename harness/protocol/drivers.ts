/**
 * The device protocols the harness speaks, by name: the one place that turns a name into a
 * driver. A new front end is one folder under protocol/ and one line here.
 */
import type { Link } from '../capabilities/link.js';
import { HilError } from '../util/errors.js';
import type { DeviceProtocol } from './device.js';
import { ProtocolClient } from './yono/client.js';

export interface DriverOptions {
  /** Time to wait for one reply before re-sending. */
  replyTimeoutMs?: number;
  /** Re-sends of one command before giving up. */
  retries?: number;
}

const DRIVERS: Record<string, (link: Link, options: DriverOptions) => DeviceProtocol> = {
  yono: (link, options) => new ProtocolClient(link, options),
};

export const DEVICE_PROTOCOLS = Object.keys(DRIVERS);

export function openDeviceProtocol(name: string, link: Link, options: DriverOptions = {}): DeviceProtocol {
  const make = DRIVERS[name];
  if (!make) throw new HilError(`unknown device protocol "${name}"; available: ${DEVICE_PROTOCOLS.join(', ')}`, link.description);
  return make(link, options);
}
