/**
 * Nordic Power Profiler Kit II over its USB CDC port.
 *
 * Protocol (as Nordic's open nRF Connect Power Profiler and public descriptions show it):
 * single-byte opcodes, some with arguments, no replies except
 *  - 0x19 get metadata -> text lines "KEY: VALUE" ending with "END" (calibration per range
 *    0..4: R, GS, GI, O, S, I, UG; plus VDD, HW, mode, Calibrated, IA)
 *  - 0x06 average start -> a continuous stream of 4-byte little-endian words at 100 kS/s:
 *    bits 0-13 ADC, 14-16 range, 18-23 rolling counter (mod 64), 24-31 digital inputs D0-D7.
 * Other commands used: 0x07 stop, 0x0d regulator (mV, 800-5000, big-endian), 0x0c DUT power
 * (1 on / 0 off), 0x11 power mode (1 ampere meter, 2 source meter).
 *
 * Current of one word (range r): x = (4*adc - O[r]) * (1.8/163840) / R[r];
 * I = UG[r] * (x * (GS[r] * x + GI[r]) + S[r] * vdd_V + I[r]) amperes.
 * Nordic's app adds a display spike filter after range switches; it is not applied here
 * because it would change the integral the energy analysis needs.
 *
 * Loss: the counter must advance by one per word; a jump of k means k-1 words lost at that
 * point (exact position). It wraps at 64, so a single gap of 64 or more words is undercounted;
 * USB drops are whole 64-byte packets (16 words), so this is rare, and it is stated here.
 */
import type { Capture, PowerMonitor, PowerMonitorConfig } from '../capabilities/power-monitor.js';
import { HilError } from '../util/errors.js';
import { CaptureBuilder } from './capture-builder.js';
import { InstrumentPort, type PortFactory } from './instrument-port.js';

export const PPK2 = {
  AVERAGE_START: 0x06,
  AVERAGE_STOP: 0x07,
  DEVICE_RUNNING_SET: 0x0c,
  REGULATOR_SET: 0x0d,
  SET_POWER_MODE: 0x11,
  GET_META_DATA: 0x19,
  SAMPLE_HZ: 100_000,
  ADC_MULT: 1.8 / 163840,
  COUNTER_MOD: 64,
} as const;

export type Ppk2Calibration = Record<'R' | 'GS' | 'GI' | 'O' | 'S' | 'I' | 'UG', number[]>;

export interface Ppk2Word {
  adc: number;
  range: number;
  counter: number;
  logic: number;
}

export function decodeWord(w: number): Ppk2Word {
  return { adc: w & 0x3fff, range: (w >>> 14) & 0x7, counter: (w >>> 18) & 0x3f, logic: (w >>> 24) & 0xff };
}

export function encodeWord(p: Ppk2Word): number {
  return ((p.adc & 0x3fff) | ((p.range & 0x7) << 14) | ((p.counter & 0x3f) << 18) | ((p.logic & 0xff) << 24)) >>> 0;
}

/** Parses the metadata block; missing per-range values fall back to the documented neutral ones (UG 1) or fail (R). */
export function parseMetadata(text: string, where: string): { cal: Ppk2Calibration; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z]+\d?)\s*:\s*(.+?)\s*$/.exec(line);
    if (m) fields[m[1]] = m[2];
  }
  const neutral: Record<string, number> = { GS: 0, GI: 1, O: 0, S: 0, I: 0, UG: 1 };
  const cal = {} as Ppk2Calibration;
  for (const key of ['R', 'GS', 'GI', 'O', 'S', 'I', 'UG'] as const) {
    cal[key] = [0, 1, 2, 3, 4].map((r) => {
      const raw = fields[`${key}${r}`];
      const v = raw === undefined ? NaN : Number(raw);
      if (Number.isFinite(v)) return v;
      if (key === 'R') throw new HilError(`calibration metadata has no usable R${r} (got ${raw ?? 'nothing'})`, where);
      return neutral[key];
    });
  }
  return { cal, fields };
}

