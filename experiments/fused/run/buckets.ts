/**
 * Padded batch shapes for the fused engine. A FusedTransformer is built for one (rows, length)
 * bucket: its pipelines, bind groups and buffers are made once. The run's batches (BatchStream cuts
 * them so rows × longest ≤ batch_tokens) are padded up to the next length of a short ladder (steps of
 * at most 50%) and to the most rows a batch of that bucket can have, so a run meets a few buckets,
 * each built the first time a batch needs it.
 */
import type { Batch } from '../../data/types';
import { MAX_ATTENTION_LEN } from '../kernels/attention';

/**
 * Padded lengths: 1–8 exact (toy tasks), then steps of at most 50% (×1.5, ×4/3) up to the attention
 * kernel's limit: a corpus of lengths 3–64 meets at most 12 buckets, and a batch pads to at most
 * 1.5× its tokens.
 */
export const BUCKET_LENGTHS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, MAX_ATTENTION_LEN];

/** The padded length for a batch whose longest side is `len`. */
export function bucketLength(len: number): number {
  const l = BUCKET_LENGTHS.find((b) => b >= len);
  if (l === undefined) throw new Error(`a batch of length ${len} exceeds the fused attention kernel's ${MAX_ATTENTION_LEN} positions`);
  return l;
}

/**
 * Rows of the bucket of padded length `L`: the most sentences a batch of `batchTokens` can hold when
 * its longest side is above the previous ladder length (BatchStream: size × longest ≤ batchTokens).
 */
export function bucketRows(batchTokens: number, L: number): number {
  const i = BUCKET_LENGTHS.indexOf(L);
  const shortest = i > 0 ? BUCKET_LENGTHS[i - 1] + 1 : 1;
  return Math.max(1, Math.floor(batchTokens / shortest));
}

export interface BucketKey {
  readonly rows: number;
  readonly len: number;
}

/** The bucket a batch goes to (a single sentence longer than batch_tokens gets rows = its size). */
export function bucketOf(batch: Batch, batchTokens: number): BucketKey {
  const len = bucketLength(Math.max(batch.srcLen, batch.tgtLen));
  return { rows: Math.max(batch.size, bucketRows(batchTokens, len)), len };
}

/** Copies `batch` into row-major [rows, len] arrays padded with PAD (0); `out` is reused between steps. */
export function padBatch(batch: Batch, key: BucketKey, out?: { src: Int32Array; tgtIn: Int32Array; tgtOut: Int32Array }): { src: Int32Array; tgtIn: Int32Array; tgtOut: Int32Array } {
  const n = key.rows * key.len;
  const o = out ?? { src: new Int32Array(n), tgtIn: new Int32Array(n), tgtOut: new Int32Array(n) };
  o.src.fill(0);
  o.tgtIn.fill(0);
  o.tgtOut.fill(0);
  for (let r = 0; r < batch.size; r++) {
    o.src.set(batch.src.subarray(r * batch.srcLen, (r + 1) * batch.srcLen), r * key.len);
    o.tgtIn.set(batch.tgtIn.subarray(r * batch.tgtLen, (r + 1) * batch.tgtLen), r * key.len);
    o.tgtOut.set(batch.tgtOut.subarray(r * batch.tgtLen, (r + 1) * batch.tgtLen), r * key.len);
  }
  return o;
}
