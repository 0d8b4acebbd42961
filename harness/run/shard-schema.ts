/**
 * A shard spec (shard-spec.ts) that came from outside: a queue job (anyone who can write to Redis
 * can put one there), a file. Checked against a strict JSON schema (no unknown field anywhere,
 * names and hashes by pattern, numbers bounded), then against this project (models that exist
 * here, known experiments and protocols). No field is a path, a command line, a URL or a port:
 * the rig file of whoever runs it alone says what it talks to.
 */
import AjvModule from 'ajv';
import { EXPERIMENT_NAMES } from '../experiments/registry.js';
import { DEVICE_PROTOCOLS } from '../protocol/drivers.js';
import { describeSchemaError } from '../rig/rig.js';
import type { ShardSpec } from './shard-spec.js';
import { listModels, VARIANTS } from '../session/model-set.js';
import { HilError } from '../util/errors.js';

// ajv is published as CommonJS; under NodeNext its default export is the module object.
const Ajv = (AjvModule as unknown as { default: typeof AjvModule.default }).default ?? AjvModule;

const NAME = '^[a-z0-9][a-z0-9_-]{0,63}$';
const count = { type: 'integer', minimum: 0, maximum: 100_000_000 };
const variant = { enum: [...VARIANTS] };
const names = (items: object) => ({ type: 'array', items, minItems: 1, maxItems: 64, uniqueItems: true });
const experiments = names({ enum: EXPERIMENT_NAMES });
const models = names({ type: 'string', pattern: NAME });
const variants = names(variant);

const strictObject = (properties: Record<string, object>, required: string[]) => ({ type: 'object', additionalProperties: false, properties, required });

export const SHARD_SPEC_SCHEMA = strictObject(
  {
    id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' },
    plan: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    index: count,
    of: { ...count, minimum: 1 },
    // for people; letters, digits and a few separators: never a shell word or a path
    label: { type: 'string', pattern: '^[A-Za-z0-9 ._,+=()-]{0,200}$' },
    board: { type: 'string', pattern: NAME },
    variants,
    models,
    experiments,
    samples: strictObject({ start: count, end: count }, ['start', 'end']),
    firmware: {
      type: 'array',
      minItems: 1,
      maxItems: VARIANTS.length,
      items: strictObject({ variant, hash: { type: 'string', pattern: '^[0-9a-f]{16}$' } }, ['variant', 'hash']),
    },
    protocol: { enum: DEVICE_PROTOCOLS },
    inputs: { enum: ['auto', 'stream', 'preload'] },
    run: strictObject(
      {
        models,
        variants,
        experiments,
        options: strictObject(
          {
            samples: { ...count, minimum: 1 },
            latencyRuns: { ...count, minimum: 1 },
            latencyWarmup: count,
            switchReps: { ...count, minimum: 1 },
            scenarioEvents: { ...count, minimum: 1 },
            scenarioSeed: { type: 'integer' },
            perfWindowSec: { type: 'number', exclusiveMinimum: 0, maximum: 86400 },
            profile: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
          },
          [],
        ),
      },
      ['models', 'variants', 'experiments', 'options'],
    ),
  },
  ['id', 'plan', 'index', 'of', 'label', 'board', 'variants', 'models', 'experiments', 'firmware', 'protocol', 'inputs', 'run'],
);

const validate = new Ajv({ allErrors: true, strict: true }).compile(SHARD_SPEC_SCHEMA);

/** The data as a shard spec, or why it is refused (one line). */
export function validateShardSpec(data: unknown): { spec: ShardSpec } | { refused: string } {
  if (!validate(data)) {
    const reasons = (validate.errors ?? []).map(describeSchemaError);
    return { refused: `not a shard spec: ${[...new Set(reasons)].slice(0, 4).join('; ')}` };
  }
  const spec = data as unknown as ShardSpec;
  const known = new Set(listModels());
  const unknown = [...new Set([...spec.models, ...spec.run.models])].filter((m) => !known.has(m));
  if (unknown.length > 0) return { refused: `unknown model${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (not in this project's models/)` };
  const outside = spec.models.filter((m) => !spec.run.models.includes(m));
  if (outside.length > 0) return { refused: `models ${outside.join(', ')} are not in the run's model set` };
  if (spec.samples && spec.samples.end <= spec.samples.start) return { refused: `samples: empty range ${spec.samples.start}-${spec.samples.end}` };
  if (spec.index >= spec.of) return { refused: `index ${spec.index} is outside the plan's ${spec.of} shards` };
  const missing = spec.variants.filter((v) => !spec.firmware.some((f) => f.variant === v));
  if (missing.length > 0) return { refused: `no expected firmware hash for ${missing.join(', ')}` };
  return { spec };
}

/** A shard spec from outside (a queue job, a shard folder's run.json), or one line saying why not. */
export function checkShardSpec(value: unknown, where = 'shard'): ShardSpec {
  const checked = validateShardSpec(value);
  if ('refused' in checked) throw new HilError(checked.refused, where);
  return checked.spec;
}