/** Current in A of one ADC reading in one range. */
export function wordCurrent(cal: Ppk2Calibration, range: number, adc: number, vddV: number): number {
  const r = Math.min(range, 4);
  const x = (adc * 4 - cal.O[r]) * (PPK2.ADC_MULT / cal.R[r]);
  return cal.UG[r] * (x * (cal.GS[r] * x + cal.GI[r]) + cal.S[r] * vddV + cal.I[r]);
}

/** Amplitude step of one ADC count at a given reading (derivative of wordCurrent), A. */
export function wordLsb(cal: Ppk2Calibration, range: number, adc: number): number {
  const r = Math.min(range, 4);
  const x = (adc * 4 - cal.O[r]) * (PPK2.ADC_MULT / cal.R[r]);
  return Math.abs(cal.UG[r] * (2 * cal.GS[r] * x + cal.GI[r]) * 4 * (PPK2.ADC_MULT / cal.R[r]));
}

export interface Ppk2Options {
  port: string;
  portFactory?: PortFactory;
  /** source: the PPK2 supplies the board (default); ampere: it only measures */
  mode?: 'source' | 'ampere';
  /** waits for the metadata block, ms */
  replyTimeoutMs?: number;
  /** no sample for this long while capturing = the instrument stopped, ms */
  stallMs?: number;
}

/** Samples a capture has received so far (0 before one starts). */
function b0(builder: { received: number } | undefined): number {
  return builder?.received ?? 0;
}

export class Ppk2Monitor implements PowerMonitor {
  readonly instrument = 'ppk2';
  readonly description: string;
  private readonly io: InstrumentPort;
  private cal?: Ppk2Calibration;
  private vddV = 0;
  private markerBit = 0;
  private builder?: CaptureBuilder;
  private rest = Buffer.alloc(0);
  private expected?: number;
  private meta = '';
  private metaDone?: () => void;
  private capturing = false;

  constructor(private readonly options: Ppk2Options) {
    this.io = new InstrumentPort('ppk2', { path: options.port, baudRate: 115200 }, options.portFactory);
    this.description = this.io.where;
  }

  get calibration(): Ppk2Calibration | undefined {
    return this.cal;
  }

