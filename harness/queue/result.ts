/**
 * What a worker sends back for a shard: the shard folder's files as text (tables, run.json,
 * summary) with the rig and host that ran it. The submitter checks it before writing anything:
 * a file name is a plain name (never a path), and the shard is one it asked for.
 */
import { HilError } from '../util/errors.js';

export interface ShardResult {
  shard: string;
  rig: string;
  host: string;
  /** rig@host */
  worker: string;
  /** file name -> content */
  files: Record<string, string>;
}

/** Names of the files that travel: tables, run.json, summary.txt; never a path. */
export const RESULT_FILE = /^[a-z0-9_-]+\.(csv|json|txt)$/;

const TEXT = /^[A-Za-z0-9._@-]{1,200}$/;

/** The worker's return value as a ShardResult for `shard`, or a HilError naming what is wrong. */
export function checkShardResult(value: unknown, shard: string, where: string): ShardResult {
  const r = value as Partial<ShardResult> | null;
  if (typeof r !== 'object' || r === null) throw new HilError('the job returned no shard result', where);
  if (r.shard !== shard) throw new HilError(`the job returned shard ${String(r.shard)}, not ${shard}`, where);
  for (const k of ['rig', 'host', 'worker'] as const) if (typeof r[k] !== 'string' || !TEXT.test(r[k] as string)) throw new HilError(`the result's ${k} is not a name`, where);
  if (typeof r.files !== 'object' || r.files === null) throw new HilError('the result holds no files', where);
  for (const [name, text] of Object.entries(r.files)) {
    if (!RESULT_FILE.test(name)) throw new HilError(`the result names a file "${name.slice(0, 60)}" (only plain table, run.json and summary names are taken)`, where);
    if (typeof text !== 'string') throw new HilError(`the result's ${name} is not text`, where);
  }
  if (!('run.json' in r.files)) throw new HilError("the result has no run.json", where);
  return r as ShardResult;
}
