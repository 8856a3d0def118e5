import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs'; // gradient registrations (Reshape …) live in the union package's Node bundle
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelSmoothedCrossEntropy, sumNegativeLogLikelihood, type SmoothingSupport } from './loss';

interface Case { value: number; grad: number[][][] }
const ref = JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/train-reference/reference.json'), 'utf8')) as {
  loss: { logits: number[][][]; targets: number[][]; eps: number; all: Case; non_pad: Case; nll: Case & { sum: number; tokens: number } };
};

function lossAndGrad(eps: number, smoothing: SmoothingSupport): { value: number; grad: Float32Array } {
  return tf.tidy(() => {
    const logits = tf.tensor3d(ref.loss.logits);
    const targets = tf.tensor2d(ref.loss.targets, undefined, 'int32');
    const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => labelSmoothedCrossEntropy(z, targets, { labelSmoothing: eps, smoothing }))(logits);
    return { value: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  });
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThan(tol);
}

const flat = (g: number[][][]) => g.flat(2);

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`label-smoothed cross-entropy on ${backend} (PyTorch 1.13 reference)`, () => {
    it('sets the backend', async () => {
      expect(await tf.setBackend(backend)).toBe(true);
    });
    it("equals F.cross_entropy(label_smoothing=ε, ignore_index=0) with smoothing over all classes, gradient included", () => {
      const { value, grad } = lossAndGrad(ref.loss.eps, 'all');
      expect(value).toBeCloseTo(ref.loss.all.value, 5);
      expectClose(grad, flat(ref.loss.all.grad), 1e-6);
    });
    it('spreads ε over the non-pad classes by default, matching the hand-written PyTorch loss', () => {
      const { value, grad } = lossAndGrad(ref.loss.eps, 'non-pad');
      expect(value).toBeCloseTo(ref.loss.non_pad.value, 5);
      expectClose(grad, flat(ref.loss.non_pad.grad), 1e-6);
    });
    it('is the plain NLL over non-pad tokens when ε = 0', () => {
      const { value, grad } = lossAndGrad(0, 'non-pad');
      expect(value).toBeCloseTo(ref.loss.nll.value, 5);
      expectClose(grad, flat(ref.loss.nll.grad), 1e-6);
    });
    it('sums the un-smoothed NLL and counts non-pad tokens for perplexity', () => {
      const { sumNll, tokens } = tf.tidy(() => sumNegativeLogLikelihood(tf.tensor3d(ref.loss.logits), tf.tensor2d(ref.loss.targets, undefined, 'int32')));
      expect(tokens).toBe(ref.loss.nll.tokens);
      expect(sumNll).toBeCloseTo(ref.loss.nll.sum, 3);
    });
    it('stays finite and exact when probabilities underflow float32 (logits ±80)', () => {
      // Hand computation: log p = 0 for the gold class and −160 for the other four (e^−160 underflows
      // float32, so a naive log(softmax) would give −inf); smoothing over all 5 classes:
      // 0.9 · 0 + 0.1 / 5 · (4 · 160) = 12.8.
      const value = tf.tidy(() =>
        labelSmoothedCrossEntropy(tf.tensor2d([[-80, 80, -80, -80, -80]]), tf.tensor1d([1], 'int32'), { labelSmoothing: 0.1, smoothing: 'all' }).dataSync()[0],
      );
      expect(value).toBeCloseTo(12.8, 3);
    });
    it('leaves no tensors behind', () => {
      const before = tf.memory().numTensors;
      lossAndGrad(0.1, 'non-pad');
      sumNegativeLogLikelihood(tf.zeros([2, 3, 5]), tf.tensor2d([[1, 2, 0], [3, 0, 0]], undefined, 'int32'));
      expect(tf.memory().numTensors).toBe(before + 2); // the two inputs created inline above
    });
  });
}

afterAll(() => tf.disposeVariables());
