/** The compression trade-off: top-1 against stored bytes, per model, fp32 / int8 / pq. */
import type { LoadedRun } from '../load.js';
import { num } from '../load.js';
import { baseSpec, exactProvenance, SHAPES, sig, type Datum, type Figure } from './style.js';


const FORMS = ['fp32 (host)', 'int8 (device)', 'pq (device)'];

export function compressionFigures(run: LoadedRun): Figure[] {
  const rows = run.csv.compression;
  if (!rows?.length) return [];
  // TOTAL rows sum the models: bytes without one top-1, they belong in the table only
  const data: Datum[] = rows.filter((r) => !r.model.startsWith('TOTAL')).flatMap((r) => [
    { model: r.model, form: FORMS[0], stored_as: 'fp32', bytes: num(r.fp32_bytes), top1_pct: sig(100 * num(r.top1_fp32)) },
    { model: r.model, form: FORMS[1], stored_as: 'int8', bytes: num(r.int8_bytes), top1_pct: sig(100 * num(r.top1_int8_device)) },
    { model: r.model, form: FORMS[2], stored_as: r.stored_as || 'pq', bytes: num(r.pq_bytes), top1_pct: sig(100 * num(r.top1_pq_device)) },
  ]).filter((d) => Number.isFinite(d.bytes) && d.top1_pct !== null);
  const bytes = data.map((d) => Number(d.bytes));
  // room on the left for the model names, which sit left of each model's smallest form
  const domain = [Math.min(...bytes) / 12, Math.max(...bytes) * 1.3];
  const spec = {
    ...baseSpec('Top-1 against stored bytes', exactProvenance(run), data),
    width: 175,
    height: 150,
    layer: [
      // each model's forms joined, so a model reads as one path from fp32 to pq
      { mark: { type: 'line', color: '#999', strokeWidth: 0.8 }, encoding: { x: { field: 'bytes', type: 'quantitative' }, y: { field: 'top1_pct', type: 'quantitative' }, detail: { field: 'model' }, order: { field: 'bytes' } } },
      {
        mark: { type: 'point', size: 36, strokeWidth: 1.2, filled: true, opacity: 1 },
        encoding: {
          x: { field: 'bytes', type: 'quantitative', scale: { type: 'log', domain, nice: false }, title: 'stored bytes (log)', axis: { format: '~s', tickCount: 5 } },
          y: { field: 'top1_pct', type: 'quantitative', scale: { zero: false, padding: 8 }, title: 'top-1 (%)' },
          shape: { field: 'form', type: 'nominal', scale: { domain: FORMS, range: SHAPES.slice(0, 3) }, title: null, legend: { orient: 'bottom', columns: 2 } },
          color: { field: 'form', type: 'nominal', scale: { domain: FORMS, scheme: 'viridis' }, title: null },
          tooltip: [{ field: 'model' }, { field: 'form' }, { field: 'bytes' }, { field: 'top1_pct' }],
        },
      },
      // model names next to the smallest form: identity by text, not by colour
      {
        transform: [{ filter: `datum.form === '${FORMS[2]}'` }],
        mark: { type: 'text', align: 'right', dx: -5, fontSize: 8 },
        encoding: { x: { field: 'bytes', type: 'quantitative' }, y: { field: 'top1_pct', type: 'quantitative' }, text: { field: 'model' } },
      },
    ],
  };
  return [{
    name: 'compression',
    title: 'Compression trade-off',
    caption: 'Top-1 on the whole test split against the bytes each model stores, as fp32 (host), int8 and product-quantized with shared codebooks (both on the device); a model stored as int8 by the pq firmware has its int8 size twice. Bytes are exact; top-1 is what the firmware computed.',
    spec,
    data,
    estimated: false,
  }];
}
