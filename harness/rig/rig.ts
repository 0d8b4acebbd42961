/** Typed rig description, loaded from rigs/*.yaml and checked against rigs/schema.json. */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import AjvModule, { type ErrorObject } from 'ajv';
import { HilError } from '../util/errors.js';
import { FIRMWARE_DIR, RIGS_DIR, rel } from '../util/paths.js';

export interface CostModel {
  core: string;
  clock_hz: number;
  cpi: number;
  source: string;
}

export interface QemuDutSpec {
  kind: 'qemu';
  machine?: string;
  icount_shift?: number;
  extra_args?: string[];
  boot_timeout_ms?: number;
}

export type ProbeKind = 'stlink' | 'cmsis-dap' | 'jlink';

/** A real board behind a debug probe. The `never` fields keep `rig.dut.icount_shift` readable on any rig. */
export interface BoardDutSpec {
  kind: 'board';
  probe: { kind: ProbeKind; usb_serial?: string };
  boot_timeout_ms?: number;
  reset_settle_ms?: number;
  machine?: never;
  icount_shift?: never;
  extra_args?: never;
}

export interface LinkSpec {
  kind: 'qemu-pty' | 'serial';
  /** serial only: a device path, or the USB serial number of the device offering the port */
  path?: string;
  usb_serial?: string;
  baud?: number;
  reply_timeout_ms?: number;
  retries?: number;
}

export type FlasherKind = 'qemu-loader' | 'openocd' | 'pyocd' | 'probe-rs' | 'st-flash' | 'dfu-util' | 'uf2' | 'gdb-remote';

export interface FlasherSpec {
  kind: FlasherKind;
  config?: string[];
  target?: string;
  address?: string;
  alt?: number;
  mount?: string;
  family_id?: string;
  host?: string;
  port?: number;
  extra_args?: string[];
}

export type PowerKind = 'ppk2' | 'lpm01a' | 'ina226' | 'none';

export interface PowerSpec {
  kind: PowerKind;
  port?: string;
  usb_serial?: string;
  voltage_mv?: number;
  sample_hz?: number;
  marker?: string;
}

export interface Rig {
  name: string;
  description?: string;
  board: string;
  dut: QemuDutSpec | BoardDutSpec;
  link: LinkSpec;
  flasher: FlasherSpec;
  power?: PowerSpec;
  estimate?: CostModel;
  /** Where the rig was loaded from. */
  file: string;
}

export const DEFAULT_RIG = 'qemu-mps2-an386';

// ajv is published as CommonJS; under NodeNext its default export is the module object.
const Ajv = (AjvModule as unknown as { default: typeof AjvModule.default }).default ?? AjvModule;
const schema = JSON.parse(fs.readFileSync(path.join(RIGS_DIR, 'schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(schema);

export function listRigs(): string[] {
  return fs
    .readdirSync(RIGS_DIR)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

/** Turns one schema error into "field: what was expected". */
function describe(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${field === '(top level)' ? '' : field + '.'}${String(p.missingProperty)}: required field is missing`;
    case 'additionalProperties':
      return `${field === '(top level)' ? '' : field + '.'}${String(p.additionalProperty)}: unknown field`;
    case 'enum':
      return `${field}: expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${field}: expected ${JSON.stringify(p.allowedValue)} here`;
    case 'false schema':
      return `${field}: not allowed for this kind`;
    case 'oneOf': {
      const alternatives = (error.schema as { required?: string[] }[]).map((b) => (b.required ?? []).join('+'));
      return `${field}: give exactly one of ${alternatives.join(', ')}`;
    }
    default:
      return `${field}: ${error.message ?? 'invalid'}`;
  }
}

/** Loads a rig by name (rigs/<name>.yaml) or by path. */
export function loadRig(nameOrPath: string): Rig {
  const file = fs.existsSync(nameOrPath) && fs.statSync(nameOrPath).isFile() ? path.resolve(nameOrPath) : path.join(RIGS_DIR, `${nameOrPath}.yaml`);
  if (!fs.existsSync(file)) {
    throw new HilError(`unknown rig; available: ${listRigs().join(', ')}`, nameOrPath);
  }
  const where = rel(file);
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0];
    throw new HilError(`YAML syntax: ${e.message.split('\n')[0]}`, line ? `${where}:${line.line}` : where);
  }
  const data: unknown = doc.toJS();
  if (!validate(data)) {
    const all = validate.errors ?? [];
    // A failed oneOf reports its branches' errors too; its own one-line message says it all.
    const oneOfs = all.filter((e) => e.keyword === 'oneOf').map((e) => e.schemaPath);
    const errors = all.filter((e) => e.keyword !== 'if' && !oneOfs.some((s) => e.schemaPath.startsWith(`${s}/`)));
    throw new HilError(errors.map(describe).join('; '), where);
  }
  const rig = { ...(data as Omit<Rig, 'file'>), file };
  const stem = path.basename(file).replace(/\.ya?ml$/, '');
  if (rig.name !== stem) throw new HilError(`name: "${rig.name}" must equal the file name "${stem}"`, where);
  if (!fs.existsSync(path.join(FIRMWARE_DIR, 'boards', rig.board, 'board.mk'))) {
    throw new HilError(`board: "${rig.board}" has no firmware/boards/${rig.board}/board.mk`, where);
  }
  return rig;
}
