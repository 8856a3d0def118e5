/**
 * The paper's sub-layers and the encoder and decoder blocks built from them, as functions of plain
 * tensors. The residual stream is kept 2-D ([rows = batch·len, d_model]) so every projection is one
 * un-transposed matMul; attention reshapes to per-head 3-D tensors and back. Masks arrive as
 * additive biases built once by the caller. The decoder block is written once, for teacher-forced
 * training and for incremental decoding with a key/value cache alike.
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
 * Keys and values of one attention sub-layer, per head: keys already laid out for q·kᵀ without a
 * transposed matMul, k [B, h, d_k, len]; values v [B, h, len, d_v]. Also the decoder's cache layout
 * (new positions are appended along the len axis: 3 for k, 2 for v). A type alias, not an
 * interface, so that tf.tidy may return it (a TensorContainer needs an implicit index signature).
 */
export type KeyValues = {
  readonly k: tf.Tensor4D;
  readonly v: tf.Tensor4D;
};

/** K·W^K and V·W^V of `x` [B·len, d] (len rows per sentence), split into heads. */
export function projectKeyValues(x: tf.Tensor2D, w: AttentionWeights, batch: number, len: number, shape: AttentionShape): KeyValues {
  const { heads, dk, dv } = shape;
  const k = tf.transpose(tf.reshape(matMul(x, w.wk), [batch, len, heads, dk]), [0, 2, 3, 1]) as tf.Tensor4D; // [B, h, dk, len]
  const v = tf.transpose(tf.reshape(matMul(x, w.wv), [batch, len, heads, dv]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, h, len, dv]
  return { k, v };
}

/** Q·W^Q of `x` [B·t, d] (t rows per sentence), split into heads: [B·h, t, d_k]. */
export function projectQueries(x: tf.Tensor2D, w: AttentionWeights, batch: number, t: number, shape: AttentionShape): tf.Tensor3D {
  return splitHeads(matMul(x, w.wq), batch, t, shape.heads, shape.dk);
}

/**
 * MultiHead(Q, K, V) = Concat(head_1..head_h)·W^O, head_i = Attention(Q·W_i^Q, K·W_i^K, V·W_i^V)
 * (section 3.2.2), with the h per-head projections stored side by side in one [d, h·d_k] matrix.
 * The projections arrive made: q [B·h, t, d_k] from projectQueries, kv over s positions from
 * projectKeyValues or a cache. (Callers project Q before K and V: the order in which a shared
 * input's gradients are summed, kept so results stay bit-identical.) bias broadcastable to
 * [B, h, t, s], or null where every position may be attended to.
 * Returns the output [B·t, d] and the probabilities [B, h, t, s].
 */
export function attend(
  q: tf.Tensor3D, kv: KeyValues, bias: tf.Tensor | null, batch: number, w: AttentionWeights, shape: AttentionShape,
): { out: tf.Tensor2D; probs: tf.Tensor4D } {
  const { heads, dk, dv } = shape;
  const t = q.shape[1];
  const s = kv.v.shape[2];
  const kT = tf.reshape(kv.k, [batch * heads, dk, s]) as tf.Tensor3D; // [B·h, dk, s]
  const v = tf.reshape(kv.v, [batch * heads, s, dv]) as tf.Tensor3D; // [B·h, s, dv]
  const { context, probs } = scaledDotProductAttention(q, kT, v, bias ?? tf.scalar(0), batch, shape);
  const merged = mergeHeads(context, batch, t, heads, dv); // [B·t, h·dv]
  return { out: matMul(merged, w.wo), probs }; // [B·t, d]
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

/** How every residual sub-layer of a model is wrapped: the norm placement and the dropout of its output. */
export interface SublayerOptions {
  readonly norm: 'pre' | 'post';
  readonly dropout: number;
  readonly training: boolean;
  /** The seed of the next dropout mask (experiments/seeding.ts): called once per sub-layer when dropout is on. */
  readonly seed: () => number;
}

/**
 * One residual sub-layer (section 3.1; dropout on the sub-layer output, section 5.4).
 * post-norm (paper): LayerNorm(x + Dropout(f(x))); pre-norm: x + Dropout(f(LayerNorm(x))).
 * x [rows, d] → [rows, d].
 */
export function sublayer(x: tf.Tensor2D, norm: NormWeights, o: SublayerOptions, f: (h: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
  if (o.norm === 'pre') return tf.add(x, dropout(f(layerNorm(x, norm)), o.dropout, o.training, o.seed));
  return layerNorm(tf.add(x, dropout(f(x), o.dropout, o.training, o.seed)), norm);
}

export interface EncoderLayerWeights {
  readonly selfAttn: AttentionWeights;
  readonly selfAttnNorm: NormWeights;
  readonly ffn: FfnWeights;
  readonly ffnNorm: NormWeights;
}
export interface DecoderLayerWeights extends EncoderLayerWeights {
  readonly crossAttn: AttentionWeights;
  readonly crossAttnNorm: NormWeights;
}

/**
 * One encoder layer (section 3.1, Figure 1 left), x [B·s, d] → [B·s, d]:
 *   a = SubLayer(x, MultiHead(x, x, x))   self-attention, padding masked by `bias` [B, 1, 1, s]
 *   y = SubLayer(a, FFN(a))               eq. (2)
 * Pushes the self-attention probabilities [B, h, s, s] onto `maps` when given.
 */
export function encoderBlock(
  x: tf.Tensor2D, layer: EncoderLayerWeights, batch: number, s: number, bias: tf.Tensor4D,
  shape: AttentionShape, o: SublayerOptions, maps?: tf.Tensor4D[],
): tf.Tensor2D {
  const a = sublayer(x, layer.selfAttnNorm, o, (h) => {
    const q = projectQueries(h, layer.selfAttn, batch, s, shape);
    const { out, probs } = attend(q, projectKeyValues(h, layer.selfAttn, batch, s, shape), bias, batch, layer.selfAttn, shape);
    maps?.push(probs);
    return out;
  });
  return sublayer(a, layer.ffnNorm, o, (h) => feedForward(h, layer.ffn));
}

/** What a decoder layer attends to besides the new positions themselves. */
export interface DecoderBlockContext {
  /** Self-attention keys/values of earlier target positions (the cache); absent when x holds the whole prefix. */
  readonly past?: KeyValues;
  /** Self-attention bias [B, 1, t, past + t]: the look-ahead mask (plus target padding); null for one new position, which may attend to all. */
  readonly selfBias: tf.Tensor4D | null;
  /** Cross-attention keys/values of the encoder output, projected once (projectKeyValues). */
  readonly memory: KeyValues;
  /** Source padding bias [B, 1, 1, s]. */
  readonly memoryBias: tf.Tensor4D;
  /** Receive the self- and cross-attention probabilities [B, h, t, ·] when given. */
  readonly maps?: { readonly self: tf.Tensor4D[]; readonly cross: tf.Tensor4D[] };
}

/**
 * One decoder layer (section 3.1, Figure 1 right), used by teacher-forced training (x holds the
 * whole target prefix, t positions, no past) and by incremental decoding (x holds the one new
 * position per sentence, `past` the cached earlier ones). x [B·t, d]:
 *   a = SubLayer(x, MultiHead(x, [past; x], [past; x]))   masked self-attention (section 3.2.3)
 *   c = SubLayer(a, MultiHead(a, memory, memory))         encoder–decoder attention
 *   y = SubLayer(c, FFN(c))                               eq. (2)
 * Returns y [B·t, d] and the self-attention keys/values of all positions so far (the next cache).
 */
export function decoderBlock(
  x: tf.Tensor2D, layer: DecoderLayerWeights, batch: number, t: number, ctx: DecoderBlockContext,
  shape: AttentionShape, o: SublayerOptions,
): { y: tf.Tensor2D; self: KeyValues } {
  let self: KeyValues | undefined;
  const a = sublayer(x, layer.selfAttnNorm, o, (h) => {
    const q = projectQueries(h, layer.selfAttn, batch, t, shape);
    const fresh = projectKeyValues(h, layer.selfAttn, batch, t, shape); // the new positions' keys/values
    self = ctx.past
      ? { k: tf.concat([ctx.past.k, fresh.k], 3) as tf.Tensor4D, v: tf.concat([ctx.past.v, fresh.v], 2) as tf.Tensor4D }
      : fresh;
    const { out, probs } = attend(q, self, ctx.selfBias, batch, layer.selfAttn, shape);
    ctx.maps?.self.push(probs);
    return out;
  });
  const c = sublayer(a, layer.crossAttnNorm, o, (h) => {
    const { out, probs } = attend(projectQueries(h, layer.crossAttn, batch, t, shape), ctx.memory, ctx.memoryBias, batch, layer.crossAttn, shape);
    ctx.maps?.cross.push(probs);
    return out;
  });
  return { y: sublayer(c, layer.ffnNorm, o, (h) => feedForward(h, layer.ffn)), self: self! };
}
