/**
 * What every figure shares: a size and fonts for one column of a two-column paper (3.3 in at
 * 72 dpi ~ 240 px, no text under 8 pt), colour schemes whose lightness is monotone (cividis,
 * viridis: readable in greyscale and by colour-blind readers), and the provenance subtitle.
 */
import type { LoadedRun, Row } from '../load.js';
import { deviceKind, sourcesOf } from '../load.js';

export type Datum = Record<string, string | number | null>;

export interface Figure {
  /** file stem under figures/, e.g. "switch-latency" */
  name: string;
  title: string;
  /** one paragraph for the page and the LaTeX caption */
  caption: string;
  /** the Vega-Lite spec; its data are `data`, inline */
  spec: Record<string, unknown>;
  /** the plotted rows, also written as <name>.csv */
  data: Datum[];
  /** true when any plotted value is an emulated estimate */
  estimated: boolean;
}

export const COLUMN_PX = 240;
export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Vega-Lite config: 8 pt everywhere (9 pt titles), thin strokes, no chart border. */
export const CONFIG = {
  font: FONT,
  // no per-mark ARIA descriptions: they triple the SVG; the page labels each figure as a whole
  aria: false,
  background: 'white',
  padding: 4,
  view: { stroke: null, continuousWidth: 200, continuousHeight: 140 },
  title: { fontSize: 9, subtitleFontSize: 8, anchor: 'start', offset: 4, subtitlePadding: 2, subtitleColor: '#333' },
  axis: { labelFontSize: 8, titleFontSize: 8, titleFontWeight: 'normal', tickSize: 3, labelPadding: 2, titlePadding: 3, gridColor: '#e6e6e6', domainColor: '#555', tickColor: '#555' },
  legend: { labelFontSize: 8, titleFontSize: 8, titleFontWeight: 'normal', symbolSize: 40, orient: 'bottom', direction: 'horizontal', columnPadding: 6, rowPadding: 2, gradientLength: 120, gradientThickness: 8, labelLimit: 220 },
  header: { labelFontSize: 8, titleFontSize: 8, labelPadding: 2, titlePadding: 2 },
  text: { fontSize: 8 },
  facet: { spacing: 8 },
  concat: { spacing: 10 },
  range: { category: { scheme: 'viridis' }, ordinal: { scheme: 'viridis' }, heatmap: { scheme: 'cividis' }, ramp: { scheme: 'cividis' } },
};

/** Shapes in a fixed order, so one category keeps its shape in every figure. */
export const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-right', 'triangle-left'];

/** "cortex-m4 @ 120 MHz, CPI 1.3", short enough for a 240 px subtitle. */
function costModel(run: LoadedRun): string {
  const e = run.json.rig.config?.estimate;
  if (!e?.core) return 'stated cost model';
  return `${e.core} @ ${((e.clock_hz ?? 0) / 1e6).toFixed(0)} MHz, CPI ${e.cpi ?? '?'}`;
}

/**
 * The subtitle: where the plotted numbers come from, read from the rows' source column
 * (time and energy) or the rig (top-1 and bytes are exact even on an emulator).
 */
export function provenance(run: LoadedRun, rows: Row[] | undefined, energy = false): { lines: string[]; estimated: boolean } {
  const sources = sourcesOf(rows);
  const estimated = sources.includes('emulated-estimate');
  const what = sources.length ? sources.join(' + ') : 'measured';
  // short lines: the subtitle must fit a 240 px column at 8 pt
  const lines = estimated ? [`${what}, not measured:`, `${costModel(run)}${energy ? '; stated power model' : ''}`] : [`${what} (${run.json.board?.name ?? run.json.rig.name})`];
  lines.push(`run ${run.id}`);
  return { lines, estimated };
}

/** Subtitle for figures of exact device outputs (top-1, predictions): the device kind, not an estimate. */
export function exactProvenance(run: LoadedRun): string[] {
  return [deviceKind(run), `run ${run.id}`];
}

export function baseSpec(title: string, subtitle: string[], data: Datum[]): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    config: CONFIG,
    data: { values: data },
  };
}

export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = (v.length - 1) / 2;
  return (v[Math.floor(mid)] + v[Math.ceil(mid)]) / 2;
}

/** Numbers to 4 significant digits in data CSVs; NaN becomes null (an empty cell). */
export function sig(x: number, digits = 4): number | null {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : null;
}

/** "int8 · internal-flash": one switching/scenario channel. */
/** Facet headers on two lines ("int8-ext" over "sd-spi-21mhz"), so a header is no wider than its panel. */
export const TWO_LINE_HEADER = { labelExpr: "split(datum.value, ' · ')", labelLineHeight: 9 };

export function channelOf(r: Row): string {
  return `${r.variant} · ${r.storage}`;
}
