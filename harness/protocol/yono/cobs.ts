/**
 * Consistent Overhead Byte Stuffing: removes every 0x00 from a frame so that 0x00 can
 * delimit frames on the wire (at most 1 byte of overhead per 254).
 */
export function cobsEncode(data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length + Math.ceil(data.length / 254) + 1);
  let codeIndex = 0;
  let write = 1;
  let code = 1;
  for (const byte of data) {
    if (byte === 0) {
      out[codeIndex] = code;
      codeIndex = write++;
      code = 1;
      continue;
    }
    out[write++] = byte;
    code++;
    if (code === 0xff) {
      out[codeIndex] = code;
      codeIndex = write++;
      code = 1;
    }
  }
  out[codeIndex] = code;
  return out.subarray(0, write);
}

/** Returns undefined when the input is not valid COBS (a zero byte or a code past the end). */
export function cobsDecode(data: Uint8Array): Buffer | undefined {
  const out = Buffer.alloc(data.length);
  let read = 0;
  let write = 0;
  while (read < data.length) {
    const code = data[read++];
    if (code === 0) return undefined;
    const end = read + code - 1;
    if (end > data.length) return undefined;
    while (read < end) {
      const byte = data[read++];
      if (byte === 0) return undefined;
      out[write++] = byte;
    }
    if (code !== 0xff && read < data.length) out[write++] = 0;
  }
  return out.subarray(0, write);
}
