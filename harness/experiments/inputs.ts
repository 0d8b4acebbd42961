/**
 * How test inputs reach the device for the accuracy experiment: streamed over the link (any
 * device), or preloaded into its memory before it started (emulated boards), run on a short
 * command. Both deliver every sample's prediction in order and honour `stop()` between samples.
 */
import { crc32 } from 'node:zlib';
import { PRELOADED_ENTRY, type DeviceProtocol, type InferResult } from '../protocol/device.js';
import type { PreloadBlock } from '../session/preload.js';

import { HilError } from '../util/errors.js';
import type { ExperimentContext } from './context.js';

/**
 * Classifies inputs first..count-1 with two samples in flight: input i+1 travels over the link
 * while input i is classified on the device. classify() writes all its frames when called, so
 * frames of different samples never interleave, and its input CRC protects against a stale
 * input. Results arrive in order; `stop()` is checked between samples.
 */
export async function classifyStream(
  client: DeviceProtocol,
  model: number,
  first: number,
  count: number,
  input: (i: number) => Int8Array,
  onResult: (i: number, result: InferResult) => void,
  stop: () => boolean = () => false,
): Promise<void> {
  const send = (i: number) => {
    const p = client.classify(model, input(i));
    p.catch(() => undefined); // awaited below; if an earlier sample fails first, this one is dropped, not unhandled
    return p;
  };
  let inFlight = first < count ? send(first) : undefined;
  for (let i = first; i < count && inFlight; i++) {
    const current = inFlight;
    inFlight = i + 1 < count && !stop() ? send(i + 1) : undefined;
    onResult(i, await current);
    if (stop()) {
      await inFlight?.catch(() => undefined);
      return;
    }
  }
}

/** Samples per RUN_PRELOADED: a few seconds of device work, and a reply well inside one frame. */
const PRELOAD_BATCH = 128;

/**
 * classifyStream's twin for inputs the device holds in memory: batches of samples run on a short
 * command, two batches in flight so the host reference overlaps the device. Each sample's CRC
 * proves the device read the host's bytes; a sample whose CRC differs is run again over the link
 * and reported, never classified from the wrong bytes. Each sample's output CRC (proto 7) is
 * compared with the CRC of `hostOutputs(i)`: equal, the device's vector is the host's (reported
 * as such; a CRC-32 collision has odds of 2^-32); different, the sample runs again alone and its
 * whole vector is read back (READ_OUTPUT), so every differing element is counted.
 */
export async function classifyPreloaded(
  ctx: ExperimentContext,
  block: PreloadBlock,
  model: number,
  first: number,
  count: number,
  input: (i: number) => Int8Array,
  hostOutputs: (i: number) => Int8Array,
  onResult: (i: number, result: { predicted: number; logits: Int8Array }) => void,
  stop: () => boolean,
): Promise<void> {
  const device = ctx.session.device;
  const run = device.runPreloaded?.bind(device);
  if (!run) throw new HilError('the device protocol cannot run preloaded inputs', ctx.session.dut.description);
  const batch = Math.min(PRELOAD_BATCH, Math.floor((ctx.session.hello.max_payload - 3) / PRELOADED_ENTRY));
  const replyTimeoutMs = ctx.session.rig.link.reply_timeout_ms ?? 5000;
  const send = (from: number) => {
    const n = Math.min(batch, count - from);
    // a batch is n inferences before one reply: its timeout grows with it
    const p = run(model, block.offset + from * block.inputBytes, n, false, replyTimeoutMs * Math.ceil(n / 16));
    p.catch(() => undefined); // awaited below
    return { first: from, p };
  };
  let inFlight = first < count ? send(first) : undefined;
  while (inFlight) {
    const current = inFlight;
    const next = current.first + batch;
    inFlight = next < count && !stop() ? send(next) : undefined;
    const results = await current.p;
    for (const [k, r] of results.entries()) {
      const i = current.first + k;
      const x = input(i);
      const hostCrc = crc32(x);
      if (r.crc !== hostCrc) {
        ctx.note(`preloaded input ${i} of ${block.dataset} differs from the host's (CRC ${hex(r.crc)} on the device, ${hex(hostCrc)} on the host): classified over the link instead`);
        onResult(i, await device.classify(model, x));
        continue;
      }
      const host = hostOutputs(i);
      if (r.outputCrc === crc32(host) >>> 0) onResult(i, { predicted: r.predicted, logits: host });
      else onResult(i, { predicted: r.predicted, logits: await deviceOutputs(device, block, model, i, host.length, replyTimeoutMs, x) });
    }
    if (stop()) {
      await inFlight?.p.catch(() => undefined);
      return;
    }
  }
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/** Sample i's whole output vector from the device: run alone again, then read back (or over the link). */
async function deviceOutputs(device: DeviceProtocol, block: PreloadBlock, model: number, i: number, n: number, timeoutMs: number, x: Int8Array): Promise<Int8Array> {
  if (!device.readOutputs || !device.runPreloaded) return (await device.classify(model, x)).logits;
  await device.runPreloaded(model, block.offset + i * block.inputBytes, 1, false, timeoutMs);
  return device.readOutputs(n);
}

