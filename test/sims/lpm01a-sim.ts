/**
 * An LPM01A (PowerShield) that speaks its text protocol: `ack <cmd>` / `error <cmd>` +
 * `Error detail:` behind the `PowerShield > ` prompt, and after `start` a stream of ascii_dec
 * sample lines ("MMMM-EE"), `TimeStamp: Ns Mms, buff NN%` lines and `event N fal` lines at the
 * marker pulses (MLPerf Tiny convention: a falling edge at the start and at the end of each
 * region). It can drop sample lines, garble lines, go silent after some commands.
 *
 * With option `device` it plays what a board running the real firmware draws (device-drive.ts):
 * idle samples on a timer, each region the device reports the moment it is reported, an
 * `event <n> fal` line at every region boundary (the firmware's MARKER=pulse: one falling edge at
 * the start and one at the end of each region, even of a region shorter than one sample) and a
 * TimeStamp line every `stampEvery` samples of the simulated time base. Samples the drive drops
 * are simply not sent (the driver finds them at the next TimeStamp); `dropEvents` loses event
 * lines (a pulse the instrument missed).
 */
import type { DeviceDrive } from './device-drive.js';
import type { Waveform } from './waveform.js';
import { SimPort, delay, lineSplitter } from './sim-port.js';

/** 4 significant digits, as the instrument prints them: 0.018 -> "1800-05". */
export function formatAsciiDec(amps: number): string {
  let exp = Math.floor(Math.log10(amps)) - 3;
  let mant = Math.round(amps / 10 ** exp);
  if (mant >= 10000) {
    exp += 1;
    mant = Math.round(amps / 10 ** exp);
  }
  const sign = exp < 0 ? '-' : '+';
  return `${mant}${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
}

export interface Lpm01aSimOptions {
  /** the prerecorded waveform (or `device`) */
  waveform?: Waveform;
  /** play what the device does instead of a waveform */
  device?: DeviceDrive;
  /** device mode: event lines not sent, by played window (PlayedWindow.n) and boundary */
  dropEvents?: { window: number; edge: 'start' | 'end' }[];
  /** device mode: idle samples streamed every 5 ms between activities (default: 5 ms worth at the rate) */
  idleSamples?: number;
  /** waveform sample indices whose lines are not sent */
  drops?: number[];
  /** waveform sample indices whose line arrives truncated ("6409-0") */
  garble?: number[];
  /** noise lines injected before these sample indices (not samples) */
  noise?: number[];
  /** a TimeStamp line every this many samples */
  stampEvery?: number;
  /** answers this many commands, then nothing */
  silentAfter?: number;
  /** lines per write */
  chunk?: number;
}

const FREQ_OK = new Set(['100k', '50k', '20k', '10k', '5k', '2k', '1k', '500', '200', '100', '50', '20', '10', '5', '2', '1']);

export class Lpm01aSim {
  readonly received: string[] = [];
  freqHz = 100;
  played: Promise<void>;
  private donePlaying!: () => void;
  private streaming = false;
  private idleTimer?: NodeJS.Timeout;
  private voltMv = 3300;
  private readonly port: SimPort;

  constructor(path: string, private readonly options: Lpm01aSimOptions) {
    this.port = new SimPort(path, 3_686_400);
    this.played = new Promise((r) => (this.donePlaying = r));
  }

  open(): Promise<void> {
    return this.port.open(lineSplitter((line) => this.onLine(line)));
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

  private reply(text: string): void {
    void this.port.write(`PowerShield > ${text}\r\n`);
  }

  private onLine(line: string): void {
    this.received.push(line);
    if (this.options.silentAfter !== undefined && this.received.length > this.options.silentAfter) return;
    const [verb, ...args] = line.split(/\s+/);
    const arg = args.join(' ');
    const ok = () => this.reply(`ack ${line}`);
    const bad = (detail: string) => {
      this.reply(`error ${line}`);
      this.reply(`Error detail: ${detail}`);
    };
    switch (verb) {
      case 'htc':
      case 'hrc':
      case 'output':
      case 'format':
      case 'trigsrc':
      case 'eventsrc':
      case 'acqtime':
      case 'pwr':
        return ok();
      case 'volt': {
        const mv = /^(\d+)m$/.exec(arg);
        if (!mv || Number(mv[1]) < 1800 || Number(mv[1]) > 3300) return bad('voltage out of range [1800m; 3300m]');
        this.voltMv = Number(mv[1]);
        return ok();
      }
      case 'freq':
        if (!FREQ_OK.has(arg)) return bad('invalid sampling frequency');
        this.freqHz = arg.endsWith('k') ? Number(arg.slice(0, -1)) * 1000 : Number(arg);
        return ok();
      case 'start':
        ok();
        if (this.streaming) return;
        if (this.options.device) this.streamDevice(this.options.device);
        else void this.stream();
        return;
      case 'stop':
        // lines already queued on the port leave before the ack (writes are queued in order)
        this.stopStreaming();
        this.reply('ack stop');
        this.reply('Acquisition completed');
        return;
      default:
        return bad(`unknown command '${verb}'`);
    }
  }

  /** Device mode: idle samples on a timer, each reported region's samples and events the moment it is reported. */
  private streamDevice(device: DeviceDrive): void {
    this.streaming = true;
    const { stampEvery = 100, dropEvents = [], idleSamples = Math.max(1, Math.round(this.freqHz * 0.005)) } = this.options;
    const lostEvent = new Set(dropEvents.map((d) => `${d.window}/${d.edge}`));
    let i = 0;
    let events = 0;
    let inFlight = 0;
    device.arm(this.freqHz, this.voltMv / 1000, (b) => {
      let out = '';
      let e = 0;
      const eventsBefore = (j: number) => {
        for (; e < b.boundaries.length && b.boundaries[e].at <= j; e++) {
          const x = b.boundaries[e];
          if (!lostEvent.has(`${x.window}/${x.edge}`)) out += `event ${++events} fal\r\n`;
        }
      };
      for (let j = 0; j < b.current_a.length; j++, i++) {
        if (i > 0 && i % stampEvery === 0) {
          const ms = Math.round((i * 1000) / this.freqHz);
          out += `TimeStamp: ${Math.floor(ms / 1000)}s ${ms % 1000}ms, buff 00%\r\n`;
        }
        eventsBefore(j);
        if (!b.drop[j]) out += `${formatAsciiDec(b.current_a[j])}\r\n`;
      }
      eventsBefore(Infinity);
      if (out) {
        inFlight++;
        void this.port.write(out).then(() => inFlight--);
      }
    });
    // idle only once the previous lines have left: a loaded host must not pile up a backlog
    this.idleTimer = setInterval(() => inFlight === 0 && device.idle(idleSamples), 5);
  }

  private async stream(): Promise<void> {
    this.streaming = true;
    const { drops = [], garble = [], noise = [], stampEvery = 100, chunk = 200 } = this.options;
    const dropSet = new Set(drops);
    const garbleSet = new Set(garble);
    const noiseSet = new Set(noise);
    const w = this.options.waveform;
    if (!w) throw new Error('Lpm01aSim: neither waveform nor device given');
    const starts = new Set(w.regions.map((r) => r.start));
    const ends = new Set(w.regions.map((r) => r.end));
    let events = 0;
    let i = 0;
    while (this.streaming) {
      let out = '';
      for (let j = 0; j < chunk; j++, i++) {
        if (i > 0 && i % stampEvery === 0) {
          const ms = Math.round((i * 1000) / this.freqHz);
          out += `TimeStamp: ${Math.floor(ms / 1000)}s ${ms % 1000}ms, buff 00%\r\n`;
        }
        if (starts.has(i) || ends.has(i)) out += `event ${++events} fal\r\n`;
        if (noiseSet.has(i)) out += 'PowerShield > status ok\r\n';
        const amps = i < w.current_a.length ? w.current_a[i] : w.spec.idle_a;
        if (dropSet.has(i)) continue;
        out += garbleSet.has(i) ? '6409-0\r\n' : `${formatAsciiDec(amps)}\r\n`;
      }
      await this.port.write(out);
      if (i >= w.current_a.length) this.donePlaying();
      await delay(i >= w.current_a.length ? 20 : 1);
    }
  }
}
