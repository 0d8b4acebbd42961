/**
 * Model switching (switching.csv): per ordered pair heat maps of the switch's time and energy
 * on every channel, the cut of the in-memory variant against each external-storage baseline,
 * and switch + first inference per target model with the min/max over repetitions.
 */
import type { LoadedRun, Row } from '../load.js';
import { num, uniq } from '../load.js';
import { baseSpec, channelOf, median, provenance, sig, TWO_LINE_HEADER, type Datum, type Figure } from './style.js';

const CELL = 16;

function heatmap(run: LoadedRun, rows: Row[], name: string, column: string, unit: string, what: string): Figure {
  const models = uniq(rows.flatMap((r) => [r.from_model, r.to_model]));
  const channels = uniq(rows.map(channelOf));
  const data: Datum[] = rows.map((r) => ({ channel: channelOf(r), from_model: r.from_model, to_model: r.to_model, value: sig(num(r[column])), reps: num(r.reps) }));
  const values = data.map((d) => d.value).filter((v): v is number => v !== null);
  // switches in memory cost micro-seconds, from external storage milli-seconds: a log scale shows both
  const log = values.length > 0 && values.every((v) => v > 0);
  const p = provenance(run, rows, unit === 'mJ');
  const spec = {
    ...baseSpec(`${what} per ordered pair (${unit})`, p.lines, data),
    facet: { field: 'channel', type: 'nominal', title: null, sort: channels, header: TWO_LINE_HEADER },
    columns: 2,
    spec: {
      width: { step: CELL },
      height: { step: CELL },
      mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x: { field: 'to_model', type: 'nominal', sort: models, title: 'to', axis: { labelAngle: -45 } },
        y: { field: 'from_model', type: 'nominal', sort: models, title: 'from' },
        color: { field: 'value', type: 'quantitative', title: `${unit} (median)`, scale: { type: log ? 'log' : 'linear', scheme: 'cividis' }, legend: { format: '.2~g', tickCount: 4 } },
        tooltip: [{ field: 'channel' }, { field: 'from_model' }, { field: 'to_model' }, { field: 'value', title: unit }],
      },
    },
  };
  return {
    name,
    title: `${what} per ordered pair`,
    caption: `${what} (${unit}, median of ${rows[0].reps} repetitions) for every ordered pair of models (row: the model active before, column: the one switched to), per variant and storage channel; ${log ? 'log colour scale' : 'linear colour scale'}. An empty cell is a pair the run did not switch.`,
    spec,
    data,
    estimated: p.estimated,
  };
}

const CUTS: [string, string][] = [
  ['ready_ms_reduction_pct', 'switch time'],
  ['ready_mJ_reduction_pct', 'switch energy'],
  ['first_ms_reduction_pct', '+1st inf. time'],
  ['first_mJ_reduction_pct', '+1st inf. energy'],
];

function cutFigure(run: LoadedRun, rows: Row[]): Figure | null {
  const base = rows.filter((r) => CUTS.some(([c]) => r[c] !== ''));
  if (!base.length) return null;
  const models = uniq(rows.flatMap((r) => [r.from_model, r.to_model]));
  const data: Datum[] = base.flatMap((r) =>
    CUTS.map(([c, label]) => ({ baseline: channelOf(r), metric: label, panel: `${r.storage} · ${label}`, from_model: r.from_model, to_model: r.to_model, cut_pct: sig(num(r[c]), 3) })),
  ).filter((d) => d.cut_pct !== null);
  const panels = uniq(data.map((d) => String(d.panel)));
  const p = provenance(run, base, true);
  const spec = {
    ...baseSpec('Cut of the in-memory switch vs baseline (%)', p.lines, data),
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels, header: TWO_LINE_HEADER },
    columns: 2,
    spec: {
      width: { step: 19 },
      height: { step: 13 },
      encoding: {
        x: { field: 'to_model', type: 'nominal', sort: models, title: 'to', axis: { labelAngle: -45 } },
        y: { field: 'from_model', type: 'nominal', sort: models, title: 'from' },
      },
      layer: [
        { mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 }, encoding: { color: { field: 'cut_pct', type: 'quantitative', title: 'cut (%)', scale: { domain: [0, 100], scheme: 'cividis' } } } },
        // the number in each cell, dark on the light end of the scale and light on the dark end
        { mark: { type: 'text', fontSize: 8 }, encoding: { text: { field: 'cut_pct', type: 'quantitative', format: '.0f' }, color: { condition: { test: 'datum.cut_pct > 55', value: 'black' }, value: 'white' } } },
      ],
    },
  };
  return {
    name: 'switch-cut',
    title: 'Cut against each external-storage baseline',
    caption: 'Per ordered pair, 100 x (1 - in-memory / baseline) of the switch alone and of the switch plus the first inference, in time and energy, for every external-storage baseline of the run (in-memory: the pq variant when the run has it, int8 otherwise).',
    spec,
    data,
    estimated: p.estimated,
  };
}

