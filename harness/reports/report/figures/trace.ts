/**
 * The current trace of a measured rig (run.json `captures`, files under captures/): the supply
 * current over one capture with its marker windows shaded, one figure per experiment and variant
 * (its capture with the most windows). Emulated rigs keep no captures (their energy is a stated model),
 * so they draw none; traceAbsence() says why on the page.
 */
import { readTrace, type CaptureRecord } from '../../captures.js';
import type { LoadedRun } from '../load.js';
import { baseSpec, provenance, sig, type Datum, type Figure } from './style.js';

/** Per (experiment, variant), the capture with the most marker windows (the first on ties): the most to see. */
function chosenCaptures(run: LoadedRun): CaptureRecord[] {
  const best = new Map<string, CaptureRecord>();
  for (const c of run.json.captures ?? []) {
    const key = `${c.experiment}-${c.variant}`;
    const b = best.get(key);
    if (!b || c.windows.length > b.windows.length) best.set(key, c);
  }
  return [...best.values()];
}

export function traceFigures(run: LoadedRun): Figure[] {
  return chosenCaptures(run).map((c) => {
    const points = readTrace(run.dir, c);
    const data: Datum[] = [
      ...points.map((p) => ({ series: 'current', t_ms: sig(p.t_s * 1e3, 7), mA: sig(p.current_a * 1e3), mA_min: sig(p.current_min_a * 1e3), mA_max: sig(p.current_max_a * 1e3) })),
      ...c.windows.map((w, i) => ({ series: 'window', window: i, start_ms: sig(w.start_s * 1e3, 7), end_ms: sig(w.end_s * 1e3, 7), broken: w.broken ? 1 : 0 })),
    ];
    const p = provenance(run, [{ source: c.source }], true);
    const rate = `${c.instrument} @ ${sig(1 / c.sample_period_s / 1e3, 3)} kS/s`;
    const rows = c.decimation > 1 ? `${c.decimation} samples per point` : 'every sample';
    const x = { field: 't_ms', type: 'quantitative', title: 'ms from capture start', axis: { tickCount: 5 } };
    const current = { filter: "datum.series === 'current'" };
    const spec = {
      ...baseSpec(`Current trace: ${c.experiment}, ${c.variant}`, [...p.lines.slice(0, -1), `${rate}, ${rows}`, p.lines[p.lines.length - 1]], data),
      width: 200,
      height: 110,
      layer: [
        // the marker windows the energy figures integrate: one shaded rect each, full height
        {
          transform: [{ filter: "datum.series === 'window'" }],
          mark: { type: 'rect', color: '#9a9a9a', opacity: 0.45 },
          encoding: { x: { field: 'start_ms', type: 'quantitative' }, x2: { field: 'end_ms' }, tooltip: [{ field: 'window' }, { field: 'start_ms' }, { field: 'end_ms' }, { field: 'broken' }] },
        },
        ...(c.decimation > 1
          ? [{ transform: [current], mark: { type: 'area', color: '#555', opacity: 0.3, interpolate: 'step-after' }, encoding: { x, y: { field: 'mA_min', type: 'quantitative' }, y2: { field: 'mA_max' } } }]
          : []),
        { transform: [current], mark: { type: 'line', color: '#000', strokeWidth: 0.8, interpolate: 'step-after' }, encoding: { x, y: { field: 'mA', type: 'quantitative', title: 'supply current, mA' } } },
      ],
    };
    return {
      name: `current-trace-${c.experiment}-${c.variant}`,
      title: `Current trace (${c.experiment}, ${c.variant})`,
      caption:
        `Supply current the ${c.instrument} measured over ${c.experiment} capture ${c.n} of variant ${c.variant} (${c.samples} samples, ${c.lost_samples} lost)` +
        `${c.decimation > 1 ? `: the line is the mean of each ${c.decimation} samples, the band their min to max` : ''}. ` +
        `Shaded: the ${c.windows.length} marker windows the energy figures integrate (${c.windows.filter((w) => w.broken).length} broken by lost samples). Raw capture: ${c.file} in the run folder.`,
      spec,
      data,
      estimated: false,
    };
  });
}

/** Why a run has no current trace (one line for the page), or undefined when it has one. */
export function traceAbsence(run: LoadedRun): string | undefined {
  if (run.json.captures?.length) return undefined;
  const power = run.json.rig.config?.power?.kind;
  if (power === 'emulated') return 'No current trace: energy on this rig is an emulated estimate from its stated power model, so there is no instrument capture to draw';
  if (!power || power === 'none') return 'No current trace: the rig has no power instrument';
  return 'No current trace: the run kept no captures (no experiment measured energy, or the run predates kept captures)';
}
