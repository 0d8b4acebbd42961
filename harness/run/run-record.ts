/**
 * run.json of a run folder: created when the run starts, updated as it goes, finished with its
 * status. Every write replaces the file atomically (write a temporary file, then rename), so a
 * crash never leaves half a run.json.
 */
import fs from 'node:fs';
import type { RunFolder } from '../reports/run-folder.js';

export type RunStatus = 'running' | 'complete' | 'failed' | 'interrupted';

export interface RunJson {
  id: string;
  status: RunStatus;
  error?: string;
  started: string;
  finished?: string;
  [field: string]: unknown;
}

export class RunRecord<T extends RunJson> {
  constructor(private readonly folder: RunFolder, readonly json: T) {
    this.save();
  }

  /** Merges `fields` into run.json and writes it. */
  update(fields: Partial<T>): void {
    Object.assign(this.json, fields);
    this.save();
  }

  finish(status: RunStatus, error?: string): void {
    this.update({ status, error, finished: new Date().toISOString() } as Partial<T>);
  }

  save(): void {
    const file = this.folder.file('run.json');
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(this.json, null, 2) + '\n');
    fs.renameSync(tmp, file);
  }
}
