/**
 * Turns validated int8 models into C for the firmware: models.{h,c} in the build folder
 * (const weights/bias/requant tables in flash, layer tables, the model registry, MODELS_JSON
 * for HELLO, arena and input-buffer sizes). See firmware/SPEC.md and firmware/runtime/yono_model.h.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAX_PAYLOAD } from '../protocol/yono/frame.js';
import { HilError } from '../util/errors.js';
import { FIRMWARE_DIR } from '../util/paths.js';
import { canonicalJson, isGraph, isTflite, layerInputs, layerOutSize, modelHash, shapeSize } from '../modeltools/int8-model.js';
import type { Arithmetic, Int8Layer, Int8Model } from '../modeltools/int8-model.js';
// YONO pq variant: pq models decode to int8 geometry; pq layers/codebooks emitted by compress/pq-codegen.ts
import { decodePqModel, deployHash, isPqLayer, isPqModel } from '../compress/pq-model.js';
import type { Codebook, DeployModel, PqLayer } from '../compress/pq-model.js';
import { codebookFlashBytes, collectCodebooks, emitCodebooks, emitPqLayer, pqLayerFlashBytes } from './pq-codegen.js';

/** Bump when the generated C changes meaning: it is part of inputsHash. */
export const CODEGEN_VERSION = 'yono-codegen/3'; // 2: variant, external storage (SPEC section 5); 3: arithmetic

/** Bytes of flash/RAM the firmware needs without any model (measured on mps2-an386, -O2,
 * rounded up): runtime, kernels, board code; RAM = frame buffers (2 x ~2 KiB for MAX_PAYLOAD 2048)
 * + 8 KiB stack. */
export const RUNTIME_FLASH_BYTES = 8 * 1024;
export const RUNTIME_RAM_BYTES = 8 * 1024 + 5 * 1024;

/** HELLO JSON without the models array, with the longest plausible values (64-hex build hash,
 * 10-digit preload numbers). */
const HELLO_BASE_BYTES = 380;

const C_LAYER_BYTES = 72; // sizeof(yono_layer_t) on 32-bit ARM (with the pq fields, arith and the broadcast in2 shape)
const C_MODEL_BYTES = 16; // sizeof(yono_model_t)

const OP_ENUM: Record<Int8Layer['op'], string> = {
  conv2d: 'YONO_OP_CONV2D',
  maxpool2d: 'YONO_OP_MAXPOOL2D',
  avgpool_global: 'YONO_OP_AVGPOOL_GLOBAL',
  dense: 'YONO_OP_DENSE',
  depthwise_conv2d: 'YONO_OP_DEPTHWISE_CONV2D',
  avgpool2d: 'YONO_OP_AVGPOOL2D',
  add: 'YONO_OP_ADD',
  lut: 'YONO_OP_LUT',
  concat: 'YONO_OP_CONCAT',
  mul: 'YONO_OP_MUL',
  mean: 'YONO_OP_MEAN',
};

export interface ModelFootprint {
  /** weights, bias, requant tables, layer table, name/JSON strings */
  flashBytes: number;
  /** two ping-pong activation buffers + conv im2col scratch for this model alone */
  arenaBytes: number;
  inputBytes: number;
  /** arenaBytes + inputBytes */
  ramBytes: number;
}

/** Which form of the models a firmware holds (int8, YONO's pq, or int8-ext: the external-storage baseline). */
export type Variant = 'int8' | 'pq' | 'int8-ext';

/** Bytes of the external image header, and the alignment of each model blob (an SD block). */
export const EXT_HEADER_BYTES = 16;
export const EXT_BLOB_ALIGN = 512;

