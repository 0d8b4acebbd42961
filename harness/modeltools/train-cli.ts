/** Stand-alone runner: node dist/harness/modeltools/train-cli.js <model|all> [--seed N] [--epochs N] */
import { parseArgs } from 'node:util';
import { HilError } from '../util/errors.js';
import { trainZooModel } from './train.js';
import { ZOO } from './zoo.js';

function positive(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new HilError(`must be a non-negative integer, got '${v}'`, flag);
  return n;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { seed: { type: 'string' }, epochs: { type: 'string' } },
  });
  const names = positionals.length === 0 || positionals[0] === 'all' ? Object.keys(ZOO) : positionals;
  for (const name of names) {
    const r = await trainZooModel(name, {
      seed: positive(values.seed, '--seed'),
      epochs: positive(values.epochs, '--epochs'),
      log: (m) => process.stderr.write(m + '\n'),
    });
    process.stdout.write(
      `${name}: fp32 ${(100 * r.fp32_top1).toFixed(2)} %, int8 ${(100 * r.int8_top1).toFixed(2)} %, ` +
        `${r.params} params, ${r.macs} MACs, ${r.train_seconds} s\n`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof HilError) {
      process.stderr.write(`error: ${e.toLine()}\n`);
      process.exit(e.exitCode);
    }
    throw e;
  },
);
