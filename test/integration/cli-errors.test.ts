/** Bad input from a user gets one clear line and a non-zero exit, never a stack trace. */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectOneLineError, hil } from '../helpers/cli.js';

describe('CLI errors', () => {
  it('unknown rig', () => expectOneLineError(hil(['run', '--rig', 'nope']), /nope: unknown rig; available: .*qemu-mps2-an386/));

  it('invalid rig file names the file and field', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-'));
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(file, 'name: broken\nboard: mps2-an386\ndut: {kind: qemu, icount_shift: -1}\nlink: {kind: qemu-pty}\nflasher: {kind: qemu-loader}\n');
    expectOneLineError(hil(['run', '--rig', file]), /broken\.yaml: dut\.icount_shift: must be >= 0/);
  });

  it('unknown model, unknown experiment, bad number, unknown flag, unknown command', () => {
    expectOneLineError(hil(['run', '--models', 'nope']), /nope: unknown model; available:/);
    expectOneLineError(hil(['run', '--experiments', 'speed']), /speed: unknown experiment/);
    expectOneLineError(hil(['run', '--samples', 'many']), /--samples: expected a positive integer/);
    expectOneLineError(hil(['run', '--frobnicate']), /Unknown option '--frobnicate'/);
    // each command takes only its own options
    expectOneLineError(hil(['build', '--samples', '5']), /^error: hil build: Unknown option '--samples'/);
    expectOneLineError(hil(['launch']), /launch: unknown command/);
  });

  it('missing raw data set names the path', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nodata-'));
    const r = hil(['prepare', 'uci_hapt'], { YONO_DATA_DIR: empty, YONO_PREPARED_DIR: path.join(empty, 'prepared') });
    expectOneLineError(r, new RegExp(empty.replace(/[/.]/g, '\\$&')));
  });

  it('a board that stops answering (M4 firmware faults on an M3 machine) fails in bounded time', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-'));
    const file = path.join(dir, 'wrong-core.yaml');
    fs.writeFileSync(
      file,
      'name: wrong-core\nboard: mps2-an386\ndut: {kind: qemu, machine: mps2-an385, boot_timeout_ms: 2000}\n' +
        'link: {kind: qemu-pty, reply_timeout_ms: 300, retries: 0}\nflasher: {kind: qemu-loader}\n' +
        'estimate: {core: cortex-m3, clock_hz: 25000000, cpi: 1, source: test}\n',
    );
    const results = fs.mkdtempSync(path.join(os.tmpdir(), 'res-'));
    const r = hil(['run', '--rig', file, '--models', 'fmnist_cnn', '--samples', '1', '--experiments', 'accuracy', '--results', results, '--quiet']);
    // the run resets the device, records the sample that keeps taking it down as failed, and says so
    expectOneLineError(r, /the device failed on samples even after resets: fmnist_cnn int8 \(1\)/);
    const [run] = fs.readdirSync(results);
    const runJson = JSON.parse(fs.readFileSync(path.join(results, run, 'run.json'), 'utf8')) as { status: string; notes: string[]; link: { int8: { resets: number } } };
    expect(runJson.link.int8.resets).to.equal(2);
    expect(runJson.notes.join('\n')).to.match(/fmnist_cnn sample 0 failed 2 times .*did not answer/);
  });
});
