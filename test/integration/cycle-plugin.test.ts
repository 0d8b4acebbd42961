/**
 * The QEMU cycle plugin for real: loaded into Debian's
 * qemu-system-arm 7.2, it must count the marker windows of a tiny firmware consistently with the
 * SysTick count the firmware reports, and classify a hand-countable Cortex-M4 loop exactly.
 */
import { expect } from 'chai';
import path from 'node:path';
import { MICROBENCH_ITER, microbenchCyclesPerIter, runMicrobench } from '../../harness/bench/cycles.js';
import { estimateCycles } from '../../harness/estimate/cycle-model.js';
import { INSTRUCTION_CLASSES, type WindowSource } from '../../harness/estimate/plugin.js';
import { ticksToInstructions } from '../../harness/estimate/cycle-model.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession } from '../../harness/session/session.js';
import { ROOT } from '../../harness/util/paths.js';

/**
 * A window runs from the marker-on store to the marker-off store; the firmware's SysTick count
 * from its first to its second timer read inside it. The difference: the instructions between
 * the marker stores and the timer reads (a function return and board_ticks()' entry and exit,
 * about 20-30) plus the timer's quantization (less than one tick = 40 instructions).
 */
const MARKER_OVERHEAD = 40;

describe('cycle plugin on qemu-mps2-an386', function () {
  this.timeout(60000);

  it('one window per timed run, equal to the SysTick instruction count within the timer resolution, classes summing to the total', async () => {
    const rig = loadRig('qemu-mps2-an386');
    const model = loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-int8.json'));
    const session = await openSession(rig, buildFirmware(rig.board, [model]));
    try {
      const windows = (session.dut as { windows?: WindowSource }).windows;
      expect(windows, 'QEMU runs with the plugin').to.not.equal(undefined);
      await windows!.drain();
      const n = model.input.shape.reduce((a, b) => a * b, 1);
      await session.device.upload(Int8Array.from({ length: n }, (_, i) => ((i * 37) % 255) - 127));
      const runs = 3;
      const r = await session.device.infer(session.modelId(model.name), runs, 2);
      const ws = await windows!.drain(runs, 2000);
      expect(ws.length, 'warm-up runs are not marked').to.equal(runs);
      expect(ws.map((w) => w.seq)).to.deep.equal([...ws.keys()].map((k) => ws[0].seq + k));
      const res = ticksToInstructions(1, session.hello.timer_hz, 0);
      expect(res).to.equal(40);
      for (const [k, w] of ws.entries()) {
        const fromTicks = ticksToInstructions(r.ticks[k], session.hello.timer_hz, 0);
        expect(w.insns - fromTicks, `run ${k}: window ${w.insns} vs SysTick ${fromTicks}`).to.be.within(-res, res + MARKER_OVERHEAD);
        expect(INSTRUCTION_CLASSES.reduce((a, c) => a + w[c], 0)).to.equal(w.insns);
        expect(w.marker_errors).to.equal(0);
        // the weights live in flash, activations in SRAM; the only peripheral accesses are the timer reads and the closing marker
        expect(w.r_flash).to.be.greaterThan(0);
        expect(w.r_sram + w.w_sram).to.be.greaterThan(0);
        expect(w.w_periph).to.equal(1);
        expect(w.mul).to.be.greaterThan(0);
        expect(w.taken).to.be.greaterThan(0).and.lessThan(w.branch + 20);
        expect(estimateCycles(w, rig.estimate!.class_model!).cycles).to.be.greaterThan(w.insns);
      }
      // -icount: the same input runs the same instructions
      expect(new Set(ws.map((w) => w.insns)).size).to.equal(1);
    } finally {
      await session.close();
    }
  });

  it('classifies a hand-countable loop exactly (LDR, pipelined LDR, SMLAD, SUBS, BNE) and counts its flash misses', async () => {
    const rig = loadRig('qemu-mps2-an386');
    const cm = rig.estimate!.class_model!;
    const [sram, flash] = await runMicrobench(rig);
    const n = MICROBENCH_ITER;
    for (const w of [sram, flash]) {
      // the loop plus the marker calls: bx lr after the opening store, bl + ldr, movs, str before the closing one
      expect(w.insns).to.equal(5 * n + 5);
      expect(w.mul).to.equal(n);
      expect(w.load_pipe).to.equal(n);
      expect(w.load).to.equal(n + 1);
      expect(w.alu).to.equal(n + 1);
      expect(w.branch).to.equal(n + 2);
      expect(w.taken).to.be.within(n + 1, n + 2);
    }
    const loopCycles = microbenchCyclesPerIter(cm.classes.taken) * n;
    const e = estimateCycles(sram, cm);
    expect(e.flashCycles).to.equal(0);
    expect(e.cycles - loopCycles).to.be.within(0, 20);
    // 4 bytes per iteration from flash through the 32-byte-line data cache
    expect(flash.flash_dmiss).to.equal((4 * n) / cm.flash.dcache!.line_bytes);
    expect(estimateCycles(flash, cm).flashCycles).to.equal(flash.flash_dmiss * cm.flash.wait_states);
  });
});
