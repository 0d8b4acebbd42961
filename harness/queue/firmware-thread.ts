/**
 * Builds (or finds in the cache) the firmware a shard needs on a rig, in a worker thread: a cold
 * build blocks its thread for seconds to minutes (make runs synchronously), and the queue worker's
 * main thread must keep renewing its job lock meanwhile, or the job would be taken for stalled.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { buildVariants } from '../run/plan.js';
import { planRun } from '../run/run.js';
import { shardRunOptions, type ShardSpec } from '../run/shard-spec.js';
import { HilError } from '../util/errors.js';
import { createLogger } from '../util/log.js';

export interface BuiltFirmware {
  variant: string;
  hash: string;
}

type Reply = { builds: BuiltFirmware[] } | { error: string };

/** The build hash of every variant the shard's run holds, as this machine builds them. */
export function buildShardFirmware(spec: ShardSpec, rig: string): Promise<BuiltFirmware[]> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(new URL(import.meta.url), { workerData: { spec, rig } });
    thread.once('message', (m: Reply) => ('error' in m ? reject(new HilError(m.error, `rig ${rig}`)) : resolve(m.builds)));
    thread.once('error', (e) => reject(e));
    thread.once('exit', (code) => reject(new HilError(`the firmware build thread exited with ${code}`, `rig ${rig}`)));
  });
}

function buildHere(spec: ShardSpec, rig: string): Reply {
  try {
    const log = createLogger({ quiet: true });
    const plan = planRun({ ...shardRunOptions(spec), rig, log });
    const builds = buildVariants(plan.rig, plan.plans, log, plan.source);
    return { builds: builds.map((b) => ({ variant: b.variant, hash: b.firmware.buildHash })) };
  } catch (e) {
    return { error: e instanceof HilError ? e.toLine() : `firmware build failed: ${(e as Error).message}` };
  }
}

if (parentPort && (workerData as { spec?: unknown } | null)?.spec !== undefined) {
  const { spec, rig } = workerData as { spec: ShardSpec; rig: string };
  parentPort.postMessage(buildHere(spec, rig));
}
