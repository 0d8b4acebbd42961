/**
 * Reproduces a kept reference run and compares every CSV row with it: `npm run check:reference`
 * [-- --reference <run folder>] [--inputs stream|preload|auto]. Same rig, models, variants, samples and options (from its
 * run.json); rows must be identical except the columns that name the run, the harness version
 * and the firmware build (a build hash covers the firmware sources), and the figures read from
 * the device timer: the emulated core waits for the UART in host time, so the timer's phase
 * at the start of a timed region varies between runs and a tick-quantized figure may move by a
 * timer tick (40 instructions on the 25 MHz SysTick). Those must agree within two ticks; the
 * instruction-class model's figures (exact plugin counts) must be identical. Exits 1 on any
 * other difference, naming the first ones.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readCsv } from '../reports/csv.js';
import { runExperiments } from '../run/run.js';
import type { Variant } from '../session/model-set.js';
import { runScript } from '../util/script.js';
import { HilError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { ROOT, rel } from '../util/paths.js';

const IGNORED = new Set(['run_id', 'harness_version', 'firmware_hash', 'int8_firmware_hash']);
/** Figures computed from device timer ticks (not the class model's plugin counts). */
const TICK_FIGURE = /^(?!.*class_model)(instructions_(median|min|max|pq|int8|ratio)|cycles_median|.*_ms(_|$)|ms_|.*_mJ(_|$)|energy_mJ|window_ms|.*reduction_pct|total_(ms|mJ))/;

/** Two ticks, in the column's unit (25 MHz SysTick, 1 ns per instruction, 120 MHz at CPI 1.3), or a relative 5e-4. */
function withinTicks(col: string, a: number, b: number): boolean {
  const d = Math.abs(a - b);
  if (d <= 5e-4 * Math.max(Math.abs(a), Math.abs(b))) return true;
  if (/instructions/.test(col)) return d <= 80;
  if (/cycles/.test(col)) return d <= 104;
  if (/_pct$/.test(col)) return d <= 0.01;
  if (/ms/.test(col) && !/mJ/.test(col)) return d <= 0.001;
  return false;
}
const TABLES = ['accuracy.csv', 'predictions.csv', 'latency.csv', 'compression.csv', 'switching.csv', 'scenario.csv', 'energy.csv'];

interface KeptRun {
  rig: { name: string };
  variant: string;
  experiments: string[];
  options: { models: string[]; samples: number | 'all'; latency_runs?: number; latency_warmup?: number; switch_reps?: number; scenario_events?: number; scenario_seed?: number };
}

/** Differences between two CSV files' rows, as lines (empty: identical apart from IGNORED columns). */
export function diffTables(name: string, kept: string, fresh: string): string[] {
  const a = readCsv(kept);
  const b = readCsv(fresh);
  const out: string[] = [];
  if (a.length !== b.length) out.push(`${name}: ${a.length} rows kept, ${b.length} now`);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    for (const col of new Set([...Object.keys(a[i]), ...Object.keys(b[i])])) {
      if (IGNORED.has(col) || a[i][col] === b[i][col]) continue;
      if (TICK_FIGURE.test(col) && a[i][col] !== '' && b[i][col] !== '' && withinTicks(col, Number(a[i][col]), Number(b[i][col]))) continue;
      out.push(`${name} row ${i + 1} ${col}: kept ${a[i][col]}, now ${b[i][col]}`);
    }
  }
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { reference: { type: 'string' }, inputs: { type: 'string' } } });
  const refDir = path.resolve(values.reference ?? path.join(ROOT, 'results', 'reference', 'regression-200-qemu-mps2-an386'));
  const runFile = path.join(refDir, 'run.json');
  if (!fs.existsSync(runFile)) throw new HilError('not a run folder (no run.json)', rel(refDir));
  const kept = JSON.parse(fs.readFileSync(runFile, 'utf8')) as KeptRun;
  const o = kept.options;
  const started = Date.now();
  const fresh = await runExperiments({
    rig: kept.rig.name,
    models: o.models,
    variants: kept.variant.split(',') as Variant[],
    samples: o.samples === 'all' ? undefined : o.samples,
    inputs: (values.inputs as 'auto' | 'stream' | 'preload' | undefined) ?? 'auto',
    latencyRuns: o.latency_runs, latencyWarmup: o.latency_warmup, switchReps: o.switch_reps, scenarioEvents: o.scenario_events, scenarioSeed: o.scenario_seed,
    resultsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'yono-reference-')),
    log: createLogger(),
  });
  const diffs: string[] = [];
  for (const t of TABLES) {
    const [k, f] = [path.join(refDir, t), path.join(fresh.dir, t)];
    if (!fs.existsSync(k) && !fs.existsSync(f)) continue;
    if (!fs.existsSync(k) || !fs.existsSync(f)) diffs.push(`${t}: ${fs.existsSync(k) ? 'missing now' : 'not in the kept run'}`);
    else diffs.push(...diffTables(t, fs.readFileSync(k, 'utf8'), fs.readFileSync(f, 'utf8')));
  }
  const compared = TABLES.filter((t) => fs.existsSync(path.join(refDir, t)));
  console.log(`reference ${rel(refDir)} vs fresh run ${fresh.dir} (${((Date.now() - started) / 1000).toFixed(0)} s): ${compared.join(', ')}`);
  if (diffs.length === 0) {
    console.log(`identical: every row of every table (ignoring ${[...IGNORED].join(', ')}; timer-tick figures within two ticks)`);
    return 0;
  }
  console.log(`${diffs.length} differences; first ones:\n${diffs.slice(0, 30).join('\n')}`);
  return 1;
}

runScript(main);
