/**
 * `tflm_person`: the two 96x96 grayscale test images of TensorFlow Lite Micro's person_detection
 * example (person.bmp, no_person.bmp; Apache-2.0), for the imported `person_detect` model.
 * Test split only (2 images); the train split is empty: there is nothing to train on here.
 * The BMPs do not hold the photo as is: their bytes are the model's int8 input written as uint8
 * (photo pixel XOR 0x80; viewed as an ordinary image they show wrap-around bands, and XOR 0x80
 * restores the photo). TFLM's person_detection_test copies those bytes into the int8 input
 * tensor unchanged, so q = int8(byte) = photo pixel - 128, TFLM's camera convention. With the
 * model's input quantization (scale 2/255, zero point -1) that is real = (photo - 127) / 127.5,
 * MobileNet's [-1, 1] range. (Reading the bytes as photo pixels, q = byte - 128, misclassifies
 * person.bmp: checked.)
 */
import { sha256 } from '../util/hash.js';
import { join } from 'node:path';
import { HilError } from '../util/errors.js';
import { readBmp } from './bmp.js';
import { rawDataDir } from './paths.js';
import { readRaw } from './raw.js';
import { PreparedManifest, SplitData, writePrepared } from './prepared-io.js';

export const TFLM_PERSON_NAME = 'tflm_person';
export const TFLM_PERSON_PREP_VERSION = 'tflm_person-prep/2';
/** model_settings.cc of the example: kNotAPersonIndex = 0, kPersonIndex = 1 */
export const TFLM_PERSON_CLASSES = ['no_person', 'person'];
const IMAGES: { file: string; label: number }[] = [
  { file: 'no_person.bmp', label: 0 },
  { file: 'person.bmp', label: 1 },
];
const SIDE = 96;
const SUBDIR = join('tflite_micro_models', 'examples', 'person_detection', 'testdata');
const PROVIDED_BY = 'the shared TFLite Micro copy; set YONO_DATA_DIR to the folder that holds tflite_micro_models/';

/** A BMP byte (already the int8 input in two's complement) -> the photo's gray value. */
export function storedToPhoto(byte: number): number {
  return byte ^ 0x80;
}

/** The int8 input of a photo pixel (TFLM camera convention). */
export function photoToInt8(pixel: number): number {
  return pixel - 128;
}

export function prepareTflmPerson(opts: { dataDir?: string; root?: string } = {}): PreparedManifest {
  const dir = join(rawDataDir(opts.dataDir), SUBDIR);
  const x = new Int8Array(IMAGES.length * SIDE * SIDE);
  const y = new Uint8Array(IMAGES.length);
  const sources: Record<string, string> = {};
  IMAGES.forEach(({ file, label }, i) => {
    const path = join(dir, file);
    const bytes = readRaw(path, PROVIDED_BY);
    const img = readBmp(bytes, path);
    if (img.width !== SIDE || img.height !== SIDE) throw new HilError(`image is ${img.width}x${img.height}, expected ${SIDE}x${SIDE}`, path);
    for (let p = 0; p < img.pixels.length; p++) x[i * SIDE * SIDE + p] = photoToInt8(storedToPhoto(img.pixels[p]));
    y[i] = label;
    sources[file] = sha256(bytes);
  });
  const empty: SplitData = { x: new Int8Array(0), y: new Uint8Array(0), count: 0 };
  return writePrepared(
    TFLM_PERSON_NAME,
    { train: empty, test: { x, y, count: IMAGES.length } },
    {
      modality: 'image, 96x96 grayscale',
      source: {
        description: 'TensorFlow Lite Micro person_detection example test images (96x96 8-bit BMP, gray palette, bytes = int8 input as uint8), label from the file name',
        location: dir,
        url: 'https://github.com/tensorflow/tflite-micro/tree/main/tensorflow/lite/micro/examples/person_detection/testdata',
        citation: 'R. David et al., "TensorFlow Lite Micro: Embedded Machine Learning for TinyML Systems", MLSys 2021 (arXiv:2010.08678)',
      },
      license: 'Apache-2.0 (tensorflow/tflite-micro LICENSE)',
      split_rule: 'test = no_person.bmp (label 0), person.bmp (label 1); train is empty',
      class_names: TFLM_PERSON_CLASSES,
      input_shape: [SIDE, SIDE, 1],
      input_scale: 2 / 255,
      input_zero_point: -1,
      prep_version: TFLM_PERSON_PREP_VERSION,
      preprocessing: {
        rule: 'stored = palette gray, rows top to bottom; photo = stored XOR 0x80; q = photo - 128 = int8(stored) (as TFLM person_detection_test feeds them); real = (photo - 127) / 127.5 with the model input scale 2/255, zero point -1',
        source_sha256: sources,
      },
    },
    opts.root,
  );
}
