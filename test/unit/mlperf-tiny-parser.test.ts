/**
 * MLPerf Tiny line parser and client against a scripted fake stream: the reply formats of
 * mlcommons/tiny benchmark/api (m-ready, e-[...], m-lap-us-N, m-results-[...], m-name-dut-[...]),
 * split into arbitrary chunks, with stray log lines and both "\r\n" and "\n" line ends.
 */
import { expect } from 'chai';
import { HilError } from '../../harness/util/errors.js';
import { classify, LineParser, parseScores } from '../../harness/protocol/mlperf-tiny/parser.js';
import { lapDiffUs, MlperfTinyClient, type ByteStream } from '../../harness/protocol/mlperf-tiny/client.js';
import { runPerformance } from '../../harness/protocol/mlperf-tiny/performance.js';
import { median } from '../../harness/util/stats.js';

/** A byte stream whose device side is a function from command text to reply text. */
class ScriptedStream implements ByteStream {
  readonly description = 'fake-dut';
  readonly commands: string[] = [];
  private dataHandlers: ((chunk: Buffer) => void)[] = [];
  private closeHandlers: ((reason: string) => void)[] = [];
  private pending = '';
  /** split every reply into chunks of this many bytes (tests partial lines) */
  chunkBytes = 7;

  constructor(private readonly device: (cmd: string) => string | undefined) {}

  async write(bytes: Buffer): Promise<void> {
    this.pending += bytes.toString('latin1');
    let at: number;
    while ((at = this.pending.indexOf('%')) >= 0) {
      const cmd = this.pending.slice(0, at);
      this.pending = this.pending.slice(at + 1);
      this.commands.push(cmd);
      const reply = this.device(cmd);
      if (reply !== undefined) setImmediate(() => this.emit(reply));
    }
  }

  emit(text: string): void {
    const b = Buffer.from(text, 'latin1');
    for (let i = 0; i < b.length; i += this.chunkBytes) {
      const part = b.subarray(i, i + this.chunkBytes);
      for (const h of this.dataHandlers) h(part);
    }
  }

  close(reason: string): void {
    for (const h of this.closeHandlers) h(reason);
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.dataHandlers.push(handler);
  }
  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler);
  }
}

/** A small MLPerf Tiny device: a 4-byte buffer, fixed scores, a 1 ms inference. */
function fakeDevice(opts: { scores?: string; usPerInference?: number } = {}): (cmd: string) => string {
  let size = 0;
  let pos = 0;
  let clock = 1000;
  const usPer = opts.usPerInference ?? 1000;
  const scores = opts.scores ?? '0.100,0.700,0.200';
  const r = (s: string): string => `${s}m-ready\r\n`;
  return (cmd) => {
    const t = cmd.split(' ').filter(Boolean);
    if (t[0] === 'name') return r('m-name-dut-[unspecified]\r\n');
    if (t[0] === 'profile') return r('m-profile-[ULPMark for tinyML Firmware V0.0.1]\r\nm-model-[kws01]\r\n');
    if (t[0] === 'timestamp') return r(`m-lap-us-${clock}\r\n`);
    if (t[0] === 'db' && t[1] === 'load') {
      const n = Number(t[2]);
      if (n > 4) return r(`e-[Supplied buffer size ${n} exceeds maximum of 4]\r\n`);
      size = n;
      pos = 0;
      return r(`m-[Expecting ${n} bytes]\r\n`);
    }
    if (t[0] === 'db') {
      pos += t[1].length / 2;
      return r(pos >= size ? 'm-load-done\r\n' : '');
    }
    if (t[0] === 'infer') {
      const n = Number(t[1]);
      const start = clock;
      clock += n * usPer;
      return r(`m-warmup-start-${t[2]}\r\nm-warmup-done\r\nm-infer-start-${n}\r\nm-lap-us-${start}\r\nm-lap-us-${clock}\r\nm-infer-done\r\nm-results-[${scores}]\r\n`);
    }
    if (t[0] === 'results') return r(`m-results-[${scores}]\r\n`);
    return r(`e-[Unknown command: ${t[0]}]\r\n`);
  };
}

async function rejects(p: Promise<unknown>): Promise<HilError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(HilError);
    return e as HilError;
  }
  throw new Error('expected a HilError');
}

