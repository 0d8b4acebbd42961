/**
 * A running device with the firmware the harness built: DUT started, link open, handshake
 * done and checked. Experiments get one of these and talk only to its protocol client.
 */
import type { TickModel } from '../capabilities/figures.js';
import type { Link } from '../capabilities/link.js';
import { createDut } from '../dut/factory.js';
import type { DutOptions } from '../dut/dut.js';
import type { PreloadImage } from './preload.js';
import type { Dut } from '../dut/dut.js';
import type { FirmwareBuild } from '../firmware/build.js';
import { checkFirmware, type DeviceHello, type DeviceProtocol } from '../protocol/device.js';
import { openDeviceProtocol } from '../protocol/drivers.js';
import type { Rig } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { shapeSize, type Int8Model } from '../modeltools/int8-model.js';
import { lockRig } from '../dut/factory.js';

export interface Session {
  rig: Rig;
  firmware: FirmwareBuild;
  dut: Dut;
  link: Link;
  /** the firmware's protocol front end (experiments talk only to this) */
  device: DeviceProtocol;
  hello: DeviceHello;
  /** how this device's timer ticks become figures (dut.tickModel of its handshake) */
  ticks: TickModel;
  /** test inputs the device holds in memory (RUN_PRELOADED), when preloaded */
  preload?: PreloadImage;
  /** a persistent preload region (a board's external flash): whether this session wrote the image or found it there */
  preloadWrite?: 'written' | 'reused';
  /** Model id on the device, by name. */
  modelId(name: string): number;
  close(): Promise<void>;
}

export interface SessionOptions extends DutOptions {
  /** test inputs to place in device memory before the firmware starts (DUTs that can) */
  preload?: PreloadImage;
  /** the models the harness runs on the device (a protocol that cannot describe them, mlperf-tiny, is told the first) */
  models?: Int8Model[];
  /** where to say that a preload image is being written to external flash (minutes on a real board) */
  log?: Pick<Logger, 'info'>;
}

/**
 * What the session checks of the device: the whole handshake against the build (a yono firmware
 * the harness built); nothing for a prebuilt image (the harness cannot know its build) nor for a
 * protocol that reports no build (mlperf-tiny: its driver checks the profile tag instead).
 */
export function firmwareCheck(firmware: FirmwareBuild, hello: DeviceHello): 'full' | 'none' {
  return firmware.prebuilt || hello.build === '' ? 'none' : 'full';
}

export async function openSession(rig: Rig, firmware: FirmwareBuild, options: SessionOptions = {}): Promise<Session> {
  const lock = lockRig(rig);
  let dut: Dut;
  try {
    dut = createDut(rig, options);
  } catch (e) {
    lock?.release();
    throw e;
  }
  const closeAll = async (): Promise<void> => {
    try {
      await dut.close();
    } finally {
      lock?.release();
    }
  };
  try {
    const pre = firmware.prebuilt;
    await dut.flash(firmware.elf, firmware.extImage, pre && { format: pre.format, loadAddress: pre.loadAddress });
    if (options.preload) {
      if (dut.preload) dut.preload(options.preload.file);
      else if (!dut.writePreload) throw new HilError(dut.preloadUnavailable?.() ?? 'this device cannot take preloaded inputs', dut.description);
    }
    await dut.start();
    const m = options.models?.[0];
    const handshake = async () => {
      const link = await dut.connect();
      const device = openDeviceProtocol(firmware.protocol ?? 'yono', link, {
        replyTimeoutMs: rig.link.reply_timeout_ms,
        retries: rig.link.retries,
        board: rig.board,
        profile: firmware.profile,
        energyMode: firmware.mlperfEnergy,
        model: m && { name: m.name, input: [...m.input.shape], input_bytes: shapeSize(m.input.shape), classes: m.classes, hash: firmware.models.find((x) => x.name === m.name)?.hash ?? '' },
      });
      const hello = await device.hello(rig.dut.boot_timeout_ms ?? 10000);
      if (firmwareCheck(firmware, hello) === 'full') checkFirmware(hello, { build: firmware.buildHash, board: firmware.board.name, models: firmware.models }, dut.description);
      return { link, device, hello };
    };
    let { link, device, hello } = await handshake();
    // the firmware must have the region too (an older image, another protocol: stream)
    const preload = options.preload && (hello.preload ?? 0) >= options.preload.bytes ? options.preload : undefined;
    let preloadWrite: Session['preloadWrite'];
    if (preload && dut.writePreload) {
      // a persistent region: written only when what the device reads there is not this image
      const crcOf = () => devicePreloadCrc(device, preload, rig.link.reply_timeout_ms ?? 5000, dut.description);
      preloadWrite = 'reused';
      if ((await crcOf()) !== preload.crc) {
        options.log?.info(`writing the ${(preload.bytes / 1e6).toFixed(2)} MB preload image of test inputs to the board's external flash (once: later runs reuse it)`);
        await dut.writePreload(preload.file);
        ({ link, device, hello } = await handshake());
        const back = await crcOf();
        if (back !== preload.crc) throw new HilError(`the preload region reads back CRC ${hex8(back)} after writing, the image's is ${hex8(preload.crc)}: the external flash was not written`, dut.description);
        preloadWrite = 'written';
      }
    }
    return {
      rig,
      firmware,
      dut,
      link,
      device,
      hello,
      ticks: dut.tickModel(hello),
      preload,
      preloadWrite,
      modelId(name: string): number {
        const m = hello.models.find((d) => d.name === name);
        if (!m) throw new HilError(`model ${name} is not on the device`, dut.description);
        return m.id;
      },
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** The device's CRC-32 of the image's bytes of its preload region; its time grows with the bytes (>= 1 MB/s). */
function devicePreloadCrc(device: DeviceProtocol, image: PreloadImage, replyTimeoutMs: number, where: string): Promise<number> {
  if (!device.preloadCrc) throw new HilError(`the ${device.protocol} protocol cannot check a preload region`, where);
  return device.preloadCrc(0, image.bytes, replyTimeoutMs + Math.ceil(image.bytes / 1000));
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
