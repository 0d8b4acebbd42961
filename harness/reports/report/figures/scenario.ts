/**
 * The multi-task scenario (scenario.csv): every event on a time line (switch then inference),
 * and the energy spent so far after each event, per channel and schedule.
 */
import type { LoadedRun, Row } from '../load.js';
import { num, uniq } from '../load.js';
import { baseSpec, channelOf, provenance, sig, type Datum, type Figure } from './style.js';

/** Rows of one (schedule, channel) sequence in event order. */
function sequences(rows: Row[]): { schedule: string; channel: string; rows: Row[] }[] {
  const keys = uniq(rows.map((r) => `${r.schedule}\u0000${channelOf(r)}`));
  return keys.map((k) => {
    const [schedule, channel] = k.split('\u0000');
    const sel = rows.filter((r) => r.schedule === schedule && channelOf(r) === channel).sort((a, b) => num(a.event) - num(b.event));
    return { schedule, channel, rows: sel };
  });
}

function timeline(run: LoadedRun, rows: Row[]): Figure {
  const models = uniq(rows.map((r) => r.model));
  const data: Datum[] = [];
  const seqs = sequences(rows);
  for (const s of seqs) {
    let t = 0;
    for (const r of s.rows) {
      const sw = num(r.switch_ms) || 0;
      const ev = num(r.event_ms);
      const row = { panel: `${s.schedule} / ${s.channel}`, schedule: s.schedule, channel: s.channel, event: num(r.event), model: r.model, correct: num(r.correct) };
      // the switch part is drawn only when it is a visible sliver
      if (num(r.switched) === 1) data.push({ ...row, part: 'switch', start_ms: sig(t, 6), end_ms: sig(t + sw, 6) });
      data.push({ ...row, part: 'inference', start_ms: sig(t + sw, 6), end_ms: sig(t + ev, 6) });
      t += ev;
    }
  }
  const panels = uniq(data.map((d) => String(d.panel)));
  const p = provenance(run, rows);
  const spec = {
    ...baseSpec('Scenario time line', p.lines, data),
    facet: { row: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelPadding: 1, labelExpr: "split(datum.value, ' / ')", labelLineHeight: 9 } } },
    spec: {
      width: 175,
      height: { step: 9 },
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'start_ms', type: 'quantitative', title: 'busy time (ms)' },
        x2: { field: 'end_ms' },
        y: { field: 'model', type: 'nominal', sort: models, title: null },
        // two parts, dark and light: readable without colour
        color: { field: 'part', type: 'nominal', scale: { domain: ['switch', 'inference'], range: ['#000000', '#7f9bb8'] }, title: null },
        tooltip: [{ field: 'panel' }, { field: 'event' }, { field: 'model' }, { field: 'part' }, { field: 'start_ms' }, { field: 'end_ms' }],
      },
    },
    resolve: { scale: { x: 'shared' } },
  };
  return {
    name: 'scenario-timeline',
    title: 'Multi-task scenario: time line',
    caption: 'Every event of each schedule, back to back on the busy-time axis (idle time between events left out): the row is the model the event asked for, black the switch to it (when one was needed), blue-grey its inference.',
    spec,
    data,
    estimated: p.estimated,
  };
}

function cumulativeEnergy(run: LoadedRun, rows: Row[]): Figure | null {
  if (!rows.some((r) => r.event_mJ !== '')) return null;
  const data: Datum[] = [];
  for (const s of sequences(rows)) {
    let e = 0;
    for (const r of s.rows) {
      e += num(r.event_mJ) || 0;
      data.push({ schedule: s.schedule, channel: s.channel, event: num(r.event) + 1, cumulative_mJ: sig(e, 5) });
    }
  }
  const channels = uniq(data.map((d) => String(d.channel)));
  const p = provenance(run, rows, true);
  const spec = {
    ...baseSpec('Scenario: cumulative energy', p.lines, data),
    facet: { row: { field: 'schedule', type: 'nominal', sort: uniq(rows.map((r) => r.schedule)), title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: {
      width: 200,
      height: 85,
      mark: { type: 'line', strokeWidth: 1.2, point: { size: 10, filled: true } },
      encoding: {
        x: { field: 'event', type: 'quantitative', title: 'events', axis: { tickMinStep: 1 } },
        y: { field: 'cumulative_mJ', type: 'quantitative', title: 'mJ so far' },
        color: { field: 'channel', type: 'nominal', sort: channels, scale: { scheme: 'cividis' }, title: null, legend: { columns: 1 } },
        // dash pattern and marker shape name the channel too (greyscale, colour-blind readers)
        strokeDash: { field: 'channel', type: 'nominal', sort: channels, title: null, scale: { range: [[1, 0], [4, 2], [1, 2], [6, 2, 1, 2]] } },
        shape: { field: 'channel', type: 'nominal', sort: channels, title: null },
      },
    },
  };
  return {
    name: 'scenario-energy',
    title: 'Multi-task scenario: cumulative energy',
    caption: 'Energy spent from the first event to each event (switch if needed + inference) per channel; the last point is the schedule total of the scenario table.',
    spec,
    data,
    estimated: p.estimated,
  };
}

export function scenarioFigures(run: LoadedRun): Figure[] {
  const rows = run.csv.scenario;
  if (!rows?.length) return [];
  const out = [timeline(run, rows)];
  const energy = cumulativeEnergy(run, rows);
  if (energy) out.push(energy);
  return out;
}
