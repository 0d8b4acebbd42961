/**
 * One fine-tuning job in a worker thread (compress/finetune-pool.ts): models are independent and
 * each job is seeded, so running them side by side gives the same models as running them in turn.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Int8Model } from '../modeltools/int8-model.js';
import { finetuneHook } from './finetune.js';
import type { FinetuneOptions } from './finetune.js';
import type { PqModel } from './pq-model.js';

export interface WorkerJob {
  int8: Int8Model;
  pq: PqModel;
  int8Top1: number;
  assignedTop1: number;
  options: Partial<FinetuneOptions>;
}

export type WorkerMessage = { kind: 'log'; line: string } | { kind: 'done'; result: { pq: PqModel; info: unknown } | null };

const job = workerData as WorkerJob;
const post = (m: WorkerMessage) => parentPort?.postMessage(m);
const result = finetuneHook(job.int8, job.pq, { log: (line) => post({ kind: 'log', line }), int8Top1: job.int8Top1, assignedTop1: job.assignedTop1 }, job.options);
post({ kind: 'done', result });
