/**
 * The device protocols the harness speaks, by name: the one place that turns a name into a
 * driver. A new front end is one folder under protocol/ and one line here.
 */
import type { Link } from '../capabilities/link.js';
import { HilError } from '../util/errors.js';
import type { DeviceModelInfo, DeviceProtocol } from './device.js';
import { MlperfTinyDriver } from './mlperf-tiny/driver.js';
import { ProtocolClient } from './yono/client.js';

export interface DriverOptions {
  /** Time to wait for one reply before re-sending. */
  replyTimeoutMs?: number;
  /** Re-sends of one command before giving up. */
  retries?: number;
  /** what the harness knows of the device, for protocols that cannot say it (mlperf-tiny) */
  board?: string;
  model?: Omit<DeviceModelInfo, 'id'>;
  /** mlperf-tiny: the profile tag the device must report */
  profile?: string;
  /** mlperf-tiny: the device runs in energy mode (26-byte db lines, timestamps on a pin) */
  energyMode?: boolean;
}

/** What a protocol offers beyond the DeviceProtocol every driver implements: experiments and plans ask these, never the name. */
export interface ProtocolTraits {
  /** the firmware's front end for this protocol: make PROTO=<firmware> (runtime/proto_<firmware>.c) */
  firmware: string;
  /** the driver can run inputs preloaded into device memory (runPreloaded) */
  preload: boolean;
  /** several models per firmware, switched by select() with storage counters (switching, scenario) */
  switching: boolean;
  /** the device serves exactly one model, chosen when the firmware is built */
  oneModel: boolean;
  /** MLPerf Tiny's performance mode and profile tag (`infer N W`, `profile%`) */
  mlperfTiny: boolean;
}

interface DriverEntry extends ProtocolTraits {
  make: (link: Link, options: DriverOptions) => DeviceProtocol;
}

const DRIVERS: Record<string, DriverEntry> = {
  yono: { make: (link, options) => new ProtocolClient(link, options), firmware: 'yono', preload: true, switching: true, oneModel: false, mlperfTiny: false },
  'mlperf-tiny': {
    make: (link, o) => new MlperfTinyDriver(link, { replyTimeoutMs: o.replyTimeoutMs, board: o.board, model: o.model, profile: o.profile, energyMode: o.energyMode }),
    firmware: 'mlperf_tiny',
    preload: false,
    switching: false,
    oneModel: true,
    mlperfTiny: true,
  },
};

export const DEVICE_PROTOCOLS = Object.keys(DRIVERS);

function entry(name: string, where: string): DriverEntry {
  const e = DRIVERS[name];
  if (!e) throw new HilError(`unknown device protocol "${name}"; available: ${DEVICE_PROTOCOLS.join(', ')}`, where);
  return e;
}

export function openDeviceProtocol(name: string, link: Link, options: DriverOptions = {}): DeviceProtocol {
  return entry(name, link.description).make(link, options);
}

/** The firmware front end (make PROTO value) of a protocol name: 'mlperf-tiny' -> 'mlperf_tiny'. */
export function firmwareProtocol(name: string, where = '--protocol'): string {
  return entry(name, where).firmware;
}

/** What the protocol offers (one line naming `where` for an unknown name). */
export function protocolTraits(name: string, where = '--protocol'): ProtocolTraits {
  const { make: _make, ...traits } = entry(name, where);
  return traits;
}

/** Whether the protocol's driver can run preloaded inputs. */
export function protocolCanPreload(name: string): boolean {
  return protocolTraits(name).preload;
}

/** Checks a protocol name (one line naming the source of the name on error). */
export function checkProtocol(name: string, where: string): string {
  entry(name, where);
  return name;
}
