/**
 * `hil report <run> [<run> …]`: figures, tables and a self-contained report.html from the CSVs
 * and run.json of finished runs, without a device.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeReport, type FigureFormat } from '../reports/report/write.js';
import { HilError } from '../util/errors.js';
import { RESULTS_DIR, rel } from '../util/paths.js';
import type { Command } from './command.js';

export { writeReport } from '../reports/report/write.js';

const FORMATS: FigureFormat[] = ['pdf', 'png', 'svg'];

/** A run given as a folder, or as a run id under results/. */
function runDir(arg: string): string {
  if (fs.existsSync(arg)) return path.resolve(arg);
  const underResults = path.join(RESULTS_DIR, arg);
  if (fs.existsSync(underResults)) return underResults;
  throw new HilError('no such run folder (neither a path nor a run id under results/)', arg);
}

export const reportCommand: Command = {
  name: 'report',
  usage: `report <run> [<run> ...] [--out dir] [--format pdf|png|svg] [--figure name[,name]]
                               figures (SVG + PDF), LaTeX/Markdown tables and a self-contained report.html from
                               finished runs (folders or run ids under results/), no device; several runs: side by side.
                               --out default: <run>/report (several runs: <first run>/report-compare);
                               --figure redraws only those figures into an existing report folder`,
  options: {
    out: { type: 'string' },
    format: { type: 'string' },
    figure: { type: 'string' },
  },
  async run(values, positionals, ctx) {
    if (positionals.length === 0) throw new HilError('give at least one run folder (e.g. results/<run id>)', 'hil report');
    const format = (values.format ?? 'pdf') as FigureFormat;
    if (!FORMATS.includes(format)) throw new HilError(`unknown format "${String(values.format)}"; available: ${FORMATS.join(', ')}`, '--format');
    const dirs = positionals.map(runDir);
    const out = typeof values.out === 'string' ? path.resolve(values.out) : path.join(dirs[0], dirs.length > 1 ? 'report-compare' : 'report');
    const only = typeof values.figure === 'string' ? values.figure.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    const result = await writeReport(dirs, out, { format, only, log: ctx.log });
    process.stdout.write(only ? `redrew ${result.figures.map(rel).join(', ')}\n` : `report: ${rel(result.html)} (${result.figures.length} figures)\n`);
    return 0;
  },
};
