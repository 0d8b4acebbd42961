/** `hil merge`: the shard folders of one run (CI jobs, rigs, hosts) merged into one run folder. */
import fs from 'node:fs';
import path from 'node:path';
import { expandShardFolders, mergeShards } from '../run/shard.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';
import type { Command } from './command.js';
import { required } from './options.js';

export const mergeCommand: Command = {
  name: 'merge',
  usage: `merge <shard folders...> --out <dir>   merges the shard folders of one run (hil run --shard i/n, a pool of rigs)
                               into one run folder; a folder may hold shard folders (CI artifacts); docs/scale-out.md`,
  options: { out: { type: 'string' }, quiet: { type: 'boolean' } },
  async run(values, positionals, ctx) {
    const out = required(values, 'out', 'the merged run folder', 'hil merge');
    if (positionals.length === 0) throw new HilError('give the shard folders to merge', 'hil merge');
    const result = await mergeShards(expandShardFolders(positionals), path.resolve(out), ctx.log);
    const files = fs.readdirSync(result.dir).sort().join(', ');
    process.stdout.write(`${result.summary}\n\nmerged: ${rel(result.dir)}/ (${files})\n`);
    return 0;
  },
};
