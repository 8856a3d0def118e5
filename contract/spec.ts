/**
 * The experiment spec: the one definition of what a researcher writes (JSON or YAML), how it is
 * validated, and how it expands into run configs. Imported by the CLI, the Workbench, the IPC and
 * HTTP edges and the renderer's spec editor alike.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { UserError } from './errors';
import { BACKENDS } from './backends';
import { hasUnsafeChars } from './text-safety';

/**
 * What one spec may ask for. A spec is a text file a person writes; these bound the work one spec
 * (from the CLI or a WebSocket client) can cause before anything runs: the parse, the validation,
 * the expansion into runs, and the model's memory.
 */
export const SPEC_LIMITS = {
  /** Spec text (YAML/JSON) in bytes of UTF-16 text; a real spec is a few KB. */
  textLength: 256 * 1024,
  /** `key: value` pairs (counted as ':' characters, an upper bound), so parsing stays in milliseconds. */
  keys: 2000,
  /** Experiment and variant names, in characters. */
  nameLength: 200,
  /** Each of d_model, d_ff, d_k, d_v. */
  modelWidth: 65536,
  layers: 128,
  /** Estimated trainable parameters of one model (float32: 4 GB of weights, 16 GB with Adam's moments and gradients). */
  parameters: 1_000_000_000,
  vocab: 1_000_000,
  seeds: 100,
  variants: 1000,
  gridCells: 1000,
  /** Runs one spec expands to: (base + variants + grid cells) × seeds. */
  runs: 2000,
  /** Issues listed in one error (the rest are counted), and characters per issue. */
  issues: 20,
  issueLength: 300,
} as const;

