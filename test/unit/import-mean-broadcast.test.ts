/**
 * The TFLite importer's MEAN (TFLite Micro's int8 MEAN over the spatial axes) and ADD/MUL with a
 * broadcast operand, on small graphs written with the test fixtures' GraphBuilder.
 */
import { expect } from 'chai';
import { importTflite } from '../../harness/modeltools/import/tflite.js';
import type { Arithmetic, Int8Layer } from '../../harness/modeltools/int8-model.js';
import { tfliteMeanMultiplier } from '../../harness/modeltools/quantize.js';
import { runInt8Layer, runInt8Layers } from '../../harness/reference/int8.js';
import { HilError } from '../../harness/util/errors.js';
import { GraphBuilder, makeConstOperandTflite } from '../fixtures/tflite-models.js';

const imp = (bytes: Uint8Array, arithmetic: Arithmetic = 'tflite-double') => importTflite(bytes, 't.tflite', { name: 't', dataset: 'none', arithmetic }).model;
const error = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof HilError) return e.message;
    throw e;
  }
  return 'accepted';
};
const input = (n: number, seed = 3): Int8Array => Int8Array.from({ length: n }, (_, i) => ((i * (31 + seed) + seed * 17) % 256) - 128);

describe('TFLite import: MEAN over H and W', () => {
  const graph = (keepDims: boolean, outScale: number, outZp: number): Uint8Array => {
    const g = new GraphBuilder(1);
    const x = g.act('x', [1, 4, 6, 3], 0.05, 7);
    return g.write(x, g.mean(x, 'm', keepDims, outScale, outZp));
  };

  it('keep_dims or not: one mean layer with TFLite\'s QuantizedMeanOrSum multiplier (1/24 folded in)', () => {
    for (const keep of [true, false]) {
      const m = imp(graph(keep, 0.02, -5));
      expect(m.layers).to.have.length(1);
      const l = m.layers[0];
      if (l.op !== 'mean') throw new Error(l.op);
      expect(l.out_shape).to.deep.equal([1, 1, 3]);
      expect({ multiplier: l.multiplier, shift: l.shift }).to.deep.equal(tfliteMeanMultiplier(Math.fround(0.05) / Math.fround(0.02), 24));
      expect([l.in_zp, l.out_zp]).to.deep.equal([7, -5]);
      // real: mean of 0.05 * (x - 7) over 24 values / 0.02 - 5, within one step
      const x = input(72);
      const y = runInt8Layers(m, x)[0];
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let p = 0; p < 24; p++) sum += x[p * 3 + c] - 7;
        expect(Math.abs(y[c] - Math.max(-128, Math.min(127, (0.05 * sum) / 24 / 0.02 - 5)))).to.be.at.most(1);
      }
    }
  });

  it('one quantization in and out: multiplier 0, the truncated mean of the int8 values', () => {
    const m = imp(graph(true, 0.05, 7));
    const l = m.layers[0];
    if (l.op !== 'mean') throw new Error(l.op);
    expect([l.multiplier, l.shift]).to.deep.equal([0, 0]);
    const x = new Int8Array(72).fill(-3);
    x[0] = -2; // channel 0: sum = -71, / 24 = -2.96 -> -2 (C truncates toward zero)
    expect(Array.from(runInt8Layers(m, x)[0])).to.deep.equal([-2, -3, -3]);
  });

  it('yono15: the global average pool of the trained zoo\'s arithmetic', () => {
    expect(imp(graph(false, 0.02, -5), 'yono15').layers.map((l) => l.op)).to.deep.equal(['avgpool_global']);
  });

  it('refuses a MEAN over the channels or over one spatial axis, naming the operator', () => {
    for (const [axes, out] of [[[3], [1, 4, 6, 1]], [[1], [1, 1, 6, 3]]] as [number[], number[]][]) {
      const g = new GraphBuilder(1);
      const x = g.act('x', [1, 4, 6, 3], 0.05, 7);
      expect(error(() => imp(g.write(x, g.meanAxes(x, 'm', axes, out))))).to.match(/operator 0 \(MEAN, output "m"\): reduces axes \[\d\] of a rank-4 tensor: only the spatial axes \[1,2\]/);
    }
  });
});

