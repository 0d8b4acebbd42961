/**
 * A CSV file written row by row: the header when created, each row appended as soon as it
 * exists, so an interrupted run keeps every finished row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR } from '../util/paths.js';
import { stringify } from 'csv-stringify/sync';

export class CsvTable<Row extends object> {
  /** Writes the header, or with `keep` carries on after the rows already in the file. */
  constructor(readonly file: string, private readonly columns: (keyof Row & string)[], keep = false) {
    if (!keep) fs.writeFileSync(file, stringify([columns]));
  }

  append(rows: Row[]): void {
    if (rows.length === 0) return;
    const records = rows.map((r) => this.columns.map((c) => formatCell((r as Record<string, unknown>)[c])));
    fs.appendFileSync(this.file, stringify(records));
  }
}

/** A CSV cell: numbers to 6 significant digits, NaN and missing values empty. */
export function formatCell(value: unknown): string {
  // NaN = no usable value (e.g. every window of a capture broken): an empty cell, not "NaN"
  if (typeof value === 'number' && !Number.isFinite(value)) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (value === undefined || value === null) return '';
  return String(value);
}

/** Reads a CSV written by CsvTable (csv-stringify quotes fields with commas or quotes) into records. */
export function readCsv(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const split = (line: string): string[] => {
    const out: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted && ch === '"' && line[i + 1] === '"') cur += line[++i];
      else if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) (out.push(cur), (cur = ''));
      else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const [head, ...rest] = lines.map(split);
  return rest.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i] ?? ''])));
}

/** The newest results/<run>/<file> (run ids start with a sortable UTC stamp), or null. */
export function latestResultFile(file: string, root: string = RESULTS_DIR): string | null {
  if (!fs.existsSync(root)) return null;
  const runs = fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, file))).sort();
  return runs.length ? path.join(root, runs[runs.length - 1], file) : null;
}
