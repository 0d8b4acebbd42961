/** Frame layer of the wire protocol: see firmware/SPEC.md section 1. */
import { crc32 } from 'node:zlib';
import { cobsDecode, cobsEncode } from './cobs.js';

/** 2: MAX_PAYLOAD 1024 -> 2048 (a HELLO listing ~12 models). 3: SELECT (model switching), ERR 8/9,
 * HELLO variant/ext_storage. 4: RUN_PRELOADED (inputs the loader put in the board's
 * preload region), HELLO preload/preload_base. 5: models of > 255 outputs. 6: PRELOAD_CRC (is a
 * persistent preload region, a board's QSPI NOR, already holding the image?).
 * 7: RUN_PRELOADED gives a u16 prediction and the CRC-32 of every sample's output vector, for any
 * number of outputs; READ_OUTPUT returns slices of the last output vector; INFER leaves out outputs
 * beyond one frame. */
export const PROTO_VERSION = 7;
export const MAX_PAYLOAD = 2048;
/** CHUNK payload: u32 offset + data. Kept at 1020 data bytes (the v1 size) so a chunk never
 * needs more UART buffering than before on real boards; most inputs still fit one chunk. */
export const UPLOAD_CHUNK_BYTES = 1020;
const HEADER = 4;
const TRAILER = 4;

export const Cmd = {
  HELLO: 0x01,
  PING: 0x02,
  CHUNK: 0x03,
  INFER: 0x04,
  SELECT: 0x05,
  RUN_PRELOADED: 0x06,
  PRELOAD_CRC: 0x07,
  READ_OUTPUT: 0x08,
} as const;
export const REPLY = 0x80;
export const ERR = 0x7f;

/** Device error codes (firmware/runtime/proto.h). */
export const DeviceErr = {
  BAD_FRAME: 1,
  UNKNOWN_MODEL: 2,
  INPUT_OVERFLOW: 3,
  INPUT_SIZE: 4,
  UNKNOWN_COMMAND: 5,
  BAD_PAYLOAD: 6,
  INPUT_CRC: 7,
  NOT_LOADED: 8,
  STORAGE: 9,
} as const;

export const ErrCode: Record<number, string> = {
  1: 'bad frame',
  2: 'unknown model',
  3: 'input overflow',
  4: 'input size mismatch',
  5: 'unknown command',
  6: 'bad payload',
  7: 'input CRC mismatch',
  8: 'model not loaded',
  9: 'external storage error',
};

export interface Frame {
  type: number;
  seq: number;
  payload: Buffer;
}

/** Raw frame -> COBS bytes followed by the 0x00 delimiter, ready for the wire. */
export function encodeFrame(frame: Frame): Buffer {
  if (frame.payload.length > MAX_PAYLOAD) {
    throw new RangeError(`payload of ${frame.payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  }
  const raw = Buffer.alloc(HEADER + frame.payload.length + TRAILER);
  raw[0] = frame.type;
  raw[1] = frame.seq & 0xff;
  raw.writeUInt16LE(frame.payload.length, 2);
  frame.payload.copy(raw, HEADER);
  raw.writeUInt32LE(crc32(raw.subarray(0, HEADER + frame.payload.length)), HEADER + frame.payload.length);
  return Buffer.concat([cobsEncode(raw), Buffer.from([0])]);
}

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; reason: string };

/** COBS bytes without the delimiter -> frame, checking COBS, length and CRC. */
export function decodeFrame(wire: Uint8Array): DecodeResult {
  const raw = cobsDecode(wire);
  if (!raw) return { ok: false, reason: 'invalid COBS' };
  if (raw.length < HEADER + TRAILER) return { ok: false, reason: `frame of ${raw.length} bytes is too short` };
  if (raw.length > HEADER + MAX_PAYLOAD + TRAILER) return { ok: false, reason: `frame of ${raw.length} bytes exceeds the ${MAX_PAYLOAD}-byte payload limit` };
  const len = raw.readUInt16LE(2);
  if (len !== raw.length - HEADER - TRAILER) {
    return { ok: false, reason: `length field ${len} but ${raw.length - HEADER - TRAILER} payload bytes` };
  }
  const expected = raw.readUInt32LE(HEADER + len);
  const actual = crc32(raw.subarray(0, HEADER + len));
  if (expected !== actual) return { ok: false, reason: 'CRC mismatch' };
  return { ok: true, frame: { type: raw[0], seq: raw[1], payload: Buffer.from(raw.subarray(HEADER, HEADER + len)) } };
}

/** Bytes a payload of n bytes costs on the wire (COBS overhead + delimiter included). */
export function wireBytes(payloadBytes: number): number {
  const raw = HEADER + payloadBytes + TRAILER;
  return raw + Math.ceil(raw / 254) + 1;
}
