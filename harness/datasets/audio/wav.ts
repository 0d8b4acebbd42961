/** RIFF/WAVE reader for 16-bit PCM mono files (what FSDD ships); walks chunks, so extra chunks are fine. */
import { HilError } from '../../util/errors.js';

export interface Wav {
  sampleRate: number;
  /** samples / 32768, in [-1, 1) */
  samples: Float32Array;
}

export function parseWav(buf: Buffer, where: string): Wav {
  const bad = (why: string): never => {
    throw new HilError(`not a 16-bit PCM mono WAV file: ${why}`, where);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') bad('no RIFF/WAVE header');
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: Buffer | undefined;
  for (let at = 12; at + 8 <= buf.length; ) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (body + size > buf.length) bad(`chunk '${id}' of ${size} bytes runs past the end of the file`);
    if (id === 'fmt ') {
      if (size < 16) bad('fmt chunk shorter than 16 bytes');
      fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      data = buf.subarray(body, body + size);
    }
    at = body + size + (size & 1); // chunks are word-aligned
  }
  if (!fmt) return bad('no fmt chunk');
  if (!data) return bad('no data chunk');
  if (fmt.format !== 1 || fmt.bits !== 16 || fmt.channels !== 1) {
    bad(`format ${fmt.format}, ${fmt.bits} bits, ${fmt.channels} channels`);
  }
  const n = data.length >> 1;
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = data.readInt16LE(2 * i) / 32768;
  return { sampleRate: fmt.rate, samples };
}
