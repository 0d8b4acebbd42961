/**
 * writeReport: runs -> figures (SVG + PDF/PNG + data CSV + spec + redraw command), tables
 * (LaTeX, Markdown) and report.html. Everything is written into a temporary sibling folder
 * that replaces the output folder only once complete, so a failure never leaves half a report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { HilError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { ROOT, rel } from '../../util/paths.js';
import { runFigures, type Figure } from './figures/index.js';
import { reportHtml, runNotes, type RenderedFigure, type RunSection } from './html.js';
import { CSV_NAMES, loadRun, uniq, type LoadedRun } from './load.js';
import { convertSvg, renderSvg, rsvgConvert, type RasterFormat } from './render.js';
import { runTables, toLatex, toMarkdown } from './tables.js';

export type FigureFormat = RasterFormat | 'svg';

export interface ReportOptions {
  /** PDF (default) or PNG next to each SVG; 'svg' for SVG only */
  format?: FigureFormat;
  /** redraw only these figures (by name) into an existing report folder; report.html is left as it is */
  only?: string[];
  log?: Logger;
  /** the date written on the page (tests pin it) */
  now?: Date;
}

export interface ReportResult {
  outDir: string;
  html: string;
  /** SVG files written, absolute paths in outDir */
  figures: string[];
}

