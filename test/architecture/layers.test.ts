/**
 * The layer order of harness/ (ARCHITECTURE.md): a folder may import from its own layer or any
 * layer below, never above. Walks every relative import of the sources and names each upward one.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../harness/util/paths.js';

/** Lowest first. Folders on one line share a layer and must not import each other in a cycle. */
export const LAYERS: string[][] = [
  ['util'],
  ['rig'],
  ['capabilities'],
  ['protocol'],
  ['datasets'],
  ['modeltools'],
  ['reference'],
  ['compress'],
  ['codegen'],
  ['firmware'],
  ['estimate'],
  ['discovery'],
  ['link', 'flashers'],
  ['power'],
  ['dut'],
  ['session'],
  ['experiments'],
  ['reports'],
  ['run'],
  ['queue'],
  ['commands'],
  ['cli.ts', 'bench'],
];

const HARNESS = path.join(ROOT, 'harness');

function layerOf(file: string): number {
  const top = path.relative(HARNESS, file).split(path.sep)[0];
  const k = LAYERS.findIndex((l) => l.includes(top));
  if (k < 0) throw new Error(`${path.relative(ROOT, file)}: folder ${top} has no layer in test/architecture/layers.test.ts`);
  return k;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Relative imports of a source file, resolved to .ts paths (static, type-only and dynamic ones). */
export function importsOf(file: string, text = fs.readFileSync(file, 'utf8')): string[] {
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

/** Every import that goes up the layer order, as "from -> to (layer a above b)". */
export function upwardImports(files: string[], read: (f: string) => string = (f) => fs.readFileSync(f, 'utf8')): string[] {
  const bad: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    for (const target of importsOf(file, read(file))) {
      if (!target.startsWith(HARNESS + path.sep)) continue;
      const to = layerOf(target);
      if (to > from) {
        bad.push(`${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)} (${LAYERS[to].join('/')} is above ${LAYERS[from].join('/')})`);
      }
    }
  }
  return bad;
}

/** Import cycles between different folders of one layer. */
function sameLayerCycles(files: string[]): string[] {
  const edges = new Set<string>();
  const top = (f: string) => path.relative(HARNESS, f).split(path.sep)[0];
  for (const file of files) {
    for (const target of importsOf(file)) {
      if (!target.startsWith(HARNESS + path.sep)) continue;
      if (top(file) !== top(target) && layerOf(file) === layerOf(target)) edges.add(`${top(file)} -> ${top(target)}`);
    }
  }
  return [...edges].filter((e) => edges.has(e.split(' -> ').reverse().join(' -> ')));
}

describe('architecture: layer order of harness/', () => {
  const files = sources(HARNESS);

  it('every folder of harness/ has a layer', () => {
    for (const f of files) expect(() => layerOf(f)).not.to.throw();
  });

  it('no folder imports from a layer above it', () => {
    expect(upwardImports(files)).to.deep.equal([]);
  });

  it('folders that share a layer do not import each other both ways', () => {
    expect(sameLayerCycles(files)).to.deep.equal([]);
  });

  it('the check fails on an upward import (a util file that imports the protocol client)', () => {
    const fake = path.join(HARNESS, 'util', 'fake.ts');
    const bad = upwardImports([fake], () => "import { ProtocolClient } from '../protocol/client.js';\n");
    expect(bad).to.have.length(1);
    expect(bad[0]).to.match(/harness\/util\/fake\.ts imports harness\/protocol\/client\.ts \(protocol is above util\)/);
  });
});
