/**
 * Fine-tunes several models at once, one worker thread per model, at most `threads` at a time
 * (default: the cores Node may use). Results come back in job order whatever the finishing order.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HilError } from '../util/errors.js';
import type { WorkerJob, WorkerMessage } from './finetune-worker.js';
import type { PqModel } from './pq-model.js';

export type FinetuneResult = { pq: PqModel; info: unknown } | null;

function runOne(job: WorkerJob, log: (s: string) => void): Promise<FinetuneResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./finetune-worker.js', import.meta.url), { workerData: job });
    let result: FinetuneResult | undefined;
    w.on('message', (m: WorkerMessage) => {
      if (m.kind === 'log') log(m.line);
      else result = m.result;
    });
    // a HilError thrown in the worker arrives as a plain Error that kept its name and message
    w.on('error', (e) => reject(new HilError(e.name === 'HilError' ? e.message : `fine-tuning failed: ${e.message}`, job.int8.name)));
    w.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new HilError(`fine-tuning worker exited (code ${code}) without a result`, job.int8.name));
    });
  });
}

export async function finetuneInWorkers(jobs: WorkerJob[], log: (s: string) => void, threads = availableParallelism()): Promise<FinetuneResult[]> {
  const out: FinetuneResult[] = new Array<FinetuneResult>(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await runOne(jobs[i], log);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(threads, jobs.length)) }, lane));
  return out;
}
