/**
 * A malformed m-results line in the middle of a `hil run` against an MLPerf Tiny device: our
 * PROTO=mlperf_tiny firmware on QEMU, behind a line-rewriting pty proxy (the run's `route`) that
 * garbles every m-results line from the 4th on. The run stops with one HilError naming the
 * command and the line, run.json says failed, and the predictions of the first 3 inputs stay in
 * predictions.csv.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { readCsv } from '../../harness/reports/csv.js';
import { runExperiments } from '../../harness/run/run.js';
import { HilError } from '../../harness/util/errors.js';
import { createLogger } from '../../harness/util/log.js';
import { openPtyPair, type PtyPair } from '../sims/pty-pair.js';

const GOOD = 3;
const GARBLED = 'm-results-[0.5,oops]';

describe('hil run, mlperf-tiny: a malformed m-results line mid-run (QEMU behind a rewriting proxy)', function () {
  this.timeout(5 * 60 * 1000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-mlperf-bad-'));
  const ports: SerialPort[] = [];
  let pair: PtyPair | undefined;

  after(async () => {
    for (const p of ports) if (p.isOpen) await new Promise((r) => p.close(r));
    await pair?.close();
  });

  /** QEMU's pty <-> a new pty pair; device lines pass whole, m-results from the (GOOD+1)th on garbled. */
  async function rewritingRoute(devicePath: string): Promise<string> {
    pair = await openPtyPair();
    const dev = new SerialPort({ path: devicePath, baudRate: 115200 });
    const host = new SerialPort({ path: pair.a, baudRate: 115200 });
    ports.push(dev, host);
    let partial = '';
    let results = 0;
    dev.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('latin1')).split('\n');
      partial = lines.pop() ?? '';
      const out = lines.map((l) => (l.startsWith('m-results-[') && ++results > GOOD ? `${GARBLED}\r` : l));
      if (out.length) host.write(out.map((l) => `${l}\n`).join(''));
    });
    host.on('data', (chunk: Buffer) => dev.write(chunk));
    await Promise.all([dev, host].map((p) => new Promise((r) => (p.isOpen ? r(undefined) : p.once('open', r)))));
    return pair.b;
  }

  it('one HilError naming the command and the line; run.json failed; the rows before it kept', async () => {
    const resultsDir = path.join(tmp, 'results');
    let err: unknown;
    try {
      await runExperiments({
        rig: 'qemu-mps2-an386', models: ['kws_dscnn'], protocol: 'mlperf-tiny', profile: 'kws01', experiments: ['accuracy'], samples: 10, inputs: 'stream',
        resultsDir, log: createLogger({ quiet: true }), route: rewritingRoute,
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(HilError);
    const line = (err as HilError).toLine();
    expect(line).to.not.include('\n');
    expect(line).to.match(/'infer 1 0': malformed results line 'm-results-\[0\.5,oops\]' \(expected m-results-\[<numbers>\]\)/);
    const [run] = fs.readdirSync(resultsDir);
    const json = JSON.parse(fs.readFileSync(path.join(resultsDir, run, 'run.json'), 'utf8')) as { status: string; error: string };
    expect(json.status).to.equal('failed');
    expect(json.error).to.include('malformed results line');
    const rows = readCsv(fs.readFileSync(path.join(resultsDir, run, 'predictions.csv'), 'utf8'));
    expect(rows.map((r) => Number(r.sample))).to.deep.equal([0, 1, 2]);
  });
});
