/**
 * Evaluation of a model on a split: validation loss / perplexity (teacher forced, no dropout,
 * no smoothing) and translations for BLEU (greedy during training, beam at the end).
 */
import * as tf from '@tensorflow/tfjs-core';
import { evalBatches } from '../data/batches';
import type { EncodedPair, TextTokenizer } from '../data/types';
import { beamSearch, greedyDecode } from '../decode/index';
import { corpusBleu } from '../metrics/bleu';
import { perplexity } from '../metrics/perplexity';
import type { Seq2SeqModel } from '../model/types';
import { nllAndCount } from '../train/loss';
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
const DECODE_CHUNK = 64;

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

export interface TranslationResult {
  readonly hypotheses: string[];
  /** sacreBLEU corpus BLEU (13a, exp smoothing) of detokenized hypotheses against the raw references, 0–100. */
  readonly bleu: number;
}

/** Decodes `pairs`, detokenizes and scores them against their raw target text. */
export async function translateAndScore(model: Seq2SeqModel, pairs: readonly EncodedPair[], tgtTokenizer: TextTokenizer, settings: DecodeSettings): Promise<TranslationResult> {
  if (!pairs.length) return { hypotheses: [], bleu: NaN };
  const ids = await translateIds(
    model,
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
