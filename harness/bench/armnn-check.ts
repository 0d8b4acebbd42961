/**
 * Benchmark (prints figures; not a test): the host reference of the imported TFLite Micro models,
 * under each requant arithmetic, against an independent TFLite interpreter: Arm NN's CpuRef backend
 * (Debian's python3-pyarmnn; scripts/armnn-run.py). Per model and arithmetic: the share of inputs
 * whose int8 output vectors are identical, and the largest element difference (int8 steps).
 * Logits are compared before a trailing SOFTMAX (the importer drops it). The host reference equals
 * the device bit for bit (test/contract/imported.test.ts, bench:arithmetic).
 * Usage: node dist/harness/bench/armnn-check.js [--inputs 200]
 * Needs: apt-get install python3-pyarmnn libarmnn-cpuref-backend22 (run with /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rawDataDir } from '../datasets/paths.js';
import { importTfliteFile } from '../modeltools/import/tflite.js';
import { shapeSize, type Arithmetic } from '../modeltools/int8-model.js';
import { runInt8 } from '../reference/int8.js';
import { HilError } from '../util/errors.js';
import { ROOT } from '../util/paths.js';
import { formatTable } from '../util/table.js';

const FILES: [string, string[]][] = [
  ['person_detect', ['models', 'person_detect.tflite']],
  ['micro_speech', ['examples', 'micro_speech', 'models', 'micro_speech_quantized.tflite']],
  ['hello_world', ['examples', 'hello_world', 'models', 'hello_world_int8.tflite']],
];
const ARITHMETICS: Arithmetic[] = ['yono15', 'tflite-double', 'tflite-single'];

function main(): void {
  const { values } = parseArgs({ options: { inputs: { type: 'string' } } });
  const n = Math.max(1, Number(values.inputs ?? 200));
  const dir = mkdtempSync(join(tmpdir(), 'yono-armnn-'));
  const rows: string[][] = [];
  try {
    for (const [name, parts] of FILES) {
      const file = join(rawDataDir(), 'tflite_micro_models', ...parts);
      const models = ARITHMETICS.map((arithmetic) => importTfliteFile(file, { name, dataset: 'none', arithmetic }).model);
      const inBytes = shapeSize(models[0].input.shape);
      // seeded xorshift inputs over the whole int8 range
      const x = new Int8Array(n * inBytes);
      let s = 0x9e3779b9;
      for (let i = 0; i < x.length; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        x[i] = ((s >>> 0) & 0xff) - 128;
      }
      const inFile = join(dir, `${name}.in`);
      const outFile = join(dir, `${name}.out`);
      writeFileSync(inFile, x);
      const r = spawnSync('/usr/bin/python3', [join(ROOT, 'scripts', 'armnn-run.py'), file, inFile, String(n), outFile, '--pre-softmax'], { encoding: 'utf8' });
      if (r.status !== 0) throw new HilError(`Arm NN failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop() ?? ''}`, name);
      const buf = readFileSync(outFile);
      const ref = new Int8Array(buf.buffer, buf.byteOffset, buf.length);
      const outN = models[0].classes;
      if (ref.length !== n * outN) throw new HilError(`Arm NN wrote ${ref.length} values, expected ${n * outN}`, name);
      for (const [k, m] of models.entries()) {
        let same = 0;
        let maxDiff = 0;
        let diffElems = 0;
        for (let i = 0; i < n; i++) {
          const y = runInt8(m, x.subarray(i * inBytes, (i + 1) * inBytes));
          let ok = true;
          for (let j = 0; j < outN; j++) {
            const d = Math.abs(y[j] - ref[i * outN + j]);
            if (d) {
              ok = false;
              diffElems++;
            }
            maxDiff = Math.max(maxDiff, d);
          }
          if (ok) same++;
        }
        rows.push([name, ARITHMETICS[k], String(n), `${((100 * same) / n).toFixed(1)}%`, String(maxDiff), `${((100 * diffElems) / (n * outN)).toFixed(1)}%`]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(formatTable(['model', 'arithmetic', 'inputs', 'identical vectors', 'max |diff|', 'differing elements'], rows) + '\n');
  process.stdout.write('independent interpreter: Arm NN CpuRef (python3-pyarmnn), logits before a trailing SOFTMAX\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(`error: ${e instanceof HilError ? e.toLine() : e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
