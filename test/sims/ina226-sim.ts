/**
 * An INA226 bridge speaking our line protocol v1 (see harness/power/ina226.ts): hello, S/X, and
 * `D seq,t_us,bus_raw,shunt_raw,marker` lines of a known waveform. Registers are quantised as
 * the chip does (shunt 2.5 uV, bus 1.25 mV). It can drop lines, garble lines, or go silent.
 */
import type { Waveform } from './waveform.js';
import { SimPort, delay, lineSplitter } from './sim-port.js';

export const SHUNT_OHM = 0.1;
export const SHUNT_LSB_UV = 2.5;
export const BUS_LSB_MV = 1.25;

export interface Ina226SimOptions {
  waveform: Waveform;
  bus_mv: number;
  /** small series drop per ampere on the bus (shows the driver uses measured, not nominal, volts) */
  droop_ohm?: number;
  drops?: number[];
  garble?: number[];
  silent?: boolean;
  chunk?: number;
}

export class Ina226Sim {
  readonly received: string[] = [];
  played: Promise<void>;
  private donePlaying!: () => void;
  private streaming = false;
  private sent = 0;
  private readonly port: SimPort;

  constructor(path: string, private readonly options: Ina226SimOptions) {
    this.port = new SimPort(path);
    this.played = new Promise((r) => (this.donePlaying = r));
  }

  open(): Promise<void> {
    return this.port.open(lineSplitter((line) => this.onLine(line)));
  }

  close(): Promise<void> {
    this.streaming = false;
    return this.port.close();
  }

  /** Bus volts the bridge reports for a given current (quantised to the register). */
  busVolts(amps: number): number {
    const v = this.options.bus_mv / 1000 - amps * (this.options.droop_ohm ?? 0);
    return (Math.round((v * 1000) / BUS_LSB_MV) * BUS_LSB_MV) / 1000;
  }

  private onLine(line: string): void {
    this.received.push(line);
    if (this.options.silent) return;
    const [cmd, arg] = line.split(/\s+/);
    if (cmd === 'H') void this.port.write(`INA226 v1 shunt_ohm=${SHUNT_OHM} shunt_lsb_uV=${SHUNT_LSB_UV} bus_lsb_mV=${BUS_LSB_MV} max_hz=4000\n`);
    else if (cmd === 'S' && Number(arg) >= 250) {
      void this.port.write(`OK S ${arg}\n`);
      if (!this.streaming) void this.stream(Number(arg));
    } else if (cmd === 'X') {
      this.streaming = false;
      void this.port.write(`OK X ${this.sent}\n`);
    } else void this.port.write(`E bad command "${line}"\n`);
  }

  private async stream(intervalUs: number): Promise<void> {
    this.streaming = true;
    const { waveform: w, drops = [], garble = [], chunk = 50 } = this.options;
    const dropSet = new Set(drops);
    const garbleSet = new Set(garble);
    let i = 0;
    while (this.streaming) {
      let out = '';
      for (let j = 0; j < chunk; j++, i++) {
        const inWave = i < w.current_a.length;
        const amps = inWave ? w.current_a[i] : w.spec.idle_a;
        const shunt = Math.round((amps * SHUNT_OHM * 1e6) / SHUNT_LSB_UV);
        const bus = Math.round((this.busVolts(amps) * 1000) / BUS_LSB_MV);
        const line = `D ${i % 65536},${(i * intervalUs) >>> 0},${bus},${shunt},${inWave && w.marker[i] ? 1 : 0}\n`;
        this.sent++;
        if (dropSet.has(i)) continue;
        out += garbleSet.has(i) ? `D ${i % 65536},${i * intervalUs},12\n` : line;
      }
      await this.port.write(out);
      if (i >= w.current_a.length) this.donePlaying();
      await delay(i >= w.current_a.length ? 10 : 1);
    }
  }
}
