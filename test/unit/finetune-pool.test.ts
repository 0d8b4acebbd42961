/** The fine-tuning worker pool: results in job order, worker logs forwarded, a crash is one clear error. */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { finetuneInWorkers } from '../../harness/compress/finetune-pool.js';
import type { PqModel } from '../../harness/compress/pq-model.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { HilError } from '../../harness/util/errors.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/tiny-int8.json', import.meta.url));

describe('fine-tuning worker pool', function () {
  this.timeout(20000);
  const int8 = loadInt8Model(FIXTURE);
  const job = (name: string) => ({ int8: { ...int8, name }, pq: {} as PqModel, int8Top1: 0, assignedTop1: 0, options: {} });

  it('runs every job in a worker and returns results in job order with their logs', async () => {
    const lines: string[] = [];
    const out = await finetuneInWorkers([job('tiny_a'), job('tiny_b'), job('tiny_c')], (s) => lines.push(s), 2);
    expect(out).to.deep.equal([null, null, null]); // no float.json: nothing to fine-tune
    for (const n of ['tiny_a', 'tiny_b', 'tiny_c']) expect(lines).to.include(`${n}: no float.json (imported model): not fine-tuned`);
  });

  it('turns a crash in a worker into one HilError naming the model', async () => {
    const broken = { ...job('x'), int8: { ...int8, name: undefined } as unknown as Int8Model };
    const err = await finetuneInWorkers([broken], () => undefined).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(HilError);
    expect((err as HilError).message).to.match(/^fine-tuning failed: /);
  });
});
