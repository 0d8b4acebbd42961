/** The MLPerf Tiny data set folder reader on folders the test writes. */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openMlperfFolder } from '../../harness/datasets/mlperf-folder.js';
import { hilError } from '../helpers/cli.js';

function folder(files: Record<string, Buffer | string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-mlperf-ds-'));
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
  return dir;
}


describe('MLPerf Tiny data set folder', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('reads y_labels.csv rows (file, classes, label[, extra]) and the .bin inputs', () => {
    const d = folder({
      'tst_000000_Stop_7.bin': Buffer.from([1, 2, 3]),
      'tst_000001_Up_9.bin': Buffer.from([255, 0, 7]),
      'y_labels.csv': 'tst_000000_Stop_7.bin, 12, 7\r\n\r\ntst_000001_Up_9.bin,12,9, 4, 2\n',
    });
    dirs.push(d);
    const ds = openMlperfFolder(d, { inputBytes: 3 });
    expect(ds.entries.map(({ file, classes, label, extra, line }) => ({ file, classes, label, extra, line }))).to.deep.equal([
      { file: 'tst_000000_Stop_7.bin', classes: 12, label: 7, extra: [], line: 1 },
      { file: 'tst_000001_Up_9.bin', classes: 12, label: 9, extra: ['4', '2'], line: 3 },
    ]);
    expect([...ds.read(1)]).to.deep.equal([255, 0, 7]);
    expect(hilError(() => ds.read(2)).message).to.equal('no entry 2; the folder has 2');
  });

  it('a row naming a missing file is one clear error with file and line', () => {
    const d = folder({ 'a.bin': Buffer.alloc(3), 'y_labels.csv': 'a.bin, 2, 1\nmissing.bin, 2, 0\n' });
    dirs.push(d);
    const e = hilError(() => openMlperfFolder(d));
    expect(e.toLine()).to.equal(`${path.join(d, 'y_labels.csv')}:2: names missing.bin, which is not in the folder`);
  });

  it('refuses a bad label, a short row, a path outside the folder, a wrong input size and a missing truth file', () => {
    const d = folder({ 'a.bin': Buffer.alloc(4) });
    dirs.push(d);
    const truth = path.join(d, 'y_labels.csv');
    const cases: [string, string][] = [
      ['a.bin, 2, 2\n', "label '2' is not an integer in 0..1"],
      ['a.bin, 2\n', "expected 'file, classes, label', got 'a.bin, 2'"],
      ['../a.bin, 2, 0\n', "'../a.bin' is not a file name in the folder"],
      ['a.bin, x, 0\n', "classes 'x' is not an integer >= 1"],
    ];
    for (const [csv, msg] of cases) {
      fs.writeFileSync(truth, csv);
      expect(hilError(() => openMlperfFolder(d)).toLine()).to.equal(`${truth}:1: ${msg}`);
    }
    fs.writeFileSync(truth, 'a.bin, 2, 0\n');
    expect(hilError(() => openMlperfFolder(d, { inputBytes: 3 }).read(0)).message).to.equal('4 bytes, the model input has 3');
    fs.rmSync(truth);
    expect(hilError(() => openMlperfFolder(d)).where).to.equal(truth);
  });
});
