/**
 * Figures of our firmware behind the MLPerf Tiny front end (PROTO=mlperf_tiny) on a QEMU rig:
 * bytes on the wire and seconds per upload of one real input (31 and 26 bytes per db line), and
 * MLPerf Tiny performance mode (5 windows of at least --window s device time, median inf/s).
 *
 *   node dist/harness/bench/mlperf-tiny.js [--rig qemu-mps2-an386] [--model kws_dscnn]
 *        [--profile kws01] [--uploads 5] [--window 10]
 * Prints figures; not a test.
 */
import { parseArgs } from 'node:util';
import { ensurePrepared, loadPrepared } from '../datasets/prepared.js';
import { buildFirmware } from '../firmware/build.js';
import { DB_BYTES_ENERGY, DB_BYTES_PERFORMANCE, MlperfTinyClient } from '../protocol/mlperf-tiny/client.js';
import { runPerformance } from '../protocol/mlperf-tiny/performance.js';
import { median } from '../util/stats.js';
import { bootDut, createDut } from '../dut/factory.js';
import { predictInt8 } from '../reference/int8.js';
import { loadRig } from '../rig/rig.js';
import { loadModelSet } from '../session/model-set.js';
import { argmaxFirst } from '../util/argmax.js';
import { runCleanups } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rig: { type: 'string' }, model: { type: 'string' }, profile: { type: 'string' }, uploads: { type: 'string' }, window: { type: 'string' } },
  });
  const rig = loadRig(values.rig ?? 'qemu-mps2-an386');
  if (createDut(rig).figures !== 'emulated-estimate') throw new HilError('this benchmark boots an emulated board: pick a qemu rig', rig.name);
  const [model] = loadModelSet([values.model ?? 'kws_dscnn']);
  const uploads = Number(values.uploads ?? 5);
  const minWindowSec = Number(values.window ?? 10);
  ensurePrepared(model.dataset);
  const test = loadPrepared(model.dataset, 'test');
  const fw = buildFirmware(rig.board, [model], { protocol: 'mlperf_tiny', mlperf: { profile: values.profile } });
  // the cycle plugin counts marker windows nobody reads here
  const { dut, link: stream } = await bootDut({ ...rig, estimate: rig.estimate && { ...rig.estimate, class_model: undefined } }, fw.elf);
  try {
    const client = new MlperfTinyClient(stream);
    await client.waitReady(10000);
    console.log(`${rig.name}: firmware ${fw.buildHash} (PROTO=mlperf_tiny), name ${await client.name()}, model ${await client.profile()} = ${model.name}`);
    for (const per of [DB_BYTES_PERFORMANCE, DB_BYTES_ENERGY]) {
      const secs: number[] = [];
      let last;
      for (let i = 0; i < uploads; i++) {
        const x = test.x.subarray(i * test.inputBytes, (i + 1) * test.inputBytes);
        last = await client.load(x, { bytesPerLine: per });
        secs.push(last.wallMs / 1000);
        const r = await client.infer(1, 0);
        if (!r.results || argmaxFirst(r.results) !== predictInt8(model, x)) throw new HilError(`sample ${i}: device argmax differs from the host reference`, dut.description);
      }
      console.log(
        `upload of one ${test.inputBytes} B input, ${per} B per db line: ${last?.lines} lines, ${last?.wireBytesOut} B to the device + ${last?.wireBytesIn} B back; ` +
          `median ${median(secs).toFixed(3)} s over ${uploads} (min ${Math.min(...secs).toFixed(3)}, max ${Math.max(...secs).toFixed(3)})`,
      );
    }
    const rep = await runPerformance(client, { minWindowSec, warmup: 1, log: (l) => console.log(`  ${l}`) });
    console.log(
      `performance mode: ${rep.inferences} inferences per window; windows ${rep.windowSec.map((s) => s.toFixed(3)).join(', ')} s device time ` +
        `(${rep.windowWallSec.map((s) => s.toFixed(1)).join(', ')} s wall); median ${rep.medianInferencesPerSec.toFixed(2)} inf/s = ${rep.msPerInference.toFixed(3)} ms/inference`,
    );
  } finally {
    await dut.close();
  }
}

main()
  .catch(async (e: unknown) => {
    await runCleanups();
    if (e instanceof HilError) {
      console.error(`error: ${e.toLine()}`);
      process.exit(e.exitCode);
    }
    throw e;
  })
  .then(() => runCleanups());
