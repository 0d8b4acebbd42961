/**
 * report.html: one self-contained page (inline SVG and CSS, no script, no font or link to
 * anything outside the folder) that opens from disk: configuration, notes, every figure and
 * table, links to the CSVs, and for several runs a comparison with the differences marked.
 */
import path from 'node:path';
import type { LoadedRun } from './load.js';
import { firmwareHashes, num, uniq } from './load.js';
import type { Figure } from './figures/style.js';
import type { Table } from './tables.js';
import { channelOf, median } from './figures/style.js';
import { traceAbsence } from './figures/trace.js';

export interface RenderedFigure {
  figure: Figure;
  svg: string;
  /** paths relative to report.html */
  files: { svg: string; raster?: string; csv: string; spec: string; cmd: string };
  command: string;
}

export interface RunSection {
  run: LoadedRun;
  label: string;
  figures: RenderedFigure[];
  tables: { table: Table; tex: string; md: string }[];
  notes: string[];
  /** CSV links relative to report.html */
  csvLinks: { name: string; href: string }[];
  /** run.json relative to report.html */
  runJsonHref: string;
}

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const href = (p: string): string => p.split(path.sep).map(encodeURIComponent).join('/');

/**
 * An SVG ready to sit inline: namespace declarations dropped (HTML needs none) and its ids
 * prefixed, since every Vega SVG numbers its clip paths from 1 and they would collide.
 */
