/**
 * The mlperf-tiny DeviceProtocol driver against a scripted MLPerf Tiny device on an in-memory
 * link (a test double standing in for a serial port): the handshake, model ids, the db line
 * size, ticks from the stamps, argmax of the scores, and one clear HilError for a device that
 * never prints m-ready, a profile mismatch, a malformed m-results and missing stamps.
 */
import { NO_TRAFFIC } from '../../harness/protocol/device.js';
import { expect } from 'chai';
import type { Link } from '../../harness/capabilities/link.js';
import { openDeviceProtocol } from '../../harness/protocol/drivers.js';
import { MlperfTinyDriver } from '../../harness/protocol/mlperf-tiny/driver.js';
import { HilError } from '../../harness/util/errors.js';

/** A device that answers each "<cmd>%" with `answer(cmd)` lines and m-ready (unless `silent`). */
class ScriptedDevice implements Link {
  readonly description = 'scripted MLPerf Tiny device';
  readonly stats = { bytesOut: 0, bytesIn: 0 };
  readonly commands: string[] = [];
  total = 0;
  private handler?: (chunk: Buffer) => void;
  private buffer = '';
  constructor(private readonly answer: (cmd: string) => string[], private readonly silent = false) {}
  async write(bytes: Buffer): Promise<void> {
    this.stats.bytesOut += bytes.length;
    this.buffer += bytes.toString('latin1');
    let at: number;
    while ((at = this.buffer.indexOf('%')) >= 0) {
      const cmd = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 1);
      this.commands.push(cmd);
      this.total++;
      if (this.silent) continue;
      const out = [...this.answer(cmd), 'm-ready'].map((l) => `${l}\r\n`).join('');
      setImmediate(() => this.handler?.(Buffer.from(out, 'latin1')));
    }
  }
  onData(handler: (chunk: Buffer) => void): void {
    this.handler = handler;
  }
  onClose(): void {}
  async close(): Promise<void> {}
}

function kws(results = 'm-results-[0.000,0.012,0.950,0.038]'): (cmd: string) => string[] {
  let expect = 0;
  let got = 0;
  return (cmd) => {
    if (cmd === 'name') return ['m-name-dut-[acme]'];
    if (cmd === 'profile') return ['m-profile-[ULPMark for tinyML Firmware V0.0.1]', 'm-model-[kws01]'];
    if (cmd.startsWith('db load ')) {
      expect = Number(cmd.slice(8));
      got = 0;
      return [];
    }
    if (cmd.startsWith('db ')) {
      got += (cmd.length - 3) / 2;
      return got >= expect ? ['m-load-done'] : [];
    }
    if (cmd.startsWith('infer ')) return ['m-warmup-start-1', 'm-warmup-done', 'm-infer-start-4', 'm-lap-us-1000', 'm-lap-us-9000', 'm-infer-done', results];
    return [`e-[Unknown command: ${cmd}]`];
  };
}

async function fails(p: Promise<unknown>): Promise<HilError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(HilError);
    expect((e as HilError).toLine()).to.not.include('\n');
    return e as HilError;
  }
  throw new Error('expected a HilError');
}

const MODEL = { name: 'kws_dscnn', input: [49, 13, 1], input_bytes: 637, classes: 4, hash: 'h' };

describe('mlperf-tiny driver (scripted device)', () => {
  it('hello, select, upload in 31-byte lines, infer ticks and argmax, classify, stats', async () => {
    const link = new ScriptedDevice(kws());
    const d = openDeviceProtocol('mlperf-tiny', link, { board: 'mps2-an386', model: MODEL, profile: 'kws01' });
    expect(d).to.be.instanceOf(MlperfTinyDriver);
    const hello = await d.hello(2000);
    expect(hello).to.include({ proto: 0, build: '', board: 'mps2-an386', timer_hz: 1e6, input_buffer: 637 });
    expect(hello.models).to.deep.equal([{ id: 0, ...MODEL }]);
    expect(hello.mlperf).to.deep.equal({ dut: 'dut', vendor: 'acme', profile: 'kws01' });
    expect((await d.select(0)).ticks).to.equal(0);
    expect((await fails(d.select(1))).message).to.match(/model id 1: an MLPerf Tiny device serves one model/);
    link.commands.length = 0;
    await d.upload(new Int8Array(637));
    expect(link.commands[0]).to.equal('db load 637');
    expect(link.commands.length).to.equal(1 + Math.ceil(637 / 31));
    expect(link.commands[1]).to.equal(`db ${'00'.repeat(31)}`);
    const r = await d.infer(0, 4, 1);
    expect(link.commands.at(-1)).to.equal('infer 4 1');
    expect(r.ticks).to.deep.equal([2000, 2000, 2000, 2000]);
    expect(r.predicted).to.equal(2);
    expect(r.scores).to.deep.equal([0, 0.012, 0.95, 0.038]);
    expect(r.logits.length).to.equal(0);
    // two classifications in flight: their db lines never interleave
    const [a, b] = await Promise.all([d.classify(0, new Int8Array(637)), d.classify(0, new Int8Array(637).fill(1))]);
    expect(a.predicted).to.equal(2);
    expect(b.predicted).to.equal(2);
    const loads = link.commands.map((c, i) => (c.startsWith('db load') ? i : -1)).filter((i) => i >= 0);
    expect(loads[2] - loads[1]).to.equal(1 + Math.ceil(637 / 31) + 1);
    expect(d.stats).to.deep.equal({ ...NO_TRAFFIC, commands: link.total });
  });

  it('a device that never prints m-ready', async () => {
    const d = openDeviceProtocol('mlperf-tiny', new ScriptedDevice(kws(), true), {});
    expect((await fails(d.hello(600))).toLine()).to.equal('scripted MLPerf Tiny device: no m-ready prompt within 600 ms (nothing received): is it MLPerf Tiny firmware?');
  });

  it('a profile other than the expected one', async () => {
    const d = openDeviceProtocol('mlperf-tiny', new ScriptedDevice(kws()), { profile: 'ic01' });
    expect((await fails(d.hello(2000))).message).to.equal("device serves profile 'kws01', expected 'ic01' (--profile / rig dut.firmware.profile)");
  });

  it('a malformed m-results line counts as a bad line and is one error', async () => {
    const d = openDeviceProtocol('mlperf-tiny', new ScriptedDevice(kws('m-results-[0.1,zz,0.3]')), { model: MODEL });
    await d.hello(2000);
    await d.upload(new Int8Array(637));
    expect((await fails(d.infer(0))).message).to.equal("'infer 1 0': malformed results line 'm-results-[0.1,zz,0.3]' (expected m-results-[<numbers>])");
    expect(d.stats.badFrames).to.equal(1);
  });

  it('scores of the wrong length, an unknown protocol', async () => {
    const d = openDeviceProtocol('mlperf-tiny', new ScriptedDevice(kws('m-results-[0.1,0.3]')), { model: MODEL });
    await d.hello(2000);
    expect((await fails(d.infer(0))).message).to.equal("'infer 1 0': m-results has 2 scores, the model has 4 classes");
    expect(() => openDeviceProtocol('tflm', new ScriptedDevice(kws()))).to.throw(HilError, /unknown device protocol "tflm"; available: yono, mlperf-tiny/);
  });
});
