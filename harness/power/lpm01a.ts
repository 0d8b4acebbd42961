/**
 * ST X-NUCLEO-LPM01A (PowerShield) over its virtual COM port, text protocol (UM2269):
 * one command per line, answered `ack <command> [value]` or `error <command>` (then
 * `Error detail: ...`), optionally prefixed by the prompt `PowerShield > `.
 *
 * Configuration sent: htc, volt <mV>m, freq <f>, acqtime 0 (infinite), output current,
 * format ascii_dec, trigsrc sw, eventsrc <marker> fal, pwr on. Then `start` streams:
 *  - samples in ascii_dec, "MMMM-EE" = MMMM x 10^-EE A, one or several per line;
 *  - `TimeStamp: <s>s <ms>ms, buff <nn>%` lines (time since start, the device's buffer fill);
 *  - `event <n> ris|fal` lines where the marker input had an edge, between two samples.
 * `stop` ends with `ack stop` and/or `Acquisition completed`.
 *
 * The marker is MLPerf Tiny's: the LPM01A reports one edge kind (falling, as configured), so each
 * event is a timestamp and the measured regions lie between the 1st and 2nd, 3rd and 4th event
 * (Capture.marker_mode = 'timestamps'). For an LPM01A rig the harness builds the firmware with
 * MARKER=pulse (markerStyle() in factory.ts): a low pulse at the start and at the end of each region.
 * Pairing by order has no way back: one event missed (or one extra) and every later window would
 * run from a region's end to the next one's start. A capture with an odd number of events therefore
 * yields no windows (and a note) rather than wrong ones; measure() (experiments/channels.ts) gives
 * the stream a lead before the device runs and a tail after it, so no region is cut by start/stop.
 *
 * Loss: the stream has no sequence numbers. At each TimeStamp line the samples received are
 * compared with time x rate; a deficit is a loss somewhere since the previous TimeStamp (an
 * inexact span: windows overlapping it are excluded). `buff 100%` is noted as an overflow.
 * Loss after the last TimeStamp cannot be seen.
 *
 * ascii_dec streams without a time limit only up to 5 kHz (UM2269's table at 3,686,400 baud);
 * faster rates need bin_hexa, which this driver does not decode yet.
 */
import type { Capture, PowerMonitor, PowerMonitorConfig } from '../capabilities/power-monitor.js';
import { HilError } from '../util/errors.js';
import { CaptureBuilder } from './capture-builder.js';
import { InstrumentPort, type PortFactory } from './instrument-port.js';

export const LPM01A_BAUD = 3_686_400;
const FREQS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
const ASCII_MAX_HZ = 5000;

const PROMPT = /^\s*(?:PowerShield\s*>\s*)?/;
const TIMESTAMP = /TimeStamp:\s*(\d+)\s*s\s*(\d+)\s*ms(?:\s*,\s*buff\s*(\d+)\s*%)?/i;
const EVENT = /^event\s+(\d+)\s+(ris|fal)/i;

/** "1800-05" -> 0.018 A; the LSB is one unit of the last mantissa digit. */
export function parseAsciiDec(token: string): { amps: number; lsb: number } | undefined {
  const m = /^(\d{4})([+-])(\d{2})$/.exec(token);
  if (!m) return undefined;
  // parsed as decimal text so 1800-05 is exactly 0.018
  return { amps: Number(`${m[1]}e${m[2]}${m[3]}`), lsb: Number(`1e${m[2]}${m[3]}`) };
}

export function freqToken(hz: number, where: string): string {
  if (!FREQS.includes(hz)) throw new HilError(`${hz} Hz is not an LPM01A rate (${FREQS.join(', ')})`, where);
  return hz >= 1000 ? `${hz / 1000}k` : String(hz);
}

export interface Lpm01aOptions {
  port: string;
  portFactory?: PortFactory;
  baudRate?: number;
  /** per command, ms */
  replyTimeoutMs?: number;
}

export class Lpm01aMonitor implements PowerMonitor {
  readonly instrument = 'lpm01a';
  readonly description: string;
  private readonly io: InstrumentPort;
  private hz = 1000;
  private vddV = 0;
  private builder?: CaptureBuilder;
  private lastStampIndex = 0;
  private malformed = 0;
  private capturing = false;
  private controlled = false;

  constructor(private readonly options: Lpm01aOptions) {
    this.io = new InstrumentPort('lpm01a', { path: options.port, baudRate: options.baudRate ?? LPM01A_BAUD }, options.portFactory);
    this.description = this.io.where;
  }

  async open(): Promise<void> {
    await this.io.open();
    this.io.onLine((line) => this.onLine(line));
    try {
      await this.command('htc');
      this.controlled = true;
    } catch (e) {
      await this.io.close();
      throw e;
    }
  }

