/**
 * Issue #18, the current trace of a measured rig: a whole `hil run` on a board-kind rig (QEMU
 * mps2-an386 behind its gdbstub, flashed by the gdb-remote flasher) whose power instrument is the
 * real PPK2 driver talking to the PPK2 simulator, which the device's own activity drives. The run
 * keeps every raw capture in its folder (captures/*.csv.gz + run.json `captures`); `hil report`
 * draws the trace with one shaded rect per marker window, as SVG and PDF, marked measured. An
 * emulated run draws none and says why on the page.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ActivitySource, DeviceActivity } from '../../harness/capabilities/device-activity.js';
import { writeReport } from '../../harness/commands/report.js';
import { startQemuGdbServer, type QemuGdbServer } from '../../harness/dut/qemu-gdb-server.js';
import { readBoard } from '../../harness/firmware/board.js';
import { CAPTURE_MAX_ROWS, type CaptureRecord } from '../../harness/reports/captures.js';
import { runExperiments } from '../../harness/run/run.js';
import { createLogger } from '../../harness/util/log.js';
import { ROOT } from '../../harness/util/paths.js';
import { writeGdbBoardRig } from '../helpers/board-rig.js';
import { countMarks, parseXml } from '../helpers/xml.js';
import { CHROMIUM, hasChromium, openInChromium } from '../helpers/chromium.js';
import { DeviceDrive } from '../sims/device-drive.js';
import { Ppk2Sim } from '../sims/ppk2-sim.js';
import { openPtyPair, type PtyPair } from '../sims/pty-pair.js';

const BOARD = 'mps2-an386';
const MODELS = ['fmnist_cnn', 'hapt_cnn'];
const quiet = createLogger({ quiet: true });

/** The activity of whichever session the run has open (one per variant), for the simulator. */
class SessionRelay implements ActivitySource {
  private readonly listeners = new Set<(a: DeviceActivity) => void>();
  onActivity(listener: (a: DeviceActivity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  attach(source: ActivitySource): void {
    source.onActivity((a) => this.listeners.forEach((l) => l(a)));
  }
}

describe('current trace of a measured rig: board rig + PPK2 simulator -> run -> report', function () {
  this.timeout(300_000);
  let qemu: QemuGdbServer | undefined;
  let pair: PtyPair | undefined;
  let sim: Ppk2Sim | undefined;
  let drive: DeviceDrive | undefined;
  let dir = '';
  let runDir = '';
  let captures: CaptureRecord[] = [];
  let out = '';
  let figures: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-board-trace-'));
    qemu = await startQemuGdbServer(BOARD);
    pair = await openPtyPair();
    const relay = new SessionRelay();
    drive = new DeviceDrive({ activity: relay, timer_hz: readBoard(BOARD).timerHz, currents: { idle_a: 0.0021, infer_a: 0.0143, select_a: 0.0097, noise_a: 0.0002, seed: 5 } });
    sim = new Ppk2Sim(pair.a, { device: drive, markerBit: 0 });
    await sim.open();
    const rig = writeGdbBoardRig(dir, 'gdb-board-ppk2', BOARD, { host: qemu.host, port: qemu.gdbPort }, { path: qemu.pty }, {
      tail: `power:\n  kind: ppk2\n  port: "${pair.b}"\n  voltage_mv: 3000\n  sample_hz: 100000\n  marker: D0\n`,
    });
    const r = await runExperiments({
      rig, models: MODELS, variants: ['int8'], experiments: ['switching', 'scenario'], switchReps: 2, scenarioEvents: 3, resultsDir: dir, log: quiet,
      onSession: (s) => relay.attach(s.device),
    });
    runDir = r.dir;
    captures = (JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { captures: CaptureRecord[] }).captures;
    out = path.join(dir, 'report');
    figures = (await writeReport([runDir], out, { format: 'pdf', log: { info: () => undefined, warn: () => undefined, progress: () => ({ tick: () => undefined, stop: () => undefined }) } })).figures;
  });
  after(async () => {
    // YONO_KEEP_TRACE=<folder>: keep the run and its report there, to look at the figure
    const keep = process.env.YONO_KEEP_TRACE;
    if (keep && runDir) {
      fs.cpSync(runDir, path.join(keep, 'run'), { recursive: true });
      fs.cpSync(out, path.join(keep, 'report'), { recursive: true });
    }
    drive?.dispose();
    await sim?.close();
    await pair?.close();
    await qemu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every capture of the run, small, with its windows in run.json', () => {
    // switching: 2 ordered pairs x 2 reps + one steady-inference capture per model; scenario: 2 schedules x 3 events
    expect(captures.map((c) => `${c.experiment}-${c.n}`)).to.deep.equal([...[0, 1, 2, 3, 4, 5].map((n) => `switching-${n}`), ...[0, 1, 2, 3, 4, 5].map((n) => `scenario-${n}`)]);
    expect(captures.length).to.equal(drive!.captures);
    for (const [k, c] of captures.entries()) {
      expect(c).to.include({ variant: 'int8', instrument: 'ppk2', source: 'measured', sample_period_s: 1e-5, supply_v: 3 });
      expect(c.file).to.equal(`captures/${c.experiment}-int8-${c.n}.csv.gz`);
      const text = gunzipSync(fs.readFileSync(path.join(runDir, c.file))).toString('utf8');
      const lines = text.trim().split('\n');
      expect(lines[0]).to.equal('t_s,current_a,current_min_a,current_max_a');
      expect(lines.length - 1).to.equal(c.rows).and.to.be.at.most(CAPTURE_MAX_ROWS);
      expect(c.rows).to.equal(Math.ceil(c.samples / c.decimation));
      // the windows the simulator played in this capture (those at least one sample long)
      expect(c.windows.length, c.file).to.equal(drive!.windowsOf(k).filter((w) => w.samples > 0).length);
      for (const w of c.windows) expect(w.end_s).to.be.greaterThan(w.start_s);
    }
    const bytes = captures.reduce((s, c) => s + fs.statSync(path.join(runDir, c.file)).size, 0);
    console.log(`      ${captures.length} captures, ${captures.reduce((s, c) => s + c.samples, 0)} samples -> ${(bytes / 1024).toFixed(0)} KiB in captures/ (at most ${CAPTURE_MAX_ROWS} rows each)`);
    expect(bytes / captures.length).to.be.below(40 * 1024);
  });

  it('draws one trace per experiment: valid SVG and PDF, one shaded rect per window, marked measured', () => {
    const names = figures.map((f) => path.basename(f, '.svg'));
    expect(names).to.include.members(['current-trace-switching-int8', 'current-trace-scenario-int8']);
    // each experiment's capture with the most windows (the first on ties)
    const richest = (e: string) => captures.filter((x) => x.experiment === e).reduce((a, b) => (b.windows.length > a.windows.length ? b : a));
    expect(richest('switching').windows.length).to.be.greaterThan(1); // a steady-inference capture: one window per timed run
    for (const [name, c] of [['current-trace-switching-int8', richest('switching')], ['current-trace-scenario-int8', richest('scenario')]] as const) {
      const base = path.join(out, 'figures', name);
      const text = fs.readFileSync(`${base}.svg`, 'utf8');
      const svg = parseXml(text);
      expect(svg.name).to.equal('svg');
      expect(countMarks(svg, 'rect'), name).to.equal(c.windows.length);
      expect(countMarks(svg, 'line'), name).to.equal(1);
      expect(text).to.contain('measured');
      expect(text).to.not.contain('emulated');
      expect(fs.readFileSync(`${base}.pdf`).subarray(0, 5).toString()).to.equal('%PDF-');
      for (const ext of ['.csv', '.vl.json', '.cmd']) expect(fs.existsSync(base + ext), base + ext).to.equal(true);
    }
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).to.not.match(/https?:\/\//);
    expect(html).to.not.match(/<(img|script|link)[^>]+(src|href)=/);
    expect(html).to.contain('Current trace (switching, int8)');
    expect(html).to.not.contain('No current trace');
  });

  it('report.html with the traces renders in headless Chromium without console errors', function () {
    if (!hasChromium()) {
      console.log(`      skipped: ${CHROMIUM} missing (Debian package chromium)`);
      this.skip();
    }
    const r = openInChromium(path.join(out, 'report.html'));
    expect(r.status, r.stderr).to.equal(0);
    expect(r.console, r.console.join('\n')).to.deep.equal([]);
    expect((r.dom.match(/<svg /g) ?? []).length).to.equal(figures.length);
  });

  it('an emulated run draws no trace and says why on the page', async () => {
    const emulated = path.join(dir, 'emulated');
    fs.cpSync(path.join(ROOT, 'results', 'reference', 'demo-all-variants-qemu-mps2-an386'), emulated, { recursive: true });
    fs.rmSync(path.join(emulated, 'report'), { recursive: true, force: true });
    const r = await writeReport([emulated], path.join(dir, 'emulated-report'), { format: 'svg' });
    expect(r.figures.filter((f) => path.basename(f).startsWith('current-trace'))).to.deep.equal([]);
    expect(fs.readFileSync(r.html, 'utf8')).to.contain('No current trace: energy on this rig is an emulated estimate from its stated power model, so there is no instrument capture to draw.');
  });
});
