/**
 * Benchmark (prints figures; not a test): imported TFLite models under each requant arithmetic
 * against an independent TFLite interpreter, Arm NN's CpuRef backend (Debian's python3-pyarmnn;
 * scripts/armnn-run.py, harness/reference/armnn.ts). Per model and arithmetic: the operators, the
 * arena (planned, with scratch) against every tensor in its own buffer, flash of the model's tables,
 * the share of inputs whose int8 output vectors are identical to Arm NN's and the largest element
 * difference; with --device also instructions per inference on the emulated board (SysTick ticks
 * under -icount) and device == host on those inputs. Logits are compared before a trailing SOFTMAX.
 * Models: TFLite Micro's person_detect, micro_speech, hello_world, plus any --tflite files (e.g. the
 * test-built ones: node dist/test/fixtures/tflite-models.js <dir>).
 * Usage: node dist/harness/bench/armnn-check.js [--inputs 200] [--tflite f.tflite ...] [--device [--rig r]]
 * Needs: apt-get install python3-pyarmnn libarmnn-cpuref-backend22 (run with /usr/bin/python3).
 */
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { estimateModelFootprint, modelScratchBytes, planArena } from '../codegen/codegen.js';
import { rawDataDir } from '../datasets/paths.js';
import { ticksToInstructions } from '../estimate/cycle-model.js';
import { buildFirmware } from '../firmware/build.js';
import { importTfliteFile } from '../modeltools/import/tflite.js';
import { isGraph, layerOutSize, shapeSize, type Arithmetic, type Int8Model } from '../modeltools/int8-model.js';
import { ProtocolClient } from '../protocol/yono/client.js';
import { compareVectors, runArmnn } from '../reference/armnn.js';
import { runInt8 } from '../reference/int8.js';
import { DEFAULT_RIG, loadRig } from '../rig/rig.js';
import { openSession } from '../session/session.js';
import { HilError } from '../util/errors.js';
import { runScript } from '../util/script.js';
import { formatTable } from '../util/table.js';

const TFLM: [string, string[]][] = [
  ['person_detect', ['models', 'person_detect.tflite']],
  ['micro_speech', ['examples', 'micro_speech', 'models', 'micro_speech_quantized.tflite']],
  ['hello_world', ['examples', 'hello_world', 'models', 'hello_world_int8.tflite']],
];
const ARITHMETICS: Arithmetic[] = ['yono15', 'tflite-double', 'tflite-single'];

/** seeded xorshift inputs over the whole int8 range */
function seeded(bytes: number): Int8Array {
  const x = new Int8Array(bytes);
  let s = 0x9e3779b9;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = ((s >>> 0) & 0xff) - 128;
  }
  return x;
}

/** Instructions per inference (max over the inputs) and device == host, per model, one firmware per arithmetic. */
async function onDevice(rigName: string, models: Int8Model[], inputs: Int8Array[]): Promise<{ instr: number; same: string }[]> {
  const rig = loadRig(rigName);
  const session = await openSession(rig, buildFirmware(rig.board, models));
  try {
    const client = session.device;
    if (!(client instanceof ProtocolClient)) throw new HilError('needs the yono protocol', rig.file);
    const out: { instr: number; same: string }[] = [];
    for (const [id, m] of models.entries()) {
      const bytes = shapeSize(m.input.shape);
      let same = 0;
      let instr = 0;
      const n = Math.min(2, inputs[id].length / bytes);
      for (let k = 0; k < n; k++) {
        const x = inputs[id].subarray(k * bytes, (k + 1) * bytes);
        await client.upload(x);
        const r = await client.infer(id, 1, 0);
        if (Buffer.from(r.logits).equals(Buffer.from(runInt8(m, x)))) same++;
        instr = Math.max(instr, ...r.ticks.map((t) => ticksToInstructions(t, session.hello.timer_hz, rig.dut.icount_shift ?? 0)));
      }
      out.push({ instr, same: `${same}/${n}` });
    }
    return out;
  } finally {
    await session.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { inputs: { type: 'string' }, tflite: { type: 'string', multiple: true }, device: { type: 'boolean' }, rig: { type: 'string' } } });
  const n = Math.max(1, Number(values.inputs ?? 200));
  const files: [string, string][] = [
    ...TFLM.map(([name, parts]): [string, string] => [name, join(rawDataDir(), 'tflite_micro_models', ...parts)]),
    ...(values.tflite ?? []).map((f): [string, string] => [basename(f, '.tflite').replace(/[^A-Za-z0-9_.-]/g, '_'), f]),
  ];
  const rows: string[][] = [];
  const perArith = new Map<Arithmetic, { models: Int8Model[]; inputs: Int8Array[]; rows: string[][] }>(ARITHMETICS.map((a) => [a, { models: [], inputs: [], rows: [] }]));
  for (const [name, file] of files) {
    const models = ARITHMETICS.map((arithmetic) => {
      try {
        return importTfliteFile(file, { name: `${name}_${arithmetic.replace('-', '_')}`, dataset: 'none', arithmetic }).model;
      } catch (e) {
        if (arithmetic === 'yono15') return undefined; // graphs (ADD, MEAN, ...) need a tflite-* arithmetic
        throw e;
      }
    });
    const first = models.find((m) => m) as Int8Model;
    const inBytes = shapeSize(first.input.shape);
    const x = seeded(n * inBytes);
    const ref = runArmnn(file, x, n, true, name);
    for (const [k, m] of models.entries()) {
      if (!m) continue;
      const c = compareVectors(ref, n, m.classes, (i) => runInt8(m, x.subarray(i * inBytes, (i + 1) * inBytes)));
      const fp = estimateModelFootprint(m);
      const naive = m.layers.reduce((a, l) => a + ((layerOutSize(l) + 3) & ~3), 0);
      // activation tensors only (the per-layer scratch is a column of its own): a graph's planned arena, a chain's two ping-pong buffers
      const scratch = modelScratchBytes(m);
      const planned = isGraph(m) ? planArena(m).bytes : fp.arenaBytes - scratch;
      const ops = [...new Set(m.layers.map((l) => l.op))].join(' ');
      const row = [name, ARITHMETICS[k], ops, String(planned), String(naive), String(scratch), String(fp.flashBytes), '-', '-', `${c.same}/${n}`, String(c.maxDiff)];
      const slot = perArith.get(ARITHMETICS[k]);
      slot?.models.push(m);
      slot?.inputs.push(x.subarray(0, 2 * inBytes));
      slot?.rows.push(row);
      rows.push(row);
    }
  }
  if (values.device) {
    for (const [, slot] of perArith) {
      if (slot.models.length === 0) continue;
      const d = await onDevice(values.rig ?? DEFAULT_RIG, slot.models, slot.inputs);
      d.forEach((r, i) => {
        slot.rows[i][7] = String(Math.round(r.instr));
        slot.rows[i][8] = r.same;
      });
    }
  }
  process.stdout.write(formatTable(['model', 'arithmetic', 'operators', 'arena B (planned)', 'naive B', 'scratch B', 'flash B', 'instructions/inference', 'device==host', 'identical vs Arm NN', 'max |diff|'], rows) + '\n');
  process.stdout.write('independent interpreter: Arm NN CpuRef (python3-pyarmnn), logits before a trailing SOFTMAX; arena: activation tensors (graphs planned from tensor lifetimes, chains two ping-pong buffers); naive: every layer output its own buffer; scratch: the largest per-layer scratch, apart from both\n');
  return 0;
}

runScript(main);
