/**
 * Issue #15, preloaded inputs on a real board with external flash, behind the same interfaces
 * with real parts: a board-kind rig whose "board" is QEMU mps2-an386 started halted behind its
 * gdbstub (as a lab's OpenOCD would be), flashed and restarted by the gdb-remote flasher, its
 * UART on a pty. The preload region persists across runs as a QSPI NOR would (PSRAM while QEMU
 * lives). The run asks the real firmware for the CRC of its region (PRELOAD_CRC), writes the
 * image through Flasher.writeExternal only when it differs, and accuracy runs from it.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startQemuGdbServer, type QemuGdbServer } from '../../harness/dut/qemu-gdb-server.js';
import { RspClient } from '../../harness/flashers/gdb-remote.js';
import { readBoard } from '../../harness/firmware/board.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import { loadModelSet } from '../../harness/session/model-set.js';
import { runExperiments } from '../../harness/run/run.js';
import { HilError } from '../../harness/util/errors.js';
import { createLogger } from '../../harness/util/log.js';
import { rejection } from '../contract/protocol.contract.js';
import { writeGdbBoardRig } from '../helpers/board-rig.js';

const BOARD = 'mps2-an386';
const SAMPLES = 30;

interface RunJson {
  notes: string[];
  variants: { inputs: unknown }[];
}

describe('preloaded inputs on a board rig: written once to its persistent region through the flasher (QEMU behind gdbstub)', function () {
  this.timeout(300_000);
  let qemu: QemuGdbServer | undefined;
  let dir = '';
  const run = (rig: string, inputs: 'auto' | 'preload' = 'auto') =>
    runExperiments({ rig, models: ['racket_cnn'], variants: ['int8'], experiments: ['accuracy'], samples: SAMPLES, inputs, resultsDir: dir, log: createLogger({ quiet: true }) });
  const runJson = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'run.json'), 'utf8')) as RunJson;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-board-preload-'));
    qemu = await startQemuGdbServer(BOARD);
  });
  after(async () => {
    await qemu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the image on the first run, reuses it on the next, and classifies every sample as the host does', async () => {
    const rig = writeGdbBoardRig(dir, 'gdb-board', BOARD, { host: qemu!.host, port: qemu!.gdbPort }, { path: qemu!.pty });
    const first = await run(rig);
    expect(runJson(first.dir).variants[0].inputs).to.deep.equal({ preloaded: ['uea_racketsports'], streamed: [], external_flash: 'written' });
    expect(first.accuracy[0].samples).to.equal(SAMPLES);
    expect(first.accuracy[0].agreement).to.equal(1);

    const second = await run(rig);
    expect(runJson(second.dir).variants[0].inputs).to.deep.equal({ preloaded: ['uea_racketsports'], streamed: [], external_flash: 'reused' });
    expect(second.accuracy[0].agreement).to.equal(1);
    expect(second.accuracy[0].top1).to.equal(first.accuracy[0].top1);
  });

  it('int8-ext: the flasher writes ext.bin at EXT_STORAGE_BASE, and the same test inputs are reused from the region', async () => {
    const rig = writeGdbBoardRig(dir, 'gdb-board', BOARD, { host: qemu!.host, port: qemu!.gdbPort }, { path: qemu!.pty });
    const r = await runExperiments({ rig, models: ['racket_cnn'], variants: ['int8-ext'], experiments: ['accuracy'], samples: SAMPLES, inputs: 'auto', resultsDir: dir, log: createLogger({ quiet: true }) });
    expect(runJson(r.dir).variants[0].inputs).to.deep.equal({ preloaded: ['uea_racketsports'], streamed: [], external_flash: 'reused' });
    expect(r.accuracy[0].agreement).to.equal(1);
  });

  it('a flipped byte in the region: the device CRC differs, the image is written again, the run stays exact', async () => {
    const rig = writeGdbBoardRig(dir, 'gdb-board', BOARD, { host: qemu!.host, port: qemu!.gdbPort }, { path: qemu!.pty });
    const c = await RspClient.connect(qemu!.host, qemu!.gdbPort);
    try {
      await c.handshake();
      await c.interrupt().catch(() => undefined); // halted already when no firmware runs
      const at = (readBoard(BOARD).preloadBase ?? 0) + 5;
      const [b] = await c.readMemory(at, 1);
      await c.writeMemory(at, Buffer.from([b ^ 0x01]));
    } finally {
      c.close();
    }
    const r = await run(rig);
    expect(runJson(r.dir).variants[0].inputs).to.deep.equal({ preloaded: ['uea_racketsports'], streamed: [], external_flash: 'written' });
    expect(r.accuracy[0].agreement).to.equal(1);
  });

  it('a flasher that cannot write external flash: one line, auto streams, preload refuses', async () => {
    const rig = writeGdbBoardRig(dir, 'gdb-board-no-ext', BOARD, { host: qemu!.host, port: qemu!.gdbPort }, { path: qemu!.pty }, { flasher: '  external_flash: false' });
    const line = 'the rig declares flasher.external_flash: false (its GDB server cannot write the external flash)';
    const e = await rejection(run(rig, 'preload'));
    expect(e).to.be.instanceOf(HilError);
    expect((e as HilError).message).to.equal(`this rig cannot preload inputs (${line}); use --inputs stream`);

    const r = await run(rig);
    const json = runJson(r.dir);
    expect(json.variants[0].inputs).to.equal('stream');
    expect(json.notes).to.include(`${line}: accuracy inputs stream over the link`);
    expect(r.accuracy[0].samples).to.equal(SAMPLES);
    expect(r.accuracy[0].agreement).to.equal(1);
  });

  it('the STM32F746G-DISCO firmware builds with its preload region in the QSPI NOR, read through the ext_storage driver', () => {
    const f746 = readBoard('stm32f746g-disco');
    // the int8-ext image's 4 MiB at device offset 0, then the preload region: no overlap
    expect(f746).to.include({ extStorageBytes: 4 * 1024 * 1024, preloadBase: 0x90400000, preloadBytes: 12 * 1024 * 1024 });
    const elf = buildFirmware('stm32f746g-disco', loadModelSet(['racket_cnn'])).elf;
    // RUN_PRELOADED and PRELOAD_CRC (inlined into the command loop) read the region through the driver
    const calls = execFileSync('arm-none-eabi-objdump', ['-d', '--disassemble=proto_serve', elf], { encoding: 'utf8' }).split('\n').filter((l) => /\tbl\s.*<ext_storage_read>/.test(l));
    expect(calls.length).to.be.greaterThanOrEqual(2);
  });
});
