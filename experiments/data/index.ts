/**
 * Data preparation for one run: `prepareData(config.data, cacheDir)` validates the corpus (or
 * generates a synthetic task), learns the tokenizer(s) on the train split, tokenizes, filters
 * over-long/empty pairs of the train split only (dev and test keep every sentence, so BLEU is
 * computed on the standard sets) and caches the result. Every user data problem throws a one-line
 * DataError before any training starts.
 *
 * @example
 *   const data = await prepareData(run.config.data, job.cacheDir, (l) => console.log(l));
 *   const stream = new BatchStream(data.train, 4096, run.config.seed);
 */
import type { DataConfig } from '../../contract/spec';
import { cacheFile, cacheKey, readCache, writeCache, type CachedData, type SplitName } from './cache';
import { parseSplit, readSplitSource, type RawSplit, type SplitSource } from './readers';
import { generateSynthetic, syntheticParams } from './synthetic';
import { trainList, trainTokenizer } from './tokenizer';
import { DataError, type EncodedPair, type PreparedData, type SplitInfo, type TextTokenizer } from './types';

export { BatchStream, evalBatches, toBatch, type BatchPosition } from './batches';
export { loadTokenizer, preTokenize, trainTokenizer } from './tokenizer';
export { SYNTHETIC_DEFAULTS, SYNTHETIC_MAX_LEN_CAP, generateSynthetic, syntheticParams } from './synthetic';
export * from './types';

/** Validates, tokenizes and (for corpora) caches the data of a run. Throws DataError on bad input. */
export async function prepareData(data: DataConfig, cacheDir: string, log?: (line: string) => void): Promise<PreparedData> {
  if (data.task) return prepareSynthetic(data, log);
  if (!data.corpus) throw new DataError('data: exactly one of corpus or task is required');
  return prepareCorpus(data, cacheDir, log);
}

/** The facts recorded with a run (protocol 'ready'.data): pair and filter counts, vocabulary sizes, cache use. */
export function dataFacts(d: PreparedData): Record<string, unknown> {
  const facts: Record<string, unknown> = {
    train_pairs: d.info.train.pairs,
    train_filtered: d.info.train.filtered,
    valid_pairs: d.info.valid.pairs,
    valid_filtered: d.info.valid.filtered,
    src_vocab: d.srcTokenizer.vocabSize,
    tgt_vocab: d.tgtTokenizer.vocabSize,
    tokenizer: d.srcTokenizer.kind,
    shared_vocab: d.srcTokenizer === d.tgtTokenizer,
    cache_hit: d.info.cacheHit,
  };
  if (d.info.test) Object.assign(facts, { test_pairs: d.info.test.pairs, test_filtered: d.info.test.filtered });
  return facts;
}

async function prepareCorpus(data: DataConfig, cacheDir: string, log?: (line: string) => void): Promise<PreparedData> {
  const corpus = data.corpus!;
  // Read every file first: a missing or empty test file fails before seconds of BPE learning.
  const sources: Partial<Record<SplitName, SplitSource>> = {
    train: readSplitSource(corpus.train),
    valid: readSplitSource(corpus.valid),
  };
  if (corpus.test !== undefined) sources.test = readSplitSource(corpus.test);
  const key = cacheKey(
    Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, v.bytes])),
    { tokenizer: data.tokenizer, max_len: data.max_len },
  );
  const hit = readCache(cacheDir, key, log);
  if (hit) {
    log?.(`data: cache hit ${cacheFile(cacheDir, key)}`);
    return assemble(hit, true);
  }

  const raw: Partial<Record<SplitName, RawSplit>> = {};
  for (const [name, src] of Object.entries(sources) as [SplitName, SplitSource][]) {
    const split = parseSplit(src);
    if (data.tokenizer.lowercase) {
      // Lowercasing changes the raw text too: BLEU is then computed against lowercased references.
      split.sources.forEach((s, i) => (split.sources[i] = s.toLowerCase()));
      split.targets.forEach((s, i) => (split.targets[i] = s.toLowerCase()));
    }
    raw[name] = split;
  }

  const t0 = Date.now();
  const train = raw.train!;
  const usable = (i: number) => !isBlank(train.sources[i]) && !isBlank(train.targets[i]);
  const trainSrc = train.sources.filter((_, i) => usable(i));
  const trainTgt = train.targets.filter((_, i) => usable(i));
  const { kind, vocab, shared } = data.tokenizer;
  if (kind === 'bpe' && vocab < 260) log?.(`data: tokenizer.vocab ${vocab} is below byte-level BPE's minimum (4 reserved + 256 bytes); using 260 ids, no merges`);
  const srcTokenizer = trainTokenizer(kind, shared ? [...trainSrc, ...trainTgt] : trainSrc, vocab);
  const tgtTokenizer = shared ? srcTokenizer : trainTokenizer(kind, trainTgt, vocab);
  log?.(`data: learned ${kind} vocabulary (${shared ? `shared ${srcTokenizer.vocabSize}` : `${srcTokenizer.vocabSize} source, ${tgtTokenizer.vocabSize} target`}) in ${Date.now() - t0} ms`);

  const splits: CachedData['splits'] = {};
  for (const [name, split] of Object.entries(raw) as [SplitName, RawSplit][]) {
    // Only training pairs are length-filtered: dev and test are scored on every sentence.
    splits[name] = encodeSplit(name, split, sources[name]!.files, srcTokenizer, tgtTokenizer, name === 'train' ? data.max_len : Infinity);
    log?.(`data: ${name} ${splits[name]!.info.pairs} pairs (${splits[name]!.info.filtered} filtered)`);
  }
  const result: CachedData = { srcTokenizer, tgtTokenizer, splits };
  try {
    // Not inside log?.(…): an optional call skips evaluating its arguments when log is absent.
    const file = writeCache(cacheDir, key, result);
    log?.(`data: cached ${file}`);
  } catch (err) {
    // A read-only or full cache directory slows the next run down; it must not fail this one.
    log?.(`data: could not write cache in ${cacheDir} (${(err as Error).message})`);
  }
  return assemble(result, false);
}

