/** Parsing of option values shared by the commands: one line naming the flag on bad input. */
import { VARIANTS, type Variant } from '../session/model-set.js';
import { HilError } from '../util/errors.js';
import type { OptionValues } from './command.js';

export function str(values: OptionValues, key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

export function flag(values: OptionValues, key: string): boolean {
  return values[key] === true;
}

export function positiveInt(values: OptionValues, key: string): number | undefined {
  const v = str(values, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new HilError(`expected a positive integer, got "${v}"`, `--${key}`);
  return n;
}

export function positiveNumber(values: OptionValues, key: string): number | undefined {
  const v = str(values, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new HilError(`expected a positive number, got "${v}"`, `--${key}`);
  return n;
}

export function nonNegativeInt(values: OptionValues, key: string): number | undefined {
  const v = str(values, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new HilError(`expected a whole number >= 0, got "${v}"`, `--${key}`);
  return n;
}

export function list(values: OptionValues, key: string): string[] | undefined {
  const v = str(values, key);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function required(values: OptionValues, key: string, why: string, command: string): string {
  const v = str(values, key);
  if (v === undefined) throw new HilError(`--${key} is required (${why})`, command);
  return v;
}

/** One variant (build): int8 by default. */
export function variantOf(values: OptionValues): Variant {
  const v = str(values, 'variant') ?? 'int8';
  if (!(VARIANTS as readonly string[]).includes(v)) throw new HilError(`unknown variant; available: ${VARIANTS.join(', ')}`, '--variant');
  return v as Variant;
}

/**
 * Variants of a run: a comma list, or `both` (int8, pq: then compression.csv) or `all`
 * (int8, pq, int8-ext: then the switching reductions too); one firmware and session each.
 */
export function runVariantsOf(values: OptionValues, fallback: string): Variant[] {
  const v = str(values, 'variant') ?? fallback;
  if (v === 'both') return ['int8', 'pq'];
  if (v === 'all') return [...VARIANTS];
  const chosen = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of chosen) if (!(VARIANTS as readonly string[]).includes(c)) throw new HilError(`unknown variant "${c}"; available: ${VARIANTS.join(', ')}, both, all (or a comma list)`, '--variant');
  if (chosen.length === 0) throw new HilError('no variant given', '--variant');
  return [...new Set(chosen as Variant[])];
}
