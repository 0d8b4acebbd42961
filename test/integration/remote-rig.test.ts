/**
 * A remote rig on standard network services, with real parts on 127.0.0.1: QEMU netduinoplus2
 * started halted behind its gdbstub (the "GDB server over TCP" a lab machine's OpenOCD / pyOCD /
 * J-Link server would be) and ser2net serving the board's UART pty as rfc2217:// and tcp://.
 * The rig file names only host:port services; the harness flashes the firmware through the GDB
 * port, resets it, and runs the protocol contract over each network link.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkRemote } from '../../harness/dut/doctor.js';
import { startQemuGdbServer, type QemuGdbServer } from '../../harness/dut/qemu-gdb-server.js';
import { buildFirmware, type FirmwareBuild } from '../../harness/firmware/build.js';
import { startSer2net, type Ser2netServer } from '../../harness/link/ser2net.js';
import { loadInt8Model, type Int8Model } from '../../harness/modeltools/int8-model.js';
import { loadRig, type Rig } from '../../harness/rig/rig.js';
import { openSession, type Session } from '../../harness/session/session.js';
import { HilError } from '../../harness/util/errors.js';
import { ROOT } from '../../harness/util/paths.js';
import { protocolContract, yonoClient } from '../contract/protocol.contract.js';
import { writeGdbBoardRig } from '../helpers/board-rig.js';

const fixtures = (): Int8Model[] => [
  loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-int8.json')),
  loadInt8Model(path.join(ROOT, 'test', 'fixtures', 'tiny-dw-int8.json')),
];

/** A rig file as a lab would write it: services by host:port, nothing local. */
export function writeRemoteRig(url: string, gdb: { host: string; port: number }): Rig {
  return loadRig(writeGdbBoardRig(fs.mkdtempSync(path.join(os.tmpdir(), 'remote-rig-')), 'remote-netduinoplus2', 'netduinoplus2', gdb, { url }));
}

describe('remote rig: GDB server + ser2net on 127.0.0.1 (QEMU netduinoplus2)', function () {
  this.timeout(120000);
  let qemu: QemuGdbServer | undefined;
  let ser2net: Ser2netServer | undefined;
  let firmware: FirmwareBuild | undefined;
  const models = fixtures();

  before(async () => {
    firmware = buildFirmware('netduinoplus2', models);
    qemu = await startQemuGdbServer('netduinoplus2');
    ser2net = await startSer2net(qemu.pty);
  });
  after(async () => {
    await ser2net?.stop();
    await qemu?.stop();
  });

  for (const scheme of ['rfc2217', 'tcp'] as const) {
    let session: Session | undefined;
    protocolContract(
      `firmware flashed through the GDB server, link ${scheme}://`,
      async () => {
        const url = scheme === 'rfc2217' ? ser2net!.rfc2217Url : ser2net!.tcpUrl;
        const rig = writeRemoteRig(url, { host: qemu!.host, port: qemu!.gdbPort });
        session = await openSession(rig, firmware!);
        expect(session.link.description).to.contain(`${scheme}://127.0.0.1:`);
        expect(session.dut.describe()).to.include({ link_url: url, gdb_server: `127.0.0.1:${qemu!.gdbPort}`, flasher: 'gdb-remote' });
        return { client: yonoClient(session.device), hello: session.hello, models };
      },
      async () => {
        await session?.close();
        // both ser2net ports serve one device: ser2net releases it a moment after the client leaves
        await new Promise((r) => setTimeout(r, 1000));
      },
    );
  }

  it('hil rigs doctor: the real ser2net negotiates RFC 2217 and QEMU\'s gdbstub answers qSupported', async () => {
    for (const url of [ser2net!.rfc2217Url, ser2net!.tcpUrl]) {
      const rig = writeRemoteRig(url, { host: qemu!.host, port: qemu!.gdbPort });
      const c = await checkRemote(rig);
      expect(c.ok, c.lines.join('; ')).to.equal(true);
      expect(c.lines[0]).to.equal(url.startsWith('rfc2217') ? `link: ${url} answers (RFC 2217 COM-PORT accepted, 115200 baud 8N1 confirmed)` : `link: ${url} accepts connections (raw TCP)`);
      expect(c.lines[1]).to.match(new RegExp(`^flasher: GDB server 127\\.0\\.0\\.1:${qemu!.gdbPort} answers qSupported \\(PacketSize \\d+\\)$`));
    }
  });

  it('resets through the GDB server: the firmware starts over and answers on a new connection', async () => {
    const rig = writeRemoteRig(ser2net!.rfc2217Url, { host: qemu!.host, port: qemu!.gdbPort });
    const session = await openSession(rig, firmware!);
    try {
      await session.dut.reset();
      const link = await session.dut.connect();
      const { ProtocolClient } = await import('../../harness/protocol/yono/client.js');
      const hello = await new ProtocolClient(link, { replyTimeoutMs: 2000, retries: 2 }).hello(5000);
      expect(hello.build).to.equal(firmware!.buildHash);
    } finally {
      await session.close();
    }
  });

  it('a server that goes away mid-run: one clear line naming the link', async () => {
    const own = await startSer2net(qemu!.pty);
    const rig = writeRemoteRig(own.rfc2217Url, { host: qemu!.host, port: qemu!.gdbPort });
    const session = await openSession(rig, firmware!);
    const reasons: string[] = [];
    session.link.onClose((r) => reasons.push(r));
    try {
      await own.stop();
      const e = await yonoClient(session.device).ping(Buffer.from('x')).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(HilError);
      expect((e as HilError).toLine()).to.not.contain('\n');
      // closed, reset or a broken pipe, depending on whether a write races the server's close
      expect((e as HilError).message).to.match(/link lost: rfc2217:\/\/127\.0\.0\.1:\d+ \(netduinoplus2\): (connection (closed by the server|reset by|to 127\.0\.0\.1:\d+ is gone)|127\.0\.0\.1:\d+: \S)/);
      expect(reasons).to.have.length(1);
    } finally {
      await session.close();
    }
  });
});
