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
    expect(add.message).to.match(/^operator 0 \(ADD, output "PartitionedCall:0", inputs "serving_default_input_1:0", "serving_default_input_2:0"\): not supported/);
  });

  it('names every unsupported operator at once, in one line, with index and tensor names', () => {
    const dtln = hilError(() => importTfliteFile(join(TFLM, 'examples', 'dtln', 'dtln_noise_suppression.tflite'), opts));
    expect(dtln.message).to.not.include('\n');
    expect(dtln.message).to.match(/^3 operators not supported: operator 0 \(UNIDIRECTIONAL_SEQUENCE_LSTM, output "tfl.unidirectional_sequence_lstm", input "serving_default_input_7:0"\); operator 1 \(UNIDIRECTIONAL_SEQUENCE_LSTM, output "tfl.unidirectional_sequence_lstm1", input "tfl.unidirectional_sequence_lstm"\); operator 3 \(LOGISTIC, output "StatefulPartitionedCall:0", input "[^"]+"\); supported: CONV_2D/);
    const kws = hilError(() => importTfliteFile(join(TFLM, 'models', 'keyword_scrambled.tflite'), opts));
    const named = [...kws.message.matchAll(/operator (\d+) \(([A-Z_0-9]+),/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(kws.message).to.match(/^\d+ operators not supported: /);
    expect(named.length).to.equal(Number(/^(\d+)/.exec(kws.message)?.[1]));
    expect(named).to.include('0:QUANTIZE').and.include('1:SVDF');
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