/** Path as the redraw command should spell it: relative to the repository root when inside it. */
const cmdPath = (p: string): string => {
  const r = path.relative(ROOT, path.resolve(p));
  return r.startsWith('..') || path.isAbsolute(r) ? path.resolve(p) : r || '.';
};
const quote = (s: string): string => (/^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function redrawCommand(runDirs: string[], outDir: string, figure: string, format: FigureFormat): string {
  const args = ['npm', 'run', 'hil', '--', 'report', ...runDirs.map(cmdPath), '--out', cmdPath(outDir), '--figure', figure, ...(format === 'pdf' ? [] : ['--format', format])];
  return args.map(quote).join(' ');
}

/** The run's end (or start) as the date inside its PDFs, so redrawing the same run gives the same files. */
function runEpoch(run: LoadedRun): number | undefined {
  const t = Date.parse(run.json.finished ?? run.json.started ?? '');
  return Number.isFinite(t) ? t / 1000 : undefined;
}

/** One folder name per run: its id, made unique when the same run is given twice. */
function labels(runs: LoadedRun[]): string[] {
  const seen = new Map<string, number>();
  return runs.map((r) => {
    const n = (seen.get(r.id) ?? 0) + 1;
    seen.set(r.id, n);
    return n === 1 ? r.id : `${r.id}-${n}`;
  });
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

async function writeFigure(fig: Figure, dir: string, htmlDir: string, command: string, format: FigureFormat, atomic: boolean, epoch?: number): Promise<RenderedFigure> {
  const write = atomic ? writeAtomic : (f: string, d: string | Buffer) => fs.writeFileSync(f, d);
  const svg = await renderSvg(fig);
  const base = path.join(dir, fig.name);
  write(`${base}.svg`, svg);
  const columns = uniq(fig.data.flatMap((d) => Object.keys(d)));
  write(`${base}.csv`, stringify([columns, ...fig.data.map((d) => columns.map((c) => (d[c] === null || d[c] === undefined ? '' : String(d[c]))))]));
  write(`${base}.vl.json`, JSON.stringify(fig.spec) + '\n');
  write(`${base}.cmd`, `# redraws ${fig.name}.svg${format === 'svg' ? '' : ` and .${format}`}, .csv and .vl.json from the run's CSVs; run it from the repository root\n${command}\n`);
  let raster: string | undefined;
  if (format !== 'svg') {
    raster = `${base}.${format}`;
    if (atomic) {
      convertSvg(`${base}.svg`, `${raster}.tmp-${process.pid}`, format, epoch);
      fs.renameSync(`${raster}.tmp-${process.pid}`, raster);
    } else convertSvg(`${base}.svg`, raster, format, epoch);
  }
  const r = (p: string) => path.relative(htmlDir, p);
  return { figure: fig, svg, command, files: { svg: r(`${base}.svg`), raster: raster && r(raster), csv: r(`${base}.csv`), spec: r(`${base}.vl.json`), cmd: r(`${base}.cmd`) } };
}

/** The output folder may be replaced only if it is a report folder (or empty): never a run or anything else. */
function checkReplaceable(outDir: string, runs: LoadedRun[]): void {
  const abs = path.resolve(outDir);
  for (const run of runs) {
    if (abs === run.dir || run.dir.startsWith(abs + path.sep)) throw new HilError('the output folder would replace a run folder; choose another --out', rel(abs));
  }
  if (!fs.existsSync(abs)) return;
  if (!fs.statSync(abs).isDirectory()) throw new HilError('exists and is not a folder', rel(abs));
  const entries = fs.readdirSync(abs);
  if (entries.length && !entries.includes('report.html')) throw new HilError('exists and is not a report folder (no report.html); choose another --out', rel(abs));
}

export async function writeReport(runDirs: string[], outDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  if (runDirs.length === 0) throw new HilError('no run folder given', 'hil report');
  const format = options.format ?? 'pdf';
  const runs = runDirs.map(loadRun);
  const finalDir = path.resolve(outDir);
  if (format !== 'svg') rsvgConvert(); // fail before any work when the converter is missing
  const names = labels(runs);
  const multi = runs.length > 1;
  const sub = (i: number) => (multi ? names[i] : '');

  if (options.only?.length) return redrawOnly(runs, runDirs, finalDir, options.only, format, sub);

  checkReplaceable(finalDir, runs);
  const parent = path.dirname(finalDir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(finalDir)}.tmp-`));
  // mkdtemp makes it private (0700); the report is an ordinary folder once in place
  fs.chmodSync(tmp, 0o777 & ~process.umask());
  try {
    const sections: RunSection[] = [];
    const figures: string[] = [];
    for (const [i, run] of runs.entries()) {
      const figDir = path.join(tmp, sub(i), 'figures');
      const tabDir = path.join(tmp, sub(i), 'tables');
      fs.mkdirSync(figDir, { recursive: true });
      fs.mkdirSync(tabDir, { recursive: true });
      const rendered: RenderedFigure[] = [];
      for (const fig of runFigures(run)) {
        rendered.push(await writeFigure(fig, figDir, tmp, redrawCommand(runDirs, finalDir, fig.name, format), format, false, runEpoch(run)));
        figures.push(path.join(finalDir, sub(i), 'figures', `${fig.name}.svg`));
        options.log?.info(`figure ${path.join(sub(i), 'figures', fig.name)}`);
      }
      const tables = runTables(run).map((t) => {
        const tex = path.join(tabDir, `${t.name}.tex`);
        const md = path.join(tabDir, `${t.name}.md`);
        fs.writeFileSync(tex, toLatex(t));
        fs.writeFileSync(md, toMarkdown(t));
        return { table: t, tex: path.relative(tmp, tex), md: path.relative(tmp, md) };
      });
      // all tables in one file too, for a paper's \input
      fs.writeFileSync(path.join(tabDir, 'all.tex'), tables.map((t) => toLatex(t.table)).join('\n'));
      fs.writeFileSync(path.join(tabDir, 'all.md'), tables.map((t) => toMarkdown(t.table)).join('\n'));
      // links to the run's files as seen from the final folder, not the temporary one
      const csvLinks = CSV_NAMES.filter((n) => run.files[n]).map((n) => ({ name: `${n}.csv`, href: path.relative(finalDir, run.files[n] as string) }));
      sections.push({ run, label: names[i], figures: rendered, tables, notes: runNotes(run), csvLinks, runJsonHref: path.relative(finalDir, path.join(run.dir, 'run.json')) });
    }
    const warnings: string[] = [];
    const rigs = uniq(runs.map((r) => r.json.rig.name));
    if (rigs.length > 1) warnings.push(`the runs come from different rigs (${rigs.join(', ')}): differences may be the rig's, not the firmware's`);
    const boards = uniq(runs.map((r) => r.json.board?.name ?? '?'));
    if (boards.length > 1) warnings.push(`the runs ran on different boards (${boards.join(', ')})`);
    for (const w of warnings) options.log?.warn(w);
    fs.writeFileSync(path.join(tmp, 'report.html'), reportHtml(sections, warnings, (options.now ?? new Date()).toISOString()));
    // swap in: the old report (if any) moves aside first and goes only once the new one is in place
    let old: string | undefined;
    if (fs.existsSync(finalDir)) {
      old = `${tmp}.old`;
      fs.renameSync(finalDir, old);
    }
    fs.renameSync(tmp, finalDir);
    if (old) fs.rmSync(old, { recursive: true, force: true });
    return { outDir: finalDir, html: path.join(finalDir, 'report.html'), figures };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function redrawOnly(runs: LoadedRun[], runDirs: string[], finalDir: string, only: string[], format: FigureFormat, sub: (i: number) => string): Promise<ReportResult> {
  const all = runs.map(runFigures);
  const known = uniq(all.flat().map((f) => f.name));
  const unknown = only.filter((n) => !known.includes(n));
  // checked before anything is written
  if (unknown.length) throw new HilError(`no such figure for these runs: ${unknown.join(', ')}; available: ${known.join(', ')}`, '--figure');
  const figures: string[] = [];
  for (const [i, figs] of all.entries()) {
    const dir = path.join(finalDir, sub(i), 'figures');
    for (const fig of figs.filter((f) => only.includes(f.name))) {
      fs.mkdirSync(dir, { recursive: true });
      await writeFigure(fig, dir, finalDir, redrawCommand(runDirs, finalDir, fig.name, format), format, true, runEpoch(runs[i]));
      figures.push(path.join(dir, `${fig.name}.svg`));
    }
  }
  return { outDir: finalDir, html: path.join(finalDir, 'report.html'), figures };
}
