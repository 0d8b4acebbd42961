/** Typed rig description, loaded from rigs/*.yaml and checked against rigs/schema.json. */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import AjvModule, { type ErrorObject } from 'ajv';
import { HilError } from '../util/errors.js';
import { parseNetUrl, redactUrl } from '../util/net-url.js';
import { FIRMWARE_DIR, RIGS_DIR, rel } from '../util/paths.js';

export interface CostModel {
  core: string;
  clock_hz: number;
  cpi: number;
  source: string;
  /** Optional: cycles from instruction classes and flash accesses counted by a QEMU plugin. */
  class_model?: ClassCostModel;
}

/** Cycles per instruction class (harness/estimate/cycle-model.ts turns counts into cycles). */
export interface ClassCosts {
  alu: number;
  /** single LDR/LDRB/LDRH/LDRS* (and literal loads) */
  load: number;
  /** a single load right after a single load/store (address/data phases pipelined) */
  load_pipelined: number;
  store: number;
  /** LDM/POP/LDRD: `ldm` per instruction + `ldm_word` per word */
  ldm: number;
  ldm_word: number;
  stm: number;
  stm_word: number;
  /** MUL/MLA/MLS, SMLAxy, SMLAD/SMUAD, SMMUL... (32-bit result) */
  mul: number;
  /** SMULL/UMULL/SMLAL/SMLALD (64-bit result) */
  mull: number;
  /** SDIV/UDIV (data-dependent on silicon: one figure here) */
  div: number;
  /** any branch instruction, taken or not */
  branch: number;
  /** extra cycles of a taken branch / any discontinuity (pipeline refill P) */
  taken: number;
  /** barriers, MSR/MRS, hints, coprocessor */
  other: number;
}

export interface CacheSpec {
  lines: number;
  line_bytes: number;
  /** associativity; default fully associative (= lines) */
  ways?: number;
}

export interface FlashSpec {
  /** flash wait states at clock_hz: the cost of one line fetched from the flash array */
  wait_states: number;
  /** cache (or prefetch buffer) in front of flash for instruction fetch; absent = none */
  icache?: CacheSpec;
  /** cache in front of flash for data reads (weights, literal pools); absent = none */
  dcache?: CacheSpec;
  /** fraction of sequential-line instruction misses the prefetcher hides (0..1, default 0) */
  prefetch_hides?: number;
}

export interface ClassCostModel {
  classes: ClassCosts;
  flash: FlashSpec;
  /** where each cost comes from */
  source: string;
}

/** A prebuilt image the rig boots instead of the harness's own build (bring your own firmware). */
export interface DutFirmwareSpec {
  /** resolved to an absolute path when the rig is loaded */
  image: string;
  protocol?: 'yono' | 'mlperf-tiny';
  /** .bin only; "0x..." in the file, a number once loaded */
  load_address?: number | string;
  profile?: string;
}

export interface QemuDutSpec {
  kind: 'qemu';
  firmware?: DutFirmwareSpec;
  machine?: string;
  icount_shift?: number;
  extra_args?: string[];
  boot_timeout_ms?: number;
}

export type ProbeKind = 'stlink' | 'cmsis-dap' | 'jlink';

/** A real board behind a debug probe. The `never` fields keep `rig.dut.icount_shift` readable on any rig. */
export interface BoardDutSpec {
  kind: 'board';
  firmware?: DutFirmwareSpec;
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
  /** serial only: a port served over the network (ser2net), rfc2217://host:port or tcp://host:port */
  url?: string;
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
  /** the flasher can write the board's external flash (the preload region): openocd default false, gdb-remote default true */
  external_flash?: boolean;
}

export type PowerKind = 'ppk2' | 'lpm01a' | 'ina226' | 'emulated' | 'none';

export interface PowerSpec {
  kind: PowerKind;
  port?: string;
  usb_serial?: string;
  /** the instrument's serial port served over the network (ser2net), rfc2217://host:port or tcp://host:port */
  url?: string;
  voltage_mv?: number;
  sample_hz?: number;
  marker?: string;
  /** emulated only: the supply the model's currents are stated at, V */
  supply_v?: number;
  /** emulated only: MCU current running at the estimate block's clock, A */
  run_current_a?: number;
  /** emulated only: MCU current asleep between sensor events, A */
  idle_current_a?: number;
  /** emulated only: where each number comes from */
  source?: string;
}

