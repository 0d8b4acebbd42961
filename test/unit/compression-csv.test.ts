/** compression.csv rows: bytes, ratios, device loss and instruction ratio joined per model and in total. */
import path from 'node:path';
import { expect } from 'chai';
import { DEFAULT_PQ_OPTIONS } from '../../harness/compress/codebooks.js';
import { compressModel, learnCodebooks } from '../../harness/compress/compress.js';
import type { AccuracyRow } from '../../harness/experiments/accuracy.js';
import { compressionRows } from '../../harness/experiments/compression.js';
import type { LatencyRow } from '../../harness/experiments/latency.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import { ROOT } from '../../harness/util/paths.js';

const prov = { run_id: 'r', rig: 'g', board: 'b', firmware_hash: 'pqfw', dataset_hash: 'd', harness_version: 'v' };
const acc = (model: string, variant: string, top1: number) => ({ ...prov, variant, model, top1, host_top1: top1 }) as AccuracyRow & { variant: string };
const lat = (model: string, variant: string, n: number) => ({ ...prov, variant, model, instructions_median: n }) as LatencyRow & { variant: string };

describe('compression.csv rows', () => {
  const a = loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-int8.json'));
  const b = loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-dw-int8.json'));
  const o = { ...DEFAULT_PQ_OPTIONS, fineBelow: 500 };
  const pqA = compressModel(a, learnCodebooks([a], o), o).pq;
  const rows = compressionRows({
    int8: [a, b], pq: [pqA, b], int8FirmwareHash: 'i8fw', provenance: () => prov, fp32Top1: () => 0.9,
    accuracy: [acc(a.name, 'int8', 0.8), acc(a.name, 'pq', 0.79), acc(b.name, 'int8', 0.5), acc(b.name, 'pq', 0.5)],
    latency: [lat(a.name, 'int8', 1000), lat(a.name, 'pq', 1100), lat(b.name, 'int8', 500), lat(b.name, 'pq', 500)],
  });

  it('one row per model, TOTAL and TOTAL_PQ when a model stays int8', () => {
    expect(rows.map((r) => r.model)).to.deep.equal([a.name, b.name, 'TOTAL', 'TOTAL_PQ']);
    expect(rows.map((r) => r.stored_as)).to.deep.equal(['pq', 'int8', '', '']);
  });

  it('joins device top-1 and instructions of both variants', () => {
    expect(rows[0].top1_change_points).to.be.closeTo(-1, 1e-9);
    expect(rows[0].instructions_ratio).to.be.closeTo(1.1, 1e-9);
    expect(rows[2].instructions_ratio).to.be.closeTo(1600 / 1500, 1e-9);
    expect(rows[0].int8_firmware_hash).to.equal('i8fw');
  });

  it('counts bytes: an int8-stored model is int8 bytes, pq bytes sum to the total', () => {
    expect(rows[1].pq_bytes).to.equal(rows[1].int8_bytes);
    expect(rows[1].ratio_int8).to.equal(1);
    expect(rows[0].pq_bytes).to.be.lessThan(rows[0].int8_bytes);
    expect(rows[0].fp32_bytes).to.equal(4 * rows[0].params);
    expect(rows[2].fp32_bytes).to.equal(rows[0].fp32_bytes + rows[1].fp32_bytes);
    expect(rows[2].pq_bytes).to.be.closeTo(rows[0].pq_bytes + rows[1].pq_bytes, 1);
    expect(rows[3].fp32_bytes).to.equal(rows[0].fp32_bytes);
    // the only pq model carries the whole codebooks it uses
    const books = Object.values(pqA.codebooks).reduce((s, cb) => s + cb.k * cb.d, 0);
    expect(rows[0].pq_codebook_share_bytes).to.be.closeTo(books, 1e-9);
  });
});
