/**
 * An INA226 read by a small helper MCU that speaks this line protocol (ours, version 1) over a
 * serial port. Lines end in "\n" both ways; numbers are decimal.
 *
 *   host -> bridge                 bridge -> host
 *   H                              INA226 v1 shunt_ohm=<f> shunt_lsb_uV=2.5 bus_lsb_mV=1.25 max_hz=<n>
 *   S <interval_us>                OK S <interval_us>, then one data line per conversion:
 *                                  D <seq>,<t_us>,<bus_raw>,<shunt_raw>,<marker>
 *   X                              OK X <samples_sent>   (after the last data line)
 *   anything else / bad argument   E <reason>
 *
 *  seq       0..65535, +1 per conversion, wraps; a jump means lines were lost there
 *  t_us      the bridge's microsecond clock at the end of the conversion (uint32, wraps)
 *  bus_raw   INA226 bus-voltage register, x bus_lsb_mV
 *  shunt_raw INA226 shunt-voltage register (signed 16 bit), x shunt_lsb_uV; I = V_shunt / shunt_ohm
 *  marker    0|1, the GPIO marker level the bridge read at the conversion
 *
 * The INA226 averages over its conversion time (140 us - 8.2 ms), so it suits regions of
 * several ms; single sub-ms inferences need the PPK2 or LPM01A.
 */
import type { Capture, PowerMonitor, PowerMonitorConfig } from '../capabilities/power-monitor.js';
import { HilError } from '../util/errors.js';
import { CaptureBuilder } from './capture-builder.js';
import { InstrumentPort, type PortFactory } from './instrument-port.js';

export interface Ina226Hello {
  shunt_ohm: number;
  shunt_lsb_uV: number;
  bus_lsb_mV: number;
  max_hz: number;
}

export function parseHello(line: string, where: string): Ina226Hello {
  const m = /^INA226\s+v(\d+)\s+(.*)$/.exec(line.trim());
  if (!m) throw new HilError(`not an INA226 bridge hello: "${line}"`, where);
  if (m[1] !== '1') throw new HilError(`bridge speaks protocol v${m[1]}, this harness v1`, where);
  const kv = Object.fromEntries(m[2].split(/\s+/).map((p) => p.split('=') as [string, string]));
  const num = (k: keyof Ina226Hello) => {
    const v = Number(kv[k]);
    if (!Number.isFinite(v) || v <= 0) throw new HilError(`hello lacks a positive ${k}: "${line}"`, where);
    return v;
  };
  return { shunt_ohm: num('shunt_ohm'), shunt_lsb_uV: num('shunt_lsb_uV'), bus_lsb_mV: num('bus_lsb_mV'), max_hz: num('max_hz') };
}

export interface Ina226Options {
  port: string;
  portFactory?: PortFactory;
  baudRate?: number;
  replyTimeoutMs?: number;
}

const SEQ_MOD = 65536;
const DATA = /^D\s+(\d+),(\d+),(\d+),(-?\d+),([01])\s*$/;

export class Ina226Monitor implements PowerMonitor {
  readonly instrument = 'ina226';
  readonly description: string;
  private readonly io: InstrumentPort;
  private hello?: Ina226Hello;
  private intervalUs = 1000;
  private vddV = 0;
  private builder?: CaptureBuilder;
  private expected?: number;
  private malformed = 0;
  private capturing = false;

  constructor(private readonly options: Ina226Options) {
    this.io = new InstrumentPort('ina226', { path: options.port, baudRate: options.baudRate ?? 115200 }, options.portFactory);
    this.description = this.io.where;
  }

  private get timeout(): number {
    return this.options.replyTimeoutMs ?? 2000;
  }

  async open(): Promise<void> {
    await this.io.open();
    this.io.onLine((line) => this.onLine(line));
    try {
      await this.io.write('H\n', 'H');
      this.hello = parseHello(await this.io.waitForLine((l) => /^INA226\b/.test(l) || /^E\b/.test(l), this.timeout, 'hello'), this.description);
    } catch (e) {
      await this.io.close();
      throw e;
    }
  }

  async configure(config: PowerMonitorConfig): Promise<void> {
    const h = this.hello;
    if (!h) throw new HilError('configure() before open()', this.description);
    const hz = config.sample_hz ?? 1000;
    if (hz > h.max_hz) throw new HilError(`${hz} Hz is faster than the bridge's ${h.max_hz} Hz`, `${this.description}: power.sample_hz`);
    if (config.marker !== undefined && config.marker.toLowerCase() !== 'marker') {
      // the bridge has one marker input; accept its name or nothing
      throw new HilError(`marker "${config.marker}": the INA226 bridge has one input, called "marker"`, `${this.description}: power.marker`);
    }
    this.intervalUs = Math.round(1e6 / hz);
    this.vddV = config.voltage_mv / 1000;
  }

  async startCapture(): Promise<void> {
    const h = this.hello;
    if (!h) throw new HilError('startCapture() before open()', this.description);
    this.builder = new CaptureBuilder(
      { instrument: this.instrument, description: this.description, sample_period_s: this.intervalUs / 1e6, supply_v: this.vddV, marker_mode: 'level' },
      true,
    );
    this.expected = undefined;
    this.malformed = 0;
    this.capturing = true;
    await this.io.write(`S ${this.intervalUs}\n`, `S ${this.intervalUs}`);
    const ok = await this.io.waitForLine((l) => /^(OK S|E)\b/.test(l), this.timeout, 'OK S');
    if (ok.startsWith('E')) throw new HilError(`bridge refused "S ${this.intervalUs}": ${ok.slice(1).trim()}`, this.description);
  }

  async stopCapture(): Promise<Capture> {
    const b = this.builder;
    if (!b) throw new HilError('stopCapture() without startCapture()', this.description);
    await this.io.write('X\n', 'X');
    const ok = await this.io.waitForLine((l) => /^(OK X|E)\b/.test(l), this.timeout, 'OK X');
    this.capturing = false;
    this.builder = undefined;
    const sent = Number(/^OK X\s+(\d+)/.exec(ok)?.[1] ?? NaN);
    // lines lost after the last one received show only in the bridge's count
    const tail = sent - (b.received + b.lost);
    if (Number.isFinite(tail) && tail > 0) b.gap(tail);
    if (this.malformed > 0) b.notes.push(`${this.malformed} malformed data lines (counted as lost through the sequence numbers)`);
    if (b.received === 0) throw this.io.silentError('samples', this.timeout);
    return b.build();
  }

  async close(): Promise<void> {
    if (this.io.isOpen && this.capturing) {
      await this.io.write('X\n', 'X').catch(() => undefined);
    }
    this.capturing = false;
    await this.io.close();
  }

  private onLine(line: string): void {
    const b = this.builder;
    const h = this.hello;
    if (!b || !h || !this.capturing) return;
    const m = DATA.exec(line);
    if (!m) {
      this.malformed++; // its sequence number is missing too, so the next good line reports it as lost
      return;
    }
    const seq = Number(m[1]);
    if (this.expected !== undefined) b.gap((seq - this.expected + SEQ_MOD) % SEQ_MOD);
    this.expected = (seq + 1) % SEQ_MOD;
    const amps = (Number(m[4]) * h.shunt_lsb_uV * 1e-6) / h.shunt_ohm;
    const volts = (Number(m[3]) * h.bus_lsb_mV) / 1000;
    b.sample(amps, (h.shunt_lsb_uV * 1e-6) / h.shunt_ohm, m[5] === '1', volts);
  }
}
