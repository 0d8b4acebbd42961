/** `hil models` and `hil prepare`: the model set and its data sets. */
import path from 'node:path';
import { estimateModelFootprint } from '../codegen/codegen.js';
import { prepareDataset } from '../datasets/prepared.js';
import { isBuiltinDataset } from '../datasets/model-data.js';
import { readModelReport } from '../modeltools/model-report.js';
import { listModels, loadModelSet } from '../session/model-set.js';
import { MODELS_DIR } from '../util/paths.js';
import { HilError } from '../util/errors.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import { formatTable } from '../util/table.js';
import type { Command } from './command.js';

export const modelsCommand: Command = {
  name: 'models',
  usage: 'models                       list the trained and imported models',
  options: {},
  async run(_values, _positionals, ctx) {
    const rows = listModels().map((name) => {
      const r = readModelReport(path.join(MODELS_DIR, name));
      let model: Int8Model;
      try {
        model = loadModelSet([name])[0];
      } catch (e) {
        // one broken folder is reported on its row; the others are still listed
        const why = e instanceof HilError ? e.toLine() : String(e);
        ctx.log.warn(why);
        return [name, 'invalid', '-', '-', '-', '-', '-', '-'];
      }
      const need = estimateModelFootprint(model);
      const num = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
      const pctOf = (k: string) => (num(k) === undefined ? '-' : `${(100 * (num(k) as number)).toFixed(2)}%`);
      return [name, model.dataset, String(num('params') ?? '-'), String(num('macs') ?? '-'), String(need.flashBytes), String(need.ramBytes), pctOf('fp32_top1'), pctOf('int8_top1')];
    });
    process.stdout.write(formatTable(['model', 'dataset', 'params', 'MACs', 'flash B', 'SRAM B', 'fp32 top1', 'int8 top1'], rows) + '\n');
    process.stdout.write('flash/SRAM: what the model adds to the firmware (weights, tables; activation arena, scratch, input); top-1 on the host, whole test split\n');
    return 0;
  },
};

export const prepareCommand: Command = {
  name: 'prepare',
  usage: 'prepare [dataset...]         prepare data sets under datasets/prepared/ (default: those of the models)',
  options: { quiet: { type: 'boolean' } },
  async run(_values, positionals, ctx) {
    // a user's own data (hil import --dataset <file|folder|none>) needs no preparation
    const names = positionals.length > 0 ? positionals : [...new Set(loadModelSet().map((m) => m.dataset).filter(isBuiltinDataset))];
    for (const name of names) {
      const manifest = prepareDataset(name);
      ctx.log.info(`prepared ${name}: ${JSON.stringify(manifest.counts ?? {})}`);
    }
    return 0;
  },
};
