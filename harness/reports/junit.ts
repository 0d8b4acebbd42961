/**
 * JUnit XML for CI dashboards, built with junit-report-builder (not by hand): the checks of
 * `hil compare`, and one run's own pass/fail facts for `hil run --junit`.
 */
import fs from 'node:fs';
import path from 'node:path';
import junitModule, { type Builder, type TestCase } from 'junit-report-builder';
import type { CheckResult, Comparison } from './compare.js';
import { loadRunResults } from './run-results.js';

// The package is CommonJS with `module.exports = builder`; its types declare `export default`,
// so under NodeNext the default import is the builder itself at run time.
const rootBuilder = ((junitModule as unknown as { default?: Builder }).default ?? junitModule) as unknown as Builder;

/** One test case per check x key (model x variant x check for the per-model tables). */
export function junitFromComparison(c: Comparison): string {
  const builder = rootBuilder.newBuilder();
  const suite = builder.testSuite().name(`hil compare ${c.baseline.id ?? c.baseline.where} -> ${c.run.id ?? c.run.where}`);
  suite.property('baseline', c.baseline.where).property('run', c.run.where).property('thresholds', c.thresholds);
  for (const r of c.results) addCheck(suite.testCase(), r);
  return builder.build();
}

function addCheck(tc: TestCase, r: CheckResult): void {
  tc.className(`compare.${r.check}`).name(r.key);
  if (r.baseline !== undefined) tc.property('baseline', String(r.baseline));
  if (r.run !== undefined) tc.property('run', String(r.run));
  if (r.limit !== undefined) tc.property('limit', r.limitText);
  if (r.status === 'fail' || r.status === 'missing') tc.failure(r.message, r.status === 'missing' ? 'missing' : 'regression');
  else if (r.status === 'skip') tc.skipped();
  else if (r.status === 'new') tc.standardOutput(`${r.message} (new: a note, not a failure)`);
}

/**
 * One run's results as JUnit: a test case `status` for the run, and per model x variant
 * `agreement` (device top-1 == host reference on every sample) and `complete` (the model has
 * its accuracy row; run.json status complete). `hil run --junit` calls this.
 */
export function junitFromRun(runDir: string): string {
  const run = loadRunResults(runDir);
  const builder = rootBuilder.newBuilder();
  const suite = builder.testSuite().name(`hil run ${run.json.id ?? run.where}`);
  suite.property('run', run.where);
  const status = run.json.status ?? '(none)';
  const statusCase = suite.testCase().className('run').name('status');
  if (status !== 'complete') statusCase.failure(`run status is "${status}", expected "complete"`, 'incomplete');

  const accuracy = run.table('accuracy.csv', ['model', 'samples', 'agreement', 'mismatches']);
  const expected = run.modelsByVariant();
  // models with an accuracy row but not in run.json (older runs) are cases too
  for (const r of accuracy ?? []) if (!(expected.get(r.variant) ?? []).includes(r.model)) expected.set(r.variant, [...(expected.get(r.variant) ?? []), r.model]);
  const measured = (run.json.experiments ?? ['accuracy']).includes('accuracy');
  for (const [variant, models] of expected) {
    for (const model of models) {
      const row = accuracy?.find((r) => r.variant === variant && r.model === model);
      const cls = `run.${variant}.${model}`;
      const complete = suite.testCase().className(cls).name('complete');
      if (status !== 'complete') complete.failure(`run status is "${status}"`, 'incomplete');
      else if (measured && !row) complete.failure(`no accuracy row for ${variant} / ${model} in ${run.where}/accuracy.csv`, 'incomplete');
      if (!measured) continue;
      const agreement = suite.testCase().className(cls).name('agreement');
      if (!row) agreement.skipped();
      else if (Number(row.agreement) !== 1) {
        agreement.failure(`device/host agreement ${(100 * Number(row.agreement)).toFixed(2)} % (${row.mismatches} mismatches of ${row.samples} samples), expected 100 %`, 'mismatch');
      }
    }
  }
  return builder.build();
}

/** Writes junitFromRun(runDir) to `file` (parent folders created). */
export function writeRunJunit(runDir: string, file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, junitFromRun(runDir));
}
