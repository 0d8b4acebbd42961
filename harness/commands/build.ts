/** `hil build`: the firmware of a rig's board and a model set, and its flash/SRAM use. */
import { buildFirmware } from '../firmware/build.js';
import { markerStyle } from '../power/factory.js';
import { DEFAULT_RIG, loadRig } from '../rig/rig.js';
import { loadDeploySet } from '../session/model-set.js';
import { rel } from '../util/paths.js';
import type { Command } from './command.js';
import { list, str, variantOf } from './options.js';

export const buildCommand: Command = {
  name: 'build',
  usage: `build [--rig r] [--models a,b] [--variant v]   build the firmware and print its flash/SRAM use`,
  options: { rig: { type: 'string' }, models: { type: 'string' }, variant: { type: 'string' }, quiet: { type: 'boolean' } },
  async run(values, _positionals, ctx) {
    const rig = loadRig(str(values, 'rig') ?? DEFAULT_RIG);
    const variant = variantOf(values);
    const build = buildFirmware(rig.board, loadDeploySet(list(values, 'models') ?? [], variant), { log: ctx.log.info, variant, marker: markerStyle(rig) });
    const m = build.memory;
    process.stdout.write(`${rel(build.elf)}\nbuild ${build.buildHash} board ${build.board.name}: flash ${m.flashBytes}/${m.flashBudget} B, SRAM ${m.ramBytes}/${m.ramBudget} B\n`);
    return 0;
  },
};
