/** Entry point of a script (benchmarks): exit status from `main`, cleanups run, a HilError as one line. */
import { runCleanups } from './cleanup.js';
import { HilError } from './errors.js';

export function runScript(main: () => Promise<number>): void {
  main()
    .then(async (code) => {
      await runCleanups();
      process.exitCode = code;
    })
    .catch(async (e: unknown) => {
      await runCleanups();
      process.stderr.write(`error: ${e instanceof HilError ? e.toLine() : e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    });
}
