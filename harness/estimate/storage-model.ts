/**
 * Time of external-storage reads from a stated model of a real part and bus (rig file
 * `storage:`). On an emulated rig the firmware's storage driver is a memcpy from RAM the
 * harness filled, so its own ticks say nothing about a real SD card or NOR flash; the baseline's
 * storage time comes from here instead:
 *
 *   seconds = reads x access_latency_s + bytes / read_bytes_per_s
 *
 * `read_bytes_per_s` is a published sustained rate through a driver (it already contains the
 * bus's per-block overheads); `access_latency_s` is the extra delay of each read command.
 */
import type { Rig, StorageSpec } from '../rig/rig.js';
import { HilError } from '../util/errors.js';

export type StorageModel = StorageSpec;

/** Seconds the modelled part needs for `reads` read commands moving `bytes` bytes in total. */
export function storageSeconds(model: Pick<StorageModel, 'read_bytes_per_s' | 'access_latency_s'>, bytes: number, reads: number): number {
  if (!(Number.isFinite(bytes) && bytes >= 0) || !(Number.isFinite(reads) && reads >= 0)) {
    throw new RangeError(`storageSeconds: bytes and reads must be finite and >= 0 (got ${bytes}, ${reads})`);
  }
  return reads * model.access_latency_s + bytes / model.read_bytes_per_s;
}

function si(v: number, unit: string): string {
  const abs = Math.abs(v);
  const [scale, prefix] = abs >= 1e6 ? [1e-6, 'M'] : abs >= 1e3 ? [1e-3, 'k'] : abs >= 1 || abs === 0 ? [1, ''] : abs >= 1e-3 ? [1e3, 'm'] : [1e6, 'u'];
  return `${Number((v * scale).toPrecision(3))} ${prefix}${unit}`;
}

/** One line: name, part, bus and every number of the model. */
export function describeStorage(model: StorageModel): string {
  const awake = model.awake_after_access_s > 0 ? `, awake ${si(model.awake_current_a, 'A')} for ${si(model.awake_after_access_s, 's')} after an access` : '';
  return (
    `${model.name}: ${model.part} over ${model.bus}; ${si(model.read_bytes_per_s, 'B/s')} + ${si(model.access_latency_s, 's')} per read; ` +
    `read ${si(model.read_current_a, 'A')}, standby ${si(model.standby_current_a, 'A')}${awake}`
  );
}

/** The rig's storage model by name (undefined name: the first, the default baseline). */
export function findStorage(rig: Pick<Rig, 'name' | 'storage'>, name?: string): StorageModel {
  const all = rig.storage ?? [];
  if (all.length === 0) throw new HilError('this rig describes no external storage', `${rig.name}: storage`);
  if (name === undefined) return all[0];
  const found = all.find((s) => s.name === name);
  if (!found) throw new HilError(`no storage model "${name}"; this rig has ${all.map((s) => s.name).join(', ')}`, `${rig.name}: storage`);
  return found;
}
