/**
 * The paper's sub-layers as functions of plain tensors. The residual stream is kept 2-D
 * ([rows = batch·len, d_model]) so every projection is one un-transposed matMul; attention
 * reshapes to per-head 3-D tensors and back. Masks arrive as additive biases built once by the caller.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './ops';

/** Added to attention logits where attending is forbidden; exp() of it underflows to exactly 0. */
export const MASK_BIAS = -1e9;
/** LayerNorm's variance epsilon (tensor2tensor's 1e-6). */
export const LAYER_NORM_EPS = 1e-6;

export interface AttentionWeights {
  readonly wq: tf.Variable;
  /** The same variable as wq under share_qk. */
  readonly wk: tf.Variable;
  readonly wv: tf.Variable;
  readonly wo: tf.Variable;
}
export interface NormWeights {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
}
export interface FfnWeights {
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
}
export interface AttentionShape {
  readonly heads: number;
  readonly dk: number;
  readonly dv: number;
  /** true multiplies logits by 1/sqrt(d_k) (eq. 1); false is the ablation without it. */
  readonly scale: boolean;
}

/** LayerNorm over the last axis (Ba et al. 2016): gamma · (x − mean) / sqrt(var + eps) + beta. */
export function layerNorm(x: tf.Tensor2D, w: NormWeights): tf.Tensor2D {
  const mean = tf.mean(x, -1, true); // [rows, 1]
  const centred = tf.sub(x, mean); // [rows, d]
  const variance = tf.mean(tf.square(centred), -1, true); // [rows, 1]
  const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, LAYER_NORM_EPS))); // [rows, d]
  return tf.add(tf.mul(normed, w.gamma), w.beta);
}

/** Dropout with inverted scaling; identity when not training or rate 0. */
export function dropout<T extends tf.Tensor>(x: T, rate: number, training: boolean, seed: () => number): T {
  return training && rate > 0 ? (tf.dropout(x, rate, undefined, seed()) as T) : x;
}

/** Position-wise feed-forward network, eq. (2): max(0, x·W1 + b1)·W2 + b2. x [rows, d] → [rows, d]. */
export function feedForward(x: tf.Tensor2D, w: FfnWeights): tf.Tensor2D {
  const hidden = tf.relu(tf.add(matMul(x, w.w1), w.b1)); // [rows, d_ff]
  return tf.add(matMul(hidden, w.w2), w.b2) as tf.Tensor2D; // [rows, d]
}

/** [batch·len, heads·width] → [batch·heads, len, width]. */
export function splitHeads(x: tf.Tensor2D, batch: number, len: number, heads: number, width: number): tf.Tensor3D {
  const x4 = tf.reshape(x, [batch, len, heads, width]);
  return tf.reshape(tf.transpose(x4, [0, 2, 1, 3]), [batch * heads, len, width]);
}

/** Keys laid out for q·kᵀ without a transposed matMul: [batch·len, heads·dk] → [batch·heads, dk, len]. */
export function splitHeadsTransposed(x: tf.Tensor2D, batch: number, len: number, heads: number, width: number): tf.Tensor3D {
  const x4 = tf.reshape(x, [batch, len, heads, width]);
  return tf.reshape(tf.transpose(x4, [0, 2, 3, 1]), [batch * heads, width, len]);
}

/** [batch·heads, len, width] → [batch·len, heads·width] (the Concat of MultiHead). */
export function mergeHeads(x: tf.Tensor3D, batch: number, len: number, heads: number, width: number): tf.Tensor2D {
  const x4 = tf.reshape(x, [batch, heads, len, width]);
  return tf.reshape(tf.transpose(x4, [0, 2, 1, 3]), [batch * len, heads * width]);
}

/**
 * Scaled dot-product attention, eq. (1), for all heads at once:
 * softmax(q·kᵀ/sqrt(d_k) + bias)·v.
 * q [B·h, t, dk], kT [B·h, dk, s], v [B·h, s, dv], bias broadcastable to [B, h, t, s].
 * Returns the context [B·h, t, dv] and the probabilities [B, h, t, s].
 */
