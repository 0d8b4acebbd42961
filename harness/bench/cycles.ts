/**
 * Benchmark (prints figures; not a test): the instruction-class cycle model against the
 * CPI model, and both against published Cortex-M4 figures.
 *  1. The microbenchmark firmware/tools/qemu-cycles/microbench.S: a loop whose Cortex-M4 cycle
 *     count the TRM fixes by hand (8 cycles per iteration with P = 2), run under the plugin.
 *  2. Per model of the zoo (int8 and pq firmware): instructions, CPI-model cycles, class-model
 *     cycles, effective CPI, the class breakdown and the flash share, from one timed inference.
 *  3. MLPerf Tiny v1.0 keyword spotting on the NUCLEO-L4R5ZI (the board the default rig models):
 *     DS-CNN, 2.66 M MACs per inference (reported by the benchmark), 182 ms with TFLite Micro +
 *     CMSIS-NN and 43 ms with X-CUBE-AI at 120 MHz -> cycles per MAC, against our kws_dscnn.
 * Usage: npm run bench:cycles -- [--rig name] [--variants int8,pq] [--models a,b]
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePrepared, loadPrepared } from '../datasets/prepared.js';
import { estimateCycles, flashShare } from '../estimate/cycle-model.js';
import { buildPlugin, boardRegions, markerAddress, parseWindows, PLUGIN_SOURCE_DIR, pluginOption, type WindowCounts, type WindowSource } from '../estimate/plugin.js';
import { ticksToInstructions } from '../estimate/cycle-model.js';
import { buildFirmware } from '../firmware/build.js';
import { layerCost } from '../modeltools/import/report.js';
import { createDut } from '../dut/factory.js';
import { formatTable } from '../util/table.js';
import { DEFAULT_RIG, loadRig, type Rig } from '../rig/rig.js';
import { loadDeploySet, loadModelSet, type Variant } from '../session/model-set.js';
import { openSession } from '../session/session.js';
import { runCleanups } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { requireTools } from '../util/tools.js';

export const MICROBENCH_ITER = 1000;
/** Cortex-M4 TRM cycles of one loop iteration: LDR 2 + LDR 1 (pipelined) + SMLAD 1 + SUBS 1 + BNE 1+P. */
export const microbenchCyclesPerIter = (p: number) => 2 + 1 + 1 + 1 + 1 + p;

/**
 * Builds and runs microbench.S on the rig's QEMU machine under the plugin; returns its two
 * windows (operands in SRAM; first operand in flash). No UART: QEMU is stopped once both are out.
 */