describe('TFLite import: ADD and MUL with a broadcast operand', () => {
  /** x [1,3,4,5] and the per-channel [1,1,1,5] from a MEAN of it; the small one first or second */
  const graph = (kind: 'add' | 'mul', smallFirst: boolean): Uint8Array => {
    const g = new GraphBuilder(2);
    const x = g.act('x', [1, 3, 4, 5], 0.05, -4);
    const s = g.mean(x, 'gate', true, 0.03, 2);
    return g.write(x, smallFirst ? g.binary(kind, s, x, 'y', 0.07) : g.binary(kind, x, s, 'y', 0.07));
  };

  for (const kind of ['add', 'mul'] as const) {
    it(`${kind}: a [1,1,1,C] operand, first or second, becomes the broadcast second input; equals the tiled same-shape ${kind}`, () => {
      const x = input(60);
      const ys: number[][] = [];
      for (const smallFirst of [false, true]) {
        const m = imp(graph(kind, smallFirst));
        const l = m.layers[1];
        if (l.op !== kind) throw new Error(l.op);
        expect(l.inputs).to.deep.equal([0, 1]); // the full-shape input first, the mean second
        expect(l.in2_shape).to.deep.equal([1, 1, 5]);
        const [mean, y] = runInt8Layers(m, x);
        const tiled = Int8Array.from({ length: 60 }, (_, i) => mean[i % 5]);
        const same = { ...l, in2_shape: undefined } as Int8Layer;
        expect(Array.from(y)).to.deep.equal(Array.from(runInt8Layer(same, x, 'tflite-double', tiled)));
        ys.push(Array.from(y));
      }
      expect(ys[1]).to.deep.equal(ys[0]); // ADD and MUL are symmetric: the order does not matter
    });
  }

  it('refuses shapes that do not broadcast, with both shapes in the message', () => {
    const g = new GraphBuilder(3);
    const x = g.act('x', [1, 3, 4, 5], 0.05, -4);
    const m = g.mean(x, 'gate', true, 0.03, 2);
    const z = g.conv(x, 'z', 4, 1, 1, 0.05, 'none');
    expect(error(() => imp(g.write(x, g.binary('add', m, z, 'y', 0.07))))).to.match(/ADD, output "y"\): inputs of shapes \[1,1,5\] and \[3,4,4\]: neither broadcasts to the other/);
  });

  it('constant operands (a scalar ADD, a per-channel MUL written constant first) travel in the layer, which reads one tensor (a chain)', () => {
    const m = imp(makeConstOperandTflite());
    // each layer reads its predecessor only: a chain, add and mul included
    expect(m.layers.map((l) => `${l.op}${JSON.stringify(l.inputs ?? null)}`)).to.deep.equal(['conv2dnull', 'addnull', 'mulnull', 'meannull', 'densenull']);
    const [add, mul] = [m.layers[1], m.layers[2]];
    if (add.op !== 'add' || mul.op !== 'mul') throw new Error('ops');
    expect([add.const2, add.in2_shape, add.in2_zp]).to.deep.equal([[37], [1, 1, 1], -3]);
    expect([mul.const2, mul.in2_shape, mul.in2_zp]).to.deep.equal([[90, -40, 127, 15, -128, 60], [1, 1, 6], 2]);
    // the constant is the second operand: the same as a tiled same-shape mul of the conv output
    const [, shifted, scaled] = runInt8Layers(m, input(192));
    const tiled = Int8Array.from({ length: shifted.length }, (_, i) => mul.const2?.[i % 6] ?? 0);
    const plain = { ...mul, in2_shape: undefined, const2: undefined, inputs: undefined } as Int8Layer;
    expect(Array.from(scaled)).to.deep.equal(Array.from(runInt8Layer(plain, shifted, 'tflite-double', tiled)));
  });

  it('refuses a constant that the tensor would have to broadcast to', () => {
    const g = new GraphBuilder(5);
    const x = g.act('x', [1, 1, 1, 4], 0.05, 0);
    const k = g.constant('k', [1, 2, 2, 4], Array.from({ length: 16 }, (_, i) => i), 0.1, 0);
    expect(error(() => imp(g.write(x, g.binary('add', x, k, 'y', 0.07))))).to.match(/ADD, output "y"\): inputs of shapes \[1,1,4\] and \[2,2,4\]: neither broadcasts .*a constant operand must broadcast to the tensor/);
  });

  it('unsupported operators next to MEAN and broadcasting: all listed at once, MEAN not among them', () => {
    const g = new GraphBuilder(4);
    const x = g.act('x', [1, 3, 4, 5], 0.05, -4);
    const m = g.mean(x, 'gate', true, 0.03, 2);
    const y = g.binary('mul', x, m, 'y', 0.07);
    const t = g.raw(28, [y], 'tanh', [1, 3, 4, 5]); // TANH
    const msg = error(() => imp(g.write(x, g.raw(41, [t, x], 'sub', [1, 3, 4, 5])))); // SUB
    expect(msg).to.match(/^2 operators not supported: operator 2 \(TANH, output "tanh", input "y"\); operator 3 \(SUB, output "sub", inputs "tanh", "x"\); supported: .*MEAN/);
  });
});
