/**
 * The accuracy experiment on preloaded inputs: the same predictions as the streamed path, and a
 * preloaded input that differs from the host's (one flipped byte) is caught by its CRC, reported
 * and classified over the link instead, never from the wrong bytes.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { ensurePrepared, loadPrepared } from '../../harness/datasets/prepared.js';
import { runAccuracy } from '../../harness/experiments/accuracy.js';
import type { ExperimentContext } from '../../harness/experiments/context.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import { predictInt8 } from '../../harness/reference/int8.js';
import { loadRig } from '../../harness/rig/rig.js';
import { loadModelSet } from '../../harness/session/model-set.js';
import { writePreloadImage } from '../../harness/session/preload.js';
import { openSession } from '../../harness/session/session.js';
import { createLogger } from '../../harness/util/log.js';

describe('accuracy on preloaded inputs (QEMU)', function () {
  this.timeout(5 * 60 * 1000);
  const rig = loadRig('qemu-mps2-an386');
  const models = loadModelSet(['fmnist_cnn', 'hapt_cnn']);

  async function accuracyWith(corrupt?: { dataset: string; sample: number }) {
    for (const m of models) ensurePrepared(m.dataset);
    const firmware = buildFirmware(rig.board, models);
    const image = writePreloadImage(models, 12 * 1024 * 1024);
    if (!image) throw new Error('no preload image');
    if (corrupt) {
      const block = image.blocks.find((b) => b.dataset === corrupt.dataset);
      if (!block) throw new Error(`no block for ${corrupt.dataset}`);
      const bytes = fs.readFileSync(image.file);
      bytes[block.offset + corrupt.sample * block.inputBytes + 17] ^= 0x01;
      fs.writeFileSync(image.file, bytes);
    }
    const session = await openSession(rig, firmware, { preload: image, instructionWindows: false });
    const notes: string[] = [];
    try {
      expect(session.preload, 'the firmware takes the image').to.equal(image);
      const ctx: ExperimentContext = {
        session, models, log: createLogger({ quiet: true }), cancelled: () => false, note: (l) => notes.push(l),
        provenance: (h) => ({ run_id: 't', rig: rig.name, board: rig.board, firmware_hash: firmware.buildHash, dataset_hash: h, harness_version: 't' }),
      };
      const predictions: { model: string; sample: number; device: number; host: number }[] = [];
      const rows = await runAccuracy(ctx, { samples: 300, onRow: (_r, p) => predictions.push(...p) });
      // the preloaded path ran: a handful of commands, not one per sample
      return { rows, predictions, notes, commands: session.device.stats.commands };
    } finally {
      await session.close();
      image.remove();
    }
  }

  it('300 samples per model from device memory: device == host on every one, in a few commands', async () => {
    const { rows, predictions, notes, commands } = await accuracyWith();
    expect(notes).to.deep.equal([]);
    expect(rows.map((r) => [r.model, r.samples, r.mismatches])).to.deep.equal([['fmnist_cnn', 300, 0], ['hapt_cnn', 300, 0]]);
    expect(commands).to.be.lessThan(20);
    for (const p of predictions) {
      const m = models.find((x) => x.name === p.model);
      if (!m) throw new Error(p.model);
      const d = loadPrepared(m.dataset, 'test');
      expect(p.host).to.equal(predictInt8(m, d.x.subarray(p.sample * d.inputBytes, (p.sample + 1) * d.inputBytes)));
      expect(p.device, `${p.model} ${p.sample}`).to.equal(p.host);
    }
  });

  it('a preloaded input with one flipped byte is detected by its CRC, reported, and classified from the right bytes', async () => {
    const { rows, predictions, notes } = await accuracyWith({ dataset: 'fashion_mnist', sample: 7 });
    expect(notes).to.have.length(1);
    expect(notes[0]).to.match(/^preloaded input 7 of fashion_mnist differs from the host's \(CRC [0-9a-f]{8} on the device, [0-9a-f]{8} on the host\): classified over the link instead$/);
    expect(rows.every((r) => r.mismatches === 0 && r.samples === 300)).to.equal(true);
    expect(predictions.filter((p) => p.model === 'fmnist_cnn').map((p) => p.sample)).to.deep.equal([...Array(300).keys()]);
  });
});
