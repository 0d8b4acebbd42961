import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoardDut } from '../../harness/dut/board.js';
import { createDut } from '../../harness/dut/factory.js';
import { loadRig, type BoardDutSpec, type Rig } from '../../harness/rig/rig.js';
import { HilError } from '../../harness/util/errors.js';

const BOARD = `name: bench
board: stm32f746g-disco
dut: { kind: board, probe: { kind: stlink, usb_serial: "SN1" } }
link: { kind: serial, usb_serial: "SN1" }
flasher: { kind: openocd, config: [board/stm32f7discovery.cfg] }
power: { kind: lpm01a, port: /dev/ttyACM9, voltage_mv: 3300 }
`;

function load(text: string): Rig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rig-'));
  fs.writeFileSync(path.join(dir, 'bench.yaml'), text);
  return loadRig(path.join(dir, 'bench.yaml'));
}
function message(text: string): string {
  try {
    load(text);
  } catch (e) {
    if (e instanceof HilError) return e.message;
    throw e;
  }
  throw new Error('expected a HilError');
}

describe('real-board rigs', () => {
  it('validate, and the factory builds a BoardDut', () => {
    const rig = load(BOARD);
    expect(rig.dut.kind).to.equal('board');
    expect(createDut(rig)).to.be.instanceOf(BoardDut);
  });
  it('name the field and the expectation', () => {
    expect(message(BOARD.replace(' probe: { kind: stlink, usb_serial: "SN1" } ', ' '))).to.contain('dut.probe: required field is missing');
    expect(message(BOARD.replace('kind: stlink', 'kind: ulink'))).to.contain('dut.probe.kind: expected one of "stlink", "cmsis-dap", "jlink"');
    expect(message(BOARD.replace('link: { kind: serial, usb_serial: "SN1" }', 'link: { kind: serial }'))).to.contain('link: give exactly one of path, usb_serial');
    expect(message(BOARD.replace('usb_serial: "SN1" }\nflasher', 'usb_serial: "SN1", path: /dev/ttyACM0 }\nflasher'))).to.contain('link: give exactly one of path, usb_serial');
    expect(message(BOARD.replace('link: { kind: serial,', 'link: { kind: qemu-pty,'))).to.contain('link.kind: expected "serial" here');
    expect(message(BOARD.replace('config: [board/stm32f7discovery.cfg]', 'target: x'))).to.contain('flasher.config: required field is missing');
    expect(message(BOARD.replace(', voltage_mv: 3300', ''))).to.contain('power.voltage_mv: required field is missing');
    expect(message(BOARD.replace('dut: { kind: board,', 'dut: { kind: board, icount_shift: 0,'))).to.contain('dut.icount_shift: not allowed for this kind');
  });
  it('finds the serial port by USB serial, and says which ports it saw when missing', async () => {
    const rig = load(BOARD) as Rig & { dut: BoardDutSpec };
    const ports = [{ path: '/dev/ttyACM3', serialNumber: 'SN1' }];
    expect(new BoardDut(rig, { listPorts: () => ports, flasher: { kind: 'fake', flash: async () => undefined } }).portPath()).to.equal('/dev/ttyACM3');
    const dut = new BoardDut(rig, { listPorts: () => [{ path: '/dev/ttyUSB0', serialNumber: 'OTHER' }], flasher: { kind: 'fake', flash: async () => undefined } });
    expect(() => dut.portPath()).to.throw(HilError, /no serial port with USB serial SN1; ports seen: \/dev\/ttyUSB0 \(OTHER\)/);
  });
  it('reset waits for the port to come back after the probe resets the board', async () => {
    const rig = load(BOARD.replace('probe:', 'reset_settle_ms: 0, boot_timeout_ms: 2000, probe:')) as Rig & { dut: BoardDutSpec };
    let resets = 0;
    let visibleAfter = Infinity;
    const dut = new BoardDut(rig, {
      listPorts: () => (Date.now() >= visibleAfter ? [{ path: '/dev/ttyACM4', serialNumber: 'SN1' }] : []),
      flasher: { kind: 'fake', flash: async () => undefined, reset: async () => void (resets++, (visibleAfter = Date.now() + 300)) },
    });
    const t0 = Date.now();
    await dut.reset();
    expect(resets).to.equal(1);
    expect(Date.now() - t0).to.be.at.least(250);
  });
  it('preloads into the QSPI region only with a flasher that can write it, and says why not otherwise', async () => {
    const rig = (text: string) => load(text) as Rig & { dut: BoardDutSpec };
    const f746 = rig(BOARD.replace('config: [board/stm32f7discovery.cfg]', 'config: [board/stm32f7discovery.cfg], external_flash: true'));
    expect(createDut(f746).preloadCapacity()).to.equal(12 * 1024 * 1024);
    expect(createDut(f746).preloadUnavailable?.()).to.equal(undefined);
    const plain = createDut(rig(BOARD));
    expect(plain.preloadCapacity()).to.equal(0);
    expect(plain.preloadUnavailable?.()).to.match(/external_flash: true/);
    // a fake flasher without writeExternal: one line, and writePreload refuses with it
    const fake = new BoardDut(f746, { flasher: { kind: 'fake', flash: async () => undefined } });
    expect(fake.preloadUnavailable()).to.equal("the fake flasher cannot write the board's external flash");
    expect(((await fake.writePreload('/nonexistent').catch((x: unknown) => x)) as HilError).message).to.equal("the fake flasher cannot write the board's external flash");
    // a board without a region (the NUCLEO-L4R5ZI): no line, nothing to preload
    const nucleo = createDut(rig(BOARD.replace('board: stm32f746g-disco', 'board: nucleo-l4r5zi')));
    expect([nucleo.preloadCapacity(), nucleo.preloadUnavailable?.()]).to.deep.equal([0, undefined]);
  });
});
