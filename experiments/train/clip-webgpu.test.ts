/**
 * Global-norm clipping on the webgpu backend (tfjs-webgpu on Dawn; lavapipe here). tfjs-webgpu's
 * addN binds one storage buffer per input, and the Transformer has ~60 weight tensors: Dawn refuses
 * a pipeline with more storage buffers than the adapter allows (8 by default) and drops the submit,
 * so the norm read 0 (nothing was clipped) and no error was raised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import { clipByGlobalNorm } from './optimizer';

const webgpu = await selectBackend('webgpu').then(
  () => true,
  (err: Error) => (console.warn(`skipping clipping on webgpu: ${err.message}`), false),
);

describe.skipIf(!webgpu)('clipByGlobalNorm on webgpu', () => {
  it('gives the float64 global norm of 62 gradients and scales each one by maxNorm / norm', async () => {
    // 62 tensors of different sizes, values from a fixed formula (no RNG needed).
    const values = Array.from({ length: 62 }, (_, i) => Float32Array.from({ length: 3 + (i % 7) * 5 }, (_, j) => Math.sin(1 + i * 0.7 + j * 1.3)));
    const grads: Record<string, tf.Tensor> = {};
    values.forEach((v, i) => (grads[`w${i}`] = tf.tensor1d(v)));
    let sq = 0;
    for (const v of values) for (const x of v) sq += x * x;
    const want = Math.sqrt(sq);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    expect((await norm.data())[0]).toBeCloseTo(want, 3);
    const coef = 1 / (want + 1e-6);
    for (const i of [0, 30, 61]) {
      const got = await clipped[`w${i}`].data();
      values[i].forEach((x, j) => expect(got[j], `w${i}[${j}]`).toBeCloseTo(x * coef, 5));
    }
  }, 120_000);
});
