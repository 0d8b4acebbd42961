/**
 * The plan of a run: which variants, which models each firmware holds, and the firmware builds.
 * Everything is built before any session starts, so a model set that does not fit fails first.
 */
import { ensurePrepared } from '../datasets/prepared.js';
import type { PreparedManifest } from '../datasets/prepared-io.js';
import type { Int8Model } from '../modeltools/int8-model.js';
import { decodePqModel, isPqModel } from '../compress/pq-model.js';
import { checkFootprint } from '../codegen/codegen.js';
import type { VariantPlan } from '../experiments/experiment.js';
import { buildFirmware, type FirmwareBuild } from '../firmware/build.js';
import { readBoard } from '../firmware/board.js';
import { markerStyle } from '../power/factory.js';
import type { Rig } from '../rig/rig.js';
import { loadDeploySet, VARIANTS, type Variant } from '../session/model-set.js';
import { HilError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface VariantBuild extends VariantPlan {
  firmware: FirmwareBuild;
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
    for (const m of int8) checkAgainstDataset(m, ensurePrepared(m.dataset));
    return { variant: v, deploy, models: int8 };
  });
}

/** Builds (or finds cached) the firmware of every planned variant. */
export function buildVariants(rig: Rig, plans: VariantPlan[], log: Logger): VariantBuild[] {
  return plans.map((plan) => {
    const v = plan.variant;
    const firmware = buildFirmware(rig.board, plan.deploy, { log: log.info, variant: v, marker: markerStyle(rig) });
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