export function scaledDotProductAttention(
  q: tf.Tensor3D, kT: tf.Tensor3D, v: tf.Tensor3D, bias: tf.Tensor, batch: number, shape: AttentionShape,
): { context: tf.Tensor3D; probs: tf.Tensor4D } {
  const [, t, dk] = q.shape;
  const s = kT.shape[2];
  let logits = matMul(q, kT); // [B·h, t, s]
  if (shape.scale) logits = tf.mul(logits, 1 / Math.sqrt(dk));
  const biased = tf.add(tf.reshape(logits, [batch, shape.heads, t, s]), bias); // [B, h, t, s]
  const probs = tf.softmax(biased) as tf.Tensor4D; // [B, h, t, s]
  const context = matMul(tf.reshape(probs, [batch * shape.heads, t, s]) as tf.Tensor3D, v); // [B·h, t, dv]
  return { context, probs };
}

/**
 * MultiHead(Q, K, V) = Concat(head_1..head_h)·W^O, head_i = Attention(Q·W_i^Q, K·W_i^K, V·W_i^V)
 * (section 3.2.2), with the h per-head projections stored side by side in one [d, h·d_k] matrix.
 * query [B·t, d] (t rows per sentence), memory [B·s, d]; bias broadcastable to [B, h, t, s].
 * Returns the output [B·t, d] and the probabilities [B, h, t, s].
 */
export function multiHeadAttention(
  query: tf.Tensor2D, memory: tf.Tensor2D, batch: number, t: number, s: number,
  bias: tf.Tensor, w: AttentionWeights, shape: AttentionShape,
): { out: tf.Tensor2D; probs: tf.Tensor4D } {
  const { heads, dk, dv } = shape;
  const q = splitHeads(matMul(query, w.wq), batch, t, heads, dk); // [B·h, t, dk]
  const kT = splitHeadsTransposed(matMul(memory, w.wk), batch, s, heads, dk); // [B·h, dk, s]
  const v = splitHeads(matMul(memory, w.wv), batch, s, heads, dv); // [B·h, s, dv]
  const { context, probs } = scaledDotProductAttention(q, kT, v, bias, batch, shape);
  const merged = mergeHeads(context, batch, t, heads, dv); // [B·t, h·dv]
  return { out: matMul(merged, w.wo), probs }; // [B·t, d]
}

/** Keys/values of `x` [B·len, d] in the cache layout [B, h, len, width]. */
export function projectHeads(x: tf.Tensor2D, weight: tf.Tensor, batch: number, len: number, heads: number, width: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(matMul(x, weight), [batch, len, heads, width]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * Attention of one new query row per sentence over cached keys/values (incremental decoding).
 * query [B, d]; k [B, h, s, dk]; v [B, h, s, dv]; bias broadcastable to [B, h, 1, s] or null.
 * Same arithmetic as multiHeadAttention restricted to the last query position.
 */
export function cachedAttention(
  query: tf.Tensor2D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor | null, w: AttentionWeights, shape: AttentionShape,
): tf.Tensor2D {
  const { heads, dk, dv } = shape;
  const [batch, , s] = k.shape;
  const q = splitHeads(matMul(query, w.wq), batch, 1, heads, dk); // [B·h, 1, dk]
  const kT = tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [batch * heads, dk, s]) as tf.Tensor3D; // [B·h, dk, s]
  const v3 = tf.reshape(v, [batch * heads, s, dv]) as tf.Tensor3D; // [B·h, s, dv]
  const { context } = scaledDotProductAttention(q, kT, v3, bias ?? tf.scalar(0), batch, shape);
  return matMul(mergeHeads(context, batch, 1, heads, dv), w.wo); // [B, d]
}

/** Additive source padding bias [B, 1, 1, s]: 0 at tokens, MASK_BIAS at PAD (id 0). */
export function paddingBias(ids: tf.Tensor2D): tf.Tensor4D {
  const [b, s] = ids.shape;
  return tf.reshape(tf.mul(tf.cast(tf.equal(ids, 0), 'float32'), MASK_BIAS), [b, 1, 1, s]);
}

/** Decoder self-attention bias [B, 1, t, t]: look-ahead (no attending to later positions) plus target padding. */
export function decoderSelfBias(tgtIn: tf.Tensor2D): tf.Tensor4D {
  const t = tgtIn.shape[1];
  const band = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) band[i * t + j] = MASK_BIAS;
  return tf.add(tf.tensor4d(band, [1, 1, t, t]), paddingBias(tgtIn)); // [B, 1, t, t]
}