export async function runMicrobench(rig: Rig, iterations = MICROBENCH_ITER): Promise<WindowCounts[]> {
  const model = rig.estimate?.class_model;
  if (createDut(rig).figures !== 'emulated-estimate' || !model) throw new HilError('the microbenchmark needs an emulated rig with estimate.class_model', rig.name);
  if (boardRegions(rig.board).flash[0] !== 0 || markerAddress(rig.board) !== 0x40028000) {
    throw new HilError('the microbenchmark is written for the mps2 memory map (flash at 0, FPGAIO LED0 marker)', rig.name);
  }
  requireTools(['arm-none-eabi-gcc', 'qemu-system-arm']);
  const so = buildPlugin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-microbench-'));
  try {
    const elf = path.join(dir, 'microbench.elf');
    const cc = spawnSync('arm-none-eabi-gcc', ['-mcpu=cortex-m4', '-mthumb', '-nostdlib', '-Ttext=0', '-Wl,-e,reset', '-Wl,--no-warn-rwx-segments', `-DITER=${iterations}`, '-o', elf, path.join(PLUGIN_SOURCE_DIR, 'microbench.S')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new HilError(`microbenchmark build failed: ${cc.stderr.trim().split('\n')[0]}`, 'microbench.S');
    const out = path.join(dir, 'windows.jsonl');
    const args = ['-M', rig.dut.machine ?? rig.board, '-nographic', '-monitor', 'none', '-serial', 'null', '-icount', `shift=${rig.dut.icount_shift ?? 0}`, '-plugin', pluginOption(so, rig, model, out), '-kernel', elf];
    const child = spawn('qemu-system-arm', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const deadline = Date.now() + 10000;
      for (;;) {
        const ws = fs.existsSync(out) ? parseWindows(fs.readFileSync(out, 'utf8')) : [];
        if (ws.length >= 2) return ws.slice(0, 2);
        if (child.exitCode !== null) throw new HilError(`QEMU exited: ${stderr.trim().split('\n').pop() ?? ''}`, 'microbenchmark');
        if (Date.now() > deadline) throw new HilError('no plugin windows within 10 s', 'microbenchmark');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 0) => n.toFixed(d);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** MLPerf Tiny v1.0 closed division, STMicroelectronics, NUCLEO-L4R5ZI at 120 MHz, keyword spotting. */
export const MLPERF_KWS = { macs: 2.66e6, clockHz: 120e6, tflmMs: 182, xcubeMs: 43 };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rig: { type: 'string' }, variants: { type: 'string' }, models: { type: 'string' } } });
  const rig = loadRig(values.rig ?? DEFAULT_RIG);
  const cost = rig.estimate;
  const model = cost?.class_model;
  if (!cost || !model) throw new HilError('rig has no estimate.class_model', rig.name);
  const variants = (values.variants ?? 'int8,pq').split(',') as Variant[];
  const names = values.models ? values.models.split(',') : [];
  // MACs of each model, from its int8 form (a pq layer performs the same MACs on decoded weights)
  const macsOf = new Map(loadModelSet(names).map((m) => [m.name, (m.layers as unknown as ({ op: string } & Record<string, unknown>)[]).reduce((a, l) => a + layerCost(l).macs, 0)]));

  // 1. the hand-countable loop
  const m4 = cost.core === 'cortex-m4';
  const p = m4 ? model.classes.taken : 2;
  if (markerAddress(rig.board) === 0x40028000) {
    const ws = await runMicrobench(rig);
    const hand = microbenchCyclesPerIter(p) * MICROBENCH_ITER;
    if (!m4) console.log(`(${cost.core} rig: the hand count below is the Cortex-M4's, P = 2, for reference only)`);
    console.log(`microbenchmark (firmware/tools/qemu-cycles/microbench.S, ${MICROBENCH_ITER} iterations of LDR, LDR, SMLAD, SUBS, BNE):`);
    ws.forEach((w, i) => {
      const e = estimateCycles(w, model);
      console.log(
        `  window ${i + 1} (${i === 0 ? 'operands in SRAM' : 'first operand in flash'}): ${w.insns} instructions, class model ${fmt(e.cycles)} cycles ` +
          `(flash ${fmt(e.flashCycles)}), hand count from the Cortex-M4 TRM ${hand} + marker calls; CPI model ${fmt(w.insns * cost.cpi)}`,
      );
    });
    console.log(`  (P = ${p}; with P = 1..3 the TRM allows ${microbenchCyclesPerIter(1) * MICROBENCH_ITER}..${microbenchCyclesPerIter(3) * MICROBENCH_ITER} cycles for the loop)`);
  }

  // 2. the zoo
  const rows: string[][] = [];
  const breakdown: string[][] = [];
  let kws: { variant: Variant; cycles: number; macs: number }[] = [];
  for (const variant of variants) {
    const deploy = loadDeploySet(names, variant);
    for (const d of new Set(deploy.map((m) => m.dataset))) ensurePrepared(d);
    const firmware = buildFirmware(rig.board, deploy);
    const session = await openSession(rig, firmware);
    try {
      const windows = (session.dut as { windows?: WindowSource }).windows;
      if (!windows) throw new HilError('QEMU runs without the cycle plugin', rig.name);
      for (const m of deploy) {
        const id = session.modelId(m.name);
        await session.device.select(id);
        const data = loadPrepared(m.dataset, 'test');
        await session.device.upload(data.x.subarray(0, data.inputBytes));
        await windows.drain();
        const r = await session.device.infer(id, 1, 0, 120000);
        const w = (await windows.drain(1)).pop();
        if (!w) throw new HilError(`no plugin window for ${m.name}`, rig.name);
        const instrTicks = ticksToInstructions(r.ticks[0], session.hello.timer_hz, rig.dut.icount_shift ?? 0);
        const e = estimateCycles(w, model);
        const share = flashShare(w);
        rows.push([
          m.name, variant, String(w.insns), String(Math.round(instrTicks)), fmt(w.insns * cost.cpi), fmt(e.cycles), (e.cycles / w.insns).toFixed(3),
          fmt((e.cycles / cost.clock_hz) * 1000, 2), pct(share.ofReads), pct(e.flashCycles / e.cycles),
        ]);
        const b = e.breakdown;
        const loads = b.load + b.load_pipe + b.ldm + b.ldm_words;
        breakdown.push([
          m.name, variant,
          pct(w.alu / w.insns), pct((w.load + w.load_pipe + w.ldm) / w.insns), pct((w.store + w.stm) / w.insns), pct((w.mul + w.mull) / w.insns), pct(w.branch / w.insns),
          pct(w.taken / w.insns), pct(w.load_pipe / Math.max(1, w.load + w.load_pipe)),
          pct(b.alu / e.cycles), pct(loads / e.cycles), pct((b.mul + b.mull) / e.cycles), pct((b.branch + b.taken) / e.cycles), pct(e.flashCycles / e.cycles),
        ]);
        if (m.name === 'kws_dscnn') kws.push({ variant, cycles: e.cycles, macs: macsOf.get(m.name) ?? 0 });
      }
    } finally {
      await session.close();
    }
  }
  console.log(`\nrig ${rig.name}: ${cost.core} @ ${cost.clock_hz / 1e6} MHz; CPI model ${cost.cpi}; class model: flash ${model.flash.wait_states} WS`);
  console.log(formatTable(['model', 'variant', 'instructions', 'instr (SysTick)', 'CPI cycles', 'class cycles', 'eff. CPI', 'class ms', 'flash reads', 'flash cyc'], rows));
  console.log('\ninstruction mix and where the class-model cycles go:');
  console.log(formatTable(['model', 'variant', 'alu', 'load', 'store', 'mac', 'branch', 'taken', 'ld piped', 'cyc alu', 'cyc load', 'cyc mac', 'cyc branch', 'cyc flash'], breakdown));

  // 3. MLPerf Tiny KWS on the board the rig models
  kws = kws.filter((k) => k.macs > 0);
  if (kws.length > 0) {
    const pub = MLPERF_KWS;
    const cpmTflm = (pub.tflmMs / 1000) * pub.clockHz / pub.macs;
    const cpmX = (pub.xcubeMs / 1000) * pub.clockHz / pub.macs;
    if (!m4) console.log(`\n(${cost.core} rig: the published figures below are a Cortex-M4's, for scale only)`);
    console.log(`\nMLPerf Tiny v1.0, NUCLEO-L4R5ZI @ 120 MHz, KWS DS-CNN (${(pub.macs / 1e6).toFixed(2)} M MACs): TFLite Micro ${pub.tflmMs} ms = ${cpmTflm.toFixed(2)} cycles/MAC, X-CUBE-AI ${pub.xcubeMs} ms = ${cpmX.toFixed(2)} cycles/MAC`);
    for (const k of kws) {
      console.log(`  our kws_dscnn ${k.variant}: ${(k.macs / 1e6).toFixed(3)} M MACs, class model ${fmt(k.cycles)} cycles = ${(k.cycles / k.macs).toFixed(2)} cycles/MAC`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main()
    .catch((e: unknown) => {
      if (e instanceof HilError) {
        console.error(`error: ${e.toLine()}`);
        process.exitCode = e.exitCode;
      } else {
        console.error(e);
        process.exitCode = 1;
      }
    })
    .finally(() => runCleanups());
}
