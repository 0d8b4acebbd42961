/**
 * A CSV file written row by row: the header when created, each row appended as soon as it
 * exists, so an interrupted run keeps every finished row.
 */
import fs from 'node:fs';
import { stringify } from 'csv-stringify/sync';

export class CsvTable<Row extends object> {
  constructor(readonly file: string, private readonly columns: (keyof Row & string)[]) {
    fs.writeFileSync(file, stringify([columns]));
  }

  append(rows: Row[]): void {
    if (rows.length === 0) return;
    const records = rows.map((r) => this.columns.map((c) => format((r as Record<string, unknown>)[c])));
    fs.appendFileSync(this.file, stringify(records));
  }
}

function format(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (value === undefined || value === null) return '';
  return String(value);
}
