/**
 * End to end on QEMU: build the firmware with the trained zoo, boot it, stream real test
 * samples, and require the device to agree with the host reference on every one of them.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPrepared } from '../../harness/datasets/prepared.js';
import { runExperiments } from '../../harness/run/run.js';
import { createLogger } from '../../harness/util/log.js';

const SAMPLES = Number(process.env.YONO_TEST_SAMPLES ?? 200);

for (const rig of ['qemu-mps2-an386', 'qemu-mps2-an500', 'qemu-netduinoplus2']) {
  describe(`end to end on ${rig}`, function () {
    this.timeout(15 * 60 * 1000);
    const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-results-'));

    it(`${SAMPLES} real test samples per model: device == host reference on every sample`, async () => {
      const r = await runExperiments({ rig, experiments: ['accuracy', 'latency'], samples: SAMPLES, latencyRuns: 3, latencyWarmup: 1, resultsDir, log: createLogger({ quiet: true }) });
      expect(r.accuracy.length).to.be.greaterThanOrEqual(2);
      for (const row of r.accuracy) {
        // small test sets (e.g. tflm_person's two images) run whole
        expect(row.samples, row.model).to.equal(Math.min(SAMPLES, loadPrepared(row.dataset, 'test').count));
        expect(row.mismatches, `${row.model} device/host mismatches`).to.equal(0);
        expect(row.agreement).to.equal(1);
        expect(row.elements_differ, `${row.model} output elements device != host`).to.equal(0);
        expect(row.top1, `${row.model} top-1`).to.be.greaterThan(0.6);
      }
      for (const row of r.latency) {
        expect(row.source).to.equal('emulated-estimate');
        const [lo, med, hi] = [row.instructions_min, row.instructions_median, row.instructions_max].map(Number);
        expect(med, row.model).to.be.greaterThan(10000);
        // -icount makes runs of the same input repeatable to within the timer resolution
        expect(hi - lo).to.be.lessThan(0.05 * med);
      }
      const files = fs.readdirSync(r.dir).sort();
      expect(files).to.include.members(['accuracy.csv', 'latency.csv', 'predictions.csv', 'run.json', 'summary.txt']);
      const header = fs.readFileSync(path.join(r.dir, 'accuracy.csv'), 'utf8').split('\n')[0];
      expect(header).to.equal('run_id,rig,board,firmware_hash,dataset_hash,harness_version,variant,model,dataset,task,samples,correct,top1,host_correct,host_top1,agreement,mismatches,failed,elements_differ,auc,host_auc');
      const run = JSON.parse(fs.readFileSync(path.join(r.dir, 'run.json'), 'utf8')) as { status: string; device: { build: string } };
      expect(run.status).to.equal('complete');
      expect(run.device.build).to.match(/^[0-9a-f]{16}$/);
    });
  });
}
