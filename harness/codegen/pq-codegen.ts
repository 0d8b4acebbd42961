/**
 * C emission of the pq parts of a firmware (used by harness/codegen/codegen.ts): each shared
 * codebook once for the whole model set, and per pq layer its packed index rows plus the
 * per-channel tables. The effective bias (bias - in_zp * sum of the decoded weights, as for an int8
 * layer) is stored as int16 << bias_shift; compression snapped the bias so that this is exact.
 */
import { HilError } from '../util/errors.js';
import { packedRowBytes, packIndices, pqBiasTable, rowShape } from '../compress/pq-model.js';
import type { Codebook, DeployModel, PqLayer } from '../compress/pq-model.js';

const align4 = (n: number): number => (n + 3) & ~3;

/** C identifier of a codebook array (id + hash: two different books never share a name). */
export function codebookSymbol(cb: Codebook): string {
  return `yono_cb_${cb.id}_${cb.hash}`;
}

function cArray(type: string, name: string, values: readonly number[]): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += 24) lines.push(`    ${values.slice(i, i + 24).join(', ')},`);
  return `static const ${type} ${name}[${values.length}] __attribute__((aligned(4))) = {\n${lines.join('\n')}\n};\n`;
}

/** The distinct codebooks a model set uses, by hash (a codebook id may not name two books). */
export function collectCodebooks(models: DeployModel[]): Codebook[] {
  const byId = new Map<string, Codebook>();
  for (const m of models) {
    if (m.format !== 'yono-pq/1') continue;
    for (const cb of Object.values(m.codebooks)) {
      const seen = byId.get(cb.id);
      if (seen && seen.hash !== cb.hash) throw new HilError(`codebook '${cb.id}' appears with two hashes (${seen.hash}, ${cb.hash}): recompress all models together`, 'codegen');
      byId.set(cb.id, cb);
    }
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

export function emitCodebooks(books: Codebook[]): string {
  return books
    .map((cb) => `/* shared codebook ${cb.id} (${cb.kind}, d=${cb.d}, k=${cb.k}, ${cb.index_bits}-bit indices) hash ${cb.hash} */\n${cArray('int8_t', codebookSymbol(cb), cb.codewords)}`)
    .join('');
}

export function codebookFlashBytes(books: Codebook[]): number {
  return books.reduce((a, cb) => a + align4(cb.k * cb.d), 0);
}

/** Flash of one pq layer's tables (without the layer descriptor). */
export function pqLayerFlashBytes(l: PqLayer, cb: Codebook): number {
  const { oc, row } = rowShape(l);
  return align4(oc * packedRowBytes(row / cb.d, cb.index_bits)) + align4(2 * oc) /* bias_eff16 */ + align4(2 * oc) + align4(oc);
}

/** Emits the arrays of a pq layer into `arrays` and returns its yono_layer_t initializer. */
export function emitPqLayer(l: PqLayer, cb: Codebook, id: string, arrays: string[]): string {
  const { oc } = rowShape(l);
  const be = pqBiasTable(l, cb);
  if (!be) throw new HilError(`layer ${id}: effective bias is not int16 << shift (SPEC section 4); recompress`, 'codegen');
  arrays.push(cArray('uint8_t', `${id}_ix`, packIndices(l.indices, oc, cb.index_bits)));
  arrays.push(cArray('int16_t', `${id}_be`, be.values));
  arrays.push(`static const int16_t ${id}_m[${oc}] = {${l.multiplier.join(', ')}};\n`);
  arrays.push(`static const int8_t ${id}_s[${oc}] = {${l.shift.join(', ')}};\n`);
  const f: Record<string, string | number> = {
    op: l.op === 'conv2d_pq' ? 'YONO_OP_CONV2D_PQ' : 'YONO_OP_DENSE_PQ',
  };
  if (l.op === 'dense_pq') {
    Object.assign(f, { in_h: 1, in_w: 1, in_c: l.in_features, out_h: 1, out_w: 1, out_c: l.out_features });
  } else {
    const [ih, iw, ic] = l.in_shape;
    const [oh, ow, c] = l.out_shape;
    Object.assign(f, { in_h: ih, in_w: iw, in_c: ic, out_h: oh, out_w: ow, out_c: c });
    Object.assign(f, { kh: l.kh, kw: l.kw, stride_h: l.stride_h, stride_w: l.stride_w, pad_top: l.pad_top, pad_left: l.pad_left });
  }
  Object.assign(f, {
    in_zp: l.in_zp, out_zp: l.out_zp, act_min: l.act_min, act_max: l.act_max,
    weights: 'NULL', bias: 'NULL', bias_eff: 'NULL', pq_bias_eff: `${id}_be`, pq_bias_shift: be.shift, multiplier: `${id}_m`, shift: `${id}_s`,
    pq_codebook: codebookSymbol(cb), pq_indices: `${id}_ix`, pq_d: cb.d, pq_bits: cb.index_bits, pq_k: cb.k <= 255 ? cb.k : 0,
  });
  return `    {${Object.entries(f).map(([k, v]) => `.${k} = ${v}`).join(', ')}},`;
}
