/** The one place that turns a rig's flasher description into a Flasher for a real board. */
import type { Flasher, ProbeRef } from '../capabilities/flasher.js';
import type { FlasherSpec } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import { GdbRemoteFlasher } from './gdb-remote.js';
import { DfuUtilFlasher, OpenOcdFlasher, ProbeRsFlasher, PyOcdFlasher, StFlashFlasher, type ToolFlasherOptions } from './tool-flashers.js';
import { Uf2Flasher } from './uf2.js';

export function createFlasher(spec: FlasherSpec, probe: ProbeRef, options: ToolFlasherOptions = {}): Flasher {
  switch (spec.kind) {
    case 'openocd':
      return new OpenOcdFlasher(spec, probe, options);
    case 'pyocd':
      return new PyOcdFlasher(spec, probe, options);
    case 'probe-rs':
      return new ProbeRsFlasher(spec, probe, options);
    case 'st-flash':
      return new StFlashFlasher(spec, probe, options);
    case 'dfu-util':
      return new DfuUtilFlasher(spec, probe, options);
    case 'uf2':
      return new Uf2Flasher(spec);
    case 'gdb-remote':
      return new GdbRemoteFlasher(spec);
    case 'qemu-loader':
      throw new HilError('qemu-loader only flashes emulated boards', 'flasher.kind');
  }
}
