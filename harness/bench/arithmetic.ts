/**
 * Benchmark (prints figures; not a test): the TFLite Micro models (person_detect, micro_speech,
 * hello_world) imported under each requant arithmetic (yono15, tflite-double, tflite-single;
 * firmware/SPEC.md section 3), run on the emulated board: instructions per inference (SysTick ticks
 * under -icount, 40-instruction resolution), flash of the model's tables, activation arena
 * (ping-pong buffers + scratch, as planned by the code generator) against a naive sum of every
 * layer output (the input buffer is apart in both), and device == host (int8 logits of seeded random inputs, and the two person_detect
 * example images for person_detect).
 * Usage: node dist/harness/bench/arithmetic.js [--rig qemu-mps2-an386] [--inputs 4]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rawDataDir } from '../datasets/paths.js';
import { readBmp } from '../datasets/bmp.js';
import { ticksToInstructions } from '../estimate/cycle-model.js';
import { buildFirmware } from '../firmware/build.js';
import { estimateModelFootprint } from '../codegen/codegen.js';
import { importTfliteFile } from '../modeltools/import/tflite.js';
import { layerOutSize, shapeSize, type Arithmetic, type Int8Model } from '../modeltools/int8-model.js';
import { runInt8 } from '../reference/int8.js';
import { ProtocolClient } from '../protocol/yono/client.js';
import { DEFAULT_RIG, loadRig } from '../rig/rig.js';
import { openSession } from '../session/session.js';
import { runCleanups } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { formatTable } from '../util/table.js';

const TFLM = (): string => join(rawDataDir(), 'tflite_micro_models');
const FILES: [string, string[]][] = [
  ['person_detect', ['models', 'person_detect.tflite']],
  ['micro_speech', ['examples', 'micro_speech', 'models', 'micro_speech_quantized.tflite']],
  ['hello_world', ['examples', 'hello_world', 'models', 'hello_world_int8.tflite']],
];
const ARITHMETICS: Arithmetic[] = ['yono15', 'tflite-double', 'tflite-single'];

function seeded(bytes: number, seed: number): Int8Array {
  const out = new Int8Array(bytes);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) & 0xff) - 128;
  }
  return out;
}

/** Inputs per model: the two example images for person_detect (TFLM's test feeds the BMP bytes as int8), then random ones. */
function inputs(model: Int8Model, name: string, n: number): Int8Array[] {
  const bytes = shapeSize(model.input.shape);
  const out: Int8Array[] = [];
  if (name === 'person_detect') {
    for (const f of ['no_person.bmp', 'person.bmp']) {
      const img = readBmp(readFileSync(join(TFLM(), 'examples', 'person_detection', 'testdata', f)), f);
      out.push(new Int8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.length).slice());
    }
  }
  for (let i = 0; out.length < n; i++) out.push(seeded(bytes, 1000 + i));
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rig: { type: 'string' }, inputs: { type: 'string' } } });
  const rig = loadRig(values.rig ?? DEFAULT_RIG);
  const nInputs = Math.max(2, Number(values.inputs ?? 4));
  const rows: string[][] = [];
  for (const arithmetic of ARITHMETICS) {
    const models = FILES.map(([name, p]) => importTfliteFile(join(TFLM(), ...p), { name, dataset: 'none', arithmetic }).model);
    const fw = buildFirmware(rig.board, models);
    const session = await openSession(rig, fw);
    try {
      const client = session.device;
      if (!(client instanceof ProtocolClient)) throw new HilError('needs the yono protocol', rig.file);
      for (const [id, m] of models.entries()) {
        let same = 0;
        let total = 0;
        let instr = 0;
        for (const x of inputs(m, m.name, nInputs)) {
          await client.upload(x);
          const r = await client.infer(id, 3, 1);
          const host = runInt8(m, x);
          if (Buffer.from(r.logits).equals(Buffer.from(host))) same++;
          total++;
          instr = Math.max(instr, ...r.ticks.map((t) => ticksToInstructions(t, session.hello.timer_hz, rig.dut.icount_shift ?? 0)));
        }
        const fp = estimateModelFootprint(m);
        // every layer output in its own buffer (4-aligned), as planArena counts it; the input buffer is apart
        const naive = m.layers.reduce((a, l) => a + ((layerOutSize(l) + 3) & ~3), 0);
        rows.push([m.name, arithmetic, String(m.layers.length), String(fp.flashBytes), String(fp.arenaBytes), String(naive), String(Math.round(instr)), `${same}/${total}`]);
      }
    } finally {
      await session.close();
    }
  }
  process.stdout.write(
    formatTable(['model', 'arithmetic', 'layers', 'flash B (tables)', 'arena B (planned)', 'naive B (all tensors)', 'instructions/inference', 'device==host'], rows) + '\n',
  );
}

main().catch(async (e: unknown) => {
  await runCleanups();
  process.stderr.write(`error: ${e instanceof HilError ? e.toLine() : e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
