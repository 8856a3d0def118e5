/**
 * Evaluation of a model on a split: validation loss / perplexity (teacher forced, no dropout,
 * no smoothing) and translations for BLEU (greedy during training, beam at the end).
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalBatches } from '../data/batches';
import type { EncodedPair, TextTokenizer } from '../data/types';
import { beamSearch, greedyDecode } from '../decode/index';
import { CORPUS_BLEU_DEFAULTS, corpusBleu, segmentBleuStats, type BleuOptions } from '../metrics/bleu';
import { multEval, pairedBootstrap, PAIRED_BS_SAMPLES } from '../metrics/significance';
import type { RowSignificance, SeedPairBootstrap } from '../../contract/api';
import type { RunOutputs } from '../../contract/rows';
import { perplexity } from '../metrics/perplexity';
import type { Seq2SeqModel } from '../model/types';
import { nllAndCount } from '../train/loss';
import { listCheckpoints, readCheckpoint, restoreWeights } from '../train/checkpoint';
import { batchTensors } from '../train/loop';

export interface LossResult {
  /** Mean un-smoothed NLL (nats) per non-pad target token, EOS included. */
  readonly loss: number;
  readonly ppl: number;
  readonly tokens: number;
}

/** Teacher-forced loss over every pair of a split (deterministic batches, dropout off). */
export async function evaluateLoss(model: Seq2SeqModel, pairs: readonly EncodedPair[], batchTokens: number): Promise<LossResult> {
  let sum = 0;
  let tokens = 0;
  for (const batch of evalBatches(pairs, batchTokens)) {
    const pair = tf.tidy(() => {
      const { src, tgtIn, tgtOut } = batchTensors(batch);
      return nllAndCount(model.forward(src, tgtIn, false), tgtOut);
    });
    // Asynchronous read: webgpu cannot read synchronously in Node.
    const [s, n] = (await pair.data()) as Float32Array;
    pair.dispose();
    sum += s;
    tokens += Math.round(n);
  }
  // An empty split has no loss: NaN (stored as such), never a made-up number.
  return { loss: tokens ? sum / tokens : NaN, ppl: tokens ? perplexity(sum, tokens) : NaN, tokens };
}

export interface DecodeSettings {
  /** 1 = greedy. */
  readonly beam: number;
  readonly alpha: number;
  readonly maxLenOffset: number;
}

/** Sentences per decoder batch (beam rows = this × beam): bounded memory, little padding after sorting by length. */
export const DECODE_CHUNK = 64;

/**
 * Target ids per source sentence (no BOS/EOS), in input order: the tfjs decoder (translateIds) or
 * the fused WebGPU decoder of a fused run, with the same rules and length-sorted chunks.
 */
export type Translator = (sources: readonly Int32Array[], settings: DecodeSettings) => Promise<number[][]>;

/**
 * Translates `sources` (id sequences without BOS/EOS) and returns target ids per sentence, in
 * input order. Sentences are decoded in length-sorted chunks so padding stays small.
 */
export async function translateIds(model: Seq2SeqModel, sources: readonly Int32Array[], settings: DecodeSettings): Promise<number[][]> {
  const order = sources.map((_, i) => i).sort((a, b) => sources[a].length - sources[b].length || a - b);
  const out: number[][] = new Array(sources.length);
  for (let start = 0; start < order.length; start += DECODE_CHUNK) {
    const idx = order.slice(start, start + DECODE_CHUNK);
    const chunk = idx.map((i) => sources[i]);
    // The decoders dispose every tensor they make (tested), so no tidy is needed around them.
    const ids =
      settings.beam > 1
        ? await beamSearch(model, chunk, { beam: settings.beam, alpha: settings.alpha, maxLenOffset: settings.maxLenOffset })
        : await greedyDecode(model, chunk, { maxLenOffset: settings.maxLenOffset });
    idx.forEach((i, k) => (out[i] = ids[k]));
  }
  return out;
}

/** sacreBLEU 2.x's signature of BLEU computed with `opts` (sacrebleu.metrics.bleu.BLEUSignature field order). */
export function bleuSignature(opts: BleuOptions = CORPUS_BLEU_DEFAULTS, nrefs = 1, version = '2.6.0'): string {
  return [`nrefs:${nrefs}`, `case:${opts.lowercase ? 'lc' : 'mixed'}`, `eff:${opts.effectiveOrder ? 'yes' : 'no'}`, `tok:${opts.tokenize}`, `smooth:${opts.smoothMethod}`, `version:${version}`].join('|');
}

export interface TranslationResult {
  readonly hypotheses: string[];
  /** sacreBLEU corpus BLEU (13a, exp smoothing) of detokenized hypotheses against the raw references, 0–100. */
  readonly bleu: number;
}