export function inlineSvg(svg: string, prefix: string, label: string): string {
  const width = Number(/^<svg[^>]* width="([\d.]+)"/.exec(svg)?.[1] ?? 240);
  return svg
    .replace(/\s+xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`)
    .replace(/^<svg /, `<svg role="img" aria-label="${esc(label)}" style="width:${(SCREEN_SCALE * width).toFixed(0)}px" `);
}

/** Every figure shown at the same scale on screen (1.6 x its paper size), so text sizes match. */
const SCREEN_SCALE = 1.6;

const CSS = `
:root { --fg: #111; --muted: #555; --line: #ccc; --warn-bg: #fff4d6; --diff-bg: #ffe08a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px; }
h1 { font-size: 1.5em; margin: 0.2em 0; } h2 { font-size: 1.25em; border-bottom: 1px solid var(--line); padding-bottom: 2px; margin-top: 1.6em; } h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
.muted, figcaption .files { color: var(--muted); }
nav ul { columns: 3; padding-left: 1.2em; margin: 0.3em 0; }
.warning { background: var(--warn-bg); border-left: 4px solid #b07800; padding: 6px 10px; margin: 8px 0; }
.badge { display: inline-block; font-size: 0.8em; padding: 0 6px; border-radius: 3px; border: 1px solid #888; margin-left: 4px; }
.badge.est { border-style: dashed; background: #f3f3f3; }
table { border-collapse: collapse; margin: 6px 0 4px; font-size: 0.92em; font-variant-numeric: tabular-nums; }
th, td { padding: 2px 8px; text-align: left; vertical-align: top; }
thead th { border-top: 2px solid #000; border-bottom: 1px solid #000; }
tbody tr:last-child td { border-bottom: 2px solid #000; }
td.r, th.r { text-align: right; } td.r { white-space: nowrap; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; }
.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 20px 28px; }
figure { margin: 0; }
figure .svg svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.9em; margin-top: 4px; }
details pre { white-space: pre-wrap; word-break: break-all; background: #f6f6f6; padding: 6px; font-size: 0.85em; }
.side { display: grid; gap: 12px 24px; }
td.diff { background: var(--diff-bg); font-weight: 600; }
td.diff::after { content: " \\2260"; }
.tablewrap { overflow-x: auto; }
@media print { body { max-width: none; } .figs { display: block; } figure { break-inside: avoid; margin-bottom: 16px; } }
`;

function tableHtml(t: Table): string {
  const cls = (i: number) => (t.align[i] === 'r' ? ' class="r"' : '');
  return `<div class="tablewrap"><table id="tab-${esc(t.name)}"><caption class="muted" style="caption-side:bottom;text-align:left">${esc(t.caption)}</caption><thead><tr>${t.header.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

function kv(rows: [string, string | undefined][]): string {
  return `<table class="kv"><tbody>${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(String(v))}</td></tr>`).join('')}</tbody></table>`;
}

function configHtml(run: LoadedRun): string {
  const j = run.json;
  const cfg = j.rig.config;
  const mem = (v: { variant: string; firmware: { build_hash: string; memory?: { flashBytes: number; flashBudget: number; ramBytes: number; ramBudget: number } } }) =>
    v.firmware.memory ? `${v.firmware.build_hash}: flash ${v.firmware.memory.flashBytes} / ${v.firmware.memory.flashBudget} B, SRAM ${v.firmware.memory.ramBytes} / ${v.firmware.memory.ramBudget} B` : v.firmware.build_hash;
  const variants = j.variants ?? (j.firmware ? [{ variant: (j.variant ?? 'int8').split(',')[0], firmware: j.firmware }] : []);
  const est = cfg?.estimate;
  const rows: [string, string | undefined][] = [
    ['run', j.id],
    ['status', j.status + (j.error ? ` (${j.error})` : '')],
    ['started / finished', `${j.started ?? '?'} / ${j.finished ?? '?'}`],
    ['harness', j.harness_version],
    ['host', j.host ? `node ${j.host.node}, ${j.host.platform}, ${j.host.cpus} CPUs` : undefined],
    ['rig', `${j.rig.name}${j.rig.file ? ` (${j.rig.file})` : ''}${cfg?.description ? `: ${cfg.description}` : ''}`],
    ['board', j.board ? `${j.board.name}, ${j.board.core}, flash ${j.board.flashBytes} B, SRAM ${j.board.ramBytes} B` : undefined],
    ['device', cfg?.dut ? `${cfg.dut.kind}${cfg.dut.machine ? ` ${cfg.dut.machine}` : ''}` : undefined],
    ['cost model', est ? `${est.core} @ ${((est.clock_hz ?? 0) / 1e6).toFixed(0)} MHz, CPI ${est.cpi} (emulated estimate)` : undefined],
    ['power', cfg?.power?.kind],
    ['experiments', j.experiments?.join(', ')],
    ['models', j.options?.models?.join(', ')],
    ['samples', j.options?.samples === undefined ? undefined : String(j.options.samples)],
    ...variants.map((v): [string, string] => [`firmware ${v.variant}`, mem(v)]),
    ...Object.entries(j.channels ?? {}).flatMap(([v, list]) => list.map((c, i): [string, string] => [`channel ${v}${list.length > 1 ? ` #${i + 1}` : ''}`, c])),
  ];
  const sources = cfg?.power?.source ? `<details><summary>power model source</summary><p>${esc(cfg.power.source)}</p></details>` : '';
  return kv(rows) + sources;
}

/** Notes a reader must see: the run's own notes, models left out, lost samples, disagreements. */
export function runNotes(run: LoadedRun): string[] {
  const notes = [...(run.json.notes ?? [])];
  if (run.json.status && run.json.status !== 'complete') notes.push(`run status is "${run.json.status}"${run.json.error ? `: ${run.json.error}` : ''}; its CSVs hold only the rows finished before it stopped`);
  const wanted = run.json.options?.models ?? [];
  for (const [name, rows] of [['accuracy', run.csv.accuracy], ['latency', run.csv.latency]] as const) {
    if (!rows) continue;
    for (const v of uniq(rows.map((r) => r.variant))) {
      const missing = wanted.filter((m) => !rows.some((r) => r.variant === v && r.model === m));
      if (missing.length) notes.push(`${name}.csv has no ${v} row for ${missing.join(', ')}`);
    }
  }
  const switched = uniq((run.csv.switching ?? []).flatMap((r) => [r.from_model, r.to_model]));
  if (switched.length) {
    const out = wanted.filter((m) => !switched.includes(m));
    if (out.length) notes.push(`switching and the scenario leave out ${out.join(', ')} (they compare only the models every variant holds)`);
  }
  for (const r of run.csv.energy ?? []) {
    if (num(r.lost_samples_pct) > 0 || num(r.windows_broken) > 0) {
      notes.push(`energy ${r.what} ${r.variant}/${r.storage} ${r.model}: ${r.windows_broken} of ${r.windows} windows broken, ${r.lost_samples_pct || 0}% samples lost`);
    }
  }
  for (const r of run.csv.accuracy ?? []) if (num(r.mismatches) > 0) notes.push(`accuracy ${r.model} ${r.variant}: device and host reference disagree on ${r.mismatches} samples`);
  if (!run.csv.predictions) notes.push('no predictions.csv in the run folder: no confusion matrices');
  return notes;
}

function figureHtml(f: RenderedFigure, prefix: string, heading = ''): string {
  const links = [`<a href="${href(f.files.svg)}">SVG</a>`, f.files.raster ? `<a href="${href(f.files.raster)}">${path.extname(f.files.raster).slice(1).toUpperCase()}</a>` : '', `<a href="${href(f.files.csv)}">data (CSV)</a>`, `<a href="${href(f.files.spec)}">Vega-Lite spec</a>`, `<a href="${href(f.files.cmd)}">command</a>`].filter(Boolean).join(' · ');
  const badge = f.figure.estimated ? '<span class="badge est">emulated estimate</span>' : '';
  return `<figure id="${esc(`fig-${prefix}`)}">${heading}<div class="svg">${inlineSvg(f.svg, prefix, f.figure.title)}</div><figcaption><b>${esc(f.figure.title)}</b>${badge}. ${esc(f.figure.caption)}<br><span class="files">${links}</span><details><summary>redraw</summary><pre>${esc(f.command)}</pre></details></figcaption></figure>`;
}

/** One row per figure name, one column per run (an empty cell when a run lacks that figure). */
function sideBySideHtml(sections: RunSection[]): string {
  const names = uniq(sections.flatMap((s) => s.figures.map((f) => f.figure.name)));
  const rows = names.map((name) => {
    const cells = sections.map((s) => {
      const f = s.figures.find((x) => x.figure.name === name);
      return f ? figureHtml(f, `${s.label}-${name}`, `<p class="muted">${esc(s.run.id)}</p>`) : `<p class="muted">${esc(s.run.id)}: no ${esc(name)} figure (the CSV it is drawn from is missing)</p>`;
    });
    return `<h3>${esc(name)}</h3><div class="side" style="grid-template-columns: repeat(${sections.length}, minmax(0, 1fr))">${cells.join('')}</div>`;
  });
  return `<h2 id="compare-figures">Figures side by side</h2>${rows.join('\n')}`;
}

function runHtml(s: RunSection, multi: boolean): string {
  const id = (x: string) => (multi ? `${s.label}-${x}` : x);
  // several runs: the figures sit side by side in the comparison, not once more here
  const figs = multi ? '' : s.figures.map((f) => figureHtml(f, id(f.figure.name))).join('\n');
  const tables = s.tables
    .map((t) => `<h3 id="${esc(id(`tab-${t.table.name}`))}">${esc(t.table.title)}</h3>${tableHtml(t.table)}<p class="muted">LaTeX: <a href="${href(t.tex)}">${esc(path.basename(t.tex))}</a> · Markdown: <a href="${href(t.md)}">${esc(path.basename(t.md))}</a></p>`)
    .join('\n');
  const notes = s.notes.length ? `<ul>${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '<p class="muted">none</p>';
  const csv = s.csvLinks.map((c) => `<a href="${href(c.href)}">${esc(c.name)}</a>`).join(' · ');
  return [
    multi ? `<h2 id="${esc(s.label)}">Run ${esc(s.run.id)}</h2>` : '',
    `<h${multi ? 3 : 2} id="${esc(id('config'))}">Configuration</h${multi ? 3 : 2}>`,
    configHtml(s.run),
    `<h${multi ? 3 : 2} id="${esc(id('notes'))}">Notes</h${multi ? 3 : 2}>`,
    notes,
    `<h${multi ? 3 : 2} id="${esc(id('figures'))}">Figures</h${multi ? 3 : 2}>`,
    multi ? `<p>${s.figures.length} figures, side by side with the other runs' under <a href="#compare-figures">Comparison</a>.</p>` : figs ? `<div class="figs">${figs}</div>` : '<p class="muted">no figure: the run has none of the CSVs they are drawn from</p>',
    traceAbsence(s.run) ? `<p class="muted">${esc(traceAbsence(s.run) ?? "")}.</p>` : '',
    `<h${multi ? 3 : 2} id="${esc(id('tables'))}">Tables</h${multi ? 3 : 2}>`,
    tables,
    `<h${multi ? 3 : 2} id="${esc(id('data'))}">Data</h${multi ? 3 : 2}>`,
    `<p>CSVs of the run: ${csv || 'none'}; configuration: <a href="${href(s.runJsonHref)}">run.json</a></p>`,
  ].join('\n');
}

/** Key figures of each run side by side; a cell that differs from the first run is marked. */
export function comparisonRows(runs: LoadedRun[]): { metric: string; values: string[] }[] {
  const metrics = new Map<string, string[]>();
  const put = (k: string, i: number, v: string) => {
    if (!metrics.has(k)) metrics.set(k, runs.map(() => '-'));
    (metrics.get(k) as string[])[i] = v;
  };
  runs.forEach((run, i) => {
    put('rig', i, run.json.rig.name);
    put('board', i, run.json.board?.name ?? '?');
    put('status', i, run.json.status ?? '?');
    put('harness', i, run.json.harness_version ?? '?');
    for (const [v, h] of Object.entries(firmwareHashes(run))) put(`firmware ${v}`, i, h);
    for (const r of run.csv.accuracy ?? []) put(`top-1 % ${r.model} ${r.variant}`, i, (100 * num(r.top1)).toFixed(2));
    for (const r of run.csv.latency ?? []) put(`ms/inference ${r.model} ${r.variant}`, i, Number(num(r.ms_median).toPrecision(4)).toString());
    for (const r of run.csv.compression ?? []) put(`pq bytes ${r.model}`, i, r.pq_bytes);
    for (const c of uniq((run.csv.switching ?? []).map(channelOf))) {
      const sel = (run.csv.switching ?? []).filter((r) => channelOf(r) === c);
      put(`switch+1st ms ${c} (median)`, i, Number(median(sel.map((r) => num(r.first_ms_median))).toPrecision(4)).toString());
    }
    const sc = run.csv.scenario ?? [];
    for (const k of uniq(sc.map((r) => `${r.schedule} ${channelOf(r)}`))) {
      const sel = sc.filter((r) => `${r.schedule} ${channelOf(r)}` === k);
      put(`scenario mJ ${k}`, i, Number(sel.reduce((a, r) => a + (num(r.event_mJ) || 0), 0).toPrecision(4)).toString());
    }
  });
  return [...metrics].map(([metric, values]) => ({ metric, values }));
}

function comparisonHtml(runs: LoadedRun[], labels: string[]): string {
  const rows = comparisonRows(runs);
  const body = rows
    .map(({ metric, values }) => {
      const cells = values.map((v, i) => {
        const differs = i > 0 && v !== values[0];
        const rel = differs && Number.isFinite(Number(v)) && Number.isFinite(Number(values[0])) && Number(values[0]) !== 0 ? ` (${Number(v) > Number(values[0]) ? '+' : ''}${((100 * (Number(v) - Number(values[0]))) / Number(values[0])).toFixed(1)}%)` : '';
        return `<td class="r${differs ? ' diff' : ''}">${esc(v + rel)}</td>`;
      });
      return `<tr><td>${esc(metric)}</td>${cells.join('')}</tr>`;
    })
    .join('');
  const changed = rows.filter((r) => r.values.some((v, i) => i > 0 && v !== r.values[0])).length;
  return `<h2 id="compare">Comparison</h2><p>${changed} of ${rows.length} figures differ from the first run (marked ≠, shaded; relative change in parentheses).</p><div class="tablewrap"><table><thead><tr><th>metric</th>${labels.map((l) => `<th class="r"><a href="#${esc(l)}">${esc(l)}</a></th>`).join('')}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export function reportHtml(sections: RunSection[], warnings: string[], generated: string): string {
  const multi = sections.length > 1;
  const title = multi ? `Report: ${sections.length} runs` : `Report: run ${sections[0].run.id}`;
  const toc = multi
    ? ['<li><a href="#compare">Comparison</a></li>', '<li><a href="#compare-figures">Figures side by side</a></li>', ...sections.map((s) => `<li><a href="#${esc(s.label)}">${esc(s.run.id)}</a></li>`)]
    : ['config', 'notes', 'figures', 'tables', 'data'].map((x) => `<li><a href="#${x}">${x[0].toUpperCase() + x.slice(1)}</a></li>`).concat(sections[0].figures.map((f) => `<li><a href="#fig-${esc(f.figure.name)}">${esc(f.figure.title)}</a></li>`));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="muted">yono-hil report written ${esc(generated)} from the CSVs and run.json of ${sections.map((s) => esc(s.run.id)).join(', ')}; no device was used.</p>
${warnings.map((w) => `<p class="warning" role="alert">warning: ${esc(w)}</p>`).join('\n')}
<nav><ul>${toc.join('')}</ul></nav>
${multi ? comparisonHtml(sections.map((s) => s.run), sections.map((s) => s.label)) + sideBySideHtml(sections) : ''}
${sections.map((s) => runHtml(s, multi)).join('\n')}
</body>
</html>
`;
}

