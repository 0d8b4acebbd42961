/** Confusion matrices per model (predictions.csv, kept by normal runs): device prediction against label. */
import type { LoadedRun } from '../load.js';
import { num, uniq } from '../load.js';
import { baseSpec, exactProvenance, sig, type Datum, type Figure } from './style.js';

export function confusionFigures(run: LoadedRun): Figure[] {
  const rows = run.csv.predictions;
  if (!rows?.length) return [];
  const out: Figure[] = [];
  for (const model of uniq(rows.map((r) => r.model))) {
    const sel = rows.filter((r) => r.model === model);
    const variants = uniq(sel.map((r) => r.variant));
    const classes = Math.max(...sel.flatMap((r) => [num(r.label), num(r.device)])) + 1;
    const data: Datum[] = [];
    for (const v of variants) {
      const counts = new Map<string, number>();
      const perLabel = new Map<number, number>();
      for (const r of sel.filter((x) => x.variant === v)) {
        counts.set(`${r.label},${r.device}`, (counts.get(`${r.label},${r.device}`) ?? 0) + 1);
        perLabel.set(num(r.label), (perLabel.get(num(r.label)) ?? 0) + 1);
      }
      for (const [k, n] of counts) {
        const [label, predicted] = k.split(',').map(Number);
        data.push({ variant: v, label, predicted, count: n, row_pct: sig((100 * n) / (perLabel.get(label) ?? 1), 3) });
      }
    }
    // panels at least ~64 px wide, so the axis titles of neighbouring panels do not collide
    const step = classes <= 6 ? Math.max(16, Math.ceil(64 / classes)) : 10;
    const spec = {
      ...baseSpec(`Confusion: ${model}`, exactProvenance(run), data),
      facet: { field: 'variant', type: 'nominal', sort: variants, title: null },
      columns: 2,
      spec: {
        width: { step },
        height: { step },
        mark: { type: 'rect' },
        encoding: {
          x: { field: 'predicted', type: 'ordinal', title: 'predicted', scale: { domain: [...Array(classes).keys()] }, axis: { labelAngle: classes > 9 ? -90 : 0 } },
          y: { field: 'label', type: 'ordinal', title: 'label', scale: { domain: [...Array(classes).keys()] } },
          color: { field: 'row_pct', type: 'quantitative', title: '% of label', scale: { type: 'sqrt', domain: [0, 100], scheme: 'cividis' } },
          tooltip: [{ field: 'label' }, { field: 'predicted' }, { field: 'count' }, { field: 'row_pct' }],
        },
      },
    };
    out.push({
      name: `confusion-${model}`,
      title: `Confusion matrix: ${model}`,
      caption: `Device predictions of ${model} against the labels, per variant; each cell is the share of that label's samples (square-root colour scale, so rare confusions stay visible); n = ${sel.length} predictions.`,
      spec,
      data,
      estimated: false,
    });
  }
  return out;
}
