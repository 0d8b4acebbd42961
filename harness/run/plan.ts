/**
 * The plan of a run: which variants, which models each firmware holds, and the firmware builds.
 * Everything is built before any session starts, so a model set that does not fit fails first.
 */
import { ensurePrepared } from '../datasets/prepared.js';
import { isBuiltinDataset, modelTestSet } from '../datasets/model-data.js';
import type { PreparedManifest } from '../datasets/prepared-io.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import { decodePqModel, isPqModel } from '../compress/pq-model.js';
import { checkFootprint } from '../codegen/codegen.js';
import type { VariantPlan } from '../experiments/experiment.js';
import { buildFirmware, type FirmwareBuild } from '../firmware/build.js';
import { parseAddress, prebuiltFirmware, type PrebuiltSpec } from '../firmware/prebuilt.js';
import { checkProtocol, firmwareProtocol, protocolTraits } from '../protocol/drivers.js';
import { rel } from '../util/paths.js';
import { readBoard } from '../firmware/board.js';
import { markerStyle } from '../power/factory.js';
import type { Rig } from '../rig/rig.js';
import { loadDeploySet, VARIANTS, type Variant } from '../session/model-set.js';
import { HilError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface VariantBuild extends VariantPlan {
  firmware: FirmwareBuild;
}

/** Where a run's firmware comes from: the harness's build with a protocol front end, or a prebuilt image. */
export interface FirmwareSource {
  /** the device protocol (protocol/drivers.ts name) */
  protocol: string;
  /** mlperf-tiny: the profile tag (our build prints it; any device must report it) */
  profile?: string;
  /** mlperf-tiny energy mode (the run has mlperf-energy): our build with MLPERF_ENERGY=1, the driver with 26-byte db lines */
  energy?: boolean;
  prebuilt?: PrebuiltSpec & { where: { image: string; loadAddress: string } };
}

/**
 * The image: --firmware, else the rig's dut.firmware, else the harness builds its own. The
 * protocol: --protocol, else the rig's dut.firmware.protocol, else yono.
 */
export function firmwareSource(rig: Rig, options: { protocol?: string; firmware?: string; loadAddress?: string; profile?: string }): FirmwareSource {
  const fw = rig.dut.firmware;
  const protocol = checkProtocol(options.protocol ?? fw?.protocol ?? 'yono', options.protocol !== undefined ? '--protocol' : `${rel(rig.file)}: dut.firmware.protocol`);
  const profile = options.profile ?? (options.firmware === undefined ? fw?.profile : undefined);
  if (profile !== undefined && !protocolTraits(protocol).mlperfTiny) throw new HilError(`a profile tag is an mlperf-tiny notion; the run speaks ${protocol}`, '--profile');
  if (options.firmware !== undefined) {
    const loadAddress = options.loadAddress === undefined ? undefined : parseAddress(options.loadAddress, '--load-address');
    return { protocol, profile, prebuilt: { image: options.firmware, protocol, loadAddress, profile, where: { image: '--firmware', loadAddress: '--load-address' } } };
  }
  if (options.loadAddress !== undefined) throw new HilError('only with --firmware <image.bin>', '--load-address');
  if (fw) {
    const where = rel(rig.file);
    const loadAddress = fw.load_address === undefined ? undefined : parseAddress(fw.load_address, `${where}: dut.firmware.load_address`);
    return {
      protocol,
      profile,
      prebuilt: { image: fw.image, protocol, loadAddress, profile, where: { image: `${where}: dut.firmware.image`, loadAddress: `${where}: dut.firmware.load_address` } },
    };
  }
  return { protocol, profile };
}

/** The chosen variants in run order: the in-memory forms first, then the baseline compared with them. */
export function orderVariants(chosen: Variant[] | undefined): Variant[] {
  return VARIANTS.filter((v) => (chosen ?? ['int8']).includes(v));
}

/** The models of each variant's firmware (data sets prepared); notes say what was left out and why. */
export function planVariants(rig: Rig, models: string[], variants: Variant[], log: Logger, notes: string[]): VariantPlan[] {
  return variants.map((v) => {
    let deploy = loadDeploySet(models, v);
    if (v === 'int8-ext') deploy = fitExternal(rig, deploy, log, notes);
    // experiments run the host reference on the int8 model a pq model decodes to (bit-exact twin)
    const int8 = deploy.map((m) => (isPqModel(m) ? decodePqModel(m) : m));
    // a user's data (hil import --dataset <folder|file|none>) is read and checked whole: a mismatch stops the run here
    for (const m of int8) {
      if (isBuiltinDataset(m.dataset)) checkAgainstDataset(m, ensurePrepared(m.dataset));
      else modelTestSet(m);
    }
    return { variant: v, deploy, models: int8 };
  });
}

/**
 * Builds (or finds cached) the firmware of every planned variant, with the source's protocol
 * front end; a prebuilt image is the firmware of the run's one variant.
 */
export function buildVariants(rig: Rig, plans: VariantPlan[], log: Logger, source: FirmwareSource = { protocol: 'yono' }): VariantBuild[] {
  const one = protocolTraits(source.protocol).oneModel;
  for (const plan of plans) {
    if (one && plan.deploy.length !== 1) {
      throw new HilError(`an mlperf-tiny device serves one model; choose it with --models (planned: ${plan.deploy.map((m) => m.name).join(', ')})`, '--models');
    }
  }
  if (source.prebuilt) {
    if (plans.length !== 1) throw new HilError(`a prebuilt image is one firmware: run one variant, not ${plans.map((p) => p.variant).join(', ')}`, '--variant');
    const firmware = prebuiltFirmware(rig.board, source.prebuilt, source.prebuilt.where);
    log.info(`prebuilt ${firmware.prebuilt?.format} image ${rel(firmware.elf)} (sha256 ${firmware.buildHash}..., protocol ${source.protocol}): not built by the harness, not checked on the device`);
    return [{ ...plans[0], firmware: { ...firmware, mlperfEnergy: source.energy } }];
  }
  return plans.map((plan) => {
    const v = plan.variant;
    const profile = one ? (source.profile ?? plan.deploy[0].name) : undefined;
    const built = buildFirmware(rig.board, plan.deploy, {
      log: log.info,
      variant: v,
      marker: markerStyle(rig),
      protocol: firmwareProtocol(source.protocol),
      ...(one ? { mlperf: { profile: source.profile, energy: source.energy } } : {}),
    });
    const firmware: FirmwareBuild = { ...built, protocol: source.protocol, profile, mlperfEnergy: source.energy };
    const mem = firmware.memory;
    log.info(
      `${v} firmware ${firmware.buildHash}${firmware.cached ? ' (cached)' : ''}: flash ${mem.flashBytes} / ${mem.flashBudget} B (${pct(mem.flashBytes, mem.flashBudget)}), ` +
        `SRAM ${mem.ramBytes} / ${mem.ramBudget} B (${pct(mem.ramBytes, mem.ramBudget)})`,
    );
    return { ...plan, firmware };
  });
}

/**
 * A model whose tables cannot be loaded into SRAM next to its arena cannot run on the
 * external-storage baseline at all: it is left out of the baseline (and of the switching
 * comparison), with a note saying why.
 */
function fitExternal<M extends Parameters<typeof checkFootprint>[0][number]>(rig: Rig, deploy: M[], log: Logger, notes: string[]): M[] {
  const board = readBoard(rig.board);
  const budget = { flashBytes: board.flashBytes, ramBytes: board.ramBytes, board: `board ${board.name}`, extStorageBytes: board.extStorageBytes };
  return deploy.filter((m) => {
    try {
      checkFootprint([m], budget, 'int8-ext');
      return true;
    } catch (e) {
      if (!(e instanceof HilError) || !/RAM/.test(e.message) || deploy.length === 1) throw e;
      const note = `int8-ext baseline leaves out ${m.name}: ${e.message}`;
      notes.push(note);
      log.info(note);
      return false;
    }
  });
}

/** A model that cannot take its data set's inputs is refused before anything is built. */
function checkAgainstDataset(model: Int8Model, data: PreparedManifest): void {
  const bytes = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const problems: string[] = [];
  if (bytes(model.input.shape) !== bytes(data.input_shape)) {
    problems.push(`input [${model.input.shape.join(',')}] (${bytes(model.input.shape)} B) but data set ${data.name} has [${data.input_shape.join(',')}] (${bytes(data.input_shape)} B)`);
  }
  if (model.classes < data.class_names.length) problems.push(`${model.classes} outputs but data set ${data.name} has ${data.class_names.length} classes`);
  if (problems.length) throw new HilError(`model does not fit its data set: ${problems.join('; ')}`, `models/${model.name}`);
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(1)}%`;
}
