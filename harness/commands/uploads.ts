/** `hil uploads <run>...`: wire bytes and seconds per upload, per model, across runs (reports/uploads.ts). */
import { compareUploads } from '../reports/uploads.js';
import type { Command } from './command.js';

export const uploadsCommand: Command = {
  name: 'uploads',
  usage:
    'uploads <run> [<run>...]       per model: bytes out/in and seconds per upload of one input in each run\'s protocol\n' +
    '                               (runs with --experiments uploads; e.g. one --protocol yono, one --protocol mlperf-tiny on one rig)',
  options: { quiet: { type: 'boolean' } },
  async run(_values, positionals, ctx) {
    const c = compareUploads(positionals);
    if (c.rigs.length > 1) ctx.log.warn(`the runs used different rigs (${c.rigs.join(', ')}): their upload costs are not comparable`);
    process.stdout.write(c.lines.join('\n') + '\n');
    return 0;
  },
};
