/**
 * Benchmark (prints figures; not a test): the compression targets (docs/figures.md).
 *  - from a device run (`hil run --variant both`; the latest results/ folder with compression.csv,
 *    or a fresh run on the default emulated rig with --run): total ratio vs fp32 (all models and
 *    only the compressed ones), per-model top-1 loss on the device, instruction ratio pq / int8
 *  - compress time: k-means + assignment over the zoo, timed here
 *  - leave-one-out: codebooks learned without a model, that model compressed with them: its bytes
 *    ratio, weight error (vs. with the shared codebooks) and host top-1 as assigned; with
 *    --loo-finetune also after the same fine-tuning as `hil compress --finetune`
 * Usage: npm run bench:compression -- [--results dir] [--run [--samples n]] [--loo-finetune [--threads n]]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { accountSet } from '../compress/accounting.js';
import { finetuneInWorkers } from '../compress/finetune-pool.js';
import { DEFAULT_PQ_OPTIONS } from '../compress/codebooks.js';
import { COMPRESSION_REPORT, compressModel, defaultCompressSet, hostTop1, learnCodebooks } from '../compress/compress.js';
import type { CompressionReport } from '../compress/compress.js';
import { formatTable } from '../util/table.js';
import { latestResultFile, readCsv } from '../reports/csv.js';
import { DEFAULT_RIG } from '../rig/rig.js';
import { runExperiments } from '../run/run.js';
import { loadInt8Model } from '../modeltools/int8-model.js';
import { runCleanups } from '../util/cleanup.js';
import { HilError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { MODELS_DIR, rel, RESULTS_DIR } from '../util/paths.js';

const TARGET = { ratio: 16, lossPoints: 1, instructions: 1.15, compressSeconds: 60 };

/** The newest results/<run>/compression.csv (run ids start with a sortable UTC stamp). */
export function latestCompressionCsv(root: string = RESULTS_DIR): string | null {
  return latestResultFile('compression.csv', root);
}

function deviceFigures(csv: string): string {
  const rows = readCsv(readFileSync(csv, 'utf8'));
  const n = (r: Record<string, string>, k: string) => (r[k] === '' || r[k] === undefined ? NaN : Number(r[k]));
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const body = rows.map((r) => {
    const total = r.model.startsWith('TOTAL');
    // runs written before the column was renamed call it top1_loss_points (same meaning)
    const loss = r.top1_change_points !== undefined ? n(r, 'top1_change_points') : n(r, 'top1_loss_points');
    const ir = n(r, 'instructions_ratio');
    const ok = total ? n(r, 'ratio_fp32') >= TARGET.ratio : r.stored_as !== 'pq' || (loss >= -TARGET.lossPoints && ir <= TARGET.instructions);
    return [
      r.model, r.stored_as || '-', `${f(n(r, 'ratio_fp32'))}x`, total ? '-' : f(100 * n(r, 'top1_int8_device')), total ? '-' : f(100 * n(r, 'top1_pq_device')),
      total ? '-' : f(loss), `${f(ir, 3)}x`, ok ? 'ok' : 'SHORT',
    ];
  });
  return (
    `device run: ${rel(csv)} (rig ${rows[0]?.rig ?? '?'}, pq firmware ${rows[0]?.firmware_hash ?? '?'})\n` +
    formatTable(['model', 'stored', 'vs fp32', 'int8 top1', 'pq top1', 'pq-int8 pt', 'instr pq/int8', `target`], body) +
    `\ntargets: total >= ${TARGET.ratio}x vs fp32; per compressed model loss <= ${TARGET.lossPoints} pt on the device and instructions <= ${TARGET.instructions}x int8`
  );
}

function compressTime(names: string[]): string {
  const models = names.map((n) => loadInt8Model(join(MODELS_DIR, n, 'int8.json')));
  const o = DEFAULT_PQ_OPTIONS;
  const t0 = process.hrtime.bigint();
  const books = learnCodebooks(models, o);
  for (const m of models) compressModel(m, books, o);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return `compress (k-means + assignment, ${models.length} models, ${Object.keys(books).length} codebooks): ${s.toFixed(2)} s (target < ${TARGET.compressSeconds} s)\n${recoveryTime()}`;
}

