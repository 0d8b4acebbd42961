/**
 * A session on QEMU measured as a real-board rig would be: the experiment context carries the
 * board rig (its instrument on the simulator's pty), so openChannels() creates the real driver;
 * every capture the experiments take is kept, to compare it with what the simulator played.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDut } from '../../harness/dut/factory.js';
import type { Capture, PowerMonitor } from '../../harness/capabilities/power-monitor.js';
import { openChannels, type MeasureChannel } from '../../harness/experiments/channels.js';
import type { ExperimentContext } from '../../harness/experiments/context.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { loadRig, type Rig } from '../../harness/rig/rig.js';
import type { Session } from '../../harness/session/session.js';
import { createLogger } from '../../harness/util/log.js';

export async function measureAsBoardRig(options: {
  session: Session;
  /** the real-board rig file to measure as (e.g. nucleo-l4r5zi-ppk2) and its instrument kind */
  boardRig: string;
  instrument: NonNullable<Rig['power']>['kind'];
  /** the simulator's pty, in place of the instrument's USB serial number */
  port: string;
  models: Int8Model[];
  firmwareHash: string;
  runId: string;
  /** where to keep the captures (default: a new array) */
  captures?: Capture[];
}): Promise<{ ctx: ExperimentContext; channels: MeasureChannel[]; captures: Capture[] }> {
  const { session } = options;
  const board = loadRig(options.boardRig);
  if (board.power?.kind !== options.instrument) throw new Error(`${options.boardRig} must name a ${options.instrument}`);
  const rig: Rig = { ...board, power: { ...board.power, port: options.port, usb_serial: undefined } };
  // the board rig's adapter says how figures are made (measured, DWT ticks); QEMU only runs the firmware
  const boardDut = createDut(rig);
  const ctx: ExperimentContext = {
    session: { ...session, rig, dut: boardDut, ticks: boardDut.tickModel(session.hello) },
    models: options.models,
    log: createLogger({ quiet: true }),
    provenance: (dataset_hash) => ({ run_id: options.runId, rig: rig.name, board: rig.board, firmware_hash: options.firmwareHash, dataset_hash, harness_version: 'test' }),
    cancelled: () => false,
    note: () => undefined,
  };
  const channels = await openChannels(ctx, false);
  const captures = options.captures ?? [];
  const mon = channels[0]?.monitor as PowerMonitor;
  const stop = mon.stopCapture.bind(mon);
  mon.stopCapture = async () => {
    const c = await stop();
    captures.push(c);
    return c;
  };
  return { ctx, channels, captures };
}

/**
 * A board-kind rig file whose board is QEMU `board` started halted behind its gdbstub (as a lab's
 * OpenOCD would be), flashed and restarted by the gdb-remote flasher; its UART is the pty itself
 * (`link.path`) or served over the network (`link.url`, ser2net). `extra.flasher` adds lines to
 * the flasher block, `extra.tail` top-level blocks (e.g. power).
 */
export function writeGdbBoardRig(
  dir: string,
  name: string,
  board: string,
  gdb: { host: string; port: number },
  link: { path: string } | { url: string },
  extra: { flasher?: string; tail?: string } = {},
): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(
    file,
    `name: ${name}
description: ${board} (QEMU) as a board behind a GDB server
board: ${board}
dut:
  kind: board
  probe: { kind: stlink }
  boot_timeout_ms: 10000
  reset_settle_ms: 0
link:
  kind: serial
  ${'url' in link ? `url: "${link.url}"` : `path: "${link.path}"`}
  baud: 115200
  reply_timeout_ms: 5000
  retries: 3
flasher:
  kind: gdb-remote
  host: ${gdb.host}
  port: ${gdb.port}
${extra.flasher ? `${extra.flasher}\n` : ''}${extra.tail ?? ''}`,
  );
  return file;
}
