/**
 * `hil report` on a kept reference run (copied to a temp folder, with a predictions.csv made
 * consistent with its accuracy.csv): figures, PDFs, LaTeX tables, a self-contained page that
 * headless Chromium opens without console errors, and clean failures on bad input.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCsv } from '../../harness/reports/csv.js';
import { reportCommand, writeReport } from '../../harness/commands/report.js';
import { HilError } from '../../harness/util/errors.js';
import { ROOT } from '../../harness/util/paths.js';
import { writeConsistentPredictions } from '../helpers/predictions.js';
import { countMarks, parseXml } from '../helpers/xml.js';
import { CHROMIUM, hasChromium, openInChromium } from '../helpers/chromium.js';

const REFERENCE = path.join(ROOT, 'results', 'reference', 'demo-all-variants-qemu-mps2-an386');
const OLD_RUN = path.join(ROOT, 'results', 'reference', 'issue2-demo-qemu-mps2-an386');

function copyRun(src: string, into: string, name = path.basename(src)): string {
  const dst = path.join(into, name);
  fs.cpSync(src, dst, { recursive: true });
  fs.rmSync(path.join(dst, 'report'), { recursive: true, force: true });
  return dst;
}

const csvOf = (dir: string, name: string) => readCsv(fs.readFileSync(path.join(dir, name), 'utf8'));
const quiet = { info: () => undefined, warn: () => undefined, progress: () => ({ tick: () => undefined, stop: () => undefined }) };

async function expectHilError(p: Promise<unknown>, pattern: RegExp): Promise<HilError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(HilError);
    const line = (e as HilError).toLine();
    expect(line).to.match(pattern);
    expect(line).to.not.include('\n');
    return e as HilError;
  }
  throw new Error(`expected a HilError matching ${pattern}`);
}

/** Folders a failed report could leave next to the output folder. */
const leftovers = (parent: string) => fs.readdirSync(parent).filter((f) => /\.tmp-|\.old/.test(f));