function firstFigure(run: LoadedRun, rows: Row[]): Figure {
  const models = uniq(rows.flatMap((r) => [r.from_model, r.to_model]));
  const channels = uniq(rows.map(channelOf));
  const data: Datum[] = [];
  for (const ch of channels) {
    for (const m of models) {
      const sel = rows.filter((r) => channelOf(r) === ch && r.to_model === m);
      if (!sel.length) continue;
      const agg = (med: string, lo: string, hi: string) => ({
        med: sig(median(sel.map((r) => num(r[med])))),
        min: sig(Math.min(...sel.map((r) => num(r[lo])))),
        max: sig(Math.max(...sel.map((r) => num(r[hi])))),
      });
      const ms = agg('first_ms_median', 'first_ms_min', 'first_ms_max');
      const mj = agg('first_mJ_median', 'first_mJ_min', 'first_mJ_max');
      data.push({ channel: ch, to_model: m, pairs: sel.length, reps: num(sel[0].reps), ms: ms.med, ms_min: ms.min, ms_max: ms.max, mJ: mj.med, mJ_min: mj.min, mJ_max: mj.max });
    }
  }
  const panel = (field: string, unit: string) => ({
    width: 170,
    height: { step: 5 },
    encoding: {
      y: { field: 'to_model', type: 'nominal', sort: models, title: null },
      yOffset: { field: 'channel', type: 'nominal', sort: channels },
    },
    layer: [
      {
        mark: { type: 'bar', height: 4.5 },
        encoding: {
          x: { field, type: 'quantitative', title: `switch + first inference (${unit})` },
          color: { field: 'channel', type: 'nominal', sort: channels, scale: { scheme: 'cividis' }, title: null, legend: { columns: 1 } },
        },
      },
      // min/max over every repetition of every pair into that model
      { mark: { type: 'rule', color: 'black', strokeWidth: 0.8 }, encoding: { x: { field: `${field}_min`, type: 'quantitative' }, x2: { field: `${field}_max` } } },
      // end ticks, so the min/max stay visible when they coincide with the bar's end
      { mark: { type: 'tick', color: 'black', thickness: 0.8, size: 5 }, encoding: { x: { field: `${field}_min`, type: 'quantitative' } } },
      { mark: { type: 'tick', color: 'black', thickness: 0.8, size: 5 }, encoding: { x: { field: `${field}_max`, type: 'quantitative' } } },
    ],
  });
  const hasEnergy = data.some((d) => d.mJ !== null);
  const p = provenance(run, rows, hasEnergy);
  const spec = {
    ...baseSpec('Switch + first inference', p.lines, data),
    vconcat: hasEnergy ? [panel('ms', 'ms'), panel('mJ', 'mJ')] : [panel('ms', 'ms')],
    resolve: { scale: { color: 'shared' } },
  };
  return {
    name: 'switch-first',
    title: 'Switch + first inference',
    caption: 'Time (and energy) from the switch command to the end of the first inference of the model switched to, per target model and channel: bar = median over the ordered pairs into that model, line = min to max over every repetition of those pairs. Channels are told apart by position (fixed order) as well as by the colour.',
    spec,
    data,
    estimated: p.estimated,
  };
}

export function switchingFigures(run: LoadedRun): Figure[] {
  const rows = run.csv.switching;
  if (!rows?.length) return [];
  const out: Figure[] = [heatmap(run, rows, 'switch-latency', 'ready_ms_median', 'ms', 'Switch time')];
  if (rows.some((r) => r.ready_mJ_median !== '')) out.push(heatmap(run, rows, 'switch-energy', 'ready_mJ_median', 'mJ', 'Switch energy'));
  const cut = cutFigure(run, rows);
  if (cut) out.push(cut);
  out.push(firstFigure(run, rows));
  return out;
}