describe('MLPerf Tiny line parser', () => {
  it('splits \\r\\n and \\n lines across arbitrary chunks, keeps a partial line, drops empty lines', () => {
    const lines: string[] = [];
    const p = new LineParser((l) => lines.push(l));
    const text = 'm-init-done\r\n\r\nm-re';
    p.push(Buffer.from(text));
    expect(lines).to.deep.equal(['m-init-done']);
    expect(p.pending).to.equal('m-re');
    p.push(Buffer.from('ady\r'));
    p.push(Buffer.from('\nInitialized\nm-lap-us-5\r\n'));
    expect(lines).to.deep.equal(['m-init-done', 'm-ready', 'Initialized', 'm-lap-us-5']);
  });

  it('classifies the official reply formats', () => {
    expect(classify('m-ready')).to.deep.equal({ kind: 'ready' });
    expect(classify('e-[Unknown command: foo]')).to.deep.equal({ kind: 'error', message: 'Unknown command: foo' });
    expect(classify('m-lap-us-4294967295')).to.deep.equal({ kind: 'lap', us: 4294967295 });
    expect(classify('m-name-dut-[unspecified]')).to.deep.equal({ kind: 'name', device: 'dut', vendor: 'unspecified' });
    expect(classify('m-model-[kws01]')).to.deep.equal({ kind: 'model', model: 'kws01' });
    expect(classify('m-profile-[ULPMark for tinyML Firmware V0.0.1]')).to.deep.equal({ kind: 'profile', profile: 'ULPMark for tinyML Firmware V0.0.1' });
    expect(classify('m-load-done')).to.deep.equal({ kind: 'load-done' });
    expect(classify('m-[Expecting 637 bytes]')).to.deep.equal({ kind: 'message', text: 'm-[Expecting 637 bytes]' });
    expect(classify('Initialized')).to.deep.equal({ kind: 'other', text: 'Initialized' });
  });

  it('reads float and int score vectors; a non-number makes the line not a result', () => {
    expect(parseScores('0.000,0.996,-0.004,12.500')).to.deep.equal([0, 0.996, -0.004, 12.5]);
    expect(parseScores('0,3,-7')).to.deep.equal([0, 3, -7]);
    expect(parseScores('1e-3, 2')).to.deep.equal([0.001, 2]);
    expect(classify('m-results-[0.1,nan]').kind).to.equal('other');
    expect(classify('m-results-[42.125]')).to.deep.equal({ kind: 'results', values: [42.125] });
  });

  it('lap differences wrap at 2^32 us', () => {
    expect(lapDiffUs(100, 350)).to.equal(250);
    expect(lapDiffUs(2 ** 32 - 10, 5)).to.equal(15);
    expect(median([5, 1, 3])).to.equal(3);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
  });
});