export interface GeneratedSources {
  inputsHash: string;
  variant: Variant;
  /** int8-ext: the external storage image (SPEC section 5) written next to models.c */
  extImage?: { file: string; bytes: number; slotBytes: number; blobs: { name: string; addr: number; bytes: number }[] };
  perModel: { name: string; hash: string; flashBytes: number; arenaBytes: number }[];
  /** total arena (both ping-pong buffers + conv scratch) over all models */
  arenaBytes: number;
  inputBufferBytes: number;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** The static arena plan of a graph model (SPEC section 2): tensor t (1..n, layers[t-1]'s output)
 * lives from the step that writes it to the last step that reads it; tensors are placed largest
 * first at the lowest 4-aligned offset that overlaps no placed tensor alive at the same time
 * (TFLite Micro's greedy planner). `naive` = every tensor its own buffer. */
export interface ArenaPlan {
  /** offset of tensor t in the arena (index 0: the model input, not in the arena: -1) */
  offsets: number[];
  bytes: number;
  naive: number;
}

export function planArena(model: Int8Model): ArenaPlan {
  const n = model.layers.length;
  const size = [0, ...model.layers.map((l) => align4(layerOutSize(l)))];
  const first = [0, ...model.layers.map((_, i) => i)];
  const last = [...first];
  last[n] = n; // the output lives until it is read back
  model.layers.forEach((l, i) => {
    for (const t of layerInputs(l, i)) last[t] = Math.max(last[t], i);
  });
  const order = Array.from({ length: n }, (_, i) => i + 1).sort((a, b) => size[b] - size[a] || a - b);
  const offsets = new Array<number>(n + 1).fill(-1);
  const placed: number[] = [];
  for (const t of order) {
    const clash = placed
      .filter((u) => first[u] <= last[t] && first[t] <= last[u])
      .map((u) => [offsets[u], offsets[u] + size[u]])
      .sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [lo, hi] of clash) {
      if (at + size[t] <= lo) break;
      at = Math.max(at, hi);
    }
    offsets[t] = at;
    placed.push(t);
  }
  const bytes = Math.max(4, ...offsets.map((o, t) => (t === 0 ? 0 : o + size[t])));
  return { offsets, bytes, naive: size.reduce((a, b) => a + b, 0) };
}

/** Ping-pong buffer sizes: layer i writes buffer i & 1, so each is the max over its layers.
 * A graph model needs its planned arena in one block: [planned, 0] (interp.c: A and B are contiguous). */
function arenaSplit(model: Int8Model): [number, number] {
  if (isGraph(model)) return [align4(planArena(model).bytes), 0];
  const ab: [number, number] = [0, 0];
  model.layers.forEach((l, i) => {
    ab[i & 1] = Math.max(ab[i & 1], layerOutSize(l));
  });
  return [align4(Math.max(ab[0], 1)), align4(Math.max(ab[1], 1))];
}

/** The pq table path's threshold (YONO_PQ_TABLE_MIN_READS in firmware/kernels/yono_nn.h, SPEC section 4). */
export const PQ_TABLE_MIN_READS = 512;

/** SPEC section 4's rule: d when a conv2d_pq layer takes the table path (4-bit indices, d = 2 or 4,
 * out_h*out_w*out_c*ceil(row/2d) >= PQ_TABLE_MIN_READS), else 0 (= yono_pq_table_d). */
export function pqTableD(l: PqLayer, cb: Pick<Codebook, 'd' | 'index_bits'>): number {
  if (l.op !== 'conv2d_pq' || cb.index_bits !== 4 || (cb.d !== 2 && cb.d !== 4)) return 0;
  const rb = Math.ceil((l.kh * l.kw * l.in_shape[2]) / cb.d / 2);
  return l.out_shape[0] * l.out_shape[1] * l.out_shape[2] * rb >= PQ_TABLE_MIN_READS ? cb.d : 0;
}

/** Scratch a layer needs (= yono_layer_scratch_bytes in firmware/kernels/yono_nn.h): conv2d's
 * im2col column (kh*kw*in_c), depthwise_conv2d's int32 accumulators (4*out_c), a conv2d_pq on the
 * table path 4 + 1024*d + 6*d*ceil(row/2d) (alignment, the 256-entry table, the unpacked and the
 * gathered column; yono_pq_table_scratch_bytes), another conv2d_pq its column, else 0. A pq layer
 * needs its codebook `cb`. */
export function scratchBytes(l: Int8Layer | PqLayer, cb?: Pick<Codebook, 'd' | 'index_bits'>): number {
  if (l.op === 'conv2d' || l.op === 'conv2d_pq') {
    const row = l.kh * l.kw * l.in_shape[2];
    if (l.op === 'conv2d') return row;
    if (!cb) throw new HilError('scratchBytes: conv2d_pq layer without its codebook', 'codegen');
    const d = pqTableD(l, cb);
    return d ? 4 + 1024 * d + 6 * d * Math.ceil(row / d / 2) : row;
  }
  if (l.op === 'depthwise_conv2d') return 4 * l.out_shape[2];
  return 0;
}

/** The per-layer scratch of a deployable model: the largest over its layers, 4-byte aligned. */
export function modelScratchBytes(m: DeployModel): number {
  const per = m.layers.map((l) => (isPqLayer(l) && isPqModel(m) ? scratchBytes(l, m.codebooks[l.codebook.id]) : scratchBytes(l as Int8Layer)));
  return align4(Math.max(0, ...per));
}

/** Output channels of a layer that carries per-channel tables. */
function channels(l: Extract<Int8Layer, { op: 'conv2d' | 'dense' | 'depthwise_conv2d' }>): number {
  return l.op === 'dense' ? l.out_features : l.out_shape[2];
}

function modelJsonEntry(model: DeployModel, id: number): Record<string, unknown> {
  const s = model.input.shape;
  return { id, name: model.name, input: s, input_bytes: shapeSize(s), classes: model.classes, hash: deployHash(model) };
}

/** The int8 geometry of a model (a pq model's decoded twin: same shapes, arena and scratch). */
function geometry(model: DeployModel): Int8Model {
  return isPqModel(model) ? decodePqModel(model) : model;
}

/** Flash and SRAM a model adds to the firmware (what the generated code will occupy). */
export function estimateModelFootprint(deploy: DeployModel): ModelFootprint {
  const model = geometry(deploy);
  let flash = C_MODEL_BYTES + align4(model.name.length + 1) + JSON.stringify(modelJsonEntry(deploy, 0)).length + 1;
  for (const [i, l] of model.layers.entries()) {
    flash += C_LAYER_BYTES;
    const dl = deploy.layers[i];
    if (isPqLayer(dl) && isPqModel(deploy)) {
      flash += pqLayerFlashBytes(dl, deploy.codebooks[dl.codebook.id]); // shared codebooks: counted once per set
    } else if (l.op === 'conv2d' || l.op === 'dense' || l.op === 'depthwise_conv2d') {
      const oc = channels(l);
      const biasEff = l.op === 'depthwise_conv2d' ? 0 : 4 * oc; // depthwise uses bias directly
      flash += align4(l.weights.length) + 4 * oc /* bias */ + biasEff;
      flash += align4((isTflite(model.arithmetic) ? 4 : 2) * oc) + align4(oc); // multiplier int16 (tflite-*: int32), shift int8
    } else if (l.op === 'avgpool_global' || l.op === 'avgpool2d') {
      flash += 8;
    } else if (l.op === 'add') {
      flash += 12 + 4 + align4(l.const2?.length ?? 0); // 3 int32 multipliers, 3 int8 shifts, a constant operand
    } else if (l.op === 'mul') {
      flash += 8 + align4(l.const2?.length ?? 0);
    } else if (l.op === 'mean') {
      flash += 8;
    } else if (l.op === 'lut') {
      flash += 256;
    }
  }
  if (isGraph(model)) flash += 12 * model.layers.length; // the arena plan
  const [a, b] = arenaSplit(model);
  const scratch = modelScratchBytes(deploy);
  const inputBytes = shapeSize(model.input.shape);
  return { flashBytes: flash, arenaBytes: a + b + scratch, inputBytes, ramBytes: a + b + scratch + align4(inputBytes) };
}

/**
 * Refuses a set of models that cannot fit the board before building, saying by how much.
 * Models share one arena and one input buffer; their flash adds up.
 */
export function checkFootprint(
  deployModels: DeployModel[],
  budget: { flashBytes: number; ramBytes: number; board: string; extStorageBytes?: number },
  variant: Variant = 'int8',
): void {
  let flash = RUNTIME_FLASH_BYTES + codebookFlashBytes(collectCodebooks(deployModels));
  let slot = 0;
  if (variant === 'int8-ext') {
    // the tables move from internal flash to external storage; SRAM gains the slot of the largest
    const blobs = deployModels.map((m) => extBlobBytes(geometry(m)));
    flash -= blobs.reduce((x, y) => x + y, 0);
    slot = Math.max(0, ...blobs);
    const image = EXT_BLOB_ALIGN + blobs.reduce((x, y) => x + Math.ceil(y / EXT_BLOB_ALIGN) * EXT_BLOB_ALIGN, 0);
    if (budget.extStorageBytes === undefined) {
      throw new HilError('has no external storage (EXT_STORAGE_SIZE in its board.mk): the int8-ext baseline needs one', budget.board);
    }
    if (image > budget.extStorageBytes) {
      throw new HilError(`the external model image needs ${image} B, ${image - budget.extStorageBytes} B more than the ${budget.extStorageBytes} B of external storage`, budget.board);
    }
  }
  let a = 0;
  let b = 0;
  let input = 0;
  let scratch = 0;
  const models = deployModels.map(geometry);
  for (const [i, m] of models.entries()) {
    flash += estimateModelFootprint(deployModels[i]).flashBytes;
    const [ma, mb] = arenaSplit(m);
    a = Math.max(a, ma);
    b = Math.max(b, mb);
    input = Math.max(input, align4(shapeSize(m.input.shape)));
    scratch = Math.max(scratch, modelScratchBytes(deployModels[i]));
  }
  const ram = RUNTIME_RAM_BYTES + a + b + scratch + input + slot;
  const names = models.map((m) => m.name).join(', ');
  if (flash > budget.flashBytes) {
    throw new HilError(
      `models [${names}] need ~${flash} B of flash, ${flash - budget.flashBytes} B more than the ${budget.flashBytes} B available`,
      budget.board,
    );
  }
  if (ram > budget.ramBytes) {
    throw new HilError(
      `models [${names}] need ~${ram} B of RAM (arena ${a + b + scratch} B, input ${input} B${slot ? `, external-model slot ${slot} B` : ''}), ${ram - budget.ramBytes} B more than the ${budget.ramBytes} B available`,
      budget.board,
    );
  }
}

/** A C string literal; non-printable and non-ASCII bytes as 3-digit octal escapes. */
function cString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f && byte !== 0x3f /* '?': avoid trigraphs */) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

function cArray(type: string, name: string, values: readonly number[]): string {
  const lines: string[] = [];
  const text = type === 'int32_t' ? values.map(i32) : values.map(String);
  for (let i = 0; i < text.length; i += 24) lines.push(`    ${text.slice(i, i + 24).join(', ')},`);
  return `static const ${type} ${name}[${values.length}] __attribute__((aligned(4))) = {\n${lines.join('\n')}\n};\n`;
}

/** int32 literal that stays valid C for INT32_MIN */
function i32(v: number): string {
  return v === -(2 ** 31) ? '(-2147483647 - 1)' : String(v);
}

/**
 * Where a layer's parameter tables go. In internal flash they are const arrays; in the int8-ext
 * baseline (SPEC section 5) they are appended to the model's blob in external storage and the
 * layer table points at their fixed place in the SRAM slot SELECT loads the blob into.
 * Returns the C expression of the table's pointer.
 */
type TableType = 'int8_t' | 'int16_t' | 'int32_t';
type PlaceTable = (name: string, type: TableType, values: readonly number[]) => string;

const TABLE_BYTES: Record<TableType, number> = { int8_t: 1, int16_t: 2, int32_t: 4 };

function flashPlacer(arrays: string[]): PlaceTable {
  return (name, type, values) => {
    arrays.push(cArray(type, name, values));
    return name;
  };
}

/** A model's blob of tables for external storage (little-endian, each table 4-byte aligned). */
class ExtBlob {
  readonly bytes: number[] = [];
  readonly place: PlaceTable = (_name, type, values) => {
    while (this.bytes.length % 4) this.bytes.push(0);
    const off = this.bytes.length;
    const buf = Buffer.alloc(values.length * TABLE_BYTES[type]);
    values.forEach((v, i) => {
      if (type === 'int8_t') buf.writeInt8(v, i);
      else if (type === 'int16_t') buf.writeInt16LE(v, 2 * i);
      else buf.writeInt32LE(v, 4 * i);
    });
    this.bytes.push(...buf);
    return `(const ${type} *)(const void *)(yono_ext_slot + ${off})`;
  };
}

/** Bytes of a model's external blob (its parameter tables, as the generator lays them out). */
export function extBlobBytes(model: Int8Model): number {
  const blob = new ExtBlob();
  model.layers.forEach((l, i) => emitLayer(l, `l${i}`, blob.place, model.arithmetic));
  return align4(Math.max(blob.bytes.length, 4));
}

const ARITH_ENUM: Record<Arithmetic, string> = {
  yono15: 'YONO_ARITH_YONO15',
  'tflite-double': 'YONO_ARITH_TFLITE_DOUBLE',
  'tflite-single': 'YONO_ARITH_TFLITE_SINGLE',
};

function emitLayer(l: Int8Layer, id: string, place: PlaceTable, arithmetic: Arithmetic = 'yono15'): string {
  const tfl = isTflite(arithmetic);
  const f: Record<string, string | number> = { op: OP_ENUM[l.op], arith: ARITH_ENUM[arithmetic] };
  const ptrs: Record<string, string> = { weights: 'NULL', bias: 'NULL', bias_eff: 'NULL', [tfl ? 'multiplier_q31' : 'multiplier']: 'NULL', shift: 'NULL' };
  // per-channel requant multipliers: int16 (yono15) or int32 (tflite-*), SPEC section 3
  const mult = (values: number[]): Record<string, string> =>
    tfl ? { multiplier_q31: place(`${id}_m`, 'int32_t', values) } : { multiplier: place(`${id}_m`, 'int16_t', values) };
  if (l.op === 'dense') {
    Object.assign(f, { in_h: 1, in_w: 1, in_c: l.in_features, out_h: 1, out_w: 1, out_c: l.out_features });
  } else {
    const [ih, iw, ic] = l.in_shape;
    const [oh, ow, oc] = l.out_shape;
    Object.assign(f, { in_h: ih, in_w: iw, in_c: ic, out_h: oh, out_w: ow, out_c: oc });
  }
  if (l.op === 'conv2d' || l.op === 'depthwise_conv2d' || l.op === 'maxpool2d' || l.op === 'avgpool2d') {
    Object.assign(f, { kh: l.kh, kw: l.kw, stride_h: l.stride_h, stride_w: l.stride_w });
  }
  if (l.op === 'conv2d' || l.op === 'depthwise_conv2d') Object.assign(f, { pad_top: l.pad_top, pad_left: l.pad_left });
  if (l.op === 'depthwise_conv2d') {
    Object.assign(f, { depth_multiplier: l.depth_multiplier, in_zp: l.in_zp, out_zp: l.out_zp, act_min: l.act_min, act_max: l.act_max });
    Object.assign(ptrs, {
      weights: place(`${id}_w`, 'int8_t', l.weights),
      bias: place(`${id}_b`, 'int32_t', l.bias),
      ...mult(l.multiplier),
      shift: place(`${id}_s`, 'int8_t', l.shift),
    });
  }
  if (l.op === 'conv2d' || l.op === 'dense') {
    const oc = channels(l);
    const k = l.weights.length / oc;
    // bias_eff[oc] = bias - in_zp * sum(w[oc]): lets full windows skip the per-tap zp subtraction
    const biasEff = l.bias.map((b, ch) => {
      let sum = 0;
      for (let j = ch * k; j < (ch + 1) * k; j++) sum += l.weights[j];
      return b - l.in_zp * sum;
    });
    Object.assign(f, { in_zp: l.in_zp, out_zp: l.out_zp, act_min: l.act_min, act_max: l.act_max });
    Object.assign(ptrs, {
      weights: place(`${id}_w`, 'int8_t', l.weights),
      bias: place(`${id}_b`, 'int32_t', l.bias),
      bias_eff: place(`${id}_be`, 'int32_t', biasEff),
      ...mult(l.multiplier),
      shift: place(`${id}_s`, 'int8_t', l.shift),
    });
  }
  if (l.op === 'lut') Object.assign(ptrs, { weights: place(`${id}_t`, 'int8_t', l.table) });
  if (l.op === 'mul' || l.op === 'add') {
    // the second input's shape: dimensions of 1 broadcast (SPEC section 2)
    const [h2, w2, c2] = l.in2_shape ?? l.in_shape;
    Object.assign(f, { in_zp: l.in_zp, in2_zp: l.in2_zp, out_zp: l.out_zp, act_min: l.act_min, act_max: l.act_max, in2_h: h2, in2_w: w2, in2_c: c2 });
    if (l.op === 'add') f.left_shift = l.left_shift;
    Object.assign(ptrs, { ...mult(l.multiplier), shift: place(`${id}_s`, 'int8_t', l.shift) });
    // a constant second operand travels in `weights` (the kernel reads it instead of a second tensor)
    if (l.const2) ptrs.weights = place(`${id}_k`, 'int8_t', l.const2);
  }
  if (l.op === 'mean') {
    Object.assign(f, { in_zp: l.in_zp, out_zp: l.out_zp, act_min: -128, act_max: 127 });
    Object.assign(ptrs, { ...mult([l.multiplier]), shift: place(`${id}_s`, 'int8_t', [l.shift]) });
  }
  if (l.op === 'avgpool_global' || l.op === 'avgpool2d') {
    Object.assign(f, { in_zp: l.in_zp, out_zp: l.out_zp, act_min: -128, act_max: 127 });
    // tflite-* pools use neither (TFLite's rounded mean)
    if (!tfl) Object.assign(ptrs, { ...mult([l.multiplier]), shift: place(`${id}_s`, 'int8_t', [l.shift]) });
  }
  const fields = [...Object.entries(f), ...Object.entries(ptrs)].map(([k, v]) => `.${k} = ${v}`);
  return `    {${fields.join(', ')}},`;
}

export const DEFAULT_GENERATED_DIR = (): string => join(FIRMWARE_DIR, 'generated');

/** Writes only when the content changed, so make does not rebuild needlessly. */
function writeIfChanged(path: string, text: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(path, text);
}

/**
 * Writes outDir/models.h and outDir/models.c for the given (validated) models, in registry
 * order: model id = index. Throws HilError if the set cannot be expressed (no models, HELLO too
 * long, duplicate names).
 */
export function generateFirmwareSources(models: DeployModel[], outDir: string = DEFAULT_GENERATED_DIR(), variant: Variant = models.some(isPqModel) ? 'pq' : 'int8'): GeneratedSources {
  if (models.length === 0) throw new HilError('no models to generate firmware for', 'codegen');
  if (models.length > 255) throw new HilError(`${models.length} models: the protocol's model id is a u8`, 'codegen');
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.name)) throw new HilError(`model name "${m.name}" appears twice`, 'codegen');
    seen.add(m.name);
  }

  const ext = variant === 'int8-ext';
  if (ext && models.some(isPqModel)) throw new HilError('the int8-ext baseline holds int8 models only', 'codegen');
  const h = createHash('sha256').update(`${CODEGEN_VERSION}\nvariant ${variant}\n`);
  for (const m of models) h.update(`${canonicalJson(m)}\n`);
  const inputsHash = h.digest('hex');

  const modelsJson = JSON.stringify(models.map(modelJsonEntry));
  if (HELLO_BASE_BYTES + modelsJson.length > MAX_PAYLOAD) {
    throw new HilError(
      `HELLO reply would be ~${HELLO_BASE_BYTES + modelsJson.length} B > ${MAX_PAYLOAD} B: too many models (${models.length}) in one firmware`,
      'codegen',
    );
  }

  let arenaA = 4;
  let arenaB = 4;
  let inputBytes = 4;
  let scratch = 4;
  const perModel: GeneratedSources['perModel'] = [];
  const arrays: string[] = [emitCodebooks(collectCodebooks(models))];
  const tables: string[] = [];
  const registry: string[] = [];
  const blobs: { name: string; addr: number; bytes: number; data: number[] }[] = [];
  let extEnd = EXT_BLOB_ALIGN; // blob 0 starts after the header's block
  models.forEach((m, mi) => {
    const g = geometry(m);
    const [a, b] = arenaSplit(g);
    arenaA = Math.max(arenaA, a);
    arenaB = Math.max(arenaB, b);
    inputBytes = Math.max(inputBytes, align4(shapeSize(m.input.shape)));
    scratch = Math.max(scratch, modelScratchBytes(m));
    const fp = estimateModelFootprint(m);
    const hash = deployHash(m);
    const blob = ext ? new ExtBlob() : undefined;
    const place = blob ? blob.place : flashPlacer(arrays);
    perModel.push({ name: m.name, hash, flashBytes: fp.flashBytes, arenaBytes: fp.arenaBytes });

    arrays.push(`/* model ${mi}: ${m.name} (${hash}) */\n`);
    const rows = m.layers.map((l, li) =>
      isPqLayer(l) && isPqModel(m) ? emitPqLayer(l, m.codebooks[l.codebook.id], `m${mi}_l${li}`, arrays) : emitLayer(g.layers[li], `m${mi}_l${li}`, place, g.arithmetic),
    );
    tables.push(`static const yono_layer_t m${mi}_layers[${m.layers.length}] = {\n${rows.join('\n')}\n};\n`);
    let planField = '.plan = NULL';
    if (isGraph(g)) {
      // per layer: first input, second input (add), output; 0xFFFFFFFF = the model input
      const plan = planArena(g);
      const at = (t: number): string => (t === 0 ? '0xFFFFFFFFu' : `${plan.offsets[t]}u`);
      const rowsP = g.layers.map((l, i) => {
        const ins = layerInputs(l, i);
        return `    ${at(ins[0])}, ${at(ins[1] ?? 0)}, ${at(i + 1)},`;
      });
      tables.push(`/* arena plan: ${plan.bytes} B (every tensor its own buffer: ${plan.naive} B) */\nstatic const uint32_t m${mi}_plan[${3 * g.layers.length}] = {\n${rowsP.join('\n')}\n};\n`);
      planField = `.plan = m${mi}_plan`;
    }
    let extFields = '.ext_addr = 0, .ext_bytes = 0';
    if (blob) {
      const bytes = align4(Math.max(blob.bytes.length, 4));
      blobs.push({ name: m.name, addr: extEnd, bytes, data: blob.bytes });
      extFields = `.ext_addr = ${extEnd}u, .ext_bytes = ${bytes}u`;
      extEnd += Math.ceil(bytes / EXT_BLOB_ALIGN) * EXT_BLOB_ALIGN;
    }
    registry.push(
      `    {.name = ${cString(m.name)}, .layers = m${mi}_layers, .n_layers = ${m.layers.length}, ` +
        `.classes = ${m.classes}, .input_bytes = ${shapeSize(m.input.shape)}, ${extFields}, ${planField}},`,
    );
  });
  const slotBytes = blobs.length ? Math.max(...blobs.map((b) => b.bytes)) : 0;
  const imageBytes = blobs.length ? extEnd : 0;

  const banner =
    `/* generated by harness/codegen/codegen.ts — do not edit\n` +
    ` * inputs sha256: ${inputsHash}\n` +
    models.map((m, i) => ` * model ${i}: ${m.name} ${deployHash(m)}\n`).join('') +
    ` */\n`;

  const header =
    `${banner}#ifndef YONO_GENERATED_MODELS_H\n#define YONO_GENERATED_MODELS_H\n\n` +
    `#include "yono_model.h"\n\n` +
    `#define YONO_INPUTS_HASH "${inputsHash}"\n` +
    `#define YONO_N_MODELS ${models.length}\n` +
    `/* input buffer = largest model input; arena = two ping-pong buffers (layer i writes i & 1) */\n` +
    `#define YONO_INPUT_BUFFER_BYTES ${inputBytes}\n` +
    `#define YONO_ARENA_A_BYTES ${arenaA}\n` +
    `#define YONO_ARENA_B_BYTES ${arenaB}\n` +
    `/* per-layer scratch: the largest conv2d im2col column (kh*kw*in_c), depthwise accumulators (4*out_c) or pq table path (SPEC 4) */\n` +
    `#define YONO_SCRATCH_BYTES ${scratch}\n` +
    `#define YONO_ARENA_BYTES ${arenaA + arenaB + scratch}\n` +
    `/* the "models" array of the HELLO reply (SPEC section 1) */\n` +
    `#define YONO_MODELS_JSON ${cString(modelsJson)}\n` +
    `/* SPEC sections 1 and 5: the variant for HELLO; the external image and the SRAM slot SELECT loads it into */\n` +
    `#define YONO_VARIANT "${variant}"\n` +
    `#define YONO_EXT_IMAGE_BYTES ${imageBytes}\n` +
    `#define YONO_EXT_IMAGE_ID 0x${inputsHash.slice(0, 8)}u\n` +
    `#define YONO_EXT_SLOT_BYTES ${slotBytes}\n` +
    // Macros only (no data emitted), so firmware that does not use them is byte-identical.
    `/* output quantization per model, real = scale * (q - zero_point): for front ends that report dequantized scores (PROTO=mlperf_tiny) */\n` +
    `#define YONO_OUTPUT_SCALES {${models.map((m) => `${m.output.scale.toPrecision(9)}f`).join(', ')}}\n` +
    `#define YONO_OUTPUT_ZERO_POINTS {${models.map((m) => m.output.zero_point).join(', ')}}\n\n` +
    `extern const yono_model_t yono_models[YONO_N_MODELS];\n` +
    (slotBytes ? `extern int8_t yono_ext_slot[YONO_EXT_SLOT_BYTES];\n` : '') +
    `\n#endif\n`;

  const source =
    `${banner}#include <stddef.h>\n#include <stdint.h>\n\n#include "models.h"\n\n` +
    (slotBytes ? `/* the one model slot: every external model's layer tables point into it */\nint8_t yono_ext_slot[YONO_EXT_SLOT_BYTES] __attribute__((aligned(4)));\n\n` : '') +
    `${arrays.join('')}\n${tables.join('\n')}\n` +
    `const yono_model_t yono_models[YONO_N_MODELS] = {\n${registry.join('\n')}\n};\n`;

  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  writeIfChanged(join(dir, 'models.h'), header);
  writeIfChanged(join(dir, 'models.c'), source);
  let extImage: GeneratedSources['extImage'];
  if (blobs.length) {
    const image = Buffer.alloc(imageBytes);
    image.write('YEXT', 0, 'latin1');
    image.writeUInt32LE(parseInt(inputsHash.slice(0, 8), 16), 4);
    image.writeUInt32LE(imageBytes, 8);
    image.writeUInt32LE(blobs.length, 12);
    for (const b of blobs) Buffer.from(b.data.map((v) => v & 0xff)).copy(image, b.addr);
    const file = join(dir, 'ext.bin');
    writeFileSync(file, image);
    extImage = { file, bytes: imageBytes, slotBytes, blobs: blobs.map(({ name, addr, bytes }) => ({ name, addr, bytes })) };
  }
  return { inputsHash, variant, extImage, perModel, arenaBytes: arenaA + arenaB + scratch + slotBytes, inputBufferBytes: inputBytes };
}
