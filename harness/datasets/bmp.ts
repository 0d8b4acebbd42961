/**
 * Minimal Windows BMP reader -> 8-bit grayscale, rows top to bottom. Handles what cameras and
 * converters write for small test images: BITMAPINFOHEADER (or larger), uncompressed (BI_RGB),
 * 8-bit palette or 24/32-bit BGR, bottom-up or top-down rows padded to 4 bytes.
 */
import { HilError } from '../util/errors.js';

export interface GrayImage {
  width: number;
  height: number;
  /** width*height pixels, row-major, top row first */
  pixels: Uint8Array;
}

/** ITU-R BT.601 luma, rounded: how a colour palette entry or pixel becomes gray. */
function luma(r: number, g: number, b: number): number {
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

export function readBmp(bytes: Uint8Array, source: string): GrayImage {
  const bad = (why: string): never => {
    throw new HilError(`not a supported BMP: ${why}`, source);
  };
  if (bytes.length < 54) bad('file shorter than the 54-byte headers');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0x42 || bytes[1] !== 0x4d) bad('missing "BM" signature');
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  if (headerSize < 40) bad(`info header of ${headerSize} bytes (OS/2 BMP): only BITMAPINFOHEADER and later`);
  const width = dv.getInt32(18, true);
  const rawHeight = dv.getInt32(22, true);
  const bpp = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  let colours = dv.getUint32(46, true);
  if (width <= 0 || rawHeight === 0) bad(`size ${width}x${rawHeight}`);
  if (compression !== 0) bad(`compression ${compression} (only uncompressed BI_RGB)`);
  if (bpp !== 8 && bpp !== 24 && bpp !== 32) bad(`${bpp} bits per pixel (only 8, 24, 32)`);
  const height = Math.abs(rawHeight);
  const bottomUp = rawHeight > 0;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > bytes.length) bad(`pixel data (${stride * height} bytes at ${dataOffset}) runs past the end of the ${bytes.length}-byte file`);

  let palette: Uint8Array | undefined;
  if (bpp === 8) {
    if (colours === 0) colours = 256;
    const palStart = 14 + headerSize;
    if (colours > 256 || palStart + 4 * colours > dataOffset) bad(`palette of ${colours} entries does not fit before the pixels`);
    palette = new Uint8Array(256);
    for (let i = 0; i < colours; i++) {
      const p = palStart + 4 * i; // B, G, R, reserved
      palette[i] = luma(bytes[p + 2], bytes[p + 1], bytes[p]);
    }
  }
  const pixels = new Uint8Array(width * height);
  const step = bpp / 8;
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (bottomUp ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const p = row + x * step;
      pixels[y * width + x] = palette ? palette[bytes[p]] : luma(bytes[p + 2], bytes[p + 1], bytes[p]);
    }
  }
  return { width, height, pixels };
}
