/**
 * `hil compare` without QEMU: a real reference run copied to a temp folder, compared with itself,
 * then regressions seeded by editing the copy's CSVs and run.json.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { parse as parseYaml } from 'yaml';
import { compareCommand } from '../../harness/commands/compare.js';
import type { CommandContext } from '../../harness/commands/command.js';
import { compareRuns, failures, formatMarkdown } from '../../harness/reports/compare.js';
import { readCsv } from '../../harness/reports/csv.js';
import { junitFromComparison, junitFromRun, writeRunJunit } from '../../harness/reports/junit.js';
import { DEFAULT_LIMITS, DEFAULT_THRESHOLDS_FILE, loadThresholds, builtinThresholds, limitFor } from '../../harness/reports/thresholds.js';
import { HilError } from '../../harness/util/errors.js';
import { ROOT } from '../../harness/util/paths.js';

const REFERENCE = path.join(ROOT, 'results', 'reference', 'demo-all-variants-qemu-mps2-an386');

let tmp: string;

function copyRun(name = 'run'): string {
  const dir = path.join(tmp, name);
  fs.cpSync(REFERENCE, dir, { recursive: true });
  return dir;
}

/** Rewrites one CSV of a run folder, keeping its header (and so its column order). */
function editCsv(dir: string, file: string, edit: (rows: Record<string, string>[]) => Record<string, string>[], header?: string[]): void {
  const full = path.join(dir, file);
  const text = fs.readFileSync(full, 'utf8');
  const columns = header ?? text.split('\n')[0].split(',');
  const rows = edit(readCsv(text));
  fs.writeFileSync(full, stringify([columns, ...rows.map((r) => columns.map((c) => r[c] ?? ''))]));
}

function editRunJson(dir: string, edit: (json: Record<string, any>) => void): void {
  const file = path.join(dir, 'run.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, any>;
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
}

interface Captured {
  code: number;
  stdout: string;
  warnings: string[];
  infos: string[];
}

/** Runs the Command as the CLI would, capturing stdout and the log. */
async function runCompare(positionals: string[], values: Record<string, string | boolean> = {}): Promise<Captured> {
  const warnings: string[] = [];
  const infos: string[] = [];
  const ctx: CommandContext = {
    log: { info: (l) => infos.push(l), warn: (l) => warnings.push(l), progress: () => ({ tick: () => undefined, stop: () => undefined }) },
  };
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await compareCommand.run(values, positionals, ctx);
    return { code, stdout, warnings, infos };
  } finally {
    process.stdout.write = write;
  }
}

/** The HilError a call throws (or rejects with); fails the test when there is none. */
async function hilErrorOf(f: () => unknown): Promise<HilError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  expect.fail('expected a HilError');
}

/** testcase elements of a JUnit document: classname, name, and the failure message if any. */
function junitCases(xml: string): { classname: string; name: string; failure?: string; skipped: boolean }[] {
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const cases = [...xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)];
  return cases.map((m) => {
    const attr = (s: string, name: string) => unescape(new RegExp(`\\b${name}="([^"]*)"`).exec(s)?.[1] ?? '');
    const body = m[3] ?? '';
    const failure = /<failure\b([^>]*)/.exec(body);
    return { classname: attr(m[1], 'classname'), name: attr(m[1], 'name'), failure: failure ? attr(failure[1], 'message') : undefined, skipped: /<skipped\b/.test(body) };
  });
}

/** Markdown table rows (outside the folded full table) as cell arrays. */
function summaryRows(markdown: string): string[][] {
  const before = markdown.split('<details>')[0];
  return before
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| check '))
    .map((l) => l.slice(2, -2).split(' | '));
}

