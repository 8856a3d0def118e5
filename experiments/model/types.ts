/**
 * The contract between the model (experiments/model), training (experiments/train) and decoding
 * (experiments/decode). Token ids are int32; 0 is padding (see experiments/data/types.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../contract/spec';

/** Encoder output for a source batch, reused by every decoder step. */
export interface EncoderOutput {
  /** [batch, srcLen, d_model] */
  readonly memory: tf.Tensor3D;
  /** [batch, 1, 1, srcLen], 0 where the source is a real token and a large negative number at padding: added to attention logits. */
  readonly srcMaskBias: tf.Tensor4D;
}

/** Keys and values of earlier target positions, per decoder layer, for incremental decoding. */
export interface DecoderCache {
  /** Per layer: self-attention keys [batch, heads, d_k, t] (laid out for q·kᵀ) and values [batch, heads, t, d_v] so far. */
  readonly self: readonly { readonly k: tf.Tensor4D; readonly v: tf.Tensor4D }[];
  /** Per layer: cross-attention keys/values of the memory, computed once. */
  readonly cross: readonly { readonly k: tf.Tensor4D; readonly v: tf.Tensor4D }[];
  /** Number of target positions already in the cache. */
  readonly length: number;
}

/** Attention probabilities per layer: [batch, heads, queryLen, keyLen] each. */
export interface AttentionWeights {
  readonly encoderSelf: tf.Tensor4D[];
  readonly decoderSelf: tf.Tensor4D[];
  readonly cross: tf.Tensor4D[];
}

export interface Seq2SeqModel {
  readonly config: ModelConfig;
  readonly srcVocabSize: number;
  readonly tgtVocabSize: number;
  /** Trainable variables, in a stable order with stable names (checkpoints key on the names). */
  readonly variables: readonly tf.Variable[];
  /** Number of trainable scalars (tied embeddings counted once). */
  readonly paramCount: number;
  /**
   * Teacher-forced forward pass. src [batch, srcLen], tgtIn [batch, tgtLen] (BOS-shifted), int32.
   * Returns logits [batch, tgtLen, tgtVocab]. Dropout only when training.
   */
  forward(src: tf.Tensor2D, tgtIn: tf.Tensor2D, training: boolean): tf.Tensor3D;
  /** Runs the encoder (inference). */
  encode(src: tf.Tensor2D): EncoderOutput;
  /** An empty cache for `encoded` (cross-attention keys/values precomputed). */
  initCache(encoded: EncoderOutput): DecoderCache;
  /**
   * One incremental decoder step: `tokens` [batch] int32 are the previous outputs (BOS first).
   * Returns log-probabilities [batch, tgtVocab] of the next token and the extended cache.
   */
  decodeStep(encoded: EncoderOutput, cache: DecoderCache, tokens: tf.Tensor1D): { logProbs: tf.Tensor2D; cache: DecoderCache };
  /** Reorders/repeats the batch rows of a cache (beam search): `indices` [newBatch] int32. */
  selectCache(cache: DecoderCache, indices: tf.Tensor1D): DecoderCache;
  /** Teacher-forced pass that also returns every attention map (inference; for the UI heatmaps). */
  attention(src: tf.Tensor2D, tgtIn: tf.Tensor2D): { logits: tf.Tensor3D; weights: AttentionWeights };
  /**
   * Called by the trainer before each training forward pass with the 1-based optimizer step:
   * dropout masks must then depend only on (model seed, step, call index within the step), so a
   * run resumed from a checkpoint at step k in a fresh model draws the masks the uninterrupted
   * run drew (a per-model call counter restarts at 0 in the fresh model and breaks this).
   */
  setDropoutStep?(step: number): void;
  dispose(): void;
}
