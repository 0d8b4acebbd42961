/** `hil compress` options -> runCompress, and the one-screen summary it prints. */
import { formatTable } from '../util/table.js';
import type { Command } from './command.js';
import { flag, list, positiveInt } from './options.js';
import { HilError } from '../util/errors.js';
import { DEFAULT_PQ_OPTIONS } from '../compress/codebooks.js';
import type { PqOptions } from '../compress/codebooks.js';
import { runCompress } from '../compress/compress.js';
import type { CompressionReport, CompressOptions } from '../compress/compress.js';

export interface CompressCommandOptions {
  models?: string[];
  pq: Partial<Record<Exclude<keyof PqOptions, 'pqFirst' | 'layers'>, number | undefined>>;
  /** keep every model's first weight layer int8 (default: compress it when its row allows) */
  int8First?: boolean;
  finetune: boolean;
  /** most fine-tune rounds per model (it stops earlier once within 1 point of int8) */
  maxRounds?: number;
  noLeaveOneOut: boolean;
  samples?: number;
  log: (s: string) => void;
}

function checkOptions(p: CompressCommandOptions['pq'], int8First: boolean): Partial<PqOptions> {
  const out: Partial<PqOptions> = {};
  for (const [k, v] of Object.entries(p) as [Exclude<keyof PqOptions, 'pqFirst' | 'layers'>, number | undefined][]) if (v !== undefined) out[k] = v;
  if (int8First) out.pqFirst = false;
  const o = { ...DEFAULT_PQ_OPTIONS, ...out };
  for (const [flag, k] of [['--kxk-k', o.kxkK], ['--fc-k', o.fcK]] as const) {
    if (k < 2 || k > 256) throw new HilError(`codebook size must be in [2, 256] (indices are 8 bits or fewer), got ${k}`, flag);
  }
  for (const [flag, d] of [['--kxk-d', o.kxkD], ['--fc-d', o.fcD]] as const) {
    if (d > 64) throw new HilError(`sub-vector length must be in [1, 64], got ${d}`, flag);
  }
  return out;
}

/** The sensitivity heuristic's measurements (validation top-1 loss as assigned per layer rung) and moves. */
export function formatProtection(r: CompressionReport): string {
  const p = r.protection;
  if (!p) return '';
  const pts = (x: number) => (100 * x).toFixed(1);
  const moved = new Map(p.moves.map((m) => [`${m.model}:${m.layer}`, m.level]));
  const rows = p.candidates.map((c) => [
    c.model, String(c.layer), ...(['assigned', 'fine', 'int8'] as const).map((lv) => {
      const o = c.options.find((x) => x.level === lv);
      return o ? `${pts(o.loss)} pt / ${o.bytes} B` : '-';
    }),
    moved.get(`${c.model}:${c.layer}`) ?? '',
  ]);
  const out = p.outcome.map((x) => `${x.model}: validation gap ${pts(x.gap_before)} -> ${pts(x.gap_after)} points, ${x.kept ? 'kept' : 'discarded'}`);
  return (
    `\n\nsensitivity heuristic (models short of the budget on validation after fine-tuning): ${p.spent_bytes} of ${p.budget_bytes} B spent (fp32 / ${p.ratio}), min gain ${pts(p.min_gain)} pt\n` +
    formatTable(['model', 'layer', 'loss as assigned', 'at fine codebook', 'int8', 'moved to'], rows) +
    (out.length > 0 ? `\n${out.join('\n')}` : '')
  );
}

export function formatReport(r: CompressionReport): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);
  const rows = r.models.map((m) => [
    m.model, String(m.bytes.params), String(m.bytes.fp32Bytes), String(m.bytes.int8Bytes), m.bytes.pqBytes.toFixed(0),
    `${(m.bytes.fp32Bytes / m.bytes.pqBytes).toFixed(2)}x`, pct(m.fp32_top1), pct(m.int8_top1), pct(m.pq_top1_assigned), pct(m.pq_top1),
    m.leave_one_out ? pct(m.leave_one_out.pq_top1) : '-',
  ]);
  const t = r.total;
  rows.push(['TOTAL', String(t.params), String(t.fp32_bytes), String(t.int8_bytes), String(t.pq_bytes), `${t.ratio_fp32.toFixed(2)}x`, '', '', '', '', '']);
  return (
    formatTable(['model', 'params', 'fp32 B', 'int8 B', 'pq B', 'vs fp32', 'fp32', 'int8', 'pq assigned', 'pq final', 'pq LOO'], rows) +
    `\ncodebooks: ${r.codebooks.map((c) => `${c.id} d=${c.d} k=${c.k} (${c.bytes} B, ${c.hash})`).join(', ')}; ` +
    `k-means + assignment ${r.seconds.codebooks_and_assign.toFixed(1)} s, leave-one-out ${r.seconds.leave_one_out.toFixed(1)} s, ` +
    `host evaluation ${r.seconds.evaluation.toFixed(1)} s, fine-tuning ${r.seconds.finetune.toFixed(1)} s\n` +
    `top-1 on the host reference (test split); pq LOO = compressed with codebooks learned without that model, before fine-tuning` +
    formatProtection(r)
  );
}

export async function compressCommand(o: CompressCommandOptions): Promise<string> {
  const pq = checkOptions(o.pq, o.int8First === true);
  const pool = o.finetune ? (await import('../compress/finetune-pool.js')).finetuneInWorkers : undefined;
  const options = o.maxRounds === undefined ? {} : { rounds: o.maxRounds };
  const finetune: CompressOptions['finetune'] = pool && ((jobs, log) => pool(jobs.map((j) => ({ ...j, options })), log));
  const report = await runCompress({ models: o.models, pq, noLeaveOneOut: o.noLeaveOneOut, samples: o.samples, finetune, log: o.log });
  return formatReport(report);
}

export const compressCommandSpec: Command = {
  name: 'compress',
  usage: `compress [--models a,b] [--kxk-d n --kxk-k n --fc-d n --fc-k n --min-weights n --seed n] [--int8-first] [--finetune [--max-rounds n]] [--no-loo] [--samples n]
                               YONO: shared PQ codebooks over all models -> models/<m>/pq.json, models/_codebooks/, models/compression.json`,
  options: {
    models: { type: 'string' }, 'kxk-d': { type: 'string' }, 'kxk-k': { type: 'string' }, 'fc-d': { type: 'string' }, 'fc-k': { type: 'string' },
    'min-weights': { type: 'string' }, seed: { type: 'string' }, 'int8-first': { type: 'boolean' }, finetune: { type: 'boolean' },
    'max-rounds': { type: 'string' }, 'no-loo': { type: 'boolean' }, samples: { type: 'string' }, quiet: { type: 'boolean' },
  },
  async run(values, _positionals, ctx) {
    const p = (k: string) => positiveInt(values, k);
    const report = await compressCommand({
      models: list(values, 'models'),
      pq: { kxkD: p('kxk-d'), kxkK: p('kxk-k'), fcD: p('fc-d'), fcK: p('fc-k'), minWeights: p('min-weights'), seed: p('seed') },
      int8First: flag(values, 'int8-first'),
      finetune: flag(values, 'finetune'),
      maxRounds: p('max-rounds'),
      noLeaveOneOut: flag(values, 'no-loo'),
      samples: p('samples'),
      log: ctx.log.info,
    });
    process.stdout.write(report + '\n');
    return 0;
  },
};
