/**
 * A PPK2 that speaks the binary protocol byte for byte: answers 0x19 with a calibration block
 * ending in END, takes 0x11/0x0d/0x0c, and on 0x06 streams 4-byte little-endian words (ADC,
 * range, rolling counter, logic inputs) until 0x07: either a known waveform, or (option
 * `device`) what a board running the real firmware draws, region by region as the device
 * reports its activity (see device-drive.ts). It can drop words (the counter still advances, as
 * on a real USB loss), stop streaming, or never answer.
 */
import { PPK2, encodeWord, type Ppk2Calibration } from '../../harness/power/ppk2.js';
import type { DeviceDrive } from './device-drive.js';
import type { Waveform } from './waveform.js';
import { SimPort, delay } from './sim-port.js';

/** Plausible, deliberately non-trivial calibration: offsets, gains and a quadratic term per range. */
export const SIM_CAL: Ppk2Calibration = {
  R: [1031.64, 101.65, 10.15, 0.94, 0.043],
  GS: [0, 0.3, 0.5, 0.2, 0.05],
  GI: [1.0, 0.985, 1.012, 0.998, 1.003],
  O: [112.3, 76.1, 65.2, 54.9, 48.0],
  S: [0, 1e-7, -2e-7, 1e-6, 2e-5],
  I: [0, -1.1e-7, 3e-7, -2e-6, 1e-5],
  UG: [1, 1, 1.002, 1, 1],
};

export function metadataText(cal: Ppk2Calibration, vddMv: number): string {
  const lines = ['Calibrated: 0'];
  for (const key of ['R', 'GS', 'GI', 'O', 'S', 'I', 'UG'] as const) cal[key].forEach((v, r) => lines.push(`${key}${r}: ${v}`));
  lines.push(`VDD: ${vddMv}`, 'HW: 9173', 'mode: 2', 'IA: 56', 'END', '');
  return lines.join('\n');
}

/** The inverse of the driver's per-range formula: the (range, adc) a real PPK2 would report. */
export function encodeCurrent(cal: Ppk2Calibration, amps: number, vddV: number): { range: number; adc: number } {
  for (let r = 0; r < 5; r++) {
    const y = amps / cal.UG[r] - cal.S[r] * vddV - cal.I[r];
    const x = cal.GS[r] === 0 ? y / cal.GI[r] : (-cal.GI[r] + Math.sqrt(cal.GI[r] ** 2 + 4 * cal.GS[r] * y)) / (2 * cal.GS[r]);
    const adc = Math.round((x * cal.R[r]) / PPK2.ADC_MULT / 4 + cal.O[r] / 4);
    if (adc >= 0 && adc <= 16383 * 0.95) return { range: r, adc }; // auto-ranging keeps headroom
  }
  return { range: 4, adc: 16383 };
}

/**
 * One word as the PPK2 sends it: the current auto-ranged and quantised, the rolling counter of
 * sample `index`, the marker on logic input `markerBit`; D3 is held high (unless it carries the
 * marker) to prove the driver masks the marker bit out of the logic byte.
 */
export function simWord(amps: number, marker: boolean, index: number, markerBit: number, vddV: number): number {
  const { range, adc } = encodeCurrent(SIM_CAL, amps, vddV);
  const logic = (marker ? 1 << markerBit : 0) | (markerBit === 3 ? 0 : 1 << 3);
  return encodeWord({ adc, range, counter: index % PPK2.COUNTER_MOD, logic });
}

export interface Ppk2SimOptions {
  /** the prerecorded waveform (or `device`) */
  waveform?: Waveform;
  /** play what the device does instead of a waveform */
  device?: DeviceDrive;
  /** device mode: idle words streamed every 5 ms between activities (default 20; the real 100 kS/s is not needed) */
  idleWords?: number;
  /** logic input carrying the marker */
  markerBit?: number;
  /** waveform sample indices where `count` words are dropped */
  drops?: { at: number; count: number }[];
  /** answers nothing at all */
  silent?: boolean;
  /** stops streaming after this many words (a hung instrument) */
  stallAfter?: number;
  /** words per write */
  chunk?: number;
}

export class Ppk2Sim {
  readonly commands: number[][] = [];
  vddMv = 3300;
  played: Promise<void>;
  private donePlaying!: () => void;
  private streaming = false;
  private pending = Buffer.alloc(0);
  private idleTimer?: NodeJS.Timeout;
  private readonly port: SimPort;