describe('hil report', function () {
  this.timeout(180000);
  let tmp: string;
  let run: string;
  let out: string;
  let result: Awaited<ReturnType<typeof writeReport>>;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-report-'));
    run = copyRun(REFERENCE, tmp);
    writeConsistentPredictions(run);
    out = path.join(tmp, 'out');
    result = await writeReport([run], out, { format: 'pdf', log: quiet });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('draws every figure family of a full run', () => {
    const names = result.figures.map((f) => path.basename(f, '.svg'));
    expect(names).to.include.members(['compression', 'latency', 'switch-latency', 'switch-energy', 'switch-cut', 'switch-first', 'scenario-timeline', 'scenario-energy', 'confusion-fmnist_cnn']);
    for (const f of result.figures) {
      for (const ext of ['.svg', '.pdf', '.csv', '.vl.json', '.cmd']) expect(fs.existsSync(f.replace(/\.svg$/, ext)), f + ext).to.equal(true);
      expect(fs.readFileSync(f.replace(/\.svg$/, '.cmd'), 'utf8')).to.match(/npm run hil -- report .* --out .* --figure [\w-]+\n$/);
    }
    expect(leftovers(tmp)).to.deep.equal([]);
  });

  it('every SVG is XML with an <svg> root, the marks the data asks for, and a provenance subtitle', () => {
    const svg = (name: string) => parseXml(fs.readFileSync(path.join(out, 'figures', `${name}.svg`), 'utf8'));
    for (const f of result.figures) expect(parseXml(fs.readFileSync(f, 'utf8')).name, f).to.equal('svg');
    const switching = csvOf(run, 'switching.csv');
    // one cell per ordered pair and channel
    expect(countMarks(svg('switch-latency'), 'rect')).to.equal(switching.length);
    expect(countMarks(svg('switch-energy'), 'rect')).to.equal(switching.length);
    const baseline = switching.filter((r) => r.first_ms_reduction_pct !== '');
    expect(countMarks(svg('switch-cut'), 'rect')).to.equal(4 * baseline.length);
    expect(countMarks(svg('switch-cut'), 'text')).to.equal(4 * baseline.length);
    // one bar per (channel, target model) in each of the ms and mJ panels
    const bars = new Set(switching.map((r) => `${r.variant}/${r.storage}/${r.to_model}`)).size;
    expect(countMarks(svg('switch-first'), 'rect')).to.equal(2 * bars * 3); // bar + min tick + max tick
    expect(countMarks(svg('latency'), 'symbol')).to.equal(csvOf(run, 'latency.csv').length);
    const scenario = csvOf(run, 'scenario.csv');
    expect(countMarks(svg('scenario-timeline'), 'rect')).to.equal(scenario.length + scenario.filter((r) => r.switched === '1').length);
    const pred = csvOf(run, 'predictions.csv').filter((r) => r.model === 'fmnist_cnn');
    expect(countMarks(svg('confusion-fmnist_cnn'), 'rect')).to.equal(new Set(pred.map((r) => `${r.variant}/${r.label}/${r.device}`)).size);
    const compression = csvOf(run, 'compression.csv').filter((r) => !r.model.startsWith('TOTAL'));
    expect(countMarks(svg('compression'), 'symbol')).to.equal(3 * compression.length - compression.filter((r) => r.top1_fp32 === '').length);
    // estimates say so on the figure; exact device outputs name the emulated device
    for (const name of ['latency', 'switch-latency', 'switch-cut', 'switch-first', 'scenario-timeline', 'scenario-energy']) {
      expect(fs.readFileSync(path.join(out, 'figures', `${name}.svg`), 'utf8'), name).to.include('emulated-estimate, not measured');
    }
    expect(fs.readFileSync(path.join(out, 'figures', 'compression.svg'), 'utf8')).to.include('device: rig qemu-mps2-an386');
  });

  it('sizes figures for one column of a paper, text at 8 pt or more', () => {
    for (const f of result.figures) {
      const text = fs.readFileSync(f, 'utf8');
      const width = Number(/<svg[^>]* width="([\d.]+)"/.exec(text)?.[1]);
      expect(width, f).to.be.within(150, 340);
      const sizes = [...text.matchAll(/font-size="([\d.]+)px"/g)].map((m) => Number(m[1]));
      expect(sizes.length, f).to.be.greaterThan(0);
      expect(Math.min(...sizes), f).to.be.at.least(8);
    }
  });

  it('writes a PDF per figure and its plotted data as CSV', () => {
    for (const f of result.figures) {
      expect(fs.readFileSync(f.replace(/\.svg$/, '.pdf')).subarray(0, 5).toString('latin1'), f).to.equal('%PDF-');
    }
    const cut = csvOf(path.join(out, 'figures'), 'switch-cut.csv');
    expect(Object.keys(cut[0])).to.include.members(['from_model', 'to_model', 'cut_pct']);
  });

  it('LaTeX tables are booktabs tabulars with one & less than columns on every row', () => {
    const dir = path.join(out, 'tables');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.tex') && f !== 'all.tex');
    expect(files).to.include.members(['accuracy.tex', 'latency.tex', 'compression.tex', 'switching.tex', 'scenario.tex', 'inference-energy.tex']);
    for (const f of files) {
      const tex = fs.readFileSync(path.join(dir, f), 'utf8');
      expect((tex.match(/\\begin\{tabular\}/g) ?? []).length, f).to.equal(1);
      expect((tex.match(/\\end\{tabular\}/g) ?? []).length, f).to.equal(1);
      for (const rule of ['\\toprule', '\\midrule', '\\bottomrule']) expect(tex, f).to.include(rule);
      expect(tex, f).to.match(/\\caption\{.*Rig qemu-mps2-an386.*firmware int8 7e819efcd47a2e8b.*\}/);
      const spec = /\\begin\{tabular\}\{([lrc]+)\}/.exec(tex)?.[1] ?? '';
      const body = tex.slice(tex.indexOf('\\toprule'), tex.indexOf('\\bottomrule'));
      const rows = body.split('\n').filter((l) => l.trim().endsWith('\\\\'));
      expect(rows.length, f).to.be.greaterThan(1);
      for (const row of rows) expect((row.match(/(?<!\\)&/g) ?? []).length, `${f}: ${row}`).to.equal(spec.length - 1);
    }
    const md = fs.readFileSync(path.join(dir, 'latency.md'), 'utf8');
    expect(md).to.match(/^\| model \| variant \| n \|/m);
  });

  it('report.html is self-contained: inline SVG and CSS, nothing fetched', () => {
    const html = fs.readFileSync(result.html, 'utf8');
    expect(html).to.not.match(/https?:\/\//);
    expect(html).to.not.match(/\ssrc\s*=/i);
    expect(html).to.not.match(/<script|<link|@import|url\((?!#)/i);
    expect((html.match(/<svg /g) ?? []).length).to.equal(result.figures.length);
    // relative links to the run's CSVs, resolved from the report folder
    const links = [...html.matchAll(/href="([^"#]+\.csv)"/g)].map((m) => decodeURIComponent(m[1]));
    expect(links).to.include('../demo-all-variants-qemu-mps2-an386/switching.csv');
    for (const l of links) expect(fs.existsSync(path.resolve(out, l)), l).to.equal(true);
    expect(html).to.include('int8-ext baseline leaves out person_detect');
    expect(html).to.include('7e819efcd47a2e8b');
  });

  it('headless Chromium opens report.html without console messages', function () {
    if (!hasChromium()) {
      console.log(`      skipped: ${CHROMIUM} missing (Debian package chromium)`);
      this.skip();
    }
    const r = openInChromium(result.html);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.console, r.console.join('\n')).to.deep.equal([]);
    expect((r.dom.match(/<svg /g) ?? []).length).to.equal(result.figures.length);
  });

  it('--figure redraws one figure in place and leaves the page alone', async () => {
    const html = fs.statSync(result.html).mtimeMs;
    fs.rmSync(path.join(out, 'figures', 'latency.pdf'));
    const r = await writeReport([run], out, { only: ['latency'] });
    expect(r.figures).to.deep.equal([path.join(out, 'figures', 'latency.svg')]);
    expect(fs.existsSync(path.join(out, 'figures', 'latency.pdf'))).to.equal(true);
    expect(fs.statSync(result.html).mtimeMs).to.equal(html);
    await writeReport([run], out, { only: ['latency'], format: 'png' });
    expect(fs.readFileSync(path.join(out, 'figures', 'latency.png')).subarray(0, 8).toString('hex')).to.equal('89504e470d0a1a0a');
    await expectHilError(writeReport([run], out, { only: ['nope'] }), /--figure: no such figure .*available: compression/);
  });

  it('an older run (one variant, no switching) still gets its report', async () => {
    const old = copyRun(OLD_RUN, tmp);
    const r = await writeReport([old], path.join(tmp, 'old-report'), { format: 'svg' });
    expect(r.figures.map((f) => path.basename(f))).to.deep.equal(['latency.svg']);
    expect(fs.readFileSync(r.html, 'utf8')).to.include('no predictions.csv');
  });

  it('compares runs side by side and warns, on the page, when the rigs differ', async () => {
    const other = copyRun(REFERENCE, tmp, 'other-rig');
    const json = JSON.parse(fs.readFileSync(path.join(other, 'run.json'), 'utf8'));
    json.rig.name = 'nucleo-l4r5zi-ppk2';
    json.id = '20261205-000000-nucleo-l4r5zi-ppk2';
    fs.writeFileSync(path.join(other, 'run.json'), JSON.stringify(json));
    const latency = fs.readFileSync(path.join(other, 'latency.csv'), 'utf8').replace(',12.5524,12.5524,12.5528,', ',13.1,13,13.2,');
    fs.writeFileSync(path.join(other, 'latency.csv'), latency);
    const warnings: string[] = [];
    const r = await writeReport([run, other], path.join(tmp, 'compare'), { format: 'svg', log: { ...quiet, warn: (l: string) => warnings.push(l) } });
    const html = fs.readFileSync(r.html, 'utf8');
    expect(html).to.match(/class="warning"[^>]*>warning: the runs come from different rigs \(qemu-mps2-an386, nucleo-l4r5zi-ppk2\)/);
    expect(warnings.join('\n')).to.include('different rigs');
    expect(html).to.match(/<td>ms\/inference fmnist_cnn int8<\/td><td class="r">12\.55<\/td><td class="r diff">13\.1 \(\+4\.4%\)<\/td>/);
    expect(html).to.match(/<td>rig<\/td><td class="r">qemu-mps2-an386<\/td><td class="r diff">nucleo-l4r5zi-ppk2<\/td>/);
    expect(fs.existsSync(path.join(tmp, 'compare', '20261205-000000-nucleo-l4r5zi-ppk2', 'figures', 'latency.svg'))).to.equal(true);
    // every figure of both runs, side by side, each once
    expect((html.match(/<svg /g) ?? []).length).to.equal(r.figures.length);
    expect(html).to.include('id="compare-figures"');
  });

  describe('bad input', () => {
    it('a folder that is not a run', async () => {
      const notRun = fs.mkdtempSync(path.join(tmp, 'not-a-run-'));
      const target = path.join(tmp, 'never');
      await expectHilError(writeReport([notRun], target), /not-a-run-\w+: not a run folder \(no run\.json\)/);
      expect(fs.existsSync(target)).to.equal(false);
      expect(leftovers(tmp)).to.deep.equal([]);
    });

    it('a CSV without a column it needs names the file and the column, and keeps the old report whole', async () => {
      const broken = copyRun(REFERENCE, tmp, 'broken');
      const target = path.join(tmp, 'broken-report');
      await writeReport([broken], target, { format: 'svg' });
      const before = fs.readdirSync(path.join(target, 'figures')).sort();
      const lines = fs.readFileSync(path.join(broken, 'switching.csv'), 'utf8').split('\n');
      const col = lines[0].split(',').indexOf('first_ms_max');
      fs.writeFileSync(path.join(broken, 'switching.csv'), lines.map((l) => l.split(',').filter((_, i) => i !== col).join(',')).join('\n'));
      await expectHilError(writeReport([broken], target, { format: 'svg' }), /broken\/switching\.csv: missing column "first_ms_max"/);
      expect(fs.readdirSync(path.join(target, 'figures')).sort()).to.deep.equal(before);
      expect(leftovers(tmp)).to.deep.equal([]);
    });

    it('never replaces a folder that is not a report, nor the run itself', async () => {
      const busy = fs.mkdtempSync(path.join(tmp, 'busy-'));
      fs.writeFileSync(path.join(busy, 'thesis.tex'), 'keep me');
      await expectHilError(writeReport([run], busy, { format: 'svg' }), /exists and is not a report folder/);
      expect(fs.readFileSync(path.join(busy, 'thesis.tex'), 'utf8')).to.equal('keep me');
      await expectHilError(writeReport([run], run, { format: 'svg' }), /would replace a run folder/);
      expect(leftovers(tmp)).to.deep.equal([]);
    });

    it('the command: no run, unknown format', async () => {
      const ctx = { log: quiet };
      await expectHilError(reportCommand.run({}, [], ctx), /hil report: give at least one run folder/);
      await expectHilError(reportCommand.run({ format: 'gif' }, [run], ctx), /--format: unknown format "gif"; available: pdf, png, svg/);
      await expectHilError(reportCommand.run({}, ['no-such-run-id'], ctx), /no-such-run-id: no such run folder/);
    });
  });
});