function isBlank(s: string): boolean {
  return s.trim() === '';
}

/**
 * Tokenizes a split and drops empty pairs and pairs longer than `maxLen` (Infinity for dev and
 * test); zero survivors is a DataError naming the files.
 */
function encodeSplit(
  name: SplitName,
  split: RawSplit,
  files: readonly string[],
  srcTok: TextTokenizer,
  tgtTok: TextTokenizer,
  maxLen: number,
): { pairs: EncodedPair[]; info: SplitInfo } {
  const pairs: EncodedPair[] = [];
  let empty = 0;
  let long = 0;
  for (let i = 0; i < split.sources.length; i++) {
    const source = split.sources[i];
    const target = split.targets[i];
    if (isBlank(source) || isBlank(target)) {
      empty++;
      continue;
    }
    const src = srcTok.encode(source);
    const tgt = tgtTok.encode(target);
    if (src.length > maxLen || tgt.length > maxLen) {
      long++;
      continue;
    }
    pairs.push({ source, target, src: Int32Array.from(src), tgt: Int32Array.from(tgt) });
  }
  if (!pairs.length) {
    throw new DataError(
      `${name} split (${files.join(', ')}) has no usable pairs: all ${split.sources.length} are empty (${empty}) or longer than max_len ${maxLen} tokens (${long})`,
    );
  }
  return { pairs, info: { pairs: pairs.length, filtered: empty + long } };
}

function assemble(d: CachedData, cacheHit: boolean): PreparedData {
  const { train, valid, test } = d.splits;
  if (!train || !valid) throw new Error('prepared data lacks a train or valid split');
  return {
    srcTokenizer: d.srcTokenizer,
    tgtTokenizer: d.tgtTokenizer,
    train: train.pairs,
    valid: valid.pairs,
    ...(test ? { test: test.pairs } : {}),
    info: { train: train.info, valid: valid.info, ...(test ? { test: test.info } : {}), cacheHit },
  };
}

/**
 * Synthetic tasks: generated in milliseconds, so never cached (cacheHit is false). They always
 * use a `word` vocabulary with one id per generated symbol (space-separated, no leading-space
 * variants), whatever data.tokenizer.kind says: the symbols are already the units the task is
 * about, and BPE/char pieces would only lengthen the sequences. data.tokenizer.shared is honoured. The vocabulary covers every symbol of all splits
 * (a closed, known inventory), so no synthetic token is ever UNK.
 */
function prepareSynthetic(data: DataConfig, log?: (line: string) => void): PreparedData {
  const p = syntheticParams(data);
  const gen = generateSynthetic(p);
  const all = [gen.train, gen.valid, gen.test];
  const srcTexts = all.flatMap((s) => s.sources);
  const tgtTexts = all.flatMap((s) => s.targets);
  const shared = data.tokenizer.shared;
  const srcTokenizer = trainList('word', shared ? [...srcTexts, ...tgtTexts] : srcTexts, Infinity, true);
  const tgtTokenizer = shared ? srcTokenizer : trainList('word', tgtTexts, Infinity, true);
  const encode = (s: { sources: string[]; targets: string[] }): EncodedPair[] =>
    s.sources.map((source, i) => ({ source, target: s.targets[i], src: Int32Array.from(srcTokenizer.encode(source)), tgt: Int32Array.from(tgtTokenizer.encode(s.targets[i])) }));
  const info = (pairs: EncodedPair[]): SplitInfo => ({ pairs: pairs.length, filtered: 0 });
  const train = encode(gen.train);
  const valid = encode(gen.valid);
  const test = p.testSize > 0 ? encode(gen.test) : undefined;
  log?.(`data: ${p.task} (seed ${p.seed}, vocab ${p.vocab}, lengths ${p.minLen}–${p.maxLen}): ${train.length}/${valid.length}/${test?.length ?? 0} pairs`);
  return {
    srcTokenizer,
    tgtTokenizer,
    train,
    valid,
    ...(test ? { test } : {}),
    info: { train: info(train), valid: info(valid), ...(test ? { test: info(test) } : {}), cacheHit: false },
  };
}
