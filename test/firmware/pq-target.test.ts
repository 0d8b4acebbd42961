/**
 * The pq kernels' random checks (test/firmware/pq_random.h: direct path, table path and the rule's
 * choice against the naive conv2d/dense of the decoded weights, scratch exactly as sized) built
 * with arm-none-eabi-gcc for the Cortex-M4 and run on qemu-system-arm -M mps2-an386: the real
 * SXTB16 / SMLAD / LDRD code, which the native builds (kernels.test.ts) replace by C stand-ins.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/firmware -> repo
const FW = join(ROOT, 'firmware');

function has(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('firmware pq kernels on the emulated Cortex-M4 (DSP build)', function () {
  this.timeout(120000);
  let dir = '';

  before(function () {
    if (!has('arm-none-eabi-gcc') || !has('qemu-system-arm')) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'yono-pq-target-'));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('conv2d_pq: table path == direct path == decoded conv2d on random layers, with the real DSP instructions', () => {
    // memory.ld for boards/cortex-m/cortex-m.ld: QEMU's 4 MiB maps (the checks' buffers are ~250 KiB)
    writeFileSync(join(dir, 'memory.ld'), 'MEMORY\n{\n  FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4194304\n  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4194304\n}\n__stack_size = 16384;\n');
    const kernels = readdirSync(join(FW, 'kernels')).filter((f) => f.endsWith('.c')).map((f) => join(FW, 'kernels', f));
    const elf = join(dir, 'pq.elf');
    execFileSync('arm-none-eabi-gcc', [
      '-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=soft', '-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-ffreestanding',
      '-fno-tree-loop-distribute-patterns', '-DPQ_N=1500', '-DPQ_SEED=20261122', `-I${join(FW, 'kernels')}`,
      join(ROOT, 'test', 'firmware', 'pq_target.c'), ...kernels, join(FW, 'boards', 'cortex-m', 'startup.c'), join(FW, 'runtime', 'libc_min.c'),
      '-nostdlib', '-nostartfiles', '-Wl,--gc-sections', '-Wl,--no-warn-rwx-segments', `-L${dir}`, `-T${join(FW, 'boards', 'cortex-m', 'cortex-m.ld')}`, '-lgcc', '-o', elf,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    // semihosting output goes to QEMU's stderr; the program ends QEMU with SYS_EXIT
    const q = spawnSync('qemu-system-arm', [
      '-M', 'mps2-an386', '-icount', 'shift=0', '-nographic', '-monitor', 'none', '-serial', 'none',
      '-semihosting-config', 'enable=on,target=native', '-kernel', elf,
    ], { encoding: 'utf8', timeout: 100000 });
    const text = `${q.stdout ?? ''}${q.stderr ?? ''}`.trim();
    expect(q.status, text).to.equal(0);
    const m = /^mismatches (\d+) table (\d+)(.*)$/m.exec(text);
    expect(m, text).to.not.equal(null);
    expect(`${m![1]}${m![3]}`.trim(), 'mismatches (and the first failing layer)').to.equal('0');
    expect(Number(m![2]), 'layers the rule sends to the table path').to.be.greaterThan(100);
  });
});
