/**
 * The protocol contract on a firmware holding PQ models: the synthetic fixtures
 * compressed at test time with the shared-codebook code the zoo uses, so the device runs the
 * conv2d_pq / dense_pq kernels and must match the host reference of the int8 model each pq model
 * decodes to, logit for logit. Three index layouts: 4-bit d=4 and d=2 (the zoo's defaults) and
 * 8-bit d=8 / d=4 (the SIMD path and the generic one). One rig: the kernels are the same C on every Cortex-M board.
 */
import path from 'node:path';
import { expect } from 'chai';
import { DEFAULT_PQ_OPTIONS } from '../../harness/compress/codebooks.js';
import type { PqOptions } from '../../harness/compress/codebooks.js';
import { compressModel, learnCodebooks } from '../../harness/compress/compress.js';
import { decodePqModel, isPqLayer, pqFileJson, validatePqModel } from '../../harness/compress/pq-model.js';
import type { PqModel } from '../../harness/compress/pq-model.js';
import { buildFirmware } from '../../harness/firmware/build.js';
import { loadInt8Model } from '../../harness/modeltools/int8-model.js';
import type { Int8Model } from '../../harness/modeltools/int8-model.js';
import { loadRig } from '../../harness/rig/rig.js';
import { openSession, type Session } from '../../harness/session/session.js';
import { ROOT } from '../../harness/util/paths.js';
import { protocolContract } from './protocol.contract.js';
import { yonoClient } from './protocol.contract.js';

const load = (f: string): Int8Model => loadInt8Model(path.join(ROOT, 'test', 'fixtures', f));

function compress(m: Int8Model, name: string, o: PqOptions, suffix: string): PqModel {
  const src = { ...m, name };
  const { pq } = compressModel(src, learnCodebooks([src], o, suffix), o);
  // through the file format and its validator, as the harness loads pq.json
  return validatePqModel(JSON.parse(JSON.stringify(pqFileJson(pq))), name, pq.codebooks);
}

/** pq fixtures: 4-bit d=4/d=2 codebooks (zoo defaults, every weight layer incl. the first) and 8-bit d=8 */
export function pqFixtures(): PqModel[] {
  const tiny = load('tiny-int8.json');
  const dw = load('tiny-dw-int8.json');
  const small = { ...DEFAULT_PQ_OPTIONS, fineBelow: 500 };
  const wide: PqOptions = { ...DEFAULT_PQ_OPTIONS, kxkD: 8, kxkK: 32, fcD: 4, fcK: 24, fineBelow: 0, pqFirst: false };
  return [compress(tiny, 'tiny_pq4', small, '_t4'), compress(dw, 'tiny_dw_pq4', small, '_d4'), compress(tiny, 'tiny_pq8', wide, '_t8')];
}

describe('pq fixtures', () => {
  it('cover conv2d_pq and dense_pq with 4-bit d=4, 4-bit d=2 and 8-bit d=8/d=4 indices', () => {
    const layers = pqFixtures().flatMap((m) => m.layers.filter(isPqLayer).map((l) => ({ op: l.op, cb: m.codebooks[l.codebook.id] })));
    const kinds = new Set(layers.map((l) => `${l.op}/${l.cb.index_bits}/${l.cb.d}`));
    for (const k of ['conv2d_pq/4/4', 'conv2d_pq/4/2', 'dense_pq/4/2', 'conv2d_pq/8/8', 'dense_pq/8/4']) expect([...kinds], k).to.include(k);
  });
});

let session: Session | undefined;
protocolContract(
  'pq firmware on qemu-mps2-an386',
  async () => {
    const pq = pqFixtures();
    const rig = loadRig('qemu-mps2-an386');
    session = await openSession(rig, buildFirmware(rig.board, pq));
    // the contract's host reference runs the int8 model each pq model decodes to
    return { client: yonoClient(session.device), hello: session.hello, models: pq.map(decodePqModel) };
  },
  async () => {
    await session?.close();
  },
);
