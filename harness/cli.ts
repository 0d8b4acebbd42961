#!/usr/bin/env node
/** `hil`: the command line of yono-hil. Every user-facing failure is one line and a non-zero exit. */
import { parseArgs } from 'node:util';
import { buildCommand } from './commands/build.js';
import type { Command } from './commands/command.js';
import { compareCommand } from './commands/compare.js';
import { compressCommandSpec } from './commands/compress.js';
import { importCommandSpec } from './commands/import.js';
import { mergeCommand } from './commands/merge.js';
import { modelsCommand, prepareCommand } from './commands/models.js';
import { reportCommand } from './commands/report.js';
import { rigsCommand } from './commands/rigs.js';
import { demoCommand, runCommand } from './commands/run.js';
import { submitCommand } from './commands/submit.js';
import { trainCommand } from './commands/train.js';
import { uploadsCommand } from './commands/uploads.js';
import { workerCommand } from './commands/worker.js';
import { runCleanups } from './util/cleanup.js';
import { HilError } from './util/errors.js';
import { createLogger } from './util/log.js';

const COMMANDS: Command[] = [demoCommand, runCommand, buildCommand, modelsCommand, prepareCommand, trainCommand, rigsCommand, compressCommandSpec, importCommandSpec, compareCommand, reportCommand, uploadsCommand, mergeCommand, submitCommand, workerCommand];

function usage(): string {
  return `usage: hil <command> [options]   (hil <command> --help for one command)\n\ncommands:\n${COMMANDS.map((c) => `  ${c.usage}`).join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new HilError(`unknown command; run 'hil help'`, name);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...command.options, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    // node's message names the option; say which command refused it
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new HilError(`${message} (see 'hil ${name} --help')`, `hil ${name}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`usage: hil ${command.usage}\n`);
    return 0;
  }
  const log = createLogger({ quiet: parsed.values.quiet === true });
  return command.run(parsed.values, parsed.positionals, { log });
}

main(process.argv.slice(2))
  .then(async (code) => {
    await runCleanups();
    process.exitCode = code;
  })
  .catch(async (e: unknown) => {
    await runCleanups();
    if (e instanceof HilError) {
      process.stderr.write(`error: ${e.toLine()}\n`);
      process.exitCode = e.exitCode;
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      process.stderr.write(`internal error (a bug in yono-hil): ${err.message}${process.env.YONO_DEBUG ? `\n${err.stack}` : ' (set YONO_DEBUG=1 for the stack)'}\n`);
      process.exitCode = 70;
    }
  });
