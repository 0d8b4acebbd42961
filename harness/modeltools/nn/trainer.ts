/** Mini-batch training and evaluation over int8 prepared data (dequantised on the fly). */
import { Adam } from './adam.js';
import { argmaxFirst as argmax } from '../../util/argmax.js';
import { Sequential, softmaxCrossEntropy } from './model.js';
import { Rng } from './prng.js';

export interface Int8Data {
  x: Int8Array;
  y: Uint8Array;
  count: number;
  inputBytes: number;
  /** real = scale * (q - zeroPoint) */
  scale: number;
  zeroPoint: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** final learning rate as a fraction of lr (cosine decay per step) */
  lrFinal?: number;
  seed: number;
  /** optional per-sample augmentation, in place, on the dequantised input */
  augment?: (x: Float32Array, rng: Rng) => void;
  log?: (msg: string) => void;
}

export function dequantize(d: Int8Data, i: number, out: Float32Array): Float32Array {
  const base = i * d.inputBytes;
  for (let k = 0; k < d.inputBytes; k++) out[k] = d.scale * (d.x[base + k] - d.zeroPoint);
  return out;
}

export function trainModel(model: Sequential, data: Int8Data, o: TrainOptions): { lossPerEpoch: number[] } {
  const rng = new Rng(o.seed);
  model.init(rng);
  const adam = new Adam(model.params());
  const order = new Int32Array(data.count);
  for (let i = 0; i < data.count; i++) order[i] = i;
  const input = new Float32Array(data.inputBytes);
  const grad = new Float32Array(model.outputShape[2]);
  const steps = o.epochs * Math.ceil(data.count / o.batchSize);
  const lrFinal = o.lrFinal ?? 0.02;
  const lossPerEpoch: number[] = [];
  let step = 0;
  for (let ep = 0; ep < o.epochs; ep++) {
    rng.shuffle(order);
    let loss = 0;
    let correct = 0;
    const t0 = Date.now();
    for (let b = 0; b < data.count; b += o.batchSize) {
      const end = Math.min(b + o.batchSize, data.count);
      for (let j = b; j < end; j++) {
        const i = order[j];
        dequantize(data, i, input);
        if (o.augment) o.augment(input, rng);
        const logits = model.forward(input);
        if (argmax(logits) === data.y[i]) correct++;
        loss += softmaxCrossEntropy(logits, data.y[i], grad);
        model.backward(grad);
      }
      const lr = o.lr * (lrFinal + (1 - lrFinal) * 0.5 * (1 + Math.cos((Math.PI * step) / steps)));
      adam.step(lr, end - b);
      step++;
    }
    lossPerEpoch.push(loss / data.count);
    o.log?.(
      `epoch ${ep + 1}/${o.epochs}: loss ${(loss / data.count).toFixed(4)}, train acc ${((100 * correct) / data.count).toFixed(2)} %, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  return { lossPerEpoch };
}

export function evaluateFloat(model: Sequential, data: Int8Data): { accuracy: number; predictions: Uint8Array } {
  const input = new Float32Array(data.inputBytes);
  const predictions = new Uint8Array(data.count);
  let correct = 0;
  for (let i = 0; i < data.count; i++) {
    predictions[i] = argmax(model.forward(dequantize(data, i, input)));
    if (predictions[i] === data.y[i]) correct++;
  }
  return { accuracy: correct / data.count, predictions };
}