/** What the last `hil compress --finetune` recorded for accuracy recovery (not re-run here: minutes). */
function recoveryTime(): string {
  const p = COMPRESSION_REPORT();
  if (!existsSync(p)) return 'accuracy recovery: no models/compression.json';
  const r = JSON.parse(readFileSync(p, 'utf8')) as CompressionReport;
  const per = r.models.map((m) => `${m.model} ${Number((m.finetuned as { seconds?: number } | null)?.seconds ?? 0).toFixed(0)} s`).join(', ');
  const s = r.seconds;
  return (
    `accuracy recovery as recorded by the last 'hil compress --finetune' (${rel(p)}): fine-tuning ${s.finetune.toFixed(0)} s wall (one worker thread per model; per model, last pass: ${per}), ` +
    `sensitivity ${s.sensitivity.toFixed(0)} s; whole command with fine-tuning ${(s.codebooks_and_assign + s.sensitivity + s.leave_one_out + s.evaluation + s.finetune).toFixed(0)} s (target < ${TARGET.compressSeconds} s)`
  );
}

async function leaveOneOut(names: string[], finetune: boolean, threads?: number): Promise<string> {
  const models = names.map((n) => loadInt8Model(join(MODELS_DIR, n, 'int8.json')));
  const o = DEFAULT_PQ_OPTIONS;
  const shared = learnCodebooks(models, o);
  const loo = models.map((m, i) => {
    const c = compressModel(m, learnCodebooks(models.filter((_, j) => j !== i), o, '_loo', true), o);
    return { m, c, inSet: compressModel(m, shared, o), int8Top1: hostTop1(m), assigned: hostTop1(c.pq) };
  });
  // the same fine-tuning as `hil compress --finetune`, codewords frozen (one worker per model)
  const tuned = finetune
    ? await finetuneInWorkers(loo.map((x) => ({ int8: x.m, pq: x.c.pq, int8Top1: x.int8Top1, assignedTop1: x.assigned, options: {} })), () => undefined, threads)
    : loo.map(() => undefined);
  const rows = loo.map(({ m, c, inSet, int8Top1, assigned }, i) => {
    // this model alone with the leave-one-out codebooks, counted whole (no other model shares them)
    const [b] = accountSet([{ int8: m, pq: c.pq }]);
    const t = tuned[i];
    const top1 = t === undefined ? null : t ? hostTop1(t.pq) : assigned;
    return [
      m.name, `${(b.fp32Bytes / b.pqBytes).toFixed(2)}x`, c.relError.toFixed(3), inSet.relError.toFixed(3), (100 * int8Top1).toFixed(2), (100 * assigned).toFixed(2),
      top1 === null ? '-' : (100 * top1).toFixed(2), top1 === null ? '-' : (100 * (top1 - int8Top1)).toFixed(2),
    ];
  });
  return (
    'leave-one-out (codebooks learned without the model; host reference, whole test split):\n' +
    formatTable(['model', 'vs fp32 (own codebooks)', 'weight err LOO', 'weight err shared', 'int8 top1', 'LOO assigned', 'LOO fine-tuned', 'fine-tuned - int8 pt'], rows) +
    '\nvs fp32 counts the whole leave-one-out codebooks against that one model (a model joining an existing set would share them)'
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { results: { type: 'string' }, run: { type: 'boolean' }, samples: { type: 'string' }, 'loo-finetune': { type: 'boolean' }, threads: { type: 'string' } },
  });
  let csv = values.results ? join(values.results, 'compression.csv') : latestCompressionCsv();
  if (values.run || !csv) {
    const r = await runExperiments({
      rig: DEFAULT_RIG, variants: ['int8', 'pq'], experiments: ['accuracy', 'latency', 'compression'], samples: values.samples === undefined ? undefined : Number(values.samples), log: createLogger({ quiet: false }),
    });
    csv = join(r.dir, 'compression.csv');
  }
  if (!existsSync(csv)) throw new HilError('no compression.csv (run with --run or hil run --variant both)', csv);
  const { names, excluded } = defaultCompressSet(MODELS_DIR);
  process.stdout.write(deviceFigures(csv) + '\n\n');
  if (excluded.length) process.stdout.write(`left int8: ${excluded.map((e) => `${e.model} (${e.reason})`).join('; ')}\n\n`);
  process.stdout.write(compressTime(names) + '\n\n');
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new HilError(`must be a whole number >= 1, got ${values.threads}`, '--threads');
  process.stdout.write((await leaveOneOut(names, values['loo-finetune'] === true, threads)) + '\n');
}

main()
  .catch((e: unknown) => {
    process.stderr.write(e instanceof HilError ? `error: ${e.toLine()}\n` : `${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void runCleanups());
