import { expect } from 'chai';
import { crc32 } from 'node:zlib';
import { cobsDecode, cobsEncode } from '../../harness/protocol/yono/cobs.js';
import { decodeFrame, encodeFrame, MAX_PAYLOAD, wireBytes } from '../../harness/protocol/yono/frame.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('COBS', () => {
  it('round-trips edge cases: empty, all zeros, runs of 254 and 255 non-zero bytes', () => {
    const cases = [
      Buffer.alloc(0),
      Buffer.alloc(10),
      Buffer.alloc(254, 7),
      Buffer.alloc(255, 7),
      Buffer.concat([Buffer.alloc(254, 1), Buffer.from([0]), Buffer.alloc(300, 2)]),
    ];
    for (const c of cases) {
      const enc = cobsEncode(c);
      expect(enc.includes(0)).to.equal(false);
      expect(cobsDecode(enc)).to.deep.equal(c);
    }
  });

  it('round-trips random buffers with many zeros', () => {
    const rand = lcg(1);
    for (let n = 0; n < 200; n++) {
      const b = Buffer.alloc(Math.floor(rand() * 1100));
      for (let i = 0; i < b.length; i++) b[i] = rand() < 0.2 ? 0 : Math.floor(rand() * 256);
      expect(cobsDecode(cobsEncode(b))).to.deep.equal(b);
    }
  });

  it('rejects a code that runs past the end', () => {
    expect(cobsDecode(Buffer.from([5, 1, 2]))).to.equal(undefined);
  });
});

describe('frames', () => {
  it('encode/decode round trip, ending in the only zero byte', () => {
    const payload = Buffer.from([0, 1, 0, 255, 0]);
    const wire = encodeFrame({ type: 3, seq: 42, payload });
    expect(wire.indexOf(0)).to.equal(wire.length - 1);
    const d = decodeFrame(wire.subarray(0, -1));
    expect(d.ok).to.equal(true);
    if (d.ok) expect(d.frame).to.deep.equal({ type: 3, seq: 42, payload });
    expect(wireBytes(payload.length)).to.equal(wire.length);
  });

  it('detects a flipped bit anywhere in the frame', () => {
    const wire = encodeFrame({ type: 4, seq: 1, payload: Buffer.from('hello world') }).subarray(0, -1);
    for (let i = 0; i < wire.length; i++) {
      const bad = Buffer.from(wire);
      bad[i] ^= 0x10;
      if (bad[i] === 0) continue; // a zero would split the frame on the wire; caught by COBS there
      expect(decodeFrame(bad).ok, `byte ${i}`).to.equal(false);
    }
  });

  it('refuses payloads over the maximum', () => {
    expect(MAX_PAYLOAD).to.equal(2048); // protocol v2
    expect(() => encodeFrame({ type: 2, seq: 0, payload: Buffer.alloc(MAX_PAYLOAD) })).to.not.throw();
    expect(() => encodeFrame({ type: 2, seq: 0, payload: Buffer.alloc(MAX_PAYLOAD + 1) })).to.throw(RangeError);
  });

  it('decoding refuses a well-formed frame (length field and CRC right) whose payload is over the maximum', () => {
    // built by hand: encodeFrame refuses such payloads
    const rawFrame = (n: number) => {
      const raw = Buffer.alloc(4 + n + 4, 0x5a);
      raw[0] = 0x82;
      raw[1] = 7;
      raw.writeUInt16LE(n, 2);
      raw.writeUInt32LE(crc32(raw.subarray(0, 4 + n)), 4 + n);
      return cobsEncode(raw);
    };
    const atLimit = decodeFrame(rawFrame(MAX_PAYLOAD));
    expect(atLimit.ok).to.equal(true);
    if (atLimit.ok) expect(atLimit.frame.payload.length).to.equal(MAX_PAYLOAD);
    expect(decodeFrame(rawFrame(MAX_PAYLOAD + 1))).to.deep.equal({ ok: false, reason: `frame of ${MAX_PAYLOAD + 9} bytes exceeds the 2048-byte payload limit` });
    expect(decodeFrame(rawFrame(60000)).ok).to.equal(false);
  });
});
