/**
 * A session on QEMU measured as a real-board rig would be: the experiment context carries the
 * board rig (its instrument on the simulator's pty), so openChannels() creates the real driver;
 * every capture the experiments take is kept, to compare it with what the simulator played.
 */
import type { Capture, PowerMonitor } from '../../harness/capabilities/power-monitor.js';
import { openChannels, type MeasureChannel } from '../../harness/experiments/channels.js';
import type { ExperimentContext } from '../../harness/experiments/context.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import type { Rig } from '../../harness/rig/rig.js';
import type { Session } from '../../harness/session/session.js';
import { createLogger } from '../../harness/util/log.js';

export async function measureAsBoardRig(options: {
  session: Session;
  rig: Rig;
  models: Int8Model[];
  firmwareHash: string;
  runId: string;
  /** where to keep the captures (default: a new array) */
  captures?: Capture[];
}): Promise<{ ctx: ExperimentContext; channels: MeasureChannel[]; captures: Capture[] }> {
  const { session, rig } = options;
  const ctx: ExperimentContext = {
    session: { ...session, rig },
    models: options.models,
    log: createLogger({ quiet: true }),
    provenance: (dataset_hash) => ({ run_id: options.runId, rig: rig.name, board: rig.board, firmware_hash: options.firmwareHash, dataset_hash, harness_version: 'test' }),
    cancelled: () => false,
  };
  const channels = await openChannels(ctx, false);
  const captures = options.captures ?? [];
  const mon = channels[0]?.monitor as PowerMonitor;
  const stop = mon.stopCapture.bind(mon);
  mon.stopCapture = async () => {
    const c = await stop();
    captures.push(c);
    return c;
  };
  return { ctx, channels, captures };
}
