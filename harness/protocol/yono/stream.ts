import type { DeviceProtocol, InferResult } from '../device.js';

/**
 * Classifies inputs 0..count-1 with two samples in flight: input i+1 travels over the link
 * while input i is classified on the device. classify() writes all its frames when called, so
 * frames of different samples never interleave, and its input CRC protects against a stale
 * input. Results arrive in order; `stop()` is checked between samples.
 */
export async function classifyStream(
  client: DeviceProtocol,
  model: number,
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
  let inFlight = count > 0 ? send(0) : undefined;
  for (let i = 0; i < count && inFlight; i++) {
    const current = inFlight;
    inFlight = i + 1 < count && !stop() ? send(i + 1) : undefined;
    onResult(i, await current);
    if (stop()) {
      await inFlight?.catch(() => undefined);
      return;
    }
  }
}
