/** The instruction-class cycle model and the QEMU plugin's output parser (no QEMU here). */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { estimateCycles, flashShare } from '../../harness/estimate/cycle-model.js';
import { EXTRA_COUNTERS, INSTRUCTION_CLASSES, parseWindowLine, parseWindows, WindowFile, type WindowCounts } from '../../harness/estimate/plugin.js';
import { loadRig, type ClassCostModel } from '../../harness/rig/rig.js';
import { HilError } from '../../harness/util/errors.js';

function window(partial: Partial<WindowCounts>, seq = 1): WindowCounts {
  const w: Record<string, number> = { seq, marker_errors: 0 };
  for (const k of [...INSTRUCTION_CLASSES, ...EXTRA_COUNTERS]) w[k] = 0;
  Object.assign(w, partial);
  w.insns = INSTRUCTION_CLASSES.reduce((a, c) => a + w[c], 0);
  return w as WindowCounts;
}

const line = (w: WindowCounts) => JSON.stringify({ type: 'window', ...w });

const M4: ClassCostModel = {
  classes: { alu: 1, load: 2, load_pipelined: 1, store: 1, ldm: 1, ldm_word: 1, stm: 1, stm_word: 1, mul: 1, mull: 1, div: 7, branch: 1, taken: 2, other: 1 },
  flash: { wait_states: 5, prefetch_hides: 1 },
  source: 'test',
};

describe('cycle model (instruction classes + flash wait states)', () => {
  it('costs each class, LDM/STM words, taken branches and flash misses', () => {
    const w = window({ alu: 10, load: 4, load_pipe: 3, store: 2, ldm: 1, ldm_words: 4, stm: 1, stm_words: 3, mul: 5, mull: 1, div: 1, branch: 6, other: 1, taken: 4, flash_dmiss: 2, fetch_miss: 3, fetch_miss_seq: 2 });
    const e = estimateCycles(w, M4);
    // 10 + 8 + 3 + 2 + (1+4) + (1+3) + 5 + 1 + 7 + 6 + 1 + 4*2 + 2*5 + (3-2)*5
    expect(e.cycles).to.equal(10 + 8 + 3 + 2 + 5 + 4 + 5 + 1 + 7 + 6 + 1 + 8 + 10 + 5);
    expect(e.breakdown.taken).to.equal(8);
    expect(e.flashCycles).to.equal(15);
    // without prefetch every fetch miss costs the wait states
    expect(estimateCycles(w, { ...M4, flash: { wait_states: 5 } }).breakdown.flash_fetch).to.equal(15);
  });

  it('a Cortex-M4 loop whose cycle count the TRM fixes: LDR, LDR, SMLAD, SUBS, BNE taken', () => {
    // per iteration: LDR 2 + LDR 1 (pipelined) + SMLAD 1 + SUBS 1 + BNE 1+P(2) = 8 cycles
    const n = 100;
    const w = window({ load: n, load_pipe: n, mul: n, alu: n, branch: n, taken: n });
    expect(estimateCycles(w, M4).cycles).to.equal(8 * n);
  });

  it('with the committed rigs: every emulated rig has a class model that the code accepts', () => {
    for (const r of ['qemu-mps2-an386', 'qemu-mps2-an500', 'qemu-netduinoplus2']) {
      const m = loadRig(r).estimate?.class_model;
      expect(m, r).to.not.equal(undefined);
      expect(estimateCycles(window({ alu: 1 }), m!).cycles, r).to.be.greaterThan(0);
      expect(m!.source.length, r).to.be.greaterThan(100);
    }
  });

  it('flash share of data accesses and of reads', () => {
    const s = flashShare(window({ r_flash: 30, r_sram: 10, w_sram: 10 }));
    expect(s.ofAccesses).to.equal(0.6);
    expect(s.ofReads).to.equal(0.75);
  });
});

describe('cycle plugin output', () => {
  it('parses window lines and skips the config/exit lines and a partial last line', () => {
    const a = window({ alu: 5, load: 2, taken: 1 }, 1);
    const b = window({ mul: 7 }, 2);
    const text = ['{"type":"config","plugin":"yono_cycles"}', line(a), line(b), '{"type":"exit","windows":2}', '{"type":"wind'].join('\n');
    const ws = parseWindows(text);
    expect(ws.map((w) => w.seq)).to.deep.equal([1, 2]);
    expect(ws[0]).to.deep.equal(a);
    expect(parseWindowLine('{"type":"config"}')).to.equal(undefined);
  });

  it('refuses a window whose classes do not sum to its instruction count, or that lacks a counter', () => {
    const w = window({ alu: 5 });
    expect(() => parseWindowLine(JSON.stringify({ type: 'window', ...w, insns: 6 }))).to.throw(HilError, /sum to 5/);
    const { taken: _t, ...noTaken } = w;
    expect(() => parseWindowLine(JSON.stringify({ type: 'window', ...noTaken }))).to.throw(HilError, /"taken"/);
    expect(() => parseWindowLine('{"type":"window",')).to.throw(HilError, /not JSON/);
  });

  it('WindowFile drains only new, complete windows, in order, and waits for expected ones', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-wf-'));
    try {
      const file = path.join(dir, 'w.jsonl');
      const wf = new WindowFile(file);
      expect(await wf.drain(0, 0)).to.deep.equal([]); // no file yet
      const l1 = line(window({ alu: 1 }, 1));
      const l2 = line(window({ alu: 2 }, 2));
      fs.writeFileSync(file, `{"type":"config"}\n${l1}\n${l2.slice(0, 10)}`);
      expect((await wf.drain(0, 0)).map((w) => w.seq)).to.deep.equal([1]);
      setTimeout(() => fs.appendFileSync(file, `${l2.slice(10)}\n`), 30);
      const t0 = Date.now();
      expect((await wf.drain(1, 2000)).map((w) => w.seq)).to.deep.equal([2]);
      expect(Date.now() - t0).to.be.lessThan(1500);
      expect(await wf.drain(0, 0)).to.deep.equal([]);
      // a restarted QEMU truncates the file: reading starts over
      fs.writeFileSync(file, `${line(window({ alu: 3 }, 1))}\n`);
      expect((await wf.drain(0, 0)).map((w) => w.alu)).to.deep.equal([3]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
