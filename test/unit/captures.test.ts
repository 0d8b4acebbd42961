import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CaptureStore, readTrace, traceRows, type CaptureRecord } from '../../harness/reports/captures.js';
import type { Capture } from '../../harness/capabilities/power-monitor.js';
import { HilError } from '../../harness/util/errors.js';

function capture(current: number[], edges: Capture['edges'] = []): Capture {
  return {
    instrument: 'ppk2', description: 'test', sample_period_s: 1e-5, supply_v: 3, current_a: Float64Array.from(current), marker_mode: 'level', edges,
    received_samples: current.filter((x) => !Number.isNaN(x)).length, lost_samples: current.filter(Number.isNaN).length, loss_spans: [], resolution_a: 1e-7, notes: [],
  };
}

describe('raw captures (reports/captures.ts)', () => {
  it('keeps a short capture sample by sample, and buckets a long one into mean, min and max', () => {
    const short = traceRows(capture([1, 2, 3]), 4);
    expect(short.decimation).to.equal(1);
    expect(short.rows.map((r) => [r.t_s, r.current_a, r.current_min_a, r.current_max_a])).to.deep.equal([[0, 1, 1, 1], [1e-5, 2, 2, 2], [2e-5, 3, 3, 3]]);
    // 9 samples into at most 4 rows: buckets of 3; a lost sample counts in none, an all-lost bucket is NaN
    const long = traceRows(capture([1, 2, 6, NaN, 4, NaN, NaN, NaN, NaN]), 4);
    expect(long.decimation).to.equal(3);
    expect(long.rows).to.have.length(3);
    expect([long.rows[0].current_a, long.rows[0].current_min_a, long.rows[0].current_max_a]).to.deep.equal([3, 1, 6]);
    expect(long.rows[1].t_s).to.be.closeTo(3e-5, 1e-12);
    expect(long.rows[1].current_a).to.equal(4);
    expect(Number.isNaN(long.rows[2].current_a)).to.equal(true);
  });

  it('writes captures/<experiment>-<variant>-<n>.csv.gz with its windows, numbered on after a resumed run', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'captures-'));
    const kept: CaptureRecord[] = [{ experiment: 'switching', variant: 'int8', n: 1 } as CaptureRecord];
    const store = new CaptureStore(dir, kept);
    const rec = store.save('switching', 'int8', capture([1, 1, 5, 5, 1], [{ index: 2, kind: 'rise' }, { index: 4, kind: 'fall' }]));
    expect(rec).to.include({ file: 'captures/switching-int8-2.csv.gz', n: 2, samples: 5, decimation: 1, rows: 5, source: 'measured' });
    expect(rec.windows).to.deep.equal([{ start_s: 2e-5, end_s: 4e-5, broken: false }]);
    expect(readTrace(dir, rec).map((r) => r.current_a)).to.deep.equal([1, 1, 5, 5, 1]);
    expect(store.save('scenario', 'int8', capture([1])).file).to.equal('captures/scenario-int8-0.csv.gz');
    fs.writeFileSync(path.join(dir, 'captures', 'bad.csv.gz'), gzipSync('t_s,current_a\n0,1\n'));
    expect(() => readTrace(dir, { ...rec, file: 'captures/bad.csv.gz' })).to.throw(HilError, /missing column current_min_a, current_max_a/);
    expect(() => readTrace(dir, { ...rec, file: 'captures/none.csv.gz' })).to.throw(HilError, /capture file named in run.json is missing/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
