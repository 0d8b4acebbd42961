/** `hil build`: the firmware of a rig's board and a model set, and its flash/SRAM use. */
import { buildFirmware } from '../firmware/build.js';
import { markerStyle } from '../power/factory.js';
import { DEVICE_PROTOCOLS, firmwareProtocol, protocolTraits } from '../protocol/drivers.js';
import { DEFAULT_RIG, loadRig } from '../rig/rig.js';
import { loadDeploySet } from '../session/model-set.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';
import type { Command } from './command.js';
import { list, str, variantOf } from './options.js';

export const buildCommand: Command = {
  name: 'build',
  usage: `build [--rig r] [--models a,b] [--variant v] [--protocol p [--profile tag]]   build the firmware and print its flash/SRAM use
      --protocol <p>           host protocol front end: ${DEVICE_PROTOCOLS.join(', ')} (default yono); mlperf-tiny serves one model
      --profile <tag>          mlperf-tiny: the tag profile% reports (kws01, ic01, vww01, ad01...; default the model's name)`,
  options: {
    rig: { type: 'string' }, models: { type: 'string' }, variant: { type: 'string' }, quiet: { type: 'boolean' },
    protocol: { type: 'string' }, profile: { type: 'string' },
  },
  async run(values, _positionals, ctx) {
    const rig = loadRig(str(values, 'rig') ?? DEFAULT_RIG);
    const variant = variantOf(values);
    const protocol = str(values, 'protocol') ?? 'yono';
    const front = firmwareProtocol(protocol);
    const profile = str(values, 'profile');
    const models = loadDeploySet(list(values, 'models') ?? [], variant);
    if (protocolTraits(protocol).oneModel && models.length !== 1) {
      throw new HilError(`the mlperf-tiny front end serves one model; choose it with --models (got ${models.map((m) => m.name).join(', ')})`, '--models');
    }
    if (profile !== undefined && !protocolTraits(protocol).mlperfTiny) throw new HilError('only with --protocol mlperf-tiny', '--profile');
    const build = buildFirmware(rig.board, models, {
      log: ctx.log.info,
      variant,
      marker: markerStyle(rig),
      protocol: front,
      ...(protocolTraits(protocol).mlperfTiny ? { mlperf: { profile } } : {}),
    });
    const m = build.memory;
    const proto = protocol === 'yono' ? '' : ` protocol ${protocol}${protocolTraits(protocol).mlperfTiny ? ` profile ${profile ?? models[0].name}` : ''}`;
    process.stdout.write(`${rel(build.elf)}\nbuild ${build.buildHash} board ${build.board.name}${proto}: flash ${m.flashBytes}/${m.flashBudget} B, SRAM ${m.ramBytes}/${m.ramBudget} B\n`);
    return 0;
  },
};
