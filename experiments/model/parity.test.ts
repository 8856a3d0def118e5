/**
 * Numerical parity with PyTorch (reference/torch_transformer.py, plain torch ops written from the
 * paper): the same weights and batch give the same logits, label-smoothed loss and gradients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../contract/spec';
import { labelSmoothedCrossEntropy } from '../train/loss';
import { createModel } from './transformer';
import { int2d, randomBatch, tinyConfig, useBackend } from '../../test/support/model';
import { expectParity, runTorchReference, torchReferenceMissing } from '../../test/support/torch-reference';

const torchMissing = torchReferenceMissing();
if (torchMissing) console.warn(torchMissing);

const VOCAB = 23;
const EPS_LS = 0.1;

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'parity-')); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const variants: [string, Partial<ModelConfig>][] = [
  ['post-norm, sinusoidal', { norm: 'post', positional: 'sinusoidal' }],
  ['pre-norm, sinusoidal', { norm: 'pre', positional: 'sinusoidal' }],
  ['post-norm, learned positions', { norm: 'post', positional: 'learned' }],
  ['pre-norm, learned positions', { norm: 'pre', positional: 'learned' }],
  ['separate embeddings, share_qk, no scaling, h·d_k ≠ d_model, no positions', {
    share_embeddings: false, share_qk: true, attention_scale: false, heads: 3, d_k: 4, d_v: 7, positional: 'none',
  }],
];

describe.skipIf(Boolean(torchMissing))('PyTorch parity (same weights, same batch)', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [name, overrides] of backend === 'cpu' ? variants : variants.slice(0, 2)) {
      it(`matches logits, loss and gradients: ${name} (${backend})`, async () => {
        await useBackend(backend);
        const config = tinyConfig(overrides);
        const model = createModel(config, VOCAB, VOCAB, 7);
        try {
          // Nudge LayerNorm gains and biases off 1/0 so parity covers them too.
          tf.tidy(() => {
            for (const v of model.variables) {
              if (/\/(gamma|beta|b1|b2)$/.test(v.name)) v.assign(tf.add(v, tf.randomUniform(v.shape, -0.3, 0.3, 'float32', v.name.length)));
            }
          });
          const batch = randomBatch([7, 4, 6], [5, 6, 2], VOCAB, 11);
          const weights = Object.fromEntries(model.variables.map((v) => [v.name, { shape: v.shape, data: Array.from(v.dataSync()) }]));
          const ref = runTorchReference(dir, `${backend}-${name.replace(/\W+/g, '_')}`, config, VOCAB, EPS_LS, weights, batch);

          const src = int2d(batch.src);
          const tgtIn = int2d(batch.tgtIn);
          const tgtOut = int2d(batch.tgtOut);
          const logits = model.forward(src, tgtIn, false);
          expectParity(logits.dataSync(), ref.logits, 1e-4, 'logits');
          const lossNonPad = labelSmoothedCrossEntropy(logits, tgtOut, { labelSmoothing: EPS_LS });
          const lossAll = labelSmoothedCrossEntropy(logits, tgtOut, { labelSmoothing: EPS_LS, smoothing: 'all' });
          expectParity(lossNonPad.dataSync(), [ref.loss_non_pad], 1e-4, 'loss (non-pad smoothing)');
          expectParity(lossAll.dataSync(), [ref.loss_all], 1e-4, 'loss (PyTorch label_smoothing)');

          const { grads } = tf.variableGrads(() => labelSmoothedCrossEntropy(model.forward(src, tgtIn, false), tgtOut, { labelSmoothing: EPS_LS }));
          for (const v of model.variables) {
            const expected = ref.grads[v.name];
            expect(expected, `torch gradient for ${v.name}`).toBeTruthy();
            // Gradients sum many float32 products in different orders: 1e-3 of the tensor's scale.
            expectParity(grads[v.name].dataSync(), expected!, 1e-3, `gradient of ${v.name}`);
          }
          tf.dispose([src, tgtIn, tgtOut, logits, lossNonPad, lossAll, ...Object.values(grads)]);
        } finally {
          model.dispose();
        }
      });
    }
  }
});
