/** Names shared by workers and submitters: the key prefix (an ACL can limit a user to it) and one queue per board. */

/** Every key of the queue lives under `yono-hil:`; a lab's ACL user needs `~yono-hil:*` only. */
export const QUEUE_PREFIX = 'yono-hil';

/** Jobs for one board wait in its own queue: a worker takes only work its rigs can run. */
export function boardQueue(board: string): string {
  return `board-${board}`;
}

/** BullMQ job ids may not contain ':'; a shard's job id is unique per run, so adding it twice is a no-op. */
export function shardJobId(runId: string, shardId: string): string {
  return `${runId}.${shardId}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** How a worker names itself in BullMQ (CLIENT LIST) and in run.json: rig@host. */
export function workerName(rig: string, host: string): string {
  return `${rig}@${host}`;
}
