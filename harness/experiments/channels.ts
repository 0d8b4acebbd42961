/**
 * How a session's device activity becomes time and energy figures: one "channel" per storage
 * the figures are about. A real board has one channel whose figures are measured (DWT cycles, a
 * power instrument). An emulated baseline has one channel per storage model in the rig file
 * (SD over SPI, QSPI NOR, ...): the same device run, costed with each part's model, so both
 * reductions come from one run. An in-memory variant has one channel, `internal-flash`.
 * Experiments use channels and never ask which kind they have.
 */
import type { Capture, PowerMonitor } from '../capabilities/power-monitor.js';
import { summarizeWindows, windowEnergies, type EnergyRow, type WindowEnergy } from '../power/energy.js';
import { describeStorage, findStorage, storageSeconds } from '../estimate/storage-model.js';
import { createPowerMonitor, powerConfig } from '../power/factory.js';
import type { SelectResult } from '../protocol/device.js';
import type { ExperimentContext } from './context.js';
import type { FigureSource } from '../capabilities/figures.js';

export const INTERNAL_FLASH = 'internal-flash';
/** Time a measured channel's instrument gets to start streaming before the action runs, and to deliver the last samples after it, ms. */
export const MEASURED_CAPTURE_LEAD_MS = 100;

export interface MeasureChannel {
  /** `internal-flash` or the storage model's name */
  storage: string;
  /** one line for run.json and the summary */
  description: string;
  source: FigureSource;
  /** the energy source; undefined when the rig has none (energy columns stay empty) */
  monitor?: PowerMonitor;
  /** seconds of device timer ticks (CPU only) */
  seconds(ticks: number): number;
  /** seconds of a whole SELECT reply (all its repeats), storage included */
  switchSeconds(r: SelectResult): number;
  /** called with every capture this channel's monitor takes (the run keeps a measured channel's raw captures) */
  keep?: (capture: Capture) => void;
}

/** Opens the channels for a session holding `external` models or not; close them with closeChannels. */
export async function openChannels(ctx: ExperimentContext, external: boolean): Promise<MeasureChannel[]> {
  const { rig, device: client } = ctx.session;
  const ticks = ctx.session.ticks;
  const seconds = (t: number): number => ticks.ms(t) / 1000;
  const channels: MeasureChannel[] = [];
  if (ctx.session.dut.figures === 'measured') {
    // measured: the DWT counter sees the real storage; the rig's storage entry only labels it
    const storage = external ? (rig.storage?.[0]?.name ?? 'external') : INTERNAL_FLASH;
    channels.push({
      storage,
      description: `${storage}: measured (${ticks.description})`,
      source: 'measured',
      monitor: createPowerMonitor(rig),
      seconds,
      switchSeconds: (r) => seconds(r.ticks),
    });
  } else {
    const models = external ? (rig.storage ?? []).map((s) => s.name) : [undefined];
    if (models.length === 0) findStorage(rig); // one clear error: an emulated baseline needs a storage model
    for (const name of models) {
      const model = name === undefined ? undefined : findStorage(rig, name);
      const monitor = rig.power ? createPowerMonitor(rig, { activity: client, secondsOfTicks: seconds, storage: name }) : undefined;
      channels.push({
        storage: name ?? INTERNAL_FLASH,
        description: `${model ? describeStorage(model) : INTERNAL_FLASH}; CPU ${ticks.description}`,
        source: 'emulated-estimate',
        monitor,
        seconds,
        // the driver's own ticks are a memcpy from emulator RAM: replaced by the part's model
        switchSeconds: (r) => seconds(r.ticks - r.storage_ticks) + (model ? storageSeconds(model, r.storage_bytes, r.storage_reads) : seconds(r.storage_ticks)),
      });
    }
  }
  for (const c of channels) {
    if (!c.monitor) continue;
    await c.monitor.open();
    const config = powerConfig(rig);
    if (config) await c.monitor.configure(config);
  }
  return channels;
}

export async function closeChannels(channels: MeasureChannel[]): Promise<void> {
  for (const c of channels) await c.monitor?.close();
}

/** Runs `action` with every channel's monitor capturing; returns each channel's marked windows. */
export async function measure<T>(channels: MeasureChannel[], action: () => Promise<T>): Promise<{ result: T; windows: (WindowEnergy[] | undefined)[]; captures: (Capture | undefined)[] }> {
  for (const c of channels) await c.monitor?.startCapture();
  // A real instrument's startCapture() returns once its start command is written (the PPK2 does
  // not acknowledge 0x06), before the first sample is taken: a marker region the device opens
  // sooner is lost, and the capture holds one window fewer. Give the stream a lead (the emulated
  // model builds its timeline from the replies and needs none).
  if (channels.some((c) => c.monitor && c.source === 'measured')) await new Promise((r) => setTimeout(r, MEASURED_CAPTURE_LEAD_MS));
  let result: T;
  let captures: (Capture | undefined)[] = [];
  try {
    result = await action();
    // the samples of the last region are still on their way (instrument buffer, USB) when the
    // device's reply arrives; the drivers' stop only drains a short quiet period after it
    if (channels.some((c) => c.monitor && c.source === 'measured')) await new Promise((r) => setTimeout(r, MEASURED_CAPTURE_LEAD_MS));
  } finally {
    // always stop, so an error in the action leaves no instrument streaming
    captures = await Promise.all(channels.map((c) => c.monitor?.stopCapture()));
    captures.forEach((c, i) => c && channels[i].keep?.(c));
  }
  return { result, windows: captures.map((c) => (c ? windowEnergies(c) : undefined)), captures };
}

/** Windows of one kind (e.g. every switch into model j) gathered over many captures of one channel. */
export class WindowBag {
  readonly windows: WindowEnergy[] = [];
  private received = 0;
  private lost = 0;
  private capture?: Capture;

  add(windows: WindowEnergy[], capture: Capture): void {
    this.windows.push(...windows);
    this.received += capture.received_samples;
    this.lost += capture.lost_samples;
    this.capture = capture;
  }

  /** undefined when nothing was captured (a rig without a power source) */
  row(source: EnergyRow['source']): EnergyRow | undefined {
    if (!this.capture) return undefined;
    return summarizeWindows(this.windows, { ...this.capture, received_samples: this.received, lost_samples: this.lost }, source);
  }
}