describe('hil compare (regression gate)', () => {
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-compare-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a run compared with a copy of itself passes every check (exit 0)', async () => {
    const run = copyRun();
    const c = compareRuns(REFERENCE, run, loadThresholds(DEFAULT_THRESHOLDS_FILE));
    expect(c.regressed).to.equal(false);
    expect(c.warnings).to.deep.equal([]);
    expect(c.notes).to.deep.equal([]);
    expect(c.results.every((r) => r.status === 'pass')).to.equal(true);
    const count = (check: string) => c.results.filter((r) => r.check === check).length;
    // 17 model x variant rows (int8-ext leaves out person_detect), 3 firmwares, 8 compression rows,
    // 80 ordered pairs, 68 energy rows, 8 scenario schedules x variant x storage
    expect([count('top1'), count('agreement'), count('instructions'), count('ms')]).to.deep.equal([17, 17, 17, 17]);
    expect([count('flash'), count('sram'), count('compression_ratio')]).to.deep.equal([3, 3, 8]);
    expect([count('switch.ready_ms'), count('energy'), count('scenario.mJ')]).to.deep.equal([80, 68, 8]);

    const out = await runCompare([REFERENCE, run]);
    expect(out.code).to.equal(0);
    expect(out.stdout).to.match(/^### hil compare: no regression \(\d+ checks passed\)/);
    expect(summaryRows(out.stdout)).to.deep.equal([]);
  });

  it('matches rows on their keys, not on row order', () => {
    const run = copyRun();
    for (const f of ['accuracy.csv', 'latency.csv', 'switching.csv', 'energy.csv', 'scenario.csv', 'compression.csv']) editCsv(run, f, (rows) => rows.reverse());
    const c = compareRuns(REFERENCE, run, builtinThresholds());
    expect(failures(c)).to.deep.equal([]);
  });

  it('seeded regressions (top-1 -2 points, +10 % instructions, +8 KiB flash) fail exactly those checks, exit 1, in Markdown and JUnit', async () => {
    const run = copyRun();
    editCsv(run, 'accuracy.csv', (rows) =>
      rows.map((r) => (r.variant === 'pq' && r.model === 'fmnist_cnn' ? { ...r, correct: '8655', top1: '0.8655', host_correct: '8655', host_top1: '0.8655' } : r)),
    );
    editCsv(run, 'latency.csv', (rows) =>
      rows.map((r) => (r.variant === 'int8' && r.model === 'hapt_cnn' ? { ...r, instructions_median: String(Math.round(Number(r.instructions_median) * 1.1)) } : r)),
    );
    editRunJson(run, (j) => {
      j.variants.find((v: { variant: string }) => v.variant === 'pq').firmware.memory.flashBytes += 8192;
    });
    const md = path.join(tmp, 'out', 'compare.md');
    const xml = path.join(tmp, 'out', 'compare.xml');
    const out = await runCompare([REFERENCE, run], { markdown: md, junit: xml });
    expect(out.code).to.equal(1);
    expect(fs.readFileSync(md, 'utf8')).to.equal(out.stdout);
    expect(out.stdout).to.match(/^### hil compare: REGRESSION \(3 of \d+ checks failed\)/);
    expect(summaryRows(out.stdout)).to.deep.equal([
      ['flash', 'pq', '261060 B', '269252 B', '+8192 B', 'growth <= 4096 B', '**FAIL**'],
      ['top1', 'pq / fmnist_cnn', '88.55 %', '86.55 %', '-2 pt', 'drop <= 1 pt', '**FAIL**'],
      ['instructions', 'int8 / hapt_cnn', '1083600', '1191960', '+10 %', 'growth <= 2 %', '**FAIL**'],
    ]);
    expect(out.warnings.join('\n')).to.match(/regression: 3 check\(s\) failed/);

    const cases = junitCases(fs.readFileSync(xml, 'utf8'));
    expect(cases.length).to.be.greaterThan(400);
    const failed = cases.filter((c) => c.failure !== undefined);
    expect(failed.map((c) => `${c.classname} ${c.name}`)).to.deep.equal(['compare.flash pq', 'compare.top1 pq / fmnist_cnn', 'compare.instructions int8 / hapt_cnn']);
    expect(failed[0].failure).to.equal('flash pq: baseline 261060 B, run 269252 B, +8192 B, limit growth <= 4096 B');
    expect(failed[1].failure).to.equal('top1 pq / fmnist_cnn: baseline 88.55 %, run 86.55 %, -2 pt, limit drop <= 1 pt');
    expect(failed[2].failure).to.equal('instructions int8 / hapt_cnn: baseline 1083600, run 1191960, +10 %, limit growth <= 2 %');
    expect(fs.readFileSync(xml, 'utf8')).to.match(/<testsuites [^>]*failures="3"/);
  });

  it('a change of exactly the limit passes; a per-model override replaces the default', () => {
    const run = copyRun();
    // 100 x (0.72 - 0.71) is 1.0000000000000009 in binary floating point: still exactly 1 point
    editCsv(run, 'accuracy.csv', (rows) => rows.map((r) => (r.variant === 'int8' && r.model === 'pickup_cnn' ? { ...r, top1: '0.71' } : r)));
    editCsv(run, 'latency.csv', (rows) => rows.map((r) => (r.variant === 'pq' && r.model === 'kws_dscnn' ? { ...r, ms_median: String(Number(r.ms_median) * 1.03) } : r)));
    const file = path.join(tmp, 'limits.yaml');
    fs.writeFileSync(file, 'defaults:\n  ms_growth_pct: 3\nmodels:\n  pickup_cnn:\n    top1_drop_points: 0.5\n');
    const t = loadThresholds(file);
    expect(limitFor(t, 'top1_drop_points', 'pickup_cnn')).to.equal(0.5);
    expect(limitFor(t, 'top1_drop_points', 'hapt_cnn')).to.equal(DEFAULT_LIMITS.top1_drop_points);
    const withOverride = compareRuns(REFERENCE, run, t);
    expect(failures(withOverride).map((r) => `${r.check} ${r.key}`)).to.deep.equal(['top1 int8 / pickup_cnn']);
    const ms = withOverride.results.find((r) => r.check === 'ms' && r.key === 'pq / kws_dscnn');
    expect(ms?.status).to.equal('pass');
    expect(ms?.delta).to.be.closeTo(3, 1e-6);
    // the built-in limits: 1 point passes exactly, 3 % fails against 2 %
    const builtin = compareRuns(REFERENCE, run, builtinThresholds());
    expect(failures(builtin).map((r) => `${r.check} ${r.key}`)).to.deep.equal(['ms pq / kws_dscnn']);
  });

  it('a model missing from the run fails; a new model is a note', () => {
    const run = copyRun();
    editCsv(run, 'accuracy.csv', (rows) => [
      ...rows.filter((r) => r.model !== 'racket_cnn'),
      { ...rows[0], model: 'new_cnn', variant: 'int8' },
    ]);
    const c = compareRuns(REFERENCE, run, builtinThresholds());
    expect(c.regressed).to.equal(true);
    expect(failures(c).map((r) => `${r.check} ${r.key} ${r.status}`)).to.deep.equal([
      'top1 int8 / racket_cnn missing', 'top1 pq / racket_cnn missing', 'top1 int8-ext / racket_cnn missing',
      'agreement int8 / racket_cnn missing', 'agreement pq / racket_cnn missing', 'agreement int8-ext / racket_cnn missing',
    ]);
    expect(c.results.filter((r) => r.status === 'new').map((r) => `${r.check} ${r.key}`)).to.deep.equal(['top1 int8 / new_cnn', 'agreement int8 / new_cnn']);
    expect(c.notes).to.deep.equal(['new model new_cnn: not in the baseline, nothing to compare', '2 check(s) only in the run, not judged (new rows: int8 / new_cnn)']);
    const md = formatMarkdown(c);
    expect(summaryRows(md)).to.have.length(6);
    expect(summaryRows(md)[0]).to.deep.equal(['top1', 'int8 / racket_cnn', '81.5789 %', '-', '-', 'drop <= 1 pt', '**MISSING**']);
    expect(md).to.contain('> note: new model new_cnn: not in the baseline, nothing to compare');
    expect(md).to.contain('| top1 | int8 / new_cnn | - | 89.16 % | - | drop <= 1 pt | new |');
    const junit = junitCases(junitFromComparison(c));
    expect(junit.filter((j) => j.failure !== undefined)).to.have.length(6);
  });

  it('an experiment file of the baseline missing from the run fails; device/host disagreement fails', () => {
    const run = copyRun();
    fs.rmSync(path.join(run, 'switching.csv'));
    editCsv(run, 'accuracy.csv', (rows) => rows.map((r) => (r.variant === 'pq' && r.model === 'kws_dscnn' ? { ...r, agreement: '0.996667', mismatches: '1' } : r)));
    const c = compareRuns(REFERENCE, run, builtinThresholds());
    expect(failures(c).map((r) => `${r.check} ${r.key} ${r.status}`)).to.deep.equal(['agreement pq / kws_dscnn fail', 'file switching.csv missing']);
  });

  it('bad input is one HilError line with exit status 2: not a run, missing column, bad thresholds field, wrong arguments', async () => {
    const run = copyRun();
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const notRun = await hilErrorOf(() => runCompare([REFERENCE, empty]));
    expect(notRun.exitCode).to.equal(2);
    expect(notRun.toLine()).to.equal(`${empty}: not a run folder (no run.json)`);

    editCsv(run, 'latency.csv', (rows) => rows, ['run_id', 'variant', 'model', 'ms_median']);
    const column = await hilErrorOf(() => runCompare([REFERENCE, run]));
    expect(column.exitCode).to.equal(2);
    expect(column.toLine()).to.equal(`${run}/latency.csv: missing column "instructions_median"`);

    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, 'defaults:\n  top1_drop_points: lots\n');
    const field = await hilErrorOf(() => runCompare([REFERENCE, REFERENCE], { thresholds: bad }));
    expect(field.exitCode).to.equal(2);
    expect(field.toLine()).to.equal(`${bad}: defaults.top1_drop_points: must be number`);

    fs.writeFileSync(bad, 'defaults:\n  top1_drop: 2\n');
    expect((await hilErrorOf(() => loadThresholds(bad))).toLine()).to.match(new RegExp(`^${bad}: defaults.top1_drop: unknown field; known limits: top1_drop_points, `));
    fs.writeFileSync(bad, 'models:\n  fmnist_cnn:\n    agreement_min: 1.5\n');
    expect((await hilErrorOf(() => loadThresholds(bad))).toLine()).to.equal(`${bad}: models.fmnist_cnn.agreement_min: must be <= 1`);
    fs.writeFileSync(bad, 'defaults: [1\n');
    expect((await hilErrorOf(() => loadThresholds(bad))).toLine()).to.match(new RegExp(`^${bad}:\\d+: YAML syntax: `));

    const args = await hilErrorOf(() => runCompare([REFERENCE]));
    expect(args.exitCode).to.equal(2);
    for (const e of [notRun, column, field, args]) expect(e.toLine()).to.not.contain('\n');
  });

  it('two rows with the same key in one CSV are bad input', async () => {
    const run = copyRun();
    editCsv(run, 'latency.csv', (rows) => [...rows, rows[3]]);
    const dup = await hilErrorOf(() => compareRuns(REFERENCE, run, builtinThresholds()));
    expect([dup.exitCode, dup.toLine()]).to.deep.equal([2, `${run}/latency.csv: two rows for int8 / person_detect`]);
  });

  it('runs of different rigs: a warning line, an error with --strict', async () => {
    const run = copyRun();
    editRunJson(run, (j) => {
      j.rig.name = 'qemu-mps2-an500';
    });
    const out = await runCompare([REFERENCE, run]);
    expect(out.code).to.equal(0);
    expect(out.warnings).to.deep.equal(['different rigs: baseline qemu-mps2-an386, run qemu-mps2-an500; the figures may not be comparable']);
    expect(out.stdout).to.contain('> warning: different rigs');
    const strict = await hilErrorOf(() => runCompare([REFERENCE, run], { strict: true }));
    expect(strict.exitCode).to.equal(2);
    expect(strict.message).to.match(/^different rigs: .*\(--strict\)$/);
  });

  it('--update-baseline replaces the baseline folder after a pass, refuses after a regression unless --force', async () => {
    const baseline = copyRun('baseline');
    const run = copyRun('run');
    fs.writeFileSync(path.join(baseline, 'stale.txt'), 'old baseline file');
    fs.writeFileSync(path.join(run, 'summary.txt'), 'the new run');
    const pass = await runCompare([baseline, run], { 'update-baseline': baseline });
    expect(pass.code).to.equal(0);
    expect(fs.readFileSync(path.join(baseline, 'summary.txt'), 'utf8')).to.equal('the new run');
    expect(fs.existsSync(path.join(baseline, 'stale.txt'))).to.equal(false);
    expect(fs.readdirSync(tmp).sort()).to.deep.equal(['baseline', 'run']); // no temp or old folder left

    editCsv(run, 'latency.csv', (rows) => rows.map((r) => ({ ...r, ms_median: String(Number(r.ms_median) * 2) })));
    const refused = await runCompare([baseline, run], { 'update-baseline': baseline });
    expect(refused.code).to.equal(1);
    expect(refused.warnings.join('\n')).to.match(/not updated: the run regressed/);
    expect(fs.readFileSync(path.join(baseline, 'latency.csv'), 'utf8')).to.equal(fs.readFileSync(path.join(REFERENCE, 'latency.csv'), 'utf8'));

    const forced = await runCompare([baseline, run], { 'update-baseline': baseline, force: true });
    expect(forced.code).to.equal(1);
    expect(fs.readFileSync(path.join(baseline, 'latency.csv'), 'utf8')).to.equal(fs.readFileSync(path.join(run, 'latency.csv'), 'utf8'));
  });

  it('gates/thresholds.yaml documents the built-in defaults, key for key', () => {
    const doc = parseYaml(fs.readFileSync(DEFAULT_THRESHOLDS_FILE, 'utf8')) as { defaults: Record<string, number> };
    expect(doc.defaults).to.deep.equal({ ...DEFAULT_LIMITS });
    expect(loadThresholds(DEFAULT_THRESHOLDS_FILE).models.person_detect).to.deep.equal({ top1_drop_points: 50 });
  });

  it('compares runs from before the variant column as int8', () => {
    const legacy = path.join(ROOT, 'results', 'reference', 'issue2-demo-qemu-mps2-an386');
    const c = compareRuns(legacy, legacy, builtinThresholds());
    expect(c.regressed).to.equal(false);
    expect(c.results.filter((r) => r.check === 'top1').map((r) => r.key)).to.deep.equal(['int8 / fmnist_cnn', 'int8 / hapt_cnn']);
  });
});

