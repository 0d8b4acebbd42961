/**
 * The rows of a run: every table the chosen experiments write, kept in memory for joins and the
 * summary, and appended to its CSV as soon as a row exists (an interrupted run keeps them all).
 * A resumed run opens the tables it finds and carries on appending.
 */
import fs from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import type { AnyTable, ResultStore, Table } from '../experiments/experiment.js';
import { CsvTable, formatCell, readCsv } from '../reports/csv.js';
import type { RunFolder } from '../reports/run-folder.js';

/** Columns that hold names, hashes and labels: kept as text when rows are read back. */
const TEXT_COLUMNS = new Set([
  'run_id', 'rig', 'board', 'firmware_hash', 'dataset_hash', 'harness_version', 'variant', 'model', 'dataset', 'storage', 'schedule',
  'what', 'from_model', 'to_model', 'cost_model', 'source', 'instrument', 'stored_as', 'int8_firmware_hash',
]);

export class CsvResultStore implements ResultStore {
  private readonly rowsByTable = new Map<AnyTable, object[]>();
  private readonly files = new Map<AnyTable, CsvTable<object>>();

  /**
   * Creates each table's CSV (header only), or with `resume` reads the rows already in it and
   * appends after them; a table without a file stays in memory.
   */
  constructor(private readonly folder: RunFolder, tables: AnyTable[], resume = false) {
    const byFile = new Map<string, CsvTable<object>>();
    const readBack = new Map<string, object[]>();
    for (const t of tables) {
      if (this.rowsByTable.has(t)) continue;
      if (!t.file) {
        this.rowsByTable.set(t, []);
        continue;
      }
      const path = folder.file(t.file);
      const existing = resume && fs.existsSync(path);
      if (!readBack.has(t.file)) readBack.set(t.file, existing ? readCsv(fs.readFileSync(path, 'utf8')).map(typedRow) : []);
      // experiments that share a table (energy.csv) share one file and one list of rows
      if (!byFile.has(t.file)) byFile.set(t.file, new CsvTable<object>(path, t.columns as never, existing));
      this.files.set(t, byFile.get(t.file) as CsvTable<object>);
      this.rowsByTable.set(t, readBack.get(t.file) as object[]);
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

  remove<R extends object>(table: Table<R>, drop: (row: R) => boolean): void {
    const kept = this.rowsByTable.get(table) as R[] | undefined;
    if (!kept || !kept.some(drop)) return;
    const left = kept.filter((r) => !drop(r));
    kept.splice(0, kept.length, ...left);
    if (!table.file) return;
    const path = this.folder.file(table.file);
    const tmp = `${path}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, stringify([[...table.columns], ...left.map((r) => table.columns.map((c) => formatCell((r as Record<string, unknown>)[c])))]));
    fs.renameSync(tmp, path);
  }
}

/** A row read back from its CSV: numbers as numbers, empty cells as '' (as they were written). */
export function typedRow(row: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(row)) out[k] = TEXT_COLUMNS.has(k) || v === '' || !Number.isFinite(Number(v)) ? v : Number(v);
  return out;
}
