/**
 * Helpers for decoding comparisons (bench/reference's PyTorch beam search against the tfjs
 * decoder): random source sentences, a perturbation that makes a random model's next-token
 * choices clear-cut, reversal data for a quickly trained model, and a checkpoint of a bare model
 * in the workbench's file format. Not used by production code.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig, RunConfig } from '../../contract/spec';
import { expandSpec, parseSpec } from '../../contract/spec';
import type { EncodedPair } from '../../experiments/data/types';
import type { Seq2SeqModel } from '../../experiments/model/types';
import { saveCheckpoint } from '../../experiments/train/checkpoint';
import { Trainer } from '../../experiments/train/loop';
import { rng } from './model';

/** `count` sentences of 1–`maxLen` random ids in [4, vocab). */
export function randomSources(count: number, seed: number, vocab: number, maxLen = 7): Int32Array[] {
  const random = rng(seed);
  return Array.from({ length: count }, () => Int32Array.from({ length: 1 + Math.floor(random() * maxLen) }, () => 4 + Math.floor(random() * (vocab - 4))));
}

/** Nudges LayerNorm gains and biases off 1/0 and doubles the other weights, so decisions are not near-ties of a flat distribution. */
export function sharpen(model: Seq2SeqModel, seed: number): void {
  const random = rng(seed);
  tf.tidy(() => {
    for (const v of model.variables) {
      const n = v.shape.reduce((a, b) => a * b, 1);
      const noise = tf.tensor(Float32Array.from({ length: n }, () => random() - 0.5), v.shape);
      if (v.name.endsWith('/gamma')) v.assign(tf.add(v, tf.mul(noise, 0.4)));
      else if (v.name.endsWith('/beta') || v.name.endsWith('/b1') || v.name.endsWith('/b2')) v.assign(tf.mul(noise, 0.4));
      else v.assign(tf.mul(v, 2));
    }
  });
}

/** Sentence-reversal pairs of 3–5 ids in [4, vocab). */
export function reversalPairs(count: number, seed: number, vocab: number): EncodedPair[] {
  const random = rng(seed);
  return Array.from({ length: count }, () => {
    const src = Int32Array.from({ length: 3 + Math.floor(random() * 3) }, () => 4 + Math.floor(random() * (vocab - 4)));
    return { source: '', target: '', src, tgt: src.slice().reverse() };
  });
}

/** A RunConfig holding `model` (the rest is a placeholder synthetic task: only the model is read back). */
function runConfigFor(model: ModelConfig): RunConfig {
  const base = expandSpec(parseSpec({ name: 'decoding-reference', data: { task: 'synthetic-copy', vocab: 8, tokenizer: { kind: 'word' } }, train: { seeds: [1] } }))[0].config;
  return { ...base, model };
}

/** Writes `trainer`'s model (or a bare model, with fresh Adam state) as a workbench checkpoint at `path`. */
export async function writeModelCheckpoint(path: string, model: Seq2SeqModel, vocab: number, trainer?: Trainer): Promise<void> {
  const owner = trainer ?? new Trainer(model, { warmup: 1, lrFactor: 1, clipNorm: 0, labelSmoothing: 0, seed: 1 });
  try {
    await saveCheckpoint(path, { trainer: owner, config: runConfigFor(model.config), batchPosition: null, tokenizers: { src: null, tgt: null, shared: true }, vocab: { src: vocab, tgt: vocab } });
  } finally {
    if (!trainer) owner.dispose();
  }
}