/** Decodes `pairs` with `translate`, detokenizes and scores them against their raw target text. */
export async function translateAndScore(translate: Translator, pairs: readonly EncodedPair[], tgtTokenizer: TextTokenizer, settings: DecodeSettings): Promise<TranslationResult> {
  if (!pairs.length) return { hypotheses: [], bleu: NaN };
  const ids = await translate(
    pairs.map((p) => p.src),
    settings,
  );
  const hypotheses = ids.map((h) => tgtTokenizer.decode(h));
  const bleu = corpusBleu(
    hypotheses,
    [pairs.map((p) => p.target)],
  ).score;
  return { hypotheses, bleu };
}

/** One seed's stored outputs (replicate) of a row. */
export interface Replicate {
  readonly seed: number;
  readonly outputs: Pick<RunOutputs, 'hypotheses' | 'references'>;
}

/**
 * A variant against the base on one split: Clark et al. (2011) / MultEval over the seed pairs
 * (`base[r]` and `variant[r]` share a seed; mean, s_dev, s_sel, approximate-randomization p) and
 * sacreBLEU's paired bootstrap (1,000 resamples, seed 12345) per seed pair. Every resample uses
 * numpy's default_rng(12345), so the numbers are sacreBLEU's and MultEval's procedure's own
 * (experiments/metrics). BLEU is the runs' own (sacreBLEU defaults, BLEU_SIGNATURE).
 */
export function compareReplicates(split: RowSignificance['split'], base: readonly Replicate[], variant: readonly Replicate[]): RowSignificance {
  if (base.length === 0 || base.length !== variant.length) throw new Error(`compareReplicates: ${base.length} base and ${variant.length} variant replicates`);
  base.forEach((b, r) => {
    if (b.seed !== variant[r].seed) throw new Error(`compareReplicates: replicate ${r} pairs seed ${b.seed} with seed ${variant[r].seed}`);
  });
  const stats = (reps: readonly Replicate[]) => reps.map((r) => segmentBleuStats(r.outputs.hypotheses, [r.outputs.references]));
  const baseStats = stats(base);
  const sysStats = stats(variant);
  const me = multEval(baseStats, sysStats);
  const pairs: SeedPairBootstrap[] = base.map((b, r) => {
    const pb = pairedBootstrap(baseStats[r], sysStats[r]);
    return { seed: b.seed, baseBleu: pb.baseline.score, bleu: pb.system.score, mean: pb.system.mean, ci: pb.system.ci, lower: pb.system.lower, upper: pb.system.upper, pValue: pb.pValue };
  });
  return {
    split,
    seeds: base.map((b) => b.seed),
    mean: me.system.mean,
    sDev: me.system.sDev,
    sSel: me.system.sSel,
    baseMean: me.baseline.mean,
    baseSDev: me.baseline.sDev,
    baseSSel: me.baseline.sSel,
    pValue: me.pValue,
    significant: me.pValue < 0.05,
    pooled: me.pooledSystem,
    basePooled: me.pooledBaseline,
    pairs,
    bootSamples: me.bootSamples,
    shuffles: me.shuffles,
    pairedSamples: PAIRED_BS_SAMPLES,
    seed: me.seed,
  };
}

export { AVERAGED_CHECKPOINTS } from '../../contract/api';

/**
 * Loads into `model` the element-wise mean of the weights of the newest `k` checkpoint files in
 * `dir` (summed in float64). A file that does not read or verify is skipped and named; with fewer
 * than two usable files the model is left as it is. Returns the steps averaged, oldest first.
 */
export function averageCheckpoints(model: Seq2SeqModel, dir: string, k: number): { steps: number[]; skipped: { path: string; reason: string }[] } {
  const skipped: { path: string; reason: string }[] = [];
  const loaded: { step: number; weights: ReadonlyMap<string, Float32Array> }[] = [];
  for (const path of listCheckpoints(dir).reverse()) {
    if (loaded.length === k) break;
    try {
      const ckpt = readCheckpoint(path);
      loaded.unshift({ step: ckpt.header.step, weights: ckpt.tensors.weight });
    } catch (err) {
      skipped.push({ path, reason: (err as Error).message });
    }
  }
  if (loaded.length < 2) return { steps: loaded.map((l) => l.step), skipped };
  const mean = new Map<string, Float32Array>();
  for (const [name, first] of loaded[0].weights) {
    const sum = new Float64Array(first.length);
    for (const { weights } of loaded) {
      const w = weights.get(name);
      if (!w || w.length !== sum.length) throw new Error(`averageCheckpoints: ${name} differs between checkpoints of one run`);
      for (let i = 0; i < w.length; i++) sum[i] += w[i];
    }
    mean.set(name, Float32Array.from(sum, (v) => v / loaded.length));
  }
  restoreWeights(model.variables, mean, `the mean of ${loaded.length} checkpoints`);
  return { steps: loaded.map((l) => l.step), skipped };
}