describe('junitFromRun (hil run --junit)', () => {
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-junit-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a complete run that agrees everywhere: status + complete and agreement per model x variant, no failure', () => {
    const cases = junitCases(junitFromRun(REFERENCE));
    expect(cases).to.have.length(1 + 2 * 17);
    expect(cases[0]).to.deep.equal({ classname: 'run', name: 'status', failure: undefined, skipped: false });
    expect(cases.filter((c) => c.name === 'agreement').map((c) => c.classname)).to.include.members(['run.pq.fmnist_cnn', 'run.int8-ext.racket_cnn']);
    expect(cases.some((c) => c.classname === 'run.int8-ext.person_detect')).to.equal(false);
    expect(cases.filter((c) => c.failure !== undefined)).to.deep.equal([]);
  });

  it('a disagreeing model and an interrupted run fail with their numbers', () => {
    const run = path.join(tmp, 'run');
    fs.cpSync(REFERENCE, run, { recursive: true });
    editCsv(run, 'accuracy.csv', (rows) =>
      rows.filter((r) => !(r.variant === 'int8' && r.model === 'pickup_cnn')).map((r) => (r.variant === 'pq' && r.model === 'kws_dscnn' ? { ...r, agreement: '0.993333', mismatches: '2' } : r)),
    );
    const file = path.join(tmp, 'junit', 'run.xml');
    writeRunJunit(run, file);
    const failed = junitCases(fs.readFileSync(file, 'utf8')).filter((c) => c.failure !== undefined);
    expect(failed.map((c) => `${c.classname} ${c.name}: ${c.failure}`)).to.deep.equal([
      `run.int8.pickup_cnn complete: no accuracy row for int8 / pickup_cnn in ${run}/accuracy.csv`,
      'run.pq.kws_dscnn agreement: device/host agreement 99.33 % (2 mismatches of 300 samples), expected 100 %',
    ]);
    editRunJson(run, (j) => {
      j.status = 'interrupted';
    });
    const interrupted = junitCases(junitFromRun(run)).filter((c) => c.failure !== undefined);
    expect(interrupted[0]).to.deep.equal({ classname: 'run', name: 'status', failure: 'run status is "interrupted", expected "complete"', skipped: false });
    expect(interrupted.filter((c) => c.name === 'complete')).to.have.length(17);
  });
});
