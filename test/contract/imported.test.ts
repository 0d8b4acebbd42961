/**
 * The protocol contract (same suite as protocol.test.ts) on models imported from real TFLite
 * Micro files: hello_world (a 1-in, 1-out regression: the raw int8 output is what is compared),
 * micro_speech and person_detect, under each requant arithmetic (tflite-double, the importer's
 * default; tflite-single; yono15). Device and host reference must agree on the int8 logits.
 */
import { join } from 'node:path';
import { buildFirmware } from '../../harness/firmware/build.js';
import { rawDataDir } from '../../harness/datasets/paths.js';
import { importTfliteFile } from '../../harness/modeltools/import/tflite.js';
import type { Arithmetic, Int8Model } from '../../harness/modeltools/int8-model.js';
import { ProtocolClient } from '../../harness/protocol/yono/client.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession, type Session } from '../../harness/session/session.js';
import { FakeDeviceLink } from '../fakes/fake-device.js';
import { protocolContract } from './protocol.contract.js';
import { yonoClient } from './protocol.contract.js';

const TFLM = join(rawDataDir(), 'tflite_micro_models');
const HELLO = join(TFLM, 'examples', 'hello_world', 'models', 'hello_world_int8.tflite');
const SPEECH = join(TFLM, 'examples', 'micro_speech', 'models', 'micro_speech_quantized.tflite');
const PERSON = join(TFLM, 'models', 'person_detect.tflite');
/** name, file, arithmetic (SPEC section 3): the importer's default tflite-double, and the other two */
const FILES: [string, string, Arithmetic][] = [
  ['hello_world', HELLO, 'tflite-double'],
  ['micro_speech', SPEECH, 'tflite-double'],
  ['person_detect', PERSON, 'tflite-double'],
  ['hello_world_single', HELLO, 'tflite-single'],
  ['micro_speech_single', SPEECH, 'tflite-single'],
  ['person_detect_yono15', PERSON, 'yono15'],
];

const imported = (): Int8Model[] => FILES.map(([name, file, arithmetic]) => importTfliteFile(file, { name, dataset: 'none', arithmetic }).model);

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
