/** The `hil` command line as a user meets it (a child process), and the one-line error every bad input must give. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { HilError } from '../../harness/util/errors.js';
import { ROOT } from '../../harness/util/paths.js';

export interface HilExit {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Runs `hil <args>` from dist/ with `env` added, for at most `timeoutMs`. */
export function hil(args: string[], env: Record<string, string> = {}, timeoutMs = 60000): HilExit {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'harness', 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** A non-zero exit with exactly one line `error: ...` matching `pattern`, and no stack trace. */
export function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code).to.not.equal(0);
  expect(r.code).to.not.equal(null);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^error: /);
  expect(lines[0]).to.match(pattern);
  expect(r.stderr).to.not.match(/\n\s+at /);
}

/** The HilError `fn` throws (fails the test when it throws nothing or something else). */
export function hilError(fn: () => unknown): HilError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(HilError);
    return e as HilError;
  }
  throw new Error('expected a HilError');
}
