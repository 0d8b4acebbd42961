/**
 * One `hil` sub-command: its own options (parsed strictly, so an option it does not take is an
 * error naming the command), a usage block for `hil help`, and the code that runs it.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Logger } from '../util/log.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  log: Logger;
}

export interface Command {
  name: string;
  /** usage lines shown by `hil help` (first line: `name [options]   what it does`) */
  usage: string;
  options: OptionSpec;
  /** returns the process exit status */
  run(values: OptionValues, positionals: string[], ctx: CommandContext): Promise<number>;
}
