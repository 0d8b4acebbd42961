/**
 * The independent interpreter: Arm NN's CpuRef backend (Debian's python3-pyarmnn) runs a .tflite
 * file on int8 inputs through scripts/armnn-run.py. Used by `npm run bench:armnn` and by the tests
 * that check models built with the TFLite writer. Arm NN's reference backend dequantizes, computes in
 * float32 and rounds each output to nearest: one rounding, as `tflite-single`, except where float32
 * lands across a rounding boundary and where TFLite's own integer steps (MEAN, ADD, MUL, LOGISTIC)
 * are not one rounding of the real result (docs/models.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HilError } from '../util/errors.js';
import { ROOT } from '../util/paths.js';

const PYTHON = '/usr/bin/python3';

/** Whether Debian's pyarmnn and its CpuRef backend are installed. */
export function armnnAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import pyarmnn'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * The int8 outputs of `count` inputs stored back to back, as Arm NN computes them (outputs back to
 * back). `model`: a .tflite path or its bytes. preSoftmax: a trailing SOFTMAX's input is the output
 * (yono-hil drops a trailing softmax).
 */
export function runArmnn(model: string | Uint8Array, inputs: Int8Array, count: number, preSoftmax = true, where = 'Arm NN'): Int8Array {
  const dir = mkdtempSync(join(tmpdir(), 'yono-armnn-'));
  try {
    const file = typeof model === 'string' ? model : join(dir, 'model.tflite');
    if (typeof model !== 'string') writeFileSync(file, model);
    const inFile = join(dir, 'in.bin');
    const outFile = join(dir, 'out.bin');
    writeFileSync(inFile, inputs);
    const args = [join(ROOT, 'scripts', 'armnn-run.py'), file, inFile, String(count), outFile, ...(preSoftmax ? ['--pre-softmax'] : [])];
    const r = spawnSync(PYTHON, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new HilError(`Arm NN failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop() ?? ''}`, where);
    const buf = readFileSync(outFile);
    return new Int8Array(buf.buffer, buf.byteOffset, buf.length).slice();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per model: how many of `count` output vectors are identical, the largest element difference and
 * the number of differing elements (host vectors `host(i)` against Arm NN's, `n` outputs each). */
export function compareVectors(ref: Int8Array, count: number, n: number, host: (i: number) => Int8Array): { same: number; maxDiff: number; diffElems: number } {
  if (ref.length !== count * n) throw new HilError(`Arm NN wrote ${ref.length} values, expected ${count * n}`, 'Arm NN');
  let same = 0;
  let maxDiff = 0;
  let diffElems = 0;
  for (let i = 0; i < count; i++) {
    const y = host(i);
    let ok = true;
    for (let j = 0; j < n; j++) {
      const d = Math.abs(y[j] - ref[i * n + j]);
      if (d) {
        ok = false;
        diffElems++;
      }
      if (d > maxDiff) maxDiff = d;
    }
    if (ok) same++;
  }
  return { same, maxDiff, diffElems };
}
