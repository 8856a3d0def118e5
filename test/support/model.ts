/**
 * Helpers shared by the model and decoding tests (experiments/model, experiments/decode) and the
 * profiling scripts (bench/profile): tiny configs, random padded batches, backends.
 * Not used by production code.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { ModelConfig } from '../../contract/spec';
import { installWasmBatchMatMul } from '../../experiments/wasm-kernels';
import { mulberry32 } from '../../experiments/seeding';

/** A model small enough for finite differences and quick decoding tests. */
export function tinyConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    layers: 2, d_model: 16, d_ff: 24, heads: 2, d_k: 8, d_v: 8, dropout: 0, label_smoothing: 0.1,
    positional: 'sinusoidal', share_embeddings: true, norm: 'post', attention_scale: true, share_qk: false,
    ...overrides,
  };
}

/** Deterministic PRNG (mulberry32) for test inputs. */
export const rng = mulberry32;

/** Rows of random token ids in [4, vocab) with the given lengths, right-padded with 0 to `width`. */
export function paddedIds(lengths: readonly number[], width: number, vocab: number, random: () => number): number[][] {
  return lengths.map((len) => Array.from({ length: width }, (_, i) => (i < len ? 4 + Math.floor(random() * (vocab - 4)) : 0)));
}

/** A teacher-forcing batch: tgtIn = BOS + y, tgtOut = y + EOS, both padded. */
export function randomBatch(srcLens: readonly number[], tgtLens: readonly number[], vocab: number, seed: number) {
  const random = rng(seed);
  const s = Math.max(...srcLens);
  const t = Math.max(...tgtLens) + 1;
  const src = paddedIds(srcLens, s, vocab, random);
  const y = paddedIds(tgtLens, t - 1, vocab, random);
  const tgtIn = y.map((row, i) => [1, ...row.slice(0, tgtLens[i]), ...Array(t - 1 - tgtLens[i]).fill(0)]);
  const tgtOut = y.map((row, i) => [...row.slice(0, tgtLens[i]), 2, ...Array(t - 1 - tgtLens[i]).fill(0)]);
  return { src, tgtIn, tgtOut };
}

/** Sets the backend as runs do: on wasm that includes the XNNPACK batched-matMul kernel of selectBackend. */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  if (name === 'wasm') installWasmBatchMatMul();
}

export function int2d(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
}
