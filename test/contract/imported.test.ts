/**
 * The protocol contract (same suite as protocol.test.ts) on models imported from real TFLite
 * Micro files: hello_world (a 1-in, 1-out regression: the raw int8 output is what is compared),
 * micro_speech and person_detect. Device and host reference must agree on the int8 logits.
 */
import { join } from 'node:path';
import { buildFirmware } from '../../harness/firmware/build.js';
import { rawDataDir } from '../../harness/datasets/paths.js';
import { importTfliteFile } from '../../harness/modeltools/import/tflite.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession, type Session } from '../../harness/session/session.js';
import { FakeDeviceLink } from '../fakes/fake-device.js';
import { protocolContract } from './protocol.contract.js';
import { yonoClient } from './protocol.contract.js';

const TFLM = join(rawDataDir(), 'tflite_micro_models');
const FILES: [string, string][] = [
  ['hello_world', join(TFLM, 'examples', 'hello_world', 'models', 'hello_world_int8.tflite')],
  ['micro_speech', join(TFLM, 'examples', 'micro_speech', 'models', 'micro_speech_quantized.tflite')],
  ['person_detect', join(TFLM, 'models', 'person_detect.tflite')],
];

const imported = (): Int8Model[] => FILES.map(([name, file]) => importTfliteFile(file, { name, dataset: 'none' }).model);

protocolContract(
  'fake device, imported TFLite models',
  async () => {
    const models = imported();
    const client = new ProtocolClient(new FakeDeviceLink({ models }), { replyTimeoutMs: 2000 });
    return { client, hello: await client.hello(), models };
  },
  async () => undefined,
);

let session: Session | undefined;
protocolContract(
  'firmware on qemu-mps2-an386, imported TFLite models',
  async () => {
    const models = imported();
    const rig = loadRig('qemu-mps2-an386');
    session = await openSession(rig, buildFirmware(rig.board, models));
    return { client: yonoClient(session.device), hello: session.hello, models };
  },
  async () => {
    await session?.close();
  },
);
