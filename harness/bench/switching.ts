/**
 * Benchmark (prints figures; not a test): the switching and energy targets (docs/figures.md), from one run that holds the YONO
 * firmware (pq, models in internal flash) and the external-storage baseline (int8-ext).
 *  - switch latency and energy cut against every storage model of the rig (SD over SPI first:
 *    targets >= 95 % and >= 95.5 %), median and worst pair; also with the first inference
 *  - per-inference latency and energy of every model for both variants, next to YONO's
 *  - the multi-task scenario's totals
 * Usage: npm run bench:switching -- [--results dir] [--run [--rig r] [--reps n] [--events n]]
 *   without --results: the newest results/ folder with a switching.csv (e.g. from `npm run demo`)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { latestResultFile, readCsv } from '../reports/csv.js';
import { formatTable } from '../util/table.js';
import { DEFAULT_RIG, loadRig } from '../rig/rig.js';
import { runExperiments } from '../run/run.js';
import { runCleanups } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { rel } from '../util/paths.js';

const TARGET = { latencyCut: 95, energyCut: 95.5 };
const YONO = { latencyCut: '93.3-94.5 %', energyCut: '93.9-95.0 %', inferenceMs: '16-159 ms', inferenceMJ: '3.8-37.9 mJ' };

type Row = Record<string, string>;
const num = (r: Row | undefined, k: string): number => (r === undefined || r[k] === '' || r[k] === undefined ? NaN : Number(r[k]));
const med = (v: number[]): number => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2 : NaN;
};
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const g = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : '-');

function report(dir: string): string {
  const sw = readCsv(readFileSync(join(dir, 'switching.csv'), 'utf8'));
  const energy = existsSync(join(dir, 'energy.csv')) ? readCsv(readFileSync(join(dir, 'energy.csv'), 'utf8')) : [];
  const base = sw.filter((r) => r.variant === 'int8-ext');
  if (base.length === 0) throw new HilError('no int8-ext (baseline) rows: run with --variant pq,int8-ext (or all)', join(dir, 'switching.csv'));
  const inMemory = sw.some((r) => r.variant === 'pq') ? 'pq' : 'int8';
  const storages = [...new Set(base.map((r) => r.storage))];
  const lines: string[] = [`results: ${rel(dir)}/  (${base[0].source}; in-memory variant: ${inMemory}; ${new Set(base.map((r) => `${r.from_model}>${r.to_model}`)).size} ordered pairs)`];

  const body = storages.flatMap((s) => {
    const rows = base.filter((r) => r.storage === s);
    const col = (k: string) => rows.map((r) => num(r, k));
    const worst = (k: string) => Math.min(...col(k).filter(Number.isFinite));
    const mem = sw.filter((r) => r.variant === inMemory);
    return [[
      s,
      `${g(med(mem.map((r) => num(r, 'ready_ms_median'))))} / ${g(med(col('ready_ms_median')))}`,
      `${g(med(mem.map((r) => num(r, 'ready_mJ_median'))))} / ${g(med(col('ready_mJ_median')))}`,
      `${f(med(col('ready_ms_reduction_pct')))} % (worst ${f(worst('ready_ms_reduction_pct'))})`,
      `${f(med(col('ready_mJ_reduction_pct')))} % (worst ${f(worst('ready_mJ_reduction_pct'))})`,
      `${f(med(col('first_ms_reduction_pct')))} % (worst ${f(worst('first_ms_reduction_pct'))})`,
      `${f(med(col('first_mJ_reduction_pct')))} % (worst ${f(worst('first_mJ_reduction_pct'))})`,
    ]];
  });
  lines.push('', 'Switch (make the next model ready), in-memory vs baseline, medians over pairs:');
  lines.push(formatTable(['baseline storage', 'ms (mem / base)', 'mJ (mem / base)', 'latency cut', 'energy cut', '+1st inference: latency cut', 'energy cut'], body));
  const sd = base.filter((r) => r.storage === storages[0]);
  const worstLat = Math.min(...sd.map((r) => num(r, 'ready_ms_reduction_pct')));
  const worstEn = Math.min(...sd.map((r) => num(r, 'ready_mJ_reduction_pct')));
  lines.push(
    `target vs ${storages[0]}: latency cut >= ${TARGET.latencyCut} % on every pair: ${f(worstLat)} % -> ${worstLat >= TARGET.latencyCut ? 'met' : 'NOT met'}; ` +
      `energy cut >= ${TARGET.energyCut} %: ${f(worstEn)} % -> ${worstEn >= TARGET.energyCut ? 'met' : 'NOT met'} (YONO: ${YONO.latencyCut}, ${YONO.energyCut})`,
  );

  const inf = energy.filter((e) => e.what === 'inference');
  if (inf.length) {
    const keys = [...new Map(inf.map((e) => [`${e.variant}/${e.storage}`, e])).keys()].filter((k) => !k.startsWith('int8-ext/') || k === `int8-ext/${storages[0]}`);
    const models = [...new Set(inf.map((e) => e.model))];
    lines.push('', `Per inference (median window; int8-ext weights loaded in SRAM, ${storages[0]} idle):`);
    lines.push(formatTable(['model', ...keys.flatMap((k) => [`${k} ms`, 'mJ'])], models.map((m) => [m, ...keys.flatMap((k) => {
      const e = inf.find((x) => `${x.variant}/${x.storage}` === k && x.model === m);
      return [g(num(e, 'window_ms_median')), g(num(e, 'energy_mJ_median'))];
    })])));
    lines.push(`YONO (IPSN 2022): ${YONO.inferenceMs}, ${YONO.inferenceMJ} per inference on its models and board`);
  }
  const scen = existsSync(join(dir, 'scenario.csv')) ? readCsv(readFileSync(join(dir, 'scenario.csv'), 'utf8')) : [];
  if (scen.length) {
    const groups = [...new Map(scen.map((r) => [`${r.schedule}\u0000${r.variant}\u0000${r.storage}`, r])).values()];
    lines.push('', 'Multi-task scenario totals (switch if needed + inference, every event):');
    lines.push(formatTable(['schedule', 'variant', 'storage', 'events', 'switches', 'device!=host', 'total ms', 'total mJ'], groups.map((k) => {
      const rows = scen.filter((r) => r.schedule === k.schedule && r.variant === k.variant && r.storage === k.storage);
      const sum = (c: string) => rows.reduce((a, r) => a + num(r, c), 0);
      return [k.schedule, k.variant, k.storage, String(rows.length), String(sum('switched')), 'host' in rows[0] ? String(rows.filter((r) => r.host !== r.predicted).length) : '-', g(sum('event_ms')), g(sum('event_mJ'))];
    })));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { results: { type: 'string' }, run: { type: 'boolean' }, rig: { type: 'string' }, reps: { type: 'string' }, events: { type: 'string' } },
  });
  let dir = values.results;
  if (!dir && !values.run) {
    const latest = latestResultFile('switching.csv');
    dir = latest ? join(latest, '..') : undefined;
  }
  if (values.run || !dir) {
    const rig = loadRig(values.rig ?? DEFAULT_RIG);
    const r = await runExperiments({
      rig: rig.file, variants: ['pq', 'int8-ext'], experiments: ['switching', 'scenario'],
      switchReps: values.reps ? Number(values.reps) : undefined, scenarioEvents: values.events ? Number(values.events) : undefined,
      log: createLogger({ quiet: false }),
    });
    dir = r.dir;
  }
  if (!existsSync(join(dir, 'switching.csv'))) throw new HilError('no switching.csv here (run with --run, or hil run --variant pq,int8-ext)', dir);
  process.stdout.write(report(dir) + '\n');
}

main().catch(async (e: unknown) => {
  await runCleanups();
  process.stderr.write(`error: ${e instanceof HilError ? e.toLine() : e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