const positiveInt = z.number({ error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer');
const nonNegativeInt = z.number({ error: 'must be a non-negative integer' }).int('must be a non-negative integer').min(0, 'must be a non-negative integer');
const width = positiveInt.max(SPEC_LIMITS.modelWidth, `must be at most ${SPEC_LIMITS.modelWidth}`);
const probability = z.number({ error: 'must be a number in [0, 1)' }).min(0, 'must be a number in [0, 1)').lt(1, 'must be a number in [0, 1)');

export const SYNTHETIC_TASKS = ['synthetic-copy', 'synthetic-reverse', 'synthetic-reorder'] as const;

/** A split's files: a [source, target] pair of aligned text files, or one TSV (source<TAB>target). Paths relative to the spec file. */
const SplitFiles = z.union([z.tuple([z.string().min(1), z.string().min(1)]), z.string().min(1)], {
  error: 'must be [source_file, target_file] or a single .tsv path',
});

export const CorpusSchema = z.strictObject({
  train: SplitFiles,
  valid: SplitFiles,
  test: SplitFiles.optional(),
});

/** Smallest word/char vocabulary: the 4 reserved ids plus at least one token. */
const MIN_LIST_VOCAB = 5;

export const TokenizerSchema = z.strictObject({
  kind: z.enum(['bpe', 'word', 'char'], { error: 'one of bpe, word, char' }).default('bpe'),
  /** Target vocabulary size (BPE merges stop there; word/char keep the most frequent). */
  vocab: positiveInt.max(SPEC_LIMITS.vocab, `must be at most ${SPEC_LIMITS.vocab}`).default(8000),
  /** One vocabulary for source and target (required for share_embeddings). */
  shared: z.boolean().default(true),
  lowercase: z.boolean().default(false),
}).superRefine((t, ctx) => {
  // Ids 0–3 are PAD, BOS, EOS, UNK: a word or char vocabulary of 4 or less holds no token at all.
  if (t.kind !== 'bpe' && t.vocab < MIN_LIST_VOCAB) ctx.addIssue({ code: 'custom', message: `must be at least ${MIN_LIST_VOCAB} for a ${t.kind} tokenizer (ids 0–3 are reserved), got ${t.vocab}`, path: ['vocab'] });
});

export const DataSchema = z
  .strictObject({
    corpus: CorpusSchema.optional(),
    /** Built-in generated task; the fields below parameterise it (defaults live in experiments/data). */
    task: z.enum(SYNTHETIC_TASKS, { error: `one of ${SYNTHETIC_TASKS.join(', ')}` }).optional(),
    /** Synthetic: number of distinct content tokens generated (specials not included). */
    vocab: positiveInt.max(SPEC_LIMITS.vocab, `must be at most ${SPEC_LIMITS.vocab}`).optional(),
    min_len: positiveInt.optional(),
    train_size: positiveInt.optional(),
    valid_size: positiveInt.optional(),
    test_size: nonNegativeInt.optional(),
    seed: nonNegativeInt.optional(),
    tokenizer: TokenizerSchema.prefault({}),
    /** Pairs longer than this (in tokens, either side) are filtered and counted. Synthetic: longest generated sequence. */
    max_len: positiveInt.max(10_000, 'must be at most 10000').default(64),
  })
  .superRefine((d, ctx) => {
    if (!d.corpus === !d.task) ctx.addIssue({ code: 'custom', message: 'exactly one of corpus or task is required', path: [] });
    if (d.min_len !== undefined && d.min_len > d.max_len) ctx.addIssue({ code: 'custom', message: `${d.min_len} is greater than max_len ${d.max_len}`, path: ['min_len'] });
  });

export const POSITIONAL = ['sinusoidal', 'learned', 'none'] as const;
export const NORMS = ['post', 'pre'] as const;

/** Model hyper-parameter fields without defaults (variants and grids name only what they change). */
const modelFields = {
  /** N: encoder blocks and decoder blocks each. */
  layers: positiveInt.max(SPEC_LIMITS.layers, `must be at most ${SPEC_LIMITS.layers}`),
  d_model: width,
  d_ff: width,
  /** At most d_model; must divide d_model unless d_k and d_v are given. */
  heads: positiveInt,
  /** Per-head query/key width; defaults to d_model / heads. */
  d_k: width,
  /** Per-head value width; defaults to d_model / heads. */
  d_v: width,
  dropout: probability,
  label_smoothing: probability,
  positional: z.enum(POSITIONAL, { error: `one of ${POSITIONAL.join(', ')}` }),
  /** Tie source embedding, target embedding and pre-softmax projection (needs a shared vocabulary). */
  share_embeddings: z.boolean({ error: 'must be true or false' }),
  norm: z.enum(NORMS, { error: `one of ${NORMS.join(', ')}` }),
  /** false drops the 1/sqrt(d_k) factor of eq. (1). */
  attention_scale: z.boolean({ error: 'must be true or false' }),
  /** true uses one projection for queries and keys. */
  share_qk: z.boolean({ error: 'must be true or false' }),
};

/** Model hyper-parameters: the columns of the paper's Table 3 plus the ablation switches. */
export const ModelSchema = z.strictObject({
  ...modelFields,
  layers: modelFields.layers.default(2),
  d_model: modelFields.d_model.default(128),
  d_ff: modelFields.d_ff.default(512),
  heads: modelFields.heads.default(4),
  d_k: modelFields.d_k.optional(),
  d_v: modelFields.d_v.optional(),
  dropout: modelFields.dropout.default(0.1),
  label_smoothing: modelFields.label_smoothing.default(0.1),
  positional: modelFields.positional.default('sinusoidal'),
  share_embeddings: modelFields.share_embeddings.default(true),
  norm: modelFields.norm.default('post'),
  attention_scale: modelFields.attention_scale.default(true),
  share_qk: modelFields.share_qk.default(false),
});

const decodeFields = {
  /** Beam width for the final evaluation; 1 means greedy. */
  beam: positiveInt.max(100, 'must be at most 100'),
  /** Length-penalty exponent α of ((5+len)/6)^α. */
  alpha: z.number({ error: 'must be a number ≥ 0' }).min(0, 'must be a number ≥ 0'),
  /** Extra target tokens allowed beyond the source length. */
  max_len_offset: nonNegativeInt,
};

export const DecodeSchema = z.strictObject({
  beam: decodeFields.beam.default(4),
  alpha: decodeFields.alpha.default(0.6),
  max_len_offset: decodeFields.max_len_offset.default(50),
});

const trainFields = {
  steps: positiveInt,
  /** Target tokens per batch (the paper: ~25000); batches are length-bucketed to this budget. */
  batch_tokens: positiveInt.max(10_000_000, 'must be at most 10000000'),
  warmup: positiveInt,
  /** Multiplier of the paper's schedule d_model^-0.5 · min(step^-0.5, step · warmup^-1.5). */
  lr_factor: z.number({ error: 'must be a positive number' }).positive('must be a positive number'),
  /** Global gradient-norm clip; 0 disables. */
  clip_norm: z.number({ error: 'must be a non-negative number' }).min(0, 'must be a non-negative number'),
  eval_every: positiveInt,
  checkpoint_every: positiveInt,
  /** Sentences decoded (greedy) for BLEU at each intermediate evaluation; the final evaluation decodes the whole split. */
  eval_bleu_sentences: positiveInt,
  /** Sample translations stored per evaluation for the UI. */
  samples: nonNegativeInt,
  /**
   * Average the weights of the last K checkpoints (written every checkpoint_every steps, the last at
   * the final step) before the final evaluation, as the paper does (Table 2: 5 for base, 20 for
   * big); 0 or 1: the last weights. Both scores are recorded; the table says which it shows.
   */
  average_last: nonNegativeInt.max(100, 'must be at most 100'),
};

export const TrainSchema = z.strictObject({
  steps: trainFields.steps.default(2000),
  batch_tokens: trainFields.batch_tokens.default(4096),
  warmup: trainFields.warmup.default(400),
  lr_factor: trainFields.lr_factor.default(1),
  clip_norm: trainFields.clip_norm.default(0),
  eval_every: trainFields.eval_every.default(200),
  checkpoint_every: trainFields.checkpoint_every.default(200),
  eval_bleu_sentences: trainFields.eval_bleu_sentences.default(200),
  samples: trainFields.samples.default(5),
  // No default: configs without it keep their hashes (dedupe and table rows stay stable).
  average_last: trainFields.average_last.optional(),
  seeds: z
    .array(nonNegativeInt, { error: 'must be a list of non-negative integers' })
    .nonempty('must list at least one seed')
    .max(SPEC_LIMITS.seeds, `must list at most ${SPEC_LIMITS.seeds} seeds`)
    .default([1]),
  decode: DecodeSchema.prefault({}),
});

const ModelFields = ModelSchema.keyof().options as readonly string[];
/** A variant's train overrides name only what they change (no defaults filled in). */
const TrainOverrideSchema = z.strictObject({ ...trainFields, decode: z.strictObject(decodeFields).partial() }).partial();

/** One Table-3 row: a name plus the model fields (and optionally train fields) it changes. */
export const VariantSchema = z
  .object(modelFields)
  .partial()
  .extend({
    name: z
      .string({ error: 'must be a string' })
      .min(1, 'must be a non-empty string')
      .max(SPEC_LIMITS.nameLength, `must be at most ${SPEC_LIMITS.nameLength} characters`)
      .refine((n) => !hasUnsafeChars(n), 'must not contain control characters or bidirectional marks'),
    train: TrainOverrideSchema.optional(),
  })
  .strict();

/** Cartesian alternative: each model field maps to the list of values to try. */
export const GridSchema = z.partialRecord(
  z.enum(ModelSchema.keyof().options, { error: `keys must be model fields: ${ModelFields.join(', ')}` }),
  z
    .array(z.union([z.number(), z.string().max(SPEC_LIMITS.nameLength), z.boolean()]))
    .nonempty('must list at least one value')
    .max(SPEC_LIMITS.gridCells, `must list at most ${SPEC_LIMITS.gridCells} values`),
);

export const SpecSchema = z.strictObject({
  name: z
    .string({ error: 'must be a string' })
    .min(1, 'must be a non-empty string')
    .max(SPEC_LIMITS.nameLength, `must be at most ${SPEC_LIMITS.nameLength} characters`)
    .regex(/^[\w.\- ]+$/, 'letters, digits, space, ".", "-" and "_" only'),
  description: z.string().max(10_000, 'must be at most 10000 characters').optional(),
  data: DataSchema,
  base: ModelSchema.prefault({}),
  train: TrainSchema.prefault({}),
  variants: z.array(VariantSchema).max(SPEC_LIMITS.variants, `must list at most ${SPEC_LIMITS.variants} variants`).optional(),
  grid: GridSchema.optional(),
  /** Backend preference for this experiment's runs; the CLI --backend flag overrides. */
  backend: z.enum(BACKENDS, { error: `one of ${BACKENDS.join(', ')}` }).optional(),
});

export type Spec = z.output<typeof SpecSchema>;
export type SpecInput = z.input<typeof SpecSchema>;
export type DataConfig = z.output<typeof DataSchema>;
export type TokenizerConfig = z.output<typeof TokenizerSchema>;
export type CorpusConfig = z.output<typeof CorpusSchema>;
export type TrainConfig = z.output<typeof TrainSchema>;
export type DecodeConfig = z.output<typeof DecodeSchema>;

/** Model config with d_k and d_v resolved. */
export type ModelConfig = Omit<z.output<typeof ModelSchema>, 'd_k' | 'd_v'> & { readonly d_k: number; readonly d_v: number };

/** Everything one run needs: what it trains on, the model, how it trains. Stored as the run's config JSON. */
export interface RunConfig {
  /** Experiment (spec) name. */
  readonly experiment: string;
  /** Variant name ("base" for the base row, or the grid cell's description). */
  readonly variant: string;
  /** Model fields this variant changes relative to base (empty for base); the result table's columns. */
  readonly changes: Readonly<Record<string, unknown>>;
  readonly seed: number;
  /** Data config with corpus paths made absolute. */
  readonly data: DataConfig;
  readonly model: ModelConfig;
  readonly train: Omit<TrainConfig, 'seeds'>;
}

export interface ExpandedRun {
  readonly config: RunConfig;
  /** Stable hash of the config (experiment name excluded): same config → same hash. */
  readonly hash: string;
}

/** A validation failure at the spec edge; `issues` are `path: message` lines. */
export class SpecError extends UserError {
  constructor(
    issues: readonly string[],
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${issues.join('; ')}`, issues);
    this.name = 'SpecError';
  }
}

/** `variants[2].heads` style path for a zod issue. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(spec)';
}

/** The first SPEC_LIMITS.issues issues, each cut to SPEC_LIMITS.issueLength characters, plus a count of the rest. */
export function boundIssues(issues: readonly string[]): string[] {
  const cut = (i: string) => (i.length > SPEC_LIMITS.issueLength ? `${i.slice(0, SPEC_LIMITS.issueLength - 1)}…` : i);
  const shown = issues.slice(0, SPEC_LIMITS.issues).map(cut);
  if (issues.length > shown.length) shown.push(`… and ${issues.length - shown.length} more`);
  return shown;
}

/**
 * Refuses spec text too large to parse quickly (SPEC_LIMITS.textLength, SPEC_LIMITS.keys) before
 * any parser sees it: one request must not hold the event loop for seconds.
 */
export function checkSpecTextSize(text: string, file?: string): void {
  if (text.length > SPEC_LIMITS.textLength) throw new SpecError([`(spec): ${text.length} characters is more than ${SPEC_LIMITS.textLength} (a spec is a few KB)`], file);
  let colons = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) {
    if (++colons > SPEC_LIMITS.keys) throw new SpecError([`(spec): more than ${SPEC_LIMITS.keys} "key: value" pairs (a spec has a few hundred at most)`], file);
  }
}

/** Grid cells: the product of the value counts (computed, never expanded). */
export function gridCellCount(grid: Spec['grid']): number {
  let cells = 1;
  for (const values of Object.values(grid ?? {})) if (values) cells *= values.length;
  return grid && Object.keys(grid).length ? cells : 0;
}

/** Estimated trainable parameters of the model (embeddings, attention, feed-forward; biases and norms left out). */
export function estimateParameters(m: ModelConfig, vocab: number): number {
  const d = m.d_model;
  const dq = m.heads * m.d_k;
  const dv = m.heads * m.d_v;
  const attention = d * dq * (m.share_qk ? 1 : 2) + 2 * d * dv;
  const ffn = 2 * d * m.d_ff;
  const embeddings = vocab * d * (m.share_embeddings ? 1 : 3);
  return m.layers * (3 * attention + 2 * ffn) + embeddings;
}

/** Problems of one resolved model that the field schemas cannot see (they need two fields). */
function modelProblems(where: string, m: z.output<typeof ModelSchema>, vocab: number): string[] {
  const out: string[] = [];
  if (m.heads > m.d_model) out.push(`${where}.heads: ${m.heads} heads is more than d_model ${m.d_model}`);
  else if (m.d_model % m.heads !== 0 && (m.d_k === undefined || m.d_v === undefined))
    out.push(`${where}.heads: ${m.heads} does not divide d_model ${m.d_model}; set d_k and d_v explicitly`);
  if (out.length) return out;
  const params = estimateParameters(resolveModel(m), vocab);
  if (params > SPEC_LIMITS.parameters)
    out.push(`${where}: about ${params.toExponential(1)} parameters, more than the limit of ${SPEC_LIMITS.parameters.toExponential(0)}; reduce d_model, d_ff, d_k, d_v, layers or the vocabulary`);
  return out;
}

/** Validates an already-parsed spec object. Throws SpecError listing every problem. */
export function parseSpec(raw: unknown, file?: string): Spec {
  const result = SpecSchema.safeParse(raw);
  if (!result.success) {
    throw new SpecError(
      boundIssues(result.error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`)),
      file,
    );
  }
  const spec = result.data;
  const problems: string[] = [];
  const vocab = Math.max(spec.data.tokenizer.vocab, spec.data.tokenizer.kind === 'bpe' ? 260 : 0, (spec.data.vocab ?? 0) + 4);
  const check = (where: string, m: z.output<typeof ModelSchema>) => {
    if (m.share_embeddings && !spec.data.tokenizer.shared) problems.push(`${where}.share_embeddings: requires data.tokenizer.shared: true`);
    problems.push(...modelProblems(where, m, vocab));
  };
  check('base', spec.base);
  spec.variants?.forEach((v, i) => check(`variants[${i}]`, { ...spec.base, ...stripVariant(v) }));
  const names = new Set<string>();
  spec.variants?.forEach((v, i) => {
    if (v.name === 'base' || names.has(v.name)) problems.push(`variants[${i}].name: "${v.name}" is used twice (or is "base")`);
    names.add(v.name);
  });
  // Sizes from counts alone, before anything is expanded: a 1e6-cell grid is refused at once.
  const cells = gridCellCount(spec.grid);
  const counts = Object.entries(spec.grid ?? {}).map(([k, v]) => `${v?.length ?? 0} ${k}`);
  if (cells > SPEC_LIMITS.gridCells) problems.push(`grid: ${cells} cells (${counts.join(' × ')}) is more than ${SPEC_LIMITS.gridCells}`);
  const runs = (1 + (spec.variants?.length ?? 0) + cells) * spec.train.seeds.length;
  if (runs > SPEC_LIMITS.runs) problems.push(`(spec): ${runs} runs ((1 base + ${spec.variants?.length ?? 0} variants + ${cells} grid cells) × ${spec.train.seeds.length} seeds) is more than ${SPEC_LIMITS.runs} per spec`);
  if (!problems.length && spec.grid) {
    for (const cell of gridCells(spec.grid)) {
      const merged = ModelSchema.safeParse({ ...spec.base, ...cell });
      if (!merged.success) problems.push(...merged.error.issues.map((i) => `grid.${formatIssuePath(i.path)}: ${i.message} (cell ${describeCell(cell)})`));
      else check(`grid (${describeCell(cell)})`, merged.data);
      if (problems.length > SPEC_LIMITS.issues) break;
    }
  }
  if (problems.length) throw new SpecError(boundIssues(problems), file);
  return spec;
}

