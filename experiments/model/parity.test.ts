/**
 * Numerical parity with PyTorch (reference/torch_transformer.py, plain torch ops written from the
 * paper): the same weights and batch give the same logits, label-smoothed loss and gradients.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../contract/spec';
import { labelSmoothedCrossEntropy } from '../train/loss';
import { createModel } from './transformer';
import { int2d, randomBatch, tinyConfig, useBackend } from '../../test/support/model';

const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(__dirname, 'reference/torch_transformer.py');
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchMissing = torchCheck.status !== 0 ? `PyTorch parity skipped: ${PYTHON} cannot import torch (${(torchCheck.stderr || String(torchCheck.error)).trim().split('\n').pop()})` : '';
if (torchMissing) console.warn(torchMissing);

const VOCAB = 23;
const EPS_LS = 0.1;

interface TorchOut { logits: number[]; loss_non_pad: number; loss_all: number; grads: Record<string, number[] | null> }

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'parity-')); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function runTorch(config: ModelConfig, weights: Record<string, { shape: number[]; data: number[] }>, batch: ReturnType<typeof randomBatch>, tag: string): TorchOut {
  const input = join(dir, `${tag}.in.json`);
  const output = join(dir, `${tag}.out.json`);
  writeFileSync(input, JSON.stringify({ config, src_vocab: VOCAB, tgt_vocab: VOCAB, weights, src: batch.src, tgt_in: batch.tgtIn, tgt_out: batch.tgtOut, label_smoothing: EPS_LS }));
  execFileSync(PYTHON, [SCRIPT, input, output], { env: { ...process.env, OMP_NUM_THREADS: '1' } });
  return JSON.parse(readFileSync(output, 'utf8')) as TorchOut;
}

/** Every |a−b| ≤ rel·(|b| + rms(b)): relative, with the tensor's scale guarding entries near zero. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let sq = 0;
  for (let i = 0; i < expected.length; i++) sq += expected[i] * expected[i];
  const rms = Math.sqrt(sq / Math.max(1, expected.length));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) / (Math.abs(expected[i]) + rms);
    if (excess > worst) { worst = excess; at = i; }
  }
  expect(worst, `${what}: worst relative error at ${at} (${actual[at]} vs ${expected[at]})`).toBeLessThanOrEqual(rel);
}

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
          const ref = runTorch(config, weights, batch, `${backend}-${name.replace(/\W+/g, '_')}`);

          const src = int2d(batch.src);
          const tgtIn = int2d(batch.tgtIn);
          const tgtOut = int2d(batch.tgtOut);
          const logits = model.forward(src, tgtIn, false);
          expectClose(logits.dataSync(), ref.logits, 1e-4, 'logits');
          const lossNonPad = labelSmoothedCrossEntropy(logits, tgtOut, { labelSmoothing: EPS_LS });
          const lossAll = labelSmoothedCrossEntropy(logits, tgtOut, { labelSmoothing: EPS_LS, smoothing: 'all' });
          expectClose(lossNonPad.dataSync(), [ref.loss_non_pad], 1e-4, 'loss (non-pad smoothing)');
          expectClose(lossAll.dataSync(), [ref.loss_all], 1e-4, 'loss (PyTorch label_smoothing)');

          const { grads } = tf.variableGrads(() => labelSmoothedCrossEntropy(model.forward(src, tgtIn, false), tgtOut, { labelSmoothing: EPS_LS }));
          for (const v of model.variables) {
            const expected = ref.grads[v.name];
            expect(expected, `torch gradient for ${v.name}`).toBeTruthy();
            // Gradients sum many float32 products in different orders: 1e-3 of the tensor's scale.
            expectClose(grads[v.name].dataSync(), expected!, 1e-3, `gradient of ${v.name}`);
          }
          tf.dispose([src, tgtIn, tgtOut, logits, lossNonPad, lossAll, ...Object.values(grads)]);
        } finally {
          model.dispose();
        }
      });
    }
  }
});
