import { expect } from 'chai';
import { readBmp } from '../../harness/datasets/bmp.js';
import { HilError } from '../../harness/util/errors.js';

/** A BMP in memory: 8-bit with a palette, or 24-bit; bottom-up unless topDown. */
function bmp(w: number, h: number, px: (x: number, y: number) => number[], bpp: 8 | 24, topDown = false, palette?: number[][]): Buffer {
  const stride = Math.ceil((w * bpp) / 32) * 4;
  const palBytes = bpp === 8 ? 4 * 256 : 0;
  const off = 54 + palBytes;
  const b = Buffer.alloc(off + stride * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(off, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(topDown ? -h : h, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bpp, 28);
  if (bpp === 8) {
    for (let i = 0; i < 256; i++) {
      const [r, g, bl] = palette?.[i] ?? [i, i, i];
      b.writeUInt8(bl, 54 + 4 * i);
      b.writeUInt8(g, 55 + 4 * i);
      b.writeUInt8(r, 56 + 4 * i);
    }
  }
  for (let y = 0; y < h; y++) {
    const row = off + (topDown ? y : h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const v = px(x, y);
      if (bpp === 8) b.writeUInt8(v[0], row + x);
      else [v[2], v[1], v[0]].forEach((c, k) => b.writeUInt8(c, row + 3 * x + k));
    }
  }
  return b;
}

describe('BMP reader', () => {
  it('reads 8-bit gray bottom-up rows top first, with row padding (width 5)', () => {
    const img = readBmp(bmp(5, 3, (x, y) => [10 * y + x], 8), 't.bmp');
    expect(img).to.deep.include({ width: 5, height: 3 });
    expect(Array.from(img.pixels)).to.deep.equal([0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24]);
  });

  it('reads top-down files and maps a colour palette and 24-bit pixels to luma', () => {
    const td = readBmp(bmp(2, 2, (x, y) => [x + 2 * y], 8, true), 'td.bmp');
    expect(Array.from(td.pixels)).to.deep.equal([0, 1, 2, 3]);
    const pal = readBmp(bmp(1, 1, () => [7], 8, false, Array.from({ length: 256 }, () => [255, 0, 0])), 'p.bmp');
    expect(pal.pixels[0]).to.equal(76); // round(0.299 * 255)
    const rgb = readBmp(bmp(3, 1, (x) => [[255, 255, 255], [0, 255, 0], [0, 0, 0]][x], 24), 'c.bmp');
    expect(Array.from(rgb.pixels)).to.deep.equal([255, 150, 0]);
  });

  it('rejects compressed, truncated and non-BMP files naming the file', () => {
    const good = bmp(4, 4, () => [1], 8);
    const compressed = Buffer.from(good);
    compressed.writeUInt32LE(1, 30);
    for (const [buf, re] of [
      [compressed, /compression 1/],
      [good.subarray(0, good.length - 3), /runs past the end/],
      [Buffer.from('PNG not a bitmap at all, but long enough to hold the headers......'), /missing "BM"/],
    ] as [Buffer, RegExp][]) {
      try {
        readBmp(buf, 'bad.bmp');
        expect.fail('expected an error');
      } catch (e) {
        expect(e).to.be.instanceOf(HilError);
        expect((e as HilError).where).to.equal('bad.bmp');
        expect((e as HilError).message).to.match(re);
      }
    }
  });
});
