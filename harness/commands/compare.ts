/**
 * `hil compare <baseline-run> <run>`: the regression gate. Exit 0 = no regression, 1 = a
 * regression, 2 = bad input (a HilError, printed as one line by the CLI).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command, CommandContext, OptionValues } from './command.js';
import { compareRuns, failures, formatMarkdown } from '../reports/compare.js';
import { replaceBaseline } from '../reports/baseline.js';
import { junitFromComparison } from '../reports/junit.js';
import { builtinThresholds, DEFAULT_THRESHOLDS_FILE, loadThresholds } from '../reports/thresholds.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';

export const EXIT_PASS = 0;
export const EXIT_REGRESSION = 1;

function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new HilError('expected one value', `--${name}`);
}

function writeOutput(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new HilError(`cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
}

export const compareCommand: Command = {
  name: 'compare',
  usage: `compare <baseline-run> <run> [options]   regression gate: a run against its baseline run folder (exit 0 pass, 1 regression, 2 bad input)
      --thresholds <file.yaml>  limits (default ${rel(DEFAULT_THRESHOLDS_FILE)}, which documents every key)
      --markdown <out.md>       also write the Markdown table of deltas (always printed to stdout)
      --junit <out.xml>         JUnit XML: one test case per check x key (model x variant x check)
      --update-baseline <dir>   after a passing compare, copy the run to <dir> atomically (--force: even after a regression)
      --strict                  refuse runs of different rigs or boards (default: a warning)
`,
  options: {
    thresholds: { type: 'string' },
    markdown: { type: 'string' },
    junit: { type: 'string' },
    'update-baseline': { type: 'string' },
    force: { type: 'boolean' },
    strict: { type: 'boolean' },
  },
  async run(values: OptionValues, positionals: string[], ctx: CommandContext): Promise<number> {
    if (positionals.length !== 2) throw new HilError(`expected <baseline-run> <run>, got ${positionals.length} folder(s)`, 'compare');
    const [baselineDir, runDir] = positionals;
    const thresholdsFile = stringOption(values, 'thresholds');
    const thresholds = thresholdsFile ? loadThresholds(thresholdsFile) : fs.existsSync(DEFAULT_THRESHOLDS_FILE) ? loadThresholds(DEFAULT_THRESHOLDS_FILE) : builtinThresholds();
    const comparison = compareRuns(baselineDir, runDir, thresholds, { strict: values.strict === true });
    for (const w of comparison.warnings) ctx.log.warn(w);

    const markdown = formatMarkdown(comparison);
    process.stdout.write(markdown);
    const markdownFile = stringOption(values, 'markdown');
    if (markdownFile) writeOutput(markdownFile, markdown);
    const junitFile = stringOption(values, 'junit');
    if (junitFile) writeOutput(junitFile, junitFromComparison(comparison));

    const failed = failures(comparison);
    if (failed.length) ctx.log.warn(`regression: ${failed.length} check(s) failed, first: ${failed[0].message}`);

    const target = stringOption(values, 'update-baseline');
    if (target) {
      if (comparison.regressed && values.force !== true) {
        ctx.log.warn(`baseline ${target} not updated: the run regressed (--force updates it anyway)`);
      } else {
        replaceBaseline(runDir, target);
        ctx.log.info(`baseline ${target} updated from ${comparison.run.where}`);
      }
    }
    return comparison.regressed ? EXIT_REGRESSION : EXIT_PASS;
  },
};