  constructor(path: string, private readonly options: Ppk2SimOptions) {
    this.port = new SimPort(path);
    this.played = new Promise((r) => (this.donePlaying = r));
  }

  open(): Promise<void> {
    return this.port.open((chunk) => this.onBytes(chunk));
  }

  close(): Promise<void> {
    this.stopStreaming();
    return this.port.close();
  }

  private stopStreaming(): void {
    this.streaming = false;
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    this.options.device?.disarm();
  }

  private onBytes(chunk: Buffer): void {
    if (this.options.silent) return;
    this.pending = Buffer.concat([this.pending, chunk]);
    // argument counts of the opcodes the driver sends; unknown opcodes are taken as one byte
    const len: Record<number, number> = { [PPK2.SET_POWER_MODE]: 2, [PPK2.REGULATOR_SET]: 3, [PPK2.DEVICE_RUNNING_SET]: 2 };
    while (this.pending.length > 0) {
      const n = len[this.pending[0]] ?? 1;
      if (this.pending.length < n) return;
      const cmd = [...this.pending.subarray(0, n)];
      this.pending = this.pending.subarray(n);
      this.commands.push(cmd);
      this.handle(cmd);
    }
  }

  private handle(cmd: number[]): void {
    switch (cmd[0]) {
      case PPK2.GET_META_DATA:
        void this.port.write(metadataText(SIM_CAL, this.vddMv));
        break;
      case PPK2.REGULATOR_SET:
        this.vddMv = (cmd[1] << 8) | cmd[2];
        break;
      case PPK2.AVERAGE_START:
        if (this.streaming) break;
        if (this.options.device) this.streamDevice(this.options.device);
        else void this.stream();
        break;
      case PPK2.AVERAGE_STOP:
        this.stopStreaming();
        break;
    }
  }

  /** Device mode: idle words on a timer, each reported region's words the moment it is reported. */
  private streamDevice(device: DeviceDrive): void {
    this.streaming = true;
    const { markerBit = 0, idleWords = 20 } = this.options;
    const vddV = this.vddMv / 1000;
    let i = 0;
    let inFlight = 0;
    device.arm(PPK2.SAMPLE_HZ, vddV, (b) => {
      const buf = Buffer.alloc(b.current_a.length * 4);
      let k = 0;
      for (let j = 0; j < b.current_a.length; j++, i++) {
        if (b.drop[j]) continue; // the counter advances over the lost words
        buf.writeUInt32LE(simWord(b.current_a[j], b.marker[j] === 1, i, markerBit, vddV), 4 * k++);
      }
      // written in the order the samples were made (the port queues writes)
      if (k > 0) {
        inFlight++;
        void this.port.write(buf.subarray(0, 4 * k)).then(() => inFlight--);
      }
    });
    // idle only once the previous words have left: a loaded host must not pile up a backlog
    this.idleTimer = setInterval(() => inFlight === 0 && device.idle(idleWords), 5);
  }

  private async stream(): Promise<void> {
    this.streaming = true;
    const { markerBit = 0, drops = [], chunk = 1000, stallAfter = Infinity } = this.options;
    const w = this.options.waveform;
    if (!w) throw new Error('Ppk2Sim: neither waveform nor device given');
    const vddV = this.vddMv / 1000;
    const dropped = new Uint8Array(w.current_a.length);
    for (const d of drops) dropped.fill(1, d.at, d.at + d.count);
    let i = 0;
    let sent = 0;
    while (this.streaming) {
      const buf = Buffer.alloc(chunk * 4);
      let k = 0;
      for (let j = 0; j < chunk; j++, i++) {
        if (i < w.current_a.length && dropped[i]) continue;
        if (sent >= stallAfter) break;
        const inWave = i < w.current_a.length;
        buf.writeUInt32LE(simWord(inWave ? w.current_a[i] : w.spec.idle_a, inWave && w.marker[i] === 1, i, markerBit, vddV), k * 4);
        k++;
        sent++;
      }
      if (k > 0) await this.port.write(buf.subarray(0, k * 4));
      if (i >= w.current_a.length) this.donePlaying();
      if (sent >= stallAfter) {
        this.donePlaying();
        return; // hung: never another byte
      }
      await delay(i >= w.current_a.length ? 10 : 1);
    }
  }
}