/** An external storage part and bus: the baseline's timing/energy model (emulated) or a label (real board). */
export interface StorageSpec {
  name: string;
  part: string;
  bus: string;
  read_bytes_per_s: number;
  /** per read command (driver call), s */
  access_latency_s: number;
  read_current_a: number;
  standby_current_a: number;
  awake_after_access_s: number;
  awake_current_a: number;
  source: string;
}

export interface Rig {
  name: string;
  description?: string;
  board: string;
  dut: QemuDutSpec | BoardDutSpec;
  link: LinkSpec;
  flasher: FlasherSpec;
  power?: PowerSpec;
  /** external storage models; the first is the default baseline */
  storage?: StorageSpec[];
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
export function describeSchemaError(error: ErrorObject): string {
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
    case 'pattern':
      return field.endsWith('url') ? `${field}: expected rfc2217://host:port or tcp://host:port` : `${field}: ${error.message ?? 'invalid'}`;
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

/** Network URLs must parse (host:port, a known scheme) and carry no credentials. */
function checkUrls(rig: Omit<Rig, 'file'>): string | undefined {
  const urls: [string, string | undefined][] = [
    ['link.url', rig.link.url],
    ['power.url', rig.power?.url],
  ];
  for (const [field, url] of urls) {
    if (url === undefined) continue;
    try {
      parseNetUrl(url);
    } catch (e) {
      if (e instanceof HilError) return `${field}: ${e.message} (${redactUrl(url)})`;
      throw e;
    }
  }
  if (rig.flasher.host !== undefined && /[@/]/.test(rig.flasher.host)) {
    return 'flasher.host: a host name or address only (no user@, no scheme, no path; the port goes in flasher.port)';
  }
  return undefined;
}

/** Rules the schema cannot state: who may use which power kind, unique storage names. */
function checkPowerAndStorage(rig: Omit<Rig, 'file'>): string | undefined {
  const power = rig.power?.kind;
  if (power === 'emulated' && rig.dut.kind !== 'qemu') {
    return 'power.kind: "emulated" estimates a QEMU rig; a real board is measured (ppk2, lpm01a, ina226) or has none';
  }
  if (rig.dut.kind === 'qemu' && power !== undefined && power !== 'emulated' && power !== 'none') {
    return `power.kind: "${power}" measures a real board; a qemu rig takes "emulated" or "none"`;
  }
  const fw = rig.dut.firmware;
  if (fw) {
    const ext = path.extname(fw.image).toLowerCase();
    if (!['.elf', '.axf', '.bin', '.hex', '.ihex'].includes(ext)) return `dut.firmware.image: "${fw.image}" is not a .elf, .bin or .hex image`;
    if (!fs.existsSync(fw.image) || !fs.statSync(fw.image).isFile()) return `dut.firmware.image: ${fw.image} not found`;
    if (ext === '.bin' && fw.load_address === undefined) return 'dut.firmware.load_address: a raw .bin image needs its load address (e.g. 0x08000000)';
    if (ext !== '.bin' && fw.load_address !== undefined) return `dut.firmware.load_address: only a raw .bin takes one; a ${ext} image carries its own addresses`;
  }
  const seen = new Set<string>();
  for (const [i, s] of (rig.storage ?? []).entries()) {
    if (seen.has(s.name)) return `storage.${i}.name: "${s.name}" is used by an earlier entry`;
    seen.add(s.name);
  }
  return undefined;
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
    throw new HilError(errors.map(describeSchemaError).join('; '), where);
  }
  const rig = { ...(data as Omit<Rig, 'file'>), file };
  const fw = rig.dut.firmware;
  if (fw) {
    rig.dut = { ...rig.dut, firmware: { ...fw, image: path.resolve(path.dirname(file), fw.image) } } as Rig['dut'];
    if (typeof fw.load_address === 'string') (rig.dut.firmware as DutFirmwareSpec).load_address = parseInt(fw.load_address, 16);
  }
  const consistency = checkUrls(rig) ?? checkPowerAndStorage(rig);
  if (consistency) throw new HilError(consistency, where);
  const stem = path.basename(file).replace(/\.ya?ml$/, '');
  if (rig.name !== stem) throw new HilError(`name: "${rig.name}" must equal the file name "${stem}"`, where);
  if (!fs.existsSync(path.join(FIRMWARE_DIR, 'boards', rig.board, 'board.mk'))) {
    throw new HilError(`board: "${rig.board}" has no firmware/boards/${rig.board}/board.mk`, where);
  }
  return rig;
}
