/**
 * What experiments need of a device, whatever protocol it speaks (ours, `yono`, or another
 * front end): the handshake, model choice, inputs in, predictions and timed runs out. Each
 * protocol driver (protocol/<name>/) implements it over a plain byte link.
 */
import type { ActivitySource } from '../capabilities/device-activity.js';
import { HilError } from '../util/errors.js';

export interface DeviceModelInfo {
  id: number;
  name: string;
  input: number[];
  input_bytes: number;
  classes: number;
  hash: string;
}

export interface DeviceHello {
  /** the yono protocol version (firmware/SPEC.md); 0 from a driver of another protocol (mlperf-tiny) */
  proto: number;
  /** the firmware's build hash; '' when the protocol cannot report one (mlperf-tiny) */
  build: string;
  board: string;
  core: string;
  clock_hz: number;
  timer: string;
  timer_hz: number;
  max_payload: number;
  input_buffer: number;
  /** int8 | pq | int8-ext (proto 3) */
  variant: string;
  /** bytes of the external model image the firmware expects, 0 if none (proto 3) */
  ext_storage: number;
  models: DeviceModelInfo[];
  /** bytes of the region QEMU's loader can fill with test inputs, 0 if none (proto 4) */
  preload?: number;
  preload_base?: number;
  /** an MLPerf Tiny device's own words: m-name-<dut>-[<vendor>] and the profile tag of profile% */
  mlperf?: { dut: string; vendor: string; profile: string };
}

/** A SELECT reply (firmware/SPEC.md section 1): totals over `repeat` switches. */
export interface SelectResult {
  model: number;
  repeat: number;
  ticks: number;
  storage_ticks: number;
  storage_bytes: number;
  storage_reads: number;
}

export interface InferResult {
  model: number;
  predicted: number;
  /** int8 logits; empty when the protocol carries none (mlperf-tiny: see `scores`) */
  logits: Int8Array;
  /** the device's score vector as printed (mlperf-tiny m-results), when the protocol has one */
  scores?: number[];
  /** Timer ticks of each timed run. */
  ticks: number[];
}

/** The link's health as the driver saw it; reaches run.json and the summary. */
export interface ProtocolStats {
  commands: number;
  /** commands sent again (timeout, corrupted reply, refused input) */
  resends: number;
  /** frames or lines from the device that could not be decoded */
  badFrames: number;
  /** the device's reports of a corrupted command (each answered by an immediate re-send) */
  naks: number;
  /** replies waited out to the end of the reply timeout */
  timeouts: number;
  /** inputs uploaded again, one at a time, after the pipelined path failed */
  recoveries: number;
}

export const NO_TRAFFIC: ProtocolStats = { commands: 0, resends: 0, badFrames: 0, naks: 0, timeouts: 0, recoveries: 0 };

/**
 * The link failed, not the command: the device stopped answering or the link closed. A run may
 * reset the device and go on from the first unfinished sample.
 */
export class LinkFault extends HilError {}

/** What the harness expects to find on the device; a mismatch refuses the run. */
export interface ExpectedFirmware {
  build: string;
  board: string;
  models: { name: string; hash: string }[];
}

export interface DeviceProtocol extends ActivitySource {
  /** `yono` (firmware/SPEC.md) or the name of another front end */
  readonly protocol: string;
  readonly stats: ProtocolStats;
  /** Handshake, retried while the device boots (up to `totalMs`). */
  hello(totalMs?: number): Promise<DeviceHello>;
  /** Makes `model` the active one, `repeat` times inside one marker window. */
  select(model: number, repeat?: number, timeoutMs?: number): Promise<SelectResult>;
  /** Puts one input into the device's input buffer (acknowledged). */
  upload(input: Uint8Array | Int8Array): Promise<void>;
  /** `warmup` untimed then `runs` timed inferences of `model` on the uploaded input. */
  infer(model: number, runs?: number, warmup?: number, timeoutMs?: number): Promise<InferResult>;
  /** One input, one inference, as fast as the protocol allows (may pipeline with the next call). */
  classify(model: number, input: Uint8Array | Int8Array): Promise<InferResult>;
  /**
   * Runs `count` consecutive inputs the device holds in memory, from byte `offset` of its preload
   * region; per sample the prediction and the CRC-32 of the bytes it read (so the host can prove
   * they were the right ones). Only drivers and devices that have a preload region.
   */
  runPreloaded?(model: number, offset: number, count: number, withLogits: boolean, timeoutMs?: number): Promise<PreloadedResult[]>;
  /**
   * The whole output vector (`n` int8 values) of the device's last inference, read in slices of at
   * most one frame (proto 7 READ_OUTPUT): a vector of any length. Only drivers that can.
   */
  readOutputs?(n: number): Promise<Int8Array>;
  /** CRC-32 (zlib) of `length` bytes of the preload region from `offset`, as the device reads them. */
  preloadCrc?(offset: number, length: number, timeoutMs?: number): Promise<number>;
}

/** Reply bytes per preloaded sample without its outputs (yono proto 7: u16 predicted, u32 input CRC,
 * u32 output CRC): how many samples one reply frame can carry. */
export const PRELOADED_ENTRY = 10;

export interface PreloadedResult {
  predicted: number;
  /** CRC-32 (zlib) of the input bytes the device read */
  crc: number;
  /** CRC-32 (zlib) of the sample's whole int8 output vector (proto 7) */
  outputCrc: number;
  logits?: Int8Array;
}

/** Refuses a device whose firmware is not the one the harness built, and says why. */
export function checkFirmware(hello: DeviceHello, expected: ExpectedFirmware, where: string): void {
  const problems: string[] = [];
  if (hello.build !== expected.build) problems.push(`build hash ${hello.build} != expected ${expected.build}`);
  if (hello.board !== expected.board) problems.push(`board ${hello.board} != rig board ${expected.board}`);
  for (const m of expected.models) {
    const found = hello.models.find((d) => d.name === m.name);
    if (!found) problems.push(`model ${m.name} missing on the device`);
    else if (found.hash !== m.hash) problems.push(`model ${m.name} hash ${found.hash} != expected ${m.hash}`);
  }
  if (problems.length > 0) {
    throw new HilError(`firmware does not match what the harness built: ${problems.join('; ')}`, where);
  }
}
