/**
 * The streaming path through a fault-injecting proxy (test/sims/fault-proxy.ts) between the
 * harness and QEMU's UART: a noisy link (seeded byte drops, flips, duplicates both ways) and a
 * stall longer than the reply timeout end with every row present once and device == host.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCsv } from '../../harness/reports/csv.js';
import { runExperiments } from '../../harness/run/run.js';
import { createLogger } from '../../harness/util/log.js';
import { FaultProxy, type FaultLinkOptions } from '../sims/fault-proxy.js';

const SAMPLES = 120;

async function throughProxy(faults: Omit<FaultLinkOptions, 'seed'>) {
  const proxies: FaultProxy[] = [];
  try {
    const r = await runExperiments({
      rig: 'qemu-mps2-an386', models: ['fmnist_cnn'], samples: SAMPLES, experiments: ['accuracy'], inputs: 'stream',
      resultsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'yono-faults-')), log: createLogger({ quiet: true }),
      route: async (pty) => {
        const p = await FaultProxy.start({ devicePath: pty, seed: 7 + proxies.length, ...faults });
        proxies.push(p);
        return p.harnessPath;
      },
    });
    const predictions = readCsv(fs.readFileSync(path.join(r.dir, 'predictions.csv'), 'utf8'));
    const run = JSON.parse(fs.readFileSync(path.join(r.dir, 'run.json'), 'utf8')) as { link: { int8: Record<string, number> } };
    return { r, predictions, health: run.link.int8, faults: proxies.reduce((s, p) => s + p.stats().faults, 0) };
  } finally {
    for (const p of proxies) await p.close();
  }
}

describe('accuracy through a faulty link (QEMU + fault proxy)', function () {
  this.timeout(10 * 60 * 1000);

  it('bytes dropped, flipped and duplicated at 3e-4 each way: every row once, device == host, recoveries counted', async () => {
    const { r, predictions, health, faults } = await throughProxy({ rates: { drop: 1e-4, flip: 1e-4, dup: 1e-4 } });
    expect(faults, 'the proxy injected faults').to.be.greaterThan(3);
    expect(predictions.map((p) => Number(p.sample))).to.deep.equal([...Array(SAMPLES).keys()]);
    expect(predictions.every((p) => p.device === p.host)).to.equal(true);
    expect(r.accuracy[0].mismatches).to.equal(0);
    expect(health.resends + health.naks, 'what the harness did about them is in run.json').to.be.greaterThan(0);
  });

  it('a 7 s stall of the link (longer than the 5 s reply timeout) with two samples in flight: the run goes on', async () => {
    const { predictions, health } = await throughProxy({ stalls: [{ ms: 7000, atMs: 3000 }] });
    expect(predictions.map((p) => Number(p.sample))).to.deep.equal([...Array(SAMPLES).keys()]);
    expect(predictions.every((p) => p.device === p.host)).to.equal(true);
    expect(health.timeouts).to.be.greaterThan(0);
  });
});
