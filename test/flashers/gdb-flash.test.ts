/**
 * On-chip flash through a GDB server that describes it (OpenOCD, pyOCD, J-Link): a fake server
 * with an STM32F4-like memory map (16/64/128 KiB sectors), NOR semantics (a write can only clear
 * bits; erase sets a whole sector to 0xFF) and plain X writes to flash refused, as OpenOCD does.
 * The flasher must erase the sectors the image covers, vFlashWrite it, vFlashDone, verify.
 */
import { expect } from 'chai';
import net from 'node:net';
import path from 'node:path';
import { buildFirmware } from '../../harness/firmware/build.js';
import { readElf } from '../../harness/flashers/elf.js';
import { eraseSpans, GdbRemoteFlasher, parseMemoryMap } from '../../harness/flashers/gdb-remote.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import { ROOT } from '../../harness/util/paths.js';

const FLASH = 0x08000000;
const SECTORS = [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128].map((k) => k * 1024);
const MAP = `<?xml version="1.0"?>
<!DOCTYPE memory-map PUBLIC "+//IDN gnu.org//DTD GDB Memory Map V1.0//EN" "http://sourceware.org/gdb/gdb-memory-map.dtd">
<memory-map>
<memory type="ram" start="0x20000000" length="0x20000"/>
<memory type="flash" start="0x8000000" length="0x10000"><property name="blocksize">0x4000</property></memory>
<memory type="flash" start="0x8010000" length="0x10000"><property name="blocksize">0x10000</property></memory>
<memory type="flash" start="0x8020000" length="0xe0000"><property name="blocksize">0x20000</property></memory>
</memory-map>`;

function sum(b: Buffer): string {
  let s = 0;
  for (const c of b) s = (s + c) & 0xff;
  return s.toString(16).padStart(2, '0');
}

function unescape(b: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) out.push(b[i] === 0x7d ? b[++i] ^ 0x20 : b[i]);
  return Buffer.from(out);
}

class FakeFlashServer {
  flash = Buffer.alloc(SECTORS.reduce((a, b) => a + b, 0), 0x00); // not erased: garbage zeros
  ram = Buffer.alloc(0x20000);
  erases: [number, number][] = [];
  log: string[] = [];
  server = net.createServer((s) => this.serve(s));

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }

  private serve(s: net.Socket): void {
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const start = buf.indexOf(0x24);
        if (start < 0) return;
        const hash = buf.indexOf(0x23, start);
        if (hash < 0 || buf.length < hash + 3) return;
        const body = buf.subarray(start + 1, hash);
        buf = buf.subarray(hash + 3);
        s.write('+');
        const reply = this.handle(body);
        if (reply !== undefined) s.write(`$${reply}#${sum(Buffer.from(reply, 'latin1'))}`);
      }
    });
  }

  private mem(addr: number): [Buffer, number] | undefined {
    if (addr >= FLASH && addr < FLASH + this.flash.length) return [this.flash, addr - FLASH];
    if (addr >= 0x20000000 && addr < 0x20000000 + this.ram.length) return [this.ram, addr - 0x20000000];
    return undefined;
  }

  private handle(body: Buffer): string | undefined {
    const text = body.toString('latin1');
    const head = text.split(/[:,]/)[0];
    this.log.push(head);
    if (text.startsWith('qSupported')) return 'PacketSize=1000;qXfer:memory-map:read+';
    if (text.startsWith('qXfer:memory-map:read::')) {
      const [off, len] = text.slice('qXfer:memory-map:read::'.length).split(',').map((h) => parseInt(h, 16));
      const part = MAP.slice(off, off + len);
      return (off + len >= MAP.length ? 'l' : 'm') + part;
    }
    if (text === '?') return 'S05';
    if (text === 'vFlashDone') return 'OK';
    if (text.startsWith('vFlashErase:')) {
      const [a, l] = text.slice(12).split(',').map((h) => parseInt(h, 16));
      this.erases.push([a, l]);
      let at = FLASH;
      const bounds = SECTORS.map((n) => ((at += n), at - n));
      if (!bounds.includes(a) || !(bounds.includes(a + l) || a + l === FLASH + this.flash.length)) return 'E01';
      this.flash.fill(0xff, a - FLASH, a - FLASH + l);
      return 'OK';
    }
    if (text.startsWith('vFlashWrite:')) {
      const colon = body.indexOf(0x3a, 12);
      const a = parseInt(text.slice(12, colon), 16);
      const data = unescape(body.subarray(colon + 1));
      for (let i = 0; i < data.length; i++) this.flash[a - FLASH + i] &= data[i]; // NOR: bits only clear
      return 'OK';
    }
    if (text[0] === 'X') {
      const colon = body.indexOf(0x3a);
      const [a, l] = text.slice(1, colon).split(',').map((h) => parseInt(h, 16));
      if (l === 0) return 'OK';
      const m = this.mem(a);
      if (!m || m[0] === this.flash) return 'E01'; // like OpenOCD: no plain writes to flash
      unescape(body.subarray(colon + 1)).copy(m[0], m[1]);
      return 'OK';
    }
    if (text[0] === 'm') {
      const [a, l] = text.slice(1).split(',').map((h) => parseInt(h, 16));
      const m = this.mem(a);
      return m ? m[0].subarray(m[1], m[1] + l).toString('hex') : 'E01';
    }
    if (text[0] === 'P') return 'OK';
    if (text === 'c') return undefined;
    return '';
  }
}

describe('GDB remote flasher: on-chip flash through the memory map (vFlashErase/vFlashWrite)', function () {
  this.timeout(60000);

  it('reads the flash regions of a memory map and erases whole sectors', () => {
    const regions = parseMemoryMap(MAP);
    expect(regions).to.deep.equal([
      { start: 0x8000000, length: 0x10000, blocksize: 0x4000 },
      { start: 0x8010000, length: 0x10000, blocksize: 0x10000 },
      { start: 0x8020000, length: 0xe0000, blocksize: 0x20000 },
    ]);
    expect(eraseSpans(regions, 0x8000000, 100)).to.deep.equal([[0x8000000, 0x4000]]);
    expect(eraseSpans(regions, 0x8003000, 0x20000)).to.deep.equal([[0x8000000, 0x40000]]);
  });

  it('erases, programs and verifies the firmware in flash, then starts it from its vectors', async () => {
    const build = buildFirmware('netduinoplus2', [loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-int8.json'))]);
    const server = new FakeFlashServer();
    const port = await server.listen();
    const flasher = new GdbRemoteFlasher({ kind: 'gdb-remote', host: '127.0.0.1', port });
    try {
      await flasher.flash(build.elf);
      const segments = readElf(build.elf).segments;
      for (const s of segments) {
        if (s.address < FLASH || s.address >= FLASH + server.flash.length) continue;
        expect(server.flash.subarray(s.address - FLASH, s.address - FLASH + s.data.length).equals(s.data), `segment 0x${s.address.toString(16)}`).to.equal(true);
      }
      const end = Math.max(...segments.map((s) => s.address + s.data.length));
      expect(server.erases[0][0]).to.equal(FLASH);
      expect(server.erases.reduce((a, [, l]) => a + l, 0)).to.be.at.least(end - FLASH);
      expect(server.log).to.include('vFlashDone');
      expect(server.log.filter((h) => h === 'c')).to.have.length(1);
    } finally {
      await flasher.close();
      await new Promise<void>((r) => server.server.close(() => r()));
    }
  });
});
