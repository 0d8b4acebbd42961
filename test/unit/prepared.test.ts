import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetHash, loadPrepared, writePrepared, prepareDataset } from '../../harness/datasets/prepared.js';
import { HilError } from '../../harness/util/errors.js';

function tinySet(root: string): void {
  const mk = (count: number, off: number) => ({
    x: Int8Array.from({ length: count * 6 }, (_, i) => ((i * 37 + off) % 256) - 128),
    y: Uint8Array.from({ length: count }, (_, i) => (i + off) % 3),
    count,
  });
  writePrepared(
    'tiny',
    { train: mk(5, 1), test: mk(4, 2) },
    {
      modality: 'test', source: { description: 'unit test', location: 'memory', url: '-', citation: '-' },
      license: 'none', split_rule: 'none', class_names: ['a', 'b', 'c'], input_shape: [1, 3, 2],
      input_scale: 1 / 32, input_zero_point: 0, prep_version: 'tiny/1', preprocessing: {},
    },
    root,
  );
}

function expectHil(fn: () => unknown, where: RegExp, msg: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(HilError);
    expect((e as HilError).where ?? '').to.match(where);
    expect((e as HilError).message).to.match(msg);
    return;
  }
  expect.fail('expected a HilError');
}

describe('prepared data sets', () => {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'yono-prep-'));
    tinySet(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('round-trips a prepared set and hashes test_x + test_y', () => {
    const d = loadPrepared('tiny', 'test', { root });
    expect(d.count).to.equal(4);
    expect(d.inputBytes).to.equal(6);
    expect(d.x.length).to.equal(24);
    expect(Array.from(d.y)).to.deep.equal([2, 0, 1, 2]);
    expect(d.classNames).to.deep.equal(['a', 'b', 'c']);
    expect(datasetHash('tiny', { root })).to.equal(d.sha256).and.to.match(/^[0-9a-f]{64}$/);
  });

  it('detects a single corrupted byte', () => {
    const f = join(root, 'tiny', 'test_x.bin');
    const b = readFileSync(f);
    b[7] ^= 1;
    writeFileSync(f, b);
    expectHil(() => loadPrepared('tiny', 'test', { root }), /test_x\.bin$/, /sha256 mismatch.*hil prepare tiny/);
    // the other split is still fine
    expect(loadPrepared('tiny', 'train', { root }).count).to.equal(5);
  });

  it('detects a truncated file and a missing manifest', () => {
    truncateSync(join(root, 'tiny', 'train_y.bin'), 4);
    expectHil(() => loadPrepared('tiny', 'train', { root }), /train_y\.bin$/, /size 4 bytes.*truncated/);
    rmSync(join(root, 'tiny', 'manifest.json'));
    expectHil(() => loadPrepared('tiny', 'train', { root }), /manifest\.json$/, /missing/);
  });

  it('names the missing raw file and what provides it', () => {
    expectHil(
      () => prepareDataset('fashion_mnist', { fmnistDir: join(root, 'nope'), root }),
      /nope.*train-images-idx3-ubyte\.gz$/,
      /dataset-fashion-mnist/,
    );
    expectHil(() => prepareDataset('uci_hapt', { dataDir: join(root, 'nope'), root }), /labels\.txt$/, /missing raw data file/);
    expectHil(() => prepareDataset('cifar', { root }), /dataset/, /unknown data set/);
  });
});
