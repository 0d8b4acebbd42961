/**
 * Two run folders' CSVs compared cell by cell, as a sharded or queued run must match a one-rig
 * run of the same work: the run id, the rig that made a row and wall-clock columns may differ.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { readCsv } from '../../harness/reports/csv.js';

/** differ by design: the run's id, the rig that made a row, wall-clock time */
export const IGNORED_COLUMNS = ['run_id', 'rig', 'window_wall_s'];
/** emulated timer readings: any two runs may differ by one timer tick (instructions_resolution) */
const TICK_COLUMNS = ['instructions_median', 'instructions_min', 'instructions_max', 'cycles_median', 'ms_median', 'ms_p10', 'ms_p90'];

export function table(dir: string, file: string): Record<string, string>[] {
  return readCsv(fs.readFileSync(path.join(dir, file), 'utf8'));
}

/** Every row of `one`'s files is in `other`'s, in the same order, cell by cell (the columns of `one`). */
export function expectSameRows(one: string, other: string, files: string[]): void {
  for (const file of files) {
    const a = table(one, file);
    const b = table(other, file);
    expect(b.length, `${file}: rows`).to.equal(a.length);
    a.forEach((row, i) => {
      for (const [col, value] of Object.entries(row)) {
        if (IGNORED_COLUMNS.includes(col)) continue;
        if (TICK_COLUMNS.includes(col)) {
          const step = Number(row.instructions_resolution) * (col.startsWith('instructions') ? 1 : Number(row.cycles_median) / Number(row.instructions_median));
          expect(Math.abs(Number(b[i][col]) - Number(value)), `${file} row ${i + 1} ${col}`).to.be.at.most(step * 1.0001);
        } else expect(b[i][col], `${file} row ${i + 1} ${col}`).to.equal(value);
      }
    });
  }
}