  async open(): Promise<void> {
    await this.io.open();
    this.io.onBytes((chunk) => this.onBytes(chunk));
    // a previous session may have left it streaming: stop, let the tail drain, then ask
    await this.io.write(Buffer.from([PPK2.AVERAGE_STOP]), 'average stop (0x07)');
    await this.io.waitQuiet(30, 500);
    this.meta = '';
    const timeout = this.options.replyTimeoutMs ?? 2000;
    const got = new Promise<void>((resolve) => (this.metaDone = resolve));
    await this.io.write(Buffer.from([PPK2.GET_META_DATA]), 'get metadata (0x19)');
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.io.silentError('calibration metadata ending in END', timeout)), timeout);
    });
    try {
      await Promise.race([got, silent]);
    } catch (e) {
      await this.io.close();
      throw e;
    } finally {
      clearTimeout(timer);
      this.metaDone = undefined;
    }
    this.cal = parseMetadata(this.meta, this.description).cal;
  }

  async configure(config: PowerMonitorConfig): Promise<void> {
    const mv = config.voltage_mv;
    if (!Number.isInteger(mv) || mv < 800 || mv > 5000) throw new HilError(`voltage_mv ${mv} is outside the PPK2's 800-5000 mV`, `${this.description}: power.voltage_mv`);
    if (config.sample_hz !== undefined && config.sample_hz !== PPK2.SAMPLE_HZ) {
      throw new HilError(`the PPK2 streams at a fixed ${PPK2.SAMPLE_HZ} Hz (got ${config.sample_hz})`, `${this.description}: power.sample_hz`);
    }
    const marker = config.marker ?? 'D0';
    const m = /^D([0-7])$/i.exec(marker);
    if (!m) throw new HilError(`marker "${marker}" is not a PPK2 logic input D0-D7`, `${this.description}: power.marker`);
    this.markerBit = Number(m[1]);
    this.vddV = mv / 1000;
    const mode = this.options.mode ?? 'source';
    await this.io.write(Buffer.from([PPK2.SET_POWER_MODE, mode === 'source' ? 2 : 1]), `power mode ${mode} (0x11)`);
    // the regulator takes the millivolts big-endian (800 mV = 0x03 0x20)
    await this.io.write(Buffer.from([PPK2.REGULATOR_SET, mv >> 8, mv & 0xff]), `regulator ${mv} mV (0x0d)`);
    if (mode === 'source') await this.io.write(Buffer.from([PPK2.DEVICE_RUNNING_SET, 1]), 'DUT power on (0x0c)');
  }

  async startCapture(): Promise<void> {
    if (!this.cal) throw new HilError('startCapture() before open()', this.description);
    this.builder = new CaptureBuilder({
      instrument: this.instrument,
      description: this.description,
      sample_period_s: 1 / PPK2.SAMPLE_HZ,
      supply_v: this.vddV,
      marker_mode: 'level',
    });
    // bytes still in flight from an earlier stream belong to no capture: let them pass first
    this.capturing = false;
    await this.io.waitQuiet(30, 500);
    this.rest = Buffer.alloc(0);
    this.expected = undefined;
    this.capturing = true;
    await this.io.write(Buffer.from([PPK2.AVERAGE_START]), 'average start (0x06)');
    // 0x06 has no acknowledgement: the capture has begun when the first word is here (a marked
    // region started before that would be missing). A silent instrument is reported at stop.
    const until = Date.now() + (this.options.stallMs ?? 500);
    while (b0(this.builder) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
  }

  async stopCapture(): Promise<Capture> {
    const b = this.builder;
    if (!b) throw new HilError('stopCapture() without startCapture()', this.description);
    const stallMs = this.options.stallMs ?? 500;
    const stalled = Date.now() - this.io.lastRx > stallMs;
    await this.io.write(Buffer.from([PPK2.AVERAGE_STOP]), 'average stop (0x07)');
    // the stream's tail (words sampled before the stop) may trail by tens of ms on a busy host
    await this.io.waitQuiet(100, 2000);
    this.capturing = false;
    this.builder = undefined;
    if (b.received === 0) throw this.io.silentError('samples', stallMs);
    if (stalled) {
      throw new HilError(`stopped streaming during the capture (no sample for over ${stallMs} ms, ${b.received} received); USB contention or a hung instrument`, this.description);
    }
    if (this.rest.length > 0) b.notes.push(`${this.rest.length} trailing bytes of a partial word dropped at stop`);
    return b.build();
  }

  async close(): Promise<void> {
    if (this.io.isOpen) {
      try {
        if (this.capturing) await this.io.write(Buffer.from([PPK2.AVERAGE_STOP]), 'average stop (0x07)');
      } catch {
        // closing anyway
      }
    }
    this.capturing = false;
    await this.io.close();
  }

  private onBytes(chunk: Buffer): void {
    if (this.metaDone) {
      this.meta += chunk.toString('latin1');
      if (/(^|\n)END\s*$/.test(this.meta) || /(^|\n)END\r?\n/.test(this.meta)) this.metaDone();
      return;
    }
    const b = this.builder;
    if (!b || !this.capturing || !this.cal) return; // bytes outside a capture are a stopping stream's tail
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const whole = data.length - (data.length % 4);
    for (let off = 0; off < whole; off += 4) {
      const w = decodeWord(data.readUInt32LE(off));
      if (this.expected !== undefined) b.gap((w.counter - this.expected + PPK2.COUNTER_MOD) % PPK2.COUNTER_MOD);
      this.expected = (w.counter + 1) % PPK2.COUNTER_MOD;
      const amps = wordCurrent(this.cal, w.range, w.adc, this.vddV);
      b.sample(amps, wordLsb(this.cal, w.range, w.adc), ((w.logic >> this.markerBit) & 1) === 1);
    }
    this.rest = Buffer.from(data.subarray(whole));
  }
}
