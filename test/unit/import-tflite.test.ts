import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBmp } from '../../harness/datasets/bmp.js';
import { rawDataDir } from '../../harness/datasets/paths.js';
import { prepareTflmPerson } from '../../harness/datasets/tflm-person.js';
import { loadPrepared } from '../../harness/datasets/prepared.js';
import { importTflite, importTfliteFile } from '../../harness/modeltools/import/tflite.js';
import { readTflite } from '../../harness/modeltools/import/tflite-schema.js';
import { runInt8 } from '../../harness/reference/int8.js';
import { HilError } from '../../harness/util/errors.js';
import { modelHash, validateInt8Model } from '../../harness/modeltools/int8-model.js';
import { ROOT } from '../../harness/util/paths.js';
import { i32, i8, writeTflite, type WOperator, type WTensor } from '../helpers/tflite-writer.js';
import { builtinName } from '../../harness/modeltools/import/tflite-schema.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const TFLM = join(rawDataDir(), 'tflite_micro_models');
const PERSON = join(TFLM, 'models', 'person_detect.tflite');
const HELLO = join(TFLM, 'examples', 'hello_world', 'models', 'hello_world_int8.tflite');
const opts = { name: 'm', dataset: 'tflm_person' };

function hilError(fn: () => unknown): HilError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HilError) return e;
    throw e;
  }
  throw new Error('expected a HilError');
}

