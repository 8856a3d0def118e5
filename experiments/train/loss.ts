/**
 * Training and evaluation losses over the non-pad target tokens of a batch.
 *
 * Label smoothing (§5.4, ε_ls = 0.1 in the paper). Which convention, precisely: the target
 * distribution of a token with gold class y over a vocabulary of V classes is
 *
 *   q(k) = (1 − ε) · [k = y] + ε / K · [k ∈ S]
 *
 * where S is the set of classes the smoothing mass is spread over and K = |S|:
 * - `smoothing: 'non-pad'` (default): S = every class except PAD (id 0), K = V − 1. PAD is never a
 *   target, so no probability mass is taught to it (fairseq/tensor2tensor also keep PAD out of the
 *   loss; the Annotated Transformer zeroes its column).
 * - `smoothing: 'all'`: S = all V classes, K = V — exactly PyTorch's
 *   `F.cross_entropy(logits, y, label_smoothing=ε, ignore_index=0)` (torch ≥ 1.10).
 *
 * The per-token loss is the cross-entropy H(q, p) = −Σ_k q(k) log p(k); the batch loss is its mean
 * over non-pad target tokens (EOS included, padding excluded): sum / count. With ε = 0 it is the
 * plain NLL. Tests check both conventions against PyTorch (test/fixtures/train-reference/reference.py).
 *
 * The gradient is written by hand (softmax(z) − q, masked and divided by the token count): it is
 * the exact derivative and avoids tfjs's generic log-softmax backward pass over [tokens, vocab].
 */
import * as tf from '@tensorflow/tfjs-core';
import { PAD_ID } from '../data/types';

export type SmoothingSupport = 'non-pad' | 'all';

export interface LossOptions {
  /** ε_ls in [0, 1). */
  readonly labelSmoothing: number;
  /** Classes the smoothing mass is spread over (see the file comment). Default 'non-pad'. */
  readonly smoothing?: SmoothingSupport;
}

/** Float mask [N]: 1 at non-pad targets. */
function nonPadMask(targets: tf.Tensor1D): tf.Tensor1D {
  return tf.cast(tf.notEqual(targets, tf.scalar(PAD_ID, 'int32')), 'float32');
}

/** One-hot as float32 [N, V]: an int32 one-hot then a cast (a float one-hot is zeros on wasm). */
function oneHotFloat(ids: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(ids, depth), 'float32') as tf.Tensor2D;
}

/**
 * Label-smoothed cross-entropy, mean over non-pad target tokens.
 * logits [batch, tgtLen, V] (or [N, V]); targets [batch, tgtLen] (or [N]) int32 (tgtOut: target + EOS, PAD elsewhere).
 * Returns a scalar; differentiable with respect to `logits`.
 * @example const loss = labelSmoothedCrossEntropy(model.forward(src, tgtIn, true), tgtOut, { labelSmoothing: 0.1 });
 */
export function labelSmoothedCrossEntropy(logits: tf.Tensor, targets: tf.Tensor, opts: LossOptions): tf.Scalar {
  const eps = opts.labelSmoothing;
  if (!(eps >= 0 && eps < 1)) throw new RangeError(`label_smoothing must be in [0, 1), got ${eps}`);
  const vocab = logits.shape[logits.shape.length - 1];
  const allClasses = (opts.smoothing ?? 'non-pad') === 'all';
  const support = allClasses ? vocab : vocab - 1;
  const y = tf.reshape(targets, [-1]) as tf.Tensor1D; // [N]
  const z = tf.reshape(logits, [-1, vocab]) as tf.Tensor2D; // [N, V]
  const loss = tf.customGrad(((zIn: tf.Tensor, save: tf.GradSaveFunc) => {
    // p = softmax(z) with the backend's fused kernel, and log p = z − logsumexp(z) where
    // logsumexp = max z − log max p (the largest probability never underflows). One exp pass over
    // [N, V] instead of three (log-softmax's, and exp(log p) again for the gradient): on the
    // bench's config B this was ~8% of a wasm training step.
    const p = tf.softmax(zIn as tf.Tensor2D); // [N, V]
    const lse = tf.sub(tf.max(zIn, 1, true), tf.log(tf.max(p, 1, true))); // [N, 1]
    const logp = tf.sub(zIn, lse); // [N, V]
    const mask = nonPadMask(y); // [N]
    const denom = tf.maximum(tf.sum(mask), tf.scalar(1)); // tokens (≥ 1 so an all-pad batch gives 0, not NaN)
    // q(k) · mask / denom for every class: the target term of the gradient and of the loss. [N, V]
    let q = tf.mul(oneHotFloat(y, vocab), 1 - eps);
    if (eps > 0) {
      // ε/K on every class of S: a row with ε/K everywhere, zero in PAD's column when PAD ∉ S.
      const row = allClasses ? tf.fill([1, vocab], eps / support) : tf.mul(tf.sub(tf.scalar(1), oneHotFloat(tf.tensor1d([PAD_ID], 'int32'), vocab)), eps / support);
      q = tf.add(q, row);
    }
    const weight = tf.div(tf.expandDims(mask, 1), denom); // [N, 1]
    const target = tf.mul(q, weight); // [N, V]
    save([p, target, weight]);
    const value = tf.neg(tf.sum(tf.mul(target, logp))) as tf.Scalar;
    return {
      value,
      // d/dz of −Σ_k q_k log softmax(z)_k = softmax(z)·Σq − q, and Σ_k q(k) = 1 for every token.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sP, sTarget, sWeight] = saved;
        return tf.mul(dy, tf.sub(tf.mul(sP, sWeight), sTarget));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0]);
  return tf.reshape(loss(z), []) as tf.Scalar;
}

/**
 * Summed un-smoothed negative log-likelihood (nats) over non-pad targets, and their count: the
 * numbers perplexity is made of (EOS included, padding excluded). Reads back two numbers.
 */
export function sumNegativeLogLikelihood(logits: tf.Tensor, targets: tf.Tensor): { sumNll: number; tokens: number } {
  const pair = nllAndCount(logits, targets);
  const [sumNll, tokens] = pair.dataSync() as Float32Array;
  pair.dispose();
  return { sumNll, tokens: Math.round(tokens) };
}

/** [summed NLL, token count] as a tensor [2], not read back (async callers use `.data()`). */
export function nllAndCount(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const vocab = logits.shape[logits.shape.length - 1];
    const y = tf.reshape(targets, [-1]) as tf.Tensor1D;
    const logp = tf.logSoftmax(tf.reshape(logits, [-1, vocab]) as tf.Tensor2D);
    const mask = nonPadMask(y);
    const nll = tf.neg(tf.sum(tf.mul(logp, oneHotFloat(y, vocab)), 1)); // [N]
    return tf.stack([tf.sum(tf.mul(nll, mask)), tf.sum(mask)]) as tf.Tensor1D;
  });
}
