/**
 * Backend-safe building blocks with hand-written gradients.
 *
 * Why these exist (tfjs 4.22, measured on this machine, see ARCHITECTURE.md "tfjs pitfalls"):
 * - wasm hands only un-transposed matMuls to XNNPACK; the stock matMul gradient multiplies with
 *   transposeA/transposeB and falls to a slow loop. Our gradient transposes explicitly first
 *   (measured: fwd+bwd of [1024,256]·[256,1024] 82 ms vs 1504 ms stock). experiments/wasm-kernels.ts
 *   also relies on it: its batched XNNPACK path takes un-transposed products only.
 * - wasm has no UnsortedSegmentSum, so the stock gradient of tf.gather throws there; the
 *   embedding gradient here scatters with ScatterNd (which both cpu and wasm have and which sums
 *   duplicate indices).
 * - tf.oneHot(…, 'float32') returns zeros on wasm; an int32 one-hot then a cast is right.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradients; the union package's Node bundle does (its ESM
// register_all_gradients cannot load under plain Node/tsx: directory imports).
import '@tensorflow/tfjs';

/** Swaps the last two axes with an explicit Transpose kernel. */
function swapLast2(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/**
 * a @ b for rank-2 or rank-3 (same batch size) operands, never calling the kernel with
 * transpose flags. Gradients: dA = dC · Bᵀ, dB = Aᵀ · dC, each with its transpose materialised.
 */
const plainMatMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b), // [..., m, n]
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [tf.matMul(dy, swapLast2(sb)), tf.matMul(swapLast2(sa), dy)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Matrix product a·b (optionally of aᵀ and/or bᵀ on the last two axes) whose forward and backward
 * passes only issue un-transposed BatchMatMul kernels. Ranks 2 or 3, equal batch sizes for rank 3.
 * @example matMul(x2d, w)            // [n, d] · [d, out] → [n, out]
 * @example matMul(q, k, false, true) // [B, t, dk] · [B, s, dk]ᵀ → [B, t, s]
 */
export function matMul<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  if (a.rank !== b.rank || a.rank < 2 || a.rank > 3) throw new Error(`matMul: ranks ${a.rank} and ${b.rank} (need both 2 or both 3)`);
  const left = transposeA ? swapLast2(a) : a;
  const right = transposeB ? swapLast2(b) : b;
  return plainMatMul(left, right) as T;
}

/**
 * Rows of `table` [vocab, d] at `ids` (int32, any shape) → [...ids.shape, d].
 * Gradient w.r.t. the table: ScatterNd of the upstream rows at their ids (duplicates summed),
 * dense [vocab, d]; ids get no gradient.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  if (ids.dtype !== 'int32') throw new Error(`embeddingLookup: ids must be int32, got ${ids.dtype}`);
  const [vocab, d] = table.shape;
  const outShape = [...ids.shape, d];
  const flat = tf.reshape(ids, [-1]) as tf.Tensor1D; // [n]
  const lookup = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([flat]);
    return {
      value: tf.reshape(tf.gather(t, flat), outShape), // [...ids, d]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const indices = tf.reshape(saved[0], [-1, 1]); // [n, 1]
        const rows = tf.reshape(dy, [-1, d]); // [n, d]
        return [tf.scatterND(indices, rows, [vocab, d])]; // [vocab, d]
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (t: tf.Tensor) => tf.Tensor;
  return lookup(table);
}

/** One-hot rows as float32: int32 one-hot then cast (a float one-hot is all zeros on wasm). */
export function oneHotFloat(ids: tf.Tensor, depth: number): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.oneHot(ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32'), depth), 'float32'));
}
