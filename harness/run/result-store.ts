/**
 * The rows of a run: every table the chosen experiments write, kept in memory for joins and the
 * summary, and appended to its CSV as soon as a row exists (an interrupted run keeps them all).
 */
import type { AnyTable, ResultStore, Table } from '../experiments/experiment.js';
import { CsvTable } from '../reports/csv.js';
import type { RunFolder } from '../reports/run-folder.js';

export class CsvResultStore implements ResultStore {
  private readonly rowsByTable = new Map<AnyTable, object[]>();
  private readonly files = new Map<AnyTable, CsvTable<object>>();

  /** Creates each table's CSV (header only); a table without a file stays in memory. */
  constructor(folder: RunFolder, tables: AnyTable[]) {
    const byFile = new Map<string, CsvTable<object>>();
    for (const t of tables) {
      if (this.rowsByTable.has(t)) continue;
      this.rowsByTable.set(t, []);
      if (!t.file) continue;
      // experiments that share a table (energy.csv) share one file
      if (!byFile.has(t.file)) byFile.set(t.file, new CsvTable<object>(folder.file(t.file), t.columns as never));
      this.files.set(t, byFile.get(t.file) as CsvTable<object>);
    }
  }

  rows<R extends object>(table: Table<R>): R[] {
    return (this.rowsByTable.get(table) ?? []) as R[];
  }

  append<R extends object>(table: Table<R>, rows: R[]): void {
    const kept = this.rowsByTable.get(table);
    if (!kept) throw new Error(`table ${table.file || '(memory)'} was not declared by a chosen experiment`);
    kept.push(...rows);
    this.files.get(table)?.append(rows);
  }
}
