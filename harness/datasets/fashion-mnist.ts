/**
 * Fashion-MNIST (Zalando, MIT) from the Debian package dataset-fashion-mnist: IDX files, gzip.
 * Prepared as [28,28,1] int8 with q = pixel - 128 (scale 1/255, zero point -128).
 */
import { join } from 'node:path';
import { HilError } from '../util/errors.js';
import { fmnistDir } from './paths.js';
import { readRaw } from './raw.js';
import { PreparedManifest, Split, SplitData, writePrepared } from './prepared-io.js';

export const FMNIST_NAME = 'fashion_mnist';
export const FMNIST_PREP_VERSION = 'fashion_mnist-prep/1';
export const FMNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
const PROVIDED_BY = "Debian package 'dataset-fashion-mnist' (or set YONO_FMNIST_DIR)";

function readIdx(path: string, magic: number, dims: number): { dims: number[]; data: Uint8Array } {
  const buf = readRaw(path, PROVIDED_BY);
  const bad = (why: string): never => {
    throw new HilError(`not a valid IDX file: ${why}`, path);
  };
  if (buf.length < 4 + 4 * dims) bad('too short');
  if (buf.readUInt32BE(0) !== magic) bad(`magic 0x${buf.readUInt32BE(0).toString(16)} != 0x${magic.toString(16)}`);
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const n = shape.reduce((a, b) => a * b, 1);
  const off = 4 + 4 * dims;
  if (buf.length !== off + n) bad(`payload ${buf.length - off} bytes, header says ${n}`);
  return { dims: shape, data: new Uint8Array(buf.buffer, buf.byteOffset + off, n) };
}

function loadSplit(dir: string, prefix: string): SplitData {
  const imgPath = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  const lblPath = join(dir, `${prefix}-labels-idx1-ubyte.gz`);
  const img = readIdx(imgPath, 0x00000803, 3);
  const lbl = readIdx(lblPath, 0x00000801, 1);
  const count = img.dims[0];
  if (img.dims[1] !== 28 || img.dims[2] !== 28) throw new HilError('images are not 28x28', imgPath);
  if (lbl.dims[0] !== count) throw new HilError(`${lbl.dims[0]} labels for ${count} images`, lblPath);
  const x = new Int8Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i] - 128;
  const y = Uint8Array.from(lbl.data);
  for (let i = 0; i < count; i++) if (y[i] > 9) throw new HilError(`label ${y[i]} out of range at ${i}`, lblPath);
  return { x, y, count };
}

export function prepareFashionMnist(opts: { fmnistDir?: string; root?: string } = {}): PreparedManifest {
  const dir = fmnistDir(opts.fmnistDir);
  const data: Record<Split, SplitData> = { train: loadSplit(dir, 'train'), test: loadSplit(dir, 't10k') };
  if (data.train.count !== 60000 || data.test.count !== 10000) {
    throw new HilError(`unexpected counts ${data.train.count}/${data.test.count} (want 60000/10000)`, dir);
  }
  return writePrepared(
    FMNIST_NAME,
    data,
    {
      modality: 'image, 28x28 grayscale',
      source: {
        description: 'Fashion-MNIST IDX files (train/t10k images+labels, gzip) from the Debian package dataset-fashion-mnist',
        location: dir,
        url: 'https://github.com/zalandoresearch/fashion-mnist',
        citation:
          'Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.',
      },
      license: 'MIT (Expat), Copyright 2017 Zalando SE',
      split_rule: 'official split: train = 60,000 train-* images, test = 10,000 t10k-* images, original order',
      class_names: FMNIST_CLASSES,
      input_shape: [28, 28, 1],
      input_scale: 1 / 255,
      input_zero_point: -128,
      prep_version: FMNIST_PREP_VERSION,
      preprocessing: { rule: 'q = pixel - 128 (real = pixel / 255)' },
    },
    opts.root,
  );
}
