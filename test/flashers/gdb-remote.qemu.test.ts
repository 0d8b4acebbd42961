/**
 * The GDB remote flasher against a real GDB stub: QEMU netduinoplus2 started halted with no
 * image (-S, no -kernel). The flasher writes the ELF's segments into the emulated flash,
 * verifies them, starts the firmware from its vectors, and the firmware then answers the
 * handshake over the emulated USART.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { buildFirmware } from '../../harness/firmware/build.js';
import { readElf } from '../../harness/flashers/elf.js';
import { GdbRemoteFlasher } from '../../harness/flashers/gdb-remote.js';
import { SerialLink } from '../../harness/link/serial-link.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import { HilError } from '../../harness/util/errors.js';
import { ROOT } from '../../harness/util/paths.js';
import { freePort } from '../helpers/free-port.js';

function startQemu(port: number): Promise<{ child: ChildProcess; pty: string }> {
  const child = spawn('qemu-system-arm', ['-M', 'netduinoplus2', '-nographic', '-monitor', 'none', '-serial', 'pty', '-icount', 'shift=0', '-gdb', `tcp:127.0.0.1:${port}`, '-S'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = /char device redirected to (\/dev\/\S+)/.exec(text);
      if (m) resolve({ child, pty: m[1] });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`qemu exited ${code}: ${text}`)));
  });
}

describe('GDB remote flasher on QEMU netduinoplus2 (real gdbstub)', function () {
  this.timeout(60000);
  let qemu: ChildProcess | undefined;
  let flasher: GdbRemoteFlasher | undefined;
  let link: SerialLink | undefined;

  afterEach(async () => {
    await link?.close();
    await flasher?.close();
    qemu?.kill('SIGKILL');
  });

  it('loads, verifies, starts the firmware and the handshake passes; reset by vector restarts it', async () => {
    const build = buildFirmware('netduinoplus2', [loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-int8.json'))]);
    const port = await freePort();
    const q = await startQemu(port);
    qemu = q.child;
    link = await SerialLink.open({ path: q.pty, baudRate: 115200 });
    flasher = new GdbRemoteFlasher({ kind: 'gdb-remote', host: '127.0.0.1', port });
    await flasher.flash(build.elf);
    const segments = readElf(build.elf).segments;
    expect(flasher.loaded).to.deep.equal(segments.map((s) => ({ address: s.address, bytes: s.data.length })));
    expect(segments[0].address).to.equal(0x08000000);
    const client = new ProtocolClient(link, { replyTimeoutMs: 2000, retries: 2 });
    const hello = await client.hello(5000);
    expect(hello.build).to.equal(build.buildHash);
    expect(hello.board).to.equal('netduinoplus2');
    // reset by vector: the firmware starts over and answers again
    await flasher.reset();
    expect((await client.hello(5000)).build).to.equal(build.buildHash);
  });

  it('reports a GDB server that is not there', async () => {
    const f = new GdbRemoteFlasher({ kind: 'gdb-remote', host: '127.0.0.1', port: await freePort() }, 500);
    const e = await f.flash(path.join(ROOT, 'package.json')).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(HilError);
  });
});