  async configure(config: PowerMonitorConfig): Promise<void> {
    const where = `${this.description}: power`;
    const mv = config.voltage_mv;
    if (!Number.isInteger(mv) || mv < 1800 || mv > 3300) throw new HilError(`voltage_mv ${mv} is outside the LPM01A's 1800-3300 mV`, `${where}.voltage_mv`);
    const hz = config.sample_hz ?? 1000;
    const token = freqToken(hz, `${where}.sample_hz`);
    if (hz > ASCII_MAX_HZ) {
      throw new HilError(`${hz} Hz: ascii_dec streams without a time limit only up to ${ASCII_MAX_HZ} Hz (bin_hexa is not supported yet); use sample_hz <= ${ASCII_MAX_HZ}`, `${where}.sample_hz`);
    }
    const marker = (config.marker ?? 'd7').toLowerCase();
    if (marker !== 'd7') throw new HilError(`marker "${config.marker}": the LPM01A takes events on d7 only`, `${where}.marker`);
    this.hz = hz;
    this.vddV = mv / 1000;
    for (const cmd of [`volt ${mv}m`, `freq ${token}`, 'acqtime 0', 'output current', 'format ascii_dec', 'trigsrc sw', `eventsrc ${marker} fal`, 'pwr on']) {
      await this.command(cmd);
    }
  }

  async startCapture(): Promise<void> {
    this.builder = new CaptureBuilder({
      instrument: this.instrument,
      description: this.description,
      sample_period_s: 1 / this.hz,
      supply_v: this.vddV,
      marker_mode: 'timestamps',
    });
    this.lastStampIndex = 0;
    this.malformed = 0;
    this.capturing = true;
    await this.command('start');
  }

  async stopCapture(): Promise<Capture> {
    const b = this.builder;
    if (!b) throw new HilError('stopCapture() without startCapture()', this.description);
    const timeout = this.options.replyTimeoutMs ?? 2000;
    // the firmware answers "ack stop" and/or "Acquisition completed"; either will do. Listen before
    // writing: the answer can arrive before the write's drain callback runs (found with the
    // device-driven simulator, test/integration/board-energy-lpm01a.test.ts), and the stream's
    // lines push it out of the port's short backlog
    const ended = this.io.waitForLine((l) => /^ack\s+stop\b/i.test(strip(l)) || /acquisition completed/i.test(l), timeout, 'end of acquisition');
    ended.catch(() => undefined); // awaited below; a failed write must not leave it unhandled
    await this.io.write('stop\n', 'stop');
    await ended;
    await this.io.waitQuiet(20, 200);
    this.capturing = false;
    this.builder = undefined;
    if (this.malformed > 0) b.notes.push(`${this.malformed} malformed stream lines (garbled samples counted as lost, other lines ignored)`);
    if (b.received === 0) throw this.io.silentError('samples', timeout);
    const capture = b.build();
    if (capture.edges.length % 2 === 1) {
      capture.notes.push(`${capture.edges.length} marker events: an odd count cannot be paired into start/end (an event missed or extra), no window kept`);
      capture.edges = [];
    }
    return capture;
  }

  async close(): Promise<void> {
    if (this.io.isOpen && this.controlled) {
      try {
        if (this.capturing) await this.io.write('stop\n', 'stop');
        await this.command('pwr off', 500);
        await this.command('hrc', 500);
      } catch {
        // releasing anyway
      }
    }
    this.capturing = false;
    this.controlled = false;
    await this.io.close();
  }

  /** Sends one command and waits for its ack; `error` becomes a HilError with the device's detail. */
  async command(cmd: string, timeoutMs = this.options.replyTimeoutMs ?? 2000): Promise<string> {
    const verb = cmd.split(' ')[0];
    // listening before writing, as in stopCapture()
    const answered = this.io.waitForLine((l) => new RegExp(`^(ack|error)\\s+${verb}\\b`, 'i').test(strip(l)), timeoutMs, `ack for "${cmd}"`);
    answered.catch(() => undefined);
    await this.io.write(`${cmd}\n`, cmd);
    const answer = strip(await answered);
    if (/^error/i.test(answer)) {
      const detail = await this.io.waitForLine((l) => /error detail/i.test(l), 200, 'error detail', { recent: true }).catch(() => '');
      throw new HilError(`rejected "${cmd}": ${strip(detail).replace(/^error detail:\s*/i, '') || answer}`, this.description);
    }
    return answer.replace(new RegExp(`^ack\\s+${verb}\\s*`, 'i'), '');
  }

  private onLine(raw: string): void {
    const b = this.builder;
    if (!b || !this.capturing) return;
    const line = strip(raw);
    const stamp = TIMESTAMP.exec(line);
    if (stamp) {
      const t = Number(stamp[1]) + Number(stamp[2]) / 1000;
      const deficit = Math.round(t * this.hz) - b.index;
      if (deficit > 0) b.gapSomewhereSince(this.lastStampIndex, deficit);
      this.lastStampIndex = b.index;
      if (stamp[3] !== undefined && Number(stamp[3]) >= 100) b.notes.push(`instrument buffer full at ${t} s (samples may be lost)`);
      return;
    }
    const ev = EVENT.exec(line);
    if (ev) {
      b.event(ev[2].toLowerCase() === 'ris' ? 'rise' : 'fall');
      return;
    }
    if (/^(ack|error|acquisition|summary|powershield)/i.test(line)) return; // late replies, not data
    const tokens = line.split(/[\s,;]+/).filter((t) => t.length > 0);
    const parsed = tokens.map(parseAsciiDec);
    if (parsed.length > 0 && parsed.every((s) => s !== undefined)) {
      for (const s of parsed) if (s) b.sample(s.amps, s.lsb);
      return;
    }
    this.malformed++;
    // a garbled sample (digits and signs only) is one sample lost right here; other noise is ignored
    if (/^[\d+\-.\s]+$/.test(line)) b.gap(Math.max(1, tokens.length));
  }
}

function strip(line: string): string {
  return line.replace(PROMPT, '').trim();
}
