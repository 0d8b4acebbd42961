/** Data-set registry (prepare / ensure by name) plus the prepared-set IO re-exported from prepared-io.ts. */
import { HilError } from '../util/errors.js';
import { FMNIST_NAME, FMNIST_PREP_VERSION, prepareFashionMnist } from './fashion-mnist.js';
import { FSDD_NAME, FSDD_PREP_VERSION, FSDD_SPEAKER_NAME, prepareFsdd } from './fsdd.js';
import { PICKUP, prepareTsArchive, RACKETSPORTS } from './ts-archive.js';
import { isPrepared, PreparedManifest, readManifest } from './prepared-io.js';
import { TFLM_PERSON_NAME, TFLM_PERSON_PREP_VERSION, prepareTflmPerson } from './tflm-person.js';
import { HAPT_NAME, HAPT_PREP_VERSION, prepareUciHapt } from './uci-hapt.js';

export { loadPrepared, datasetHash, readManifest, isPrepared, preparedDir, sha256Hex, writePrepared } from './prepared-io.js';
export type { PreparedManifest, PreparedSplit, Split, SplitData, Shape3 } from './prepared-io.js';

export const DATASET_NAMES = [
  FMNIST_NAME, HAPT_NAME, TFLM_PERSON_NAME, FSDD_NAME, FSDD_SPEAKER_NAME, 'uea_racketsports', 'ucr_pickupgesturewiimotez',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface PrepareOptions {
  /** folder with the shared raw data sets (default YONO_DATA_DIR or <repo>/../shared/datasets) */
  dataDir?: string;
  /** folder with the Fashion-MNIST IDX files (default YONO_FMNIST_DIR or /usr/share/datasets/fashion-mnist) */
  fmnistDir?: string;
  /** root of prepared sets (default <repo>/datasets/prepared) */
  root?: string;
  /** where a re-preparation is announced (default: a warning line on stderr) */
  warn?: (line: string) => void;
}

const VERSIONS: Record<DatasetName, string> = {
  fashion_mnist: FMNIST_PREP_VERSION,
  uci_hapt: HAPT_PREP_VERSION,
  tflm_person: TFLM_PERSON_PREP_VERSION,
  fsdd: FSDD_PREP_VERSION,
  fsdd_speaker: FSDD_PREP_VERSION,
  uea_racketsports: RACKETSPORTS.prepVersion,
  ucr_pickupgesturewiimotez: PICKUP.prepVersion,
};

function checkName(name: string): DatasetName {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new HilError(`unknown data set '${name}' (known: ${DATASET_NAMES.join(', ')})`, 'dataset');
  }
  return name as DatasetName;
}

export function prepareDataset(name: string, opts: PrepareOptions = {}): PreparedManifest {
  const n = checkName(name);
  switch (n) {
    case 'fashion_mnist':
      return prepareFashionMnist({ fmnistDir: opts.fmnistDir, root: opts.root });
    case 'uci_hapt':
      return prepareUciHapt({ dataDir: opts.dataDir, root: opts.root });
    case 'tflm_person':
      return prepareTflmPerson({ dataDir: opts.dataDir, root: opts.root });
    case 'fsdd':
    case 'fsdd_speaker':
      return prepareFsdd(n, { dataDir: opts.dataDir, root: opts.root });
    case 'uea_racketsports':
      return prepareTsArchive(RACKETSPORTS, { dataDir: opts.dataDir, root: opts.root });
    case 'ucr_pickupgesturewiimotez':
      return prepareTsArchive(PICKUP, { dataDir: opts.dataDir, root: opts.root });
  }
}

/** Prepares the set if it is missing or was made by another preparation-code version. */
export function ensurePrepared(name: string, opts: PrepareOptions = {}): PreparedManifest {
  const n = checkName(name);
  if (isPrepared(n, opts.root)) {
    try {
      const m = readManifest(n, opts.root);
      if (m.prep_version === VERSIONS[n]) return m;
    } catch (e) {
      if (!(e instanceof HilError)) throw e;
      // a corrupt manifest: said once, then the set is prepared again from the raw data
      (opts.warn ?? ((l: string) => process.stderr.write(`warning: ${l}\n`)))(`${e.toLine()}: preparing ${n} again from the raw data`);
    }
  }
  return prepareDataset(n, opts);
}
