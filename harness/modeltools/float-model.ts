/** `models/<name>/float.json`: architecture + float32 weights, enough to rebuild the Sequential. */
import { readFileSync } from 'node:fs';
import { HilError } from '../util/errors.js';
import { Conv2d } from './nn/conv2d.js';
import { DepthwiseConv2d } from './nn/depthwise.js';
import { Dense } from './nn/layers.js';
import { LayerSpec, Sequential } from './nn/model.js';
import type { Shape3 } from './nn/types.js';

export const FLOAT_FORMAT = 'yono-float/1';

export interface FloatLayerJson {
  spec: LayerSpec;
  in_shape: Shape3;
  out_shape: Shape3;
  /** conv2d: [oc][kh][kw][ic]; depthwise_conv2d: [kh][kw][oc]; dense: [out][in] */
  weights?: number[];
  bias?: number[];
}

export interface FloatModelJson {
  format: typeof FLOAT_FORMAT;
  name: string;
  dataset: string;
  input_shape: Shape3;
  input: { scale: number; zero_point: number };
  layers: FloatLayerJson[];
}

export function floatModelToJson(
  name: string,
  dataset: string,
  model: Sequential,
  input: { scale: number; zero_point: number },
): FloatModelJson {
  return {
    format: FLOAT_FORMAT,
    name,
    dataset,
    input_shape: model.inputShape,
    input,
    layers: model.layers.map((l, i) => {
      const out: FloatLayerJson = { spec: model.spec[i], in_shape: l.inShape, out_shape: l.outShape };
      if (l instanceof Conv2d || l instanceof DepthwiseConv2d || l instanceof Dense) {
        out.weights = Array.from(l.weight.w);
        out.bias = Array.from(l.bias.w);
      }
      return out;
    }),
  };
}

export function floatModelFromJson(j: FloatModelJson, where: string): Sequential {
  if (j.format !== FLOAT_FORMAT || !Array.isArray(j.layers)) throw new HilError(`not a ${FLOAT_FORMAT} model`, where);
  const model = new Sequential(j.input_shape, j.layers.map((l) => l.spec));
  model.layers.forEach((l, i) => {
    if (l instanceof Conv2d || l instanceof DepthwiseConv2d || l instanceof Dense) {
      const { weights, bias } = j.layers[i];
      if (!weights || !bias || weights.length !== l.weight.w.length || bias.length !== l.bias.w.length) {
        throw new HilError(`layers[${i}]: weights/bias missing or wrong size`, where);
      }
      l.weight.w.set(weights);
      l.bias.w.set(bias);
    }
  });
  return model;
}

export function loadFloatModel(path: string): { json: FloatModelJson; model: Sequential } {
  let json: FloatModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as FloatModelJson;
  } catch (e) {
    throw new HilError(`cannot read float model: ${(e as Error).message}`, path);
  }
  return { json, model: floatModelFromJson(json, path) };
}
