/** Per-inference latency (latency.csv): median with the p10-p90 band, per model and variant. */
import type { LoadedRun } from '../load.js';
import { num, uniq } from '../load.js';
import { baseSpec, provenance, SHAPES, sig, type Datum, type Figure } from './style.js';

export function latencyFigures(run: LoadedRun): Figure[] {
  const rows = run.csv.latency;
  if (!rows?.length) return [];
  const models = uniq(rows.map((r) => r.model));
  const variants = uniq(rows.map((r) => r.variant));
  const data: Datum[] = rows.map((r) => ({
    model: r.model, variant: r.variant, ms: sig(num(r.ms_median)), ms_p10: sig(num(r.ms_p10)), ms_p90: sig(num(r.ms_p90)), n: num(r.runs) * num(r.inputs), source: r.source,
  }));
  const p = provenance(run, rows);
  // 5 ms to 400 ms in one run: a log axis keeps the small models readable
  const ms = data.flatMap((d) => [Number(d.ms_p10), Number(d.ms_p90)]).filter((v) => v > 0);
  const x = { type: 'quantitative', scale: { type: 'log', domain: [Math.min(...ms) / 1.5, Math.max(...ms) * 1.5], nice: false }, title: 'ms per inference (log)', axis: { format: '~g', tickCount: 6 } };
  const spec = {
    ...baseSpec('Per-inference latency', p.lines, data),
    width: 170,
    height: { step: 7 }, // per variant: yOffset steps nest inside each model's band
    encoding: {
      y: { field: 'model', type: 'nominal', sort: models, title: null },
      yOffset: { field: 'variant', type: 'nominal', sort: variants },
    },
    layer: [
      { mark: { type: 'rule', strokeWidth: 1.2, color: '#333' }, encoding: { x: { field: 'ms_p10', ...x }, x2: { field: 'ms_p90' } } },
      {
        mark: { type: 'point', filled: true, size: 30, opacity: 1 },
        encoding: {
          x: { field: 'ms', ...x },
          shape: { field: 'variant', type: 'nominal', sort: variants, scale: { domain: variants, range: SHAPES.slice(0, variants.length) }, title: null },
          color: { field: 'variant', type: 'nominal', sort: variants, scale: { domain: variants, scheme: 'viridis' }, title: null },
          tooltip: [{ field: 'model' }, { field: 'variant' }, { field: 'ms' }, { field: 'ms_p10' }, { field: 'ms_p90' }, { field: 'n' }],
        },
      },
    ],
  };
  return [{
    name: 'latency',
    title: 'Per-inference latency',
    caption: 'Median time of one inference per model and variant (marker; shape and colour both name the variant), with the 10th to 90th percentile over the timed runs (line; often narrower than the marker). n = timed runs x inputs per row of latency.csv.',
    spec,
    data,
    estimated: p.estimated,
  }];
}