describe('MlperfTinyClient on a scripted stream', () => {
  it('name, profile, timestamp, load (31 bytes per line), infer, results with junk lines in between', async () => {
    const dev = fakeDevice();
    const s = new ScriptedStream((cmd) => {
      const reply = dev(cmd);
      return cmd.startsWith('infer') ? `debug: running\r\n${reply}` : reply;
    });
    const logged: string[] = [];
    const c = new MlperfTinyClient(s, { log: (l) => logged.push(l) });
    s.emit('boot log line\r\nm-timestamp-mode-performance\r\nm-init-done\r\nm-ready\r\n');
    await c.waitReady(1000, { probeEveryMs: 0, settleMs: 20 });
    expect(logged).to.include('boot log line');
    expect(await c.name()).to.equal('unspecified');
    expect(await c.profile()).to.equal('kws01');
    expect(await c.timestamp()).to.equal(1000);
    const up = await c.load(Buffer.from([1, 2, 0xab, 4]), { bytesPerLine: 3 });
    expect(up.lines).to.equal(2);
    expect(s.commands.slice(-3)).to.deep.equal(['db load 4', 'db 0102ab', 'db 04']);
    expect(up.wireBytesOut).to.equal('db load 4%db 0102ab%db 04%'.length);
    const r = await c.infer(3, 1);
    expect(r.lapsUs).to.deep.equal([1000, 4000]);
    expect(r.elapsedUs).to.equal(3000);
    expect(r.results).to.deep.equal([0.1, 0.7, 0.2]);
    expect(await c.results()).to.deep.equal([0.1, 0.7, 0.2]);
  });

  it('int scores; db lines stay under 80 characters at 31 and 26 bytes', async () => {
    const s = new ScriptedStream(fakeDevice({ scores: '3,-1,0' }));
    const c = new MlperfTinyClient(s);
    expect(await c.results()).to.deep.equal([3, -1, 0]);
    for (const per of [31, 26]) {
      await c.load(Buffer.alloc(4), { bytesPerLine: per });
      for (const cmd of s.commands) expect(cmd.length + 1).to.be.lessThan(80);
    }
    const e = await rejects(c.load(Buffer.alloc(4), { bytesPerLine: 39 }));
    expect(e.message).to.match(/bytesPerLine 39 not in 1\.\.38/);
  });

  it('an e-[...] reply is one HilError naming the command, and the stream stays in step', async () => {
    const s = new ScriptedStream(fakeDevice());
    const c = new MlperfTinyClient(s);
    const e = await rejects(c.load(Buffer.alloc(10)));
    expect(e.toLine()).to.equal("fake-dut: 'db load 10' refused: Supplied buffer size 10 exceeds maximum of 4");
    const u = await rejects(c.command('bogus'));
    expect(u.toLine()).to.equal("fake-dut: 'bogus' refused: Unknown command: bogus");
    expect(await c.name()).to.equal('unspecified');
  });

  it('the official firmware\'s plain "exceeds maximum" refusal of db load is an error too', async () => {
    const s = new ScriptedStream((cmd) => (cmd.startsWith('db load') ? 'Supplied buffer size 99999 exceeds maximum of 27648\nm-ready\r\n' : 'm-ready\r\n'));
    const e = await rejects(new MlperfTinyClient(s).load(Buffer.alloc(99999)));
    expect(e.message).to.equal("'db load 99999' refused: Supplied buffer size 99999 exceeds maximum of 27648");
  });

  it('a silent device: the command times out with one line; no m-ready at all names the prompt', async () => {
    const s = new ScriptedStream(() => undefined);
    const c = new MlperfTinyClient(s, { timeoutMs: 50 });
    const e = await rejects(c.name());
    expect(e.toLine()).to.equal("fake-dut: 'name': no m-ready within 50 ms; nothing received");
    const w = await rejects(c.waitReady(120, { probeEveryMs: 40 }));
    expect(w.toLine()).to.equal('fake-dut: no m-ready prompt within 120 ms (nothing received): is it MLPerf Tiny firmware?');
    expect(s.commands.filter((x) => x === 'name').length).to.be.greaterThanOrEqual(2); // the name% command, then probes
    expect(w.message).to.not.include('\n');
  });

  it('waitReady probes with name% when the banner was missed, and drains the late lines', async () => {
    const s = new ScriptedStream(fakeDevice());
    const c = new MlperfTinyClient(s);
    await c.waitReady(2000, { probeEveryMs: 30, settleMs: 30 });
    expect(s.commands[0]).to.equal('name');
    expect(await c.profile()).to.equal('kws01');
  });

  it('a closed stream fails the command at once', async () => {
    const s = new ScriptedStream(() => undefined);
    const c = new MlperfTinyClient(s, { timeoutMs: 5000 });
    const p = c.name();
    setTimeout(() => s.close('fake-dut closed'), 10);
    const e = await rejects(p);
    expect(e.message).to.equal("'name': fake-dut closed");
  });

  it('an overlong or %-containing command is refused before it is sent', async () => {
    const s = new ScriptedStream(fakeDevice());
    const c = new MlperfTinyClient(s);
    await rejects(c.command('x'.repeat(80)));
    await rejects(c.command('a%b'));
    expect(s.commands).to.deep.equal([]);
  });

  it('performance mode: calibrates N so each window lasts >= the minimum, runs 5 windows, reports the median', async () => {
    const s = new ScriptedStream(fakeDevice({ usPerInference: 2500 }));
    const c = new MlperfTinyClient(s);
    const rep = await runPerformance(c, { minWindowSec: 10, warmup: 0 });
    expect(rep.windowSec).to.have.length(5);
    for (const w of rep.windowSec) expect(w).to.be.at.least(10);
    expect(rep.inferences).to.equal(Math.ceil((10e6 * 1.1) / 2500));
    expect(rep.medianInferencesPerSec).to.be.closeTo(400, 1e-9);
    expect(rep.msPerInference).to.be.closeTo(2.5, 1e-12);
    const infers = s.commands.filter((x) => x.startsWith('infer'));
    expect(infers.slice(-5)).to.deep.equal(Array(5).fill(`infer ${rep.inferences} 0`));
  });
});
