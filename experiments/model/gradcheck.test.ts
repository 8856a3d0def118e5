/**
 * Finite-difference gradient check: for sampled entries of every kind of weight, the analytic
 * gradient (tfjs autodiff through our custom matMul / embedding gradients) matches the central
 * difference (L(w+ε) − L(w−ε)) / 2ε of the loss computed in float32.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../contract/spec';
import { createModel } from './transformer';
import { int2d, randomBatch, rng, tinyConfig, useBackend } from '../../test/support/model';

const VOCAB = 9;
/** ε for float32 central differences: rounding error ~1e-7·|L|/ε against truncation error ~ε²·L‴. */
const EPS = 2e-3;
/** Allowed |fd − analytic| relative to max(|analytic|, 5% of the tensor's largest gradient). */
const REL_TOL = 2e-2;

const configs: [string, Partial<ModelConfig>][] = [
  ['post-norm, sinusoidal, tied embeddings', { layers: 1, d_model: 8, d_ff: 12, heads: 2, d_k: 3, d_v: 5 }],
  ['pre-norm, learned positions, separate embeddings, share_qk', {
    layers: 1, d_model: 8, d_ff: 12, heads: 2, d_k: 4, d_v: 4, norm: 'pre', positional: 'learned', share_embeddings: false, share_qk: true,
  }],
];

describe('finite-difference gradient check', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [name, overrides] of configs) {
      it(`matches central differences for every kind of weight: ${name} (${backend})`, async () => {
        await useBackend(backend);
        const model = createModel(tinyConfig(overrides), VOCAB, VOCAB, 3);
        try {
          const batch = randomBatch([5, 3], [4, 2], VOCAB, 5);
          const src = int2d(batch.src);
          const tgtIn = int2d(batch.tgtIn);
          // A fixed random read-out of the logits: every logit contributes to the scalar.
          const [b, t] = [batch.tgtIn.length, batch.tgtIn[0].length];
          const readout = tf.randomNormal([b, t, VOCAB], 0, 1, 'float32', 17);
          const loss = () => tf.sum(tf.mul(model.forward(src, tgtIn, false), readout)) as tf.Scalar;
          const lossValue = () => tf.tidy(() => loss().dataSync()[0]);
          const { grads } = tf.variableGrads(loss);
          const random = rng(99);
          let checked = 0;
          for (const v of model.variables) {
            const g = grads[v.name].dataSync() as Float32Array;
            const gMax = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
            // Sample the entries with the largest gradients plus random ones (zeros, e.g. unused embedding rows, prove little).
            const order = [...g.keys()].sort((i, j) => Math.abs(g[j]) - Math.abs(g[i]));
            const picks = new Set([order[0], order[1], order[Math.floor(random() * order.length)], order[Math.floor(random() * Math.min(order.length, 8))]]);
            const original = v.dataSync().slice();
            for (const i of picks) {
              const perturbed = original.slice();
              perturbed[i] = original[i] + EPS;
              v.assign(tf.tensor(perturbed, v.shape));
              const up = lossValue();
              perturbed[i] = original[i] - EPS;
              v.assign(tf.tensor(perturbed, v.shape));
              const down = lossValue();
              v.assign(tf.tensor(original, v.shape));
              const fd = (up - down) / (2 * EPS);
              const scale = Math.max(Math.abs(g[i]), 0.05 * gMax, 1e-3);
              expect(Math.abs(fd - g[i]) / scale, `${v.name}[${i}]: finite difference ${fd}, analytic ${g[i]}`).toBeLessThanOrEqual(REL_TOL);
              checked++;
            }
          }
          expect(checked).toBeGreaterThan(3 * model.variables.length);
          tf.dispose([src, tgtIn, readout, ...Object.values(grads)]);
        } finally {
          model.dispose();
        }
      });
    }
  }
});