describe('TFLite flatbuffer reader (real TFLM models)', () => {
  it('reads person_detect: operators, tensor shapes and quantization', () => {
    const g = readTflite(readFileSync(PERSON), 'person_detect.tflite');
    const ops = g.operators.map((o) => o.opName);
    expect(ops).to.have.length(31);
    expect(ops.slice(0, 3)).to.deep.equal(['DEPTHWISE_CONV_2D', 'DEPTHWISE_CONV_2D', 'CONV_2D']);
    expect(ops.slice(-4)).to.deep.equal(['AVERAGE_POOL_2D', 'CONV_2D', 'RESHAPE', 'SOFTMAX']);
    expect(new Set(ops)).to.deep.equal(new Set(['DEPTHWISE_CONV_2D', 'CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'SOFTMAX']));
    const input = g.tensors[g.inputs[0]];
    expect(input.type).to.equal('INT8');
    expect(input.shape).to.deep.equal([1, 96, 96, 1]);
    expect(input.quant?.scale[0]).to.be.closeTo(2 / 255, 1e-7);
    expect(input.quant?.zeroPoint).to.deep.equal([-1]);
    const output = g.tensors[g.outputs[0]];
    expect(output.shape).to.deep.equal([1, 2]);
    expect(output.quant?.scale).to.deep.equal([1 / 256]);
    expect(output.quant?.zeroPoint).to.deep.equal([-128]);
    // per-channel weights of the first depthwise conv: [1,3,3,8], 8 scales along dimension 3
    const w = g.tensors[g.operators[0].inputs[1]];
    expect(w.shape).to.deep.equal([1, 3, 3, 8]);
    expect(w.data.length).to.equal(72);
    expect(w.quant?.scale).to.have.length(8);
    expect(w.quant?.quantizedDimension).to.equal(3);
    expect(g.tensors[g.operators[0].inputs[2]].type).to.equal('INT32');
  });

  it('rejects a file that is not a TFLite flatbuffer, and a truncated one, with one clear error', () => {
    expect(hilError(() => readTflite(Buffer.from('not a model at all'), 'x.tflite')).message).to.match(/not a TFLite flatbuffer/);
    const cut = readFileSync(PERSON).subarray(0, 5000);
    const e = hilError(() => importTflite(cut, 'cut.tflite', opts));
    expect(e.where).to.equal('cut.tflite');
    expect(e.message).to.match(/corrupt flatbuffer/);
  });
});

describe('TFLite import', () => {
  it('imports person_detect: 29 layers, softmax dropped, reshape a no-op, quantization kept', () => {
    const { model, report } = importTfliteFile(PERSON, { name: 'person_detect', dataset: 'tflm_person' });
    const ops = model.layers.map((l) => l.op);
    expect(ops).to.have.length(29);
    expect(ops.filter((o) => o === 'depthwise_conv2d')).to.have.length(14);
    expect(ops.slice(-2)).to.deep.equal(['avgpool_global', 'conv2d']);
    expect(model.input).to.deep.include({ shape: [96, 96, 1], zero_point: -1 });
    expect(model.classes).to.equal(2);
    expect(model.output.zero_point).to.equal(-1); // the logits tensor before SOFTMAX
    expect(report.dropped_ops).to.have.length(1);
    expect(report.dropped_ops[0]).to.match(/operator 30 \(SOFTMAX\)/);
    expect(report.noop_ops[0]).to.match(/operator 29 \(RESHAPE/);
    expect(report.source_sha256).to.match(/^[0-9a-f]{64}$/);
    const first = model.layers[0];
    if (first.op !== 'depthwise_conv2d') throw new Error('first layer');
    expect(first).to.deep.include({ kh: 3, kw: 3, stride_h: 2, stride_w: 2, pad_top: 0, pad_left: 0, depth_multiplier: 8, act_min: -128 });
    expect(first.out_shape).to.deep.equal([48, 48, 8]);
    // RELU6 in the output quantization (scale 6/255, zero point -128): the bound is 127
    expect(first.act_max).to.equal(127);
  });

  it('tells the person and no-person images apart, as TFLM\'s person_detection_test expects', () => {
    const root = mkdtempSync(join(tmpdir(), 'yono-person-'));
    try {
      prepareTflmPerson({ root });
      const d = loadPrepared('tflm_person', 'test', { root });
      const { model } = importTfliteFile(PERSON, opts);
      const logits = [0, 1].map((i) => Array.from(runInt8(model, d.x.subarray(i * 9216, (i + 1) * 9216))));
      expect(Array.from(d.y)).to.deep.equal([0, 1]);
      expect(logits[0][0], 'no_person.bmp: no-person score > person score').to.be.greaterThan(logits[0][1]);
      expect(logits[1][1], 'person.bmp: person score > no-person score').to.be.greaterThan(logits[1][0]);
      // the prepared samples are exactly what TFLM's test feeds: the BMP bytes as int8
      for (const [i, f] of ['no_person.bmp', 'person.bmp'].entries()) {
        const img = readBmp(readFileSync(join(TFLM, 'examples', 'person_detection', 'testdata', f)), f);
        const asInt8 = new Int8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.length);
        expect(Buffer.from(d.x.subarray(i * 9216, (i + 1) * 9216)).equals(Buffer.from(asInt8)), f).to.equal(true);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('imports hello_world (a 1-in, 1-out regression) and its output follows sin(x)', () => {
    const { model } = importTfliteFile(HELLO, { name: 'hello_world', dataset: 'none' });
    expect(model.layers.map((l) => l.op)).to.deep.equal(['dense', 'dense', 'dense']);
    expect(model.classes).to.equal(1);
    let worst = 0;
    for (let x = 0; x <= 2 * Math.PI; x += 0.25) {
      const q = Math.max(-128, Math.min(127, Math.round(x / model.input.scale) + model.input.zero_point));
      const y = model.output.scale * (runInt8(model, Int8Array.of(q))[0] - model.output.zero_point);
      worst = Math.max(worst, Math.abs(y - Math.sin(x)));
    }
    expect(worst).to.be.lessThan(0.2);
  });

  it('names the operator, its output tensor and the supported list for an unsupported op', () => {
    const lstm = join(TFLM, 'examples', 'micro_speech_lstm', 'micro_speech_lstm.tflite');
    const e = hilError(() => importTfliteFile(lstm, opts));
    expect(e.where).to.equal('micro_speech_lstm.tflite');
    expect(e.message).to.match(/^operator 0 \(UNIDIRECTIONAL_SEQUENCE_LSTM, output "[^"]+", input "serving_default_x:0"\): not supported; supported: CONV_2D, DEPTHWISE_CONV_2D/);
    const add = hilError(() => importTfliteFile(join(TFLM, 'examples', 'memory_footprint', 'models', 'simple_add_model.tflite'), opts));
    // ADD is supported now; this model adds its two graph inputs, which a single-input model cannot
    expect(add.message).to.match(/^only single-input, single-output models are supported \(has 2 inputs, 1 outputs\)/);
  });

  it('names every unsupported operator at once, in one line, with index and tensor names', () => {
    const dtln = hilError(() => importTfliteFile(join(TFLM, 'examples', 'dtln', 'dtln_noise_suppression.tflite'), opts));
    expect(dtln.message).to.not.include('\n');
    // (its operator 3, LOGISTIC, is supported since the lut layer)
    expect(dtln.message).to.match(/^2 operators not supported: operator 0 \(UNIDIRECTIONAL_SEQUENCE_LSTM, output "tfl.unidirectional_sequence_lstm", input "serving_default_input_7:0"\); operator 1 \(UNIDIRECTIONAL_SEQUENCE_LSTM, output "tfl.unidirectional_sequence_lstm1", input "tfl.unidirectional_sequence_lstm"\); supported: CONV_2D/);
    const kws = hilError(() => importTfliteFile(join(TFLM, 'models', 'keyword_scrambled.tflite'), opts));
    const named = [...kws.message.matchAll(/operator (\d+) \(([A-Z_0-9]+),/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(kws.message).to.match(/^\d+ operators not supported: /);
    expect(named.length).to.equal(Number(/^(\d+)/.exec(kws.message)?.[1]));
    expect(named).to.include('0:QUANTIZE').and.include('1:SVDF');
  });

  it('a dead channel (weight scale 0, or too small to represent) imports with TFLite arithmetic: multiplier 0, output = out_zp', () => {
    const bytes = readFileSync(PERSON);
    const g = readTflite(bytes, 'person_detect.tflite');
    // the first CONV_2D's weights: per-channel scales as float32 somewhere in the file
    const conv = g.operators.find((o) => o.opName === 'CONV_2D');
    if (!conv) throw new Error('no CONV_2D');
    const w = g.tensors[conv.inputs[1]];
    const scales = w.quant?.scale ?? [];
    const pattern = (v: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeFloatLE(v);
      return b;
    };
    // a channel whose scale's bytes occur exactly once in the file
    const ch = scales.findIndex((v) => bytes.indexOf(pattern(v)) >= 0 && bytes.indexOf(pattern(v)) === bytes.lastIndexOf(pattern(v)));
    expect(ch).to.be.greaterThanOrEqual(0);
    const at = bytes.indexOf(pattern(scales[ch]));
    const layerIndex = (m: { layers: { op: string }[] }): number => {
      // the layer made from that operator: count conv-like layers up to it
      const before = g.operators.filter((o) => o.index < conv.index && ['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'AVERAGE_POOL_2D', 'MAX_POOL_2D'].includes(o.opName)).length;
      expect(m.layers[before].op).to.equal('conv2d');
      return before;
    };
    for (const dead of [0, 1e-30]) {
      const patched = Buffer.from(bytes);
      patched.writeFloatLE(dead, at);
      // yono15 has no way to say "0": the import fails, naming the weights or the channel
      const e = hilError(() => importTflite(patched, 'dead.tflite', { ...opts, arithmetic: 'yono15' }));
      expect(e.message).to.match(/zero or negative scale|not representable/);
      const { model } = importTflite(patched, 'dead.tflite', opts);
      expect(model.arithmetic).to.equal('tflite-double');
      const li = layerIndex(model);
      const l = model.layers[li];
      if (l.op !== 'conv2d') throw new Error('conv2d');
      expect(l.multiplier[ch]).to.equal(0);
      expect(l.shift[ch]).to.equal(0);
      expect(l.multiplier.filter((m) => m === 0)).to.have.length(1);
    }
  });

  it('imports with TFLite\'s arithmetic by default (yono-int8/2), yono15 on request keeps format 1 and its hash', () => {
    const t = importTfliteFile(PERSON, { name: 'person_detect', dataset: 'tflm_person' });
    expect(t.model.format).to.equal('yono-int8/2');
    expect(t.model.arithmetic).to.equal('tflite-double');
    const first = t.model.layers[0];
    if (first.op !== 'depthwise_conv2d') throw new Error('first layer');
    expect(first.multiplier.every((m) => m === 0 || (m >= 2 ** 30 && m < 2 ** 31))).to.equal(true);
    const pool = t.model.layers.find((l) => l.op === 'avgpool_global');
    expect(pool).to.deep.include({ multiplier: 0, shift: 0 });
    const y = importTfliteFile(PERSON, { name: 'person_detect', dataset: 'tflm_person', arithmetic: 'yono15' });
    expect(y.model.format).to.equal('yono-int8/1');
    expect(y.model).to.not.have.property('arithmetic');
    // the committed models/person_detect was imported before format 2: same hash
    const committed = JSON.parse(readFileSync(join(ROOT, 'models', 'person_detect', 'int8.json'), 'utf8')) as unknown;
    expect(y.report.int8_model_hash).to.equal(modelHash(validateInt8Model(committed, 'models/person_detect/int8.json')));
    expect(t.report.int8_model_hash).to.not.equal(y.report.int8_model_hash);
  });

  it('refuses a float model with a hint', () => {
    const e = hilError(() => importTfliteFile(join(TFLM, 'examples', 'hello_world', 'models', 'hello_world_float.tflite'), opts));
    expect(e.message).to.match(/is FLOAT32: a float model/);
  });

  it('imports micro_speech (leading RESHAPE re-labels the input, depthwise with multiplier 8, SAME padding)', () => {
    const { model } = importTfliteFile(join(TFLM, 'examples', 'micro_speech', 'models', 'micro_speech_quantized.tflite'), opts);
    expect(model.input.shape).to.deep.equal([49, 40, 1]);
    const dw = model.layers[0];
    if (dw.op !== 'depthwise_conv2d') throw new Error('first layer');
    expect(dw).to.deep.include({ kh: 10, kw: 8, depth_multiplier: 8, pad_top: 4, pad_left: 3 });
    expect(dw.out_shape).to.deep.equal([25, 20, 8]);
    expect(model.classes).to.equal(4);
  });
});

/** float input -> QUANTIZE -> PAD (H, W by `pad`) -> DEPTHWISE_CONV_2D 3x3 VALID stride 2 -> FULLY_CONNECTED -> DEQUANTIZE;
 * `prePadded`: no QUANTIZE/PAD/DEQUANTIZE, an int8 input already of the padded size instead. */
function padModel(opts: { prePadded?: boolean; pad?: number[]; midQuantize?: boolean } = {}): Uint8Array {
  const pad = opts.pad ?? [1, 1, 1, 1];
  const [H, W, C] = [8, 8, 3];
  const [PH, PW] = [H + pad[0] + pad[1], W + pad[2] + pad[3]];
  const [OH, OW] = [Math.floor((PH - 3) / 2) + 1, Math.floor((PW - 3) / 2) + 1];
  const b8 = (v: number[]) => new Uint8Array(Buffer.from(Int8Array.from(v).buffer));
  const b32 = (v: number[]) => new Uint8Array(Buffer.from(Int32Array.from(v).buffer));
  const dwScales = [0.01, 0.02, 0.015];
  const fcIn = OH * OW * C;
  const t: WTensor[] = [
    { name: 'x_float', shape: [1, H, W, C], type: 'INT8', scale: [1], zeroPoint: [0] }, // 0 (type fixed below)
    { name: 'x', shape: [1, H, W, C], type: 'INT8', scale: [0.04], zeroPoint: [7] }, // 1
    { name: 'paddings', shape: [4, 2], type: 'INT32', data: b32([0, 0, pad[0], pad[1], pad[2], pad[3], 0, 0]), scale: [1], zeroPoint: [0] }, // 2
    { name: 'x_pad', shape: [1, PH, PW, C], type: 'INT8', scale: [0.04], zeroPoint: [7] }, // 3
    { name: 'dw_w', shape: [1, 3, 3, C], type: 'INT8', data: b8(Array.from({ length: 27 }, (_, k) => ((k * 37) % 255) - 127)), scale: dwScales, zeroPoint: [0, 0, 0], axis: 3 }, // 4
    { name: 'dw_b', shape: [C], type: 'INT32', data: b32([100, -50, 20]), scale: dwScales.map((x) => x * 0.04), zeroPoint: [0, 0, 0] }, // 5
    { name: 'dw', shape: [1, OH, OW, C], type: 'INT8', scale: [0.05], zeroPoint: [-4] }, // 6
    { name: 'fc_w', shape: [5, fcIn], type: 'INT8', data: b8(Array.from({ length: 5 * fcIn }, (_, k) => ((k * 53) % 251) - 125)), scale: [0.004], zeroPoint: [0] }, // 7
    { name: 'fc_b', shape: [5], type: 'INT32', data: b32([1, 2, 3, 4, 5]), scale: [0.0002], zeroPoint: [0] }, // 8
    { name: 'logits', shape: [1, 5], type: 'INT8', scale: [0.3], zeroPoint: [1] }, // 9
    { name: 'y_float', shape: [1, 5], type: 'INT8', scale: [1], zeroPoint: [0] }, // 10
    { name: 'x_mid', shape: [1, H, W, C], type: 'INT8', scale: [0.03], zeroPoint: [2] }, // 11
  ];
  const asFloat = (k: number) => Object.assign(t[k], { type: 'FLOAT32' });
  const dw: WOperator = { code: 4, inputs: [3, 4, 5], outputs: [6], optionsType: 2, options: [i8(1), i32(2), i32(2), i32(1), i8(0), i32(1), i32(1)] };
  const fc: WOperator = { code: 9, inputs: [6, 7, 8], outputs: [9], optionsType: 8, options: [i8(0), i8(0)] };
  if (opts.prePadded) {
    t[3].name = 'x_prepadded';
    return writeTflite({ tensors: t, operators: [dw, fc], inputs: [3], outputs: [9] });
  }
  asFloat(0);
  asFloat(10);
  const ops: WOperator[] = [{ code: 114, inputs: [0], outputs: [1] }];
  if (opts.midQuantize) ops.push({ code: 114, inputs: [1], outputs: [11] });
  ops.push({ code: 34, inputs: [opts.midQuantize ? 11 : 1, 2], outputs: [3] }, dw, fc, { code: 6, inputs: [9], outputs: [10] });
  return writeTflite({ tensors: t, operators: ops, inputs: [0], outputs: [10] });
}

describe('TFLite import: PAD folded into the convolution, QUANTIZE/DEQUANTIZE folded at float edges', () => {
  it('folds them, and equals the same network fed an input padded with the zero point', () => {
    expect([builtinName(114), builtinName(6), builtinName(34)]).to.deep.equal(['QUANTIZE', 'DEQUANTIZE', 'PAD']);
    const { model, report } = importTflite(padModel(), 'pad.tflite', opts);
    expect(model.layers.map((l) => l.op)).to.deep.equal(['depthwise_conv2d', 'dense']);
    expect(model.input).to.deep.include({ shape: [8, 8, 3], scale: 0.03999999910593033, zero_point: 7 }); // QUANTIZE's output (float32 0.04)
    expect(model.output.zero_point).to.equal(1); // DEQUANTIZE's input
    const dw = model.layers[0];
    if (dw.op !== 'depthwise_conv2d') throw new Error('dw');
    expect(dw).to.deep.include({ pad_top: 1, pad_left: 1, in_shape: [8, 8, 3], out_shape: [4, 4, 3] });
    expect(report.notes.join(' ')).to.match(/QUANTIZE\) folded/).and.match(/DEQUANTIZE\) folded/);
    expect(report.noop_ops.join(' ')).to.match(/PAD, output "x_pad"\): \[top, bottom, left, right\] = \[1,1,1,1\]/);
    const pre = importTflite(padModel({ prePadded: true }), 'prepadded.tflite', opts).model;
    for (let k = 0; k < 5; k++) {
      const x = Int8Array.from({ length: 192 }, (_, i) => ((i * (11 + k) + 29 * k) % 256) - 128);
      const padded = new Int8Array(10 * 10 * 3).fill(7); // the zero point: real 0
      for (let y = 0; y < 8; y++) for (let xx = 0; xx < 8; xx++) for (let c = 0; c < 3; c++) padded[((y + 1) * 10 + xx + 1) * 3 + c] = x[(y * 8 + xx) * 3 + c];
      expect(Array.from(runInt8(model, x))).to.deep.equal(Array.from(runInt8(pre, padded)));
    }
  });

  it('refuses, in one line each, what cannot be folded', () => {
    const mid = hilError(() => importTflite(padModel({ midQuantize: true }), 'mid.tflite', opts));
    expect(mid.message).to.match(/^operator 1 \(QUANTIZE, output "x_mid", input "x"\): not supported; supported: .*QUANTIZE at a float input/);
    const wide = hilError(() => importTflite(padModel({ pad: [3, 3, 1, 1] }), 'wide.tflite', opts));
    expect(wide.message).to.match(/DEPTHWISE_CONV_2D.*PAD \[3,3,1,1\] reaches a whole kernel/);
  });
});