/** The grid's cells in order (the last key varies fastest). Callers check gridCellCount first. */
function gridCells(grid: NonNullable<Spec['grid']>): Record<string, unknown>[] {
  let cells: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    if (!values) continue;
    cells = cells.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  }
  return cells;
}

function stripVariant(v: z.output<typeof VariantSchema>): Partial<z.output<typeof ModelSchema>> {
  const { name: _name, train: _train, ...model } = v;
  return model;
}

function resolveModel(m: z.output<typeof ModelSchema>): ModelConfig {
  return { ...m, d_k: m.d_k ?? Math.max(1, Math.floor(m.d_model / m.heads)), d_v: m.d_v ?? Math.max(1, Math.floor(m.d_model / m.heads)) };
}

/** JSON with sorted keys, so equal configs hash equally regardless of key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Stable config hash: identifies "the same run" across experiments and sessions. */
export function configHash(config: RunConfig): string {
  const { experiment: _e, variant: _v, changes: _c, ...identity } = config;
  // SHA-256 (pure, browser-safe), byte-identical to node:crypto's: stored hashes stay valid.
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(identity)))).slice(0, 16);
}

function describeCell(cell: Record<string, unknown>): string {
  return Object.entries(cell)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

/**
 * Expands a spec into runs: base first, then each variant (Table 3 rows), then each grid cell,
 * each repeated over the seeds. `resolvePath` makes corpus paths absolute (relative to the spec file).
 */
export function expandSpec(spec: Spec, resolvePath: (p: string) => string = (p) => p): ExpandedRun[] {
  const data: DataConfig = spec.data.corpus
    ? {
        ...spec.data,
        corpus: {
          train: mapSplit(spec.data.corpus.train, resolvePath),
          valid: mapSplit(spec.data.corpus.valid, resolvePath),
          test: spec.data.corpus.test === undefined ? undefined : mapSplit(spec.data.corpus.test, resolvePath),
        },
      }
    : spec.data;
  const { seeds, ...train } = spec.train;
  const rows: { variant: string; changes: Record<string, unknown>; model: ModelConfig; train: RunConfig['train'] }[] = [];
  rows.push({ variant: 'base', changes: {}, model: resolveModel(spec.base), train });
  for (const v of spec.variants ?? []) {
    const changes = stripVariant(v);
    rows.push({ variant: v.name, changes: { ...changes, ...(v.train ?? {}) }, model: resolveModel({ ...spec.base, ...changes }), train: { ...train, ...(v.train ?? {}), decode: { ...train.decode, ...(v.train?.decode ?? {}) } } });
  }
  if (spec.grid) {
    if (gridCellCount(spec.grid) > SPEC_LIMITS.gridCells) throw new SpecError([`grid: ${gridCellCount(spec.grid)} cells is more than ${SPEC_LIMITS.gridCells}`]);
    for (const cell of gridCells(spec.grid)) {
      const merged = ModelSchema.safeParse({ ...spec.base, ...cell });
      if (!merged.success) throw new SpecError(merged.error.issues.map((i) => `grid.${formatIssuePath(i.path)}: ${i.message}`));
      rows.push({ variant: describeCell(cell), changes: cell, model: resolveModel(merged.data), train });
    }
  }
  const out: ExpandedRun[] = [];
  for (const row of rows)
    for (const seed of seeds) {
      const config: RunConfig = { experiment: spec.name, variant: row.variant, changes: row.changes, seed, data, model: row.model, train: row.train };
      out.push({ config, hash: configHash(config) });
    }
  return out;
}

function mapSplit<T extends string | readonly [string, string]>(split: T, f: (p: string) => string): T {
  return (typeof split === 'string' ? f(split) : [f(split[0]), f(split[1])]) as T;
}

/**
 * The value of a config field for a run: its resolved model setting, else its train setting, else
 * the variant's change itself. One definition for the result table's hyper-parameter columns and
 * the renderer's runs table, grouping and parallel axes.
 * @example configField(run.config, 'heads') // → 4
 */
export function configField(config: Pick<RunConfig, 'model' | 'train' | 'changes'>, key: string): unknown {
  const model: Readonly<Record<string, unknown>> = config.model;
  const train: Readonly<Record<string, unknown>> = config.train;
  if (key in model) return model[key];
  if (key in train) return train[key];
  return config.changes[key];
}
