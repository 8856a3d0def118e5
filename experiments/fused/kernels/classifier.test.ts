import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs'; // gradient registrations (Reshape …), as train/loss.test.ts does
import { acquireGpu } from '../runtime/gpu';
import { StepParams } from './common';
import { fusedClassifier } from './classifier';
import { columnSum } from './matmul';
import { labelSmoothedCrossEntropy, sumNegativeLogLikelihood, type SmoothingSupport } from '../../train/loss';
import { expectClose, randn } from '../../../test/support/fused';

// V = 300: more than a workgroup of the gpu shape, whole vec4s for the cpu shape (targets 299, 1, 2, 17
// land in every lane of a vec4).
describe.each([['gpu', 'classifier'], ['cpu', 'classifier_rows']] as const)('fused classifier (log-softmax + label-smoothed cross-entropy + gradient), %s shape', (shape, kernel) => {
  const cases: [number, SmoothingSupport][] = [[0.1, 'non-pad'], [0.1, 'all'], [0, 'non-pad']];
  for (const [eps, smoothing] of cases) {
    it(`matches the tfjs loss of train/loss.ts and its gradient (ε ${eps}, smoothing '${smoothing}', PAD targets, V > workgroup)`, async () => {
      await tf.setBackend('cpu');
      const gpu = await acquireGpu();
      const [N, V] = [7, 300];
      const logits = randn(N * V, 1, 3);
      const targets = [5, 299, 0, 1, 2, 0, 17]; // two PAD targets
      const count = targets.filter((y) => y !== 0).length;
      const stepParams = new StepParams(gpu);
      stepParams.set({ step: 1, seed: 0, stepSize: 0, invBias2: 0, tokenScale: 1 / count });
      const logitsB = gpu.upload('logits', logits);
      const rowLoss = gpu.createBuffer('rowloss', N * 2 * 4);
      const sums = gpu.createBuffer('sums', 2 * 4);
      const cls = fusedClassifier(gpu, 'cls', { N, vocab: V, labelSmoothing: eps, smoothing, writeGrad: true, shape }, stepParams.buffer, { logits: logitsB, targets: gpu.upload('t', Int32Array.from(targets)), rowLoss });
      expect(cls.pipeline.label.split('|')[0]).toBe(kernel);
      await gpu.run([cls, columnSum(gpu, 'sum', { rows: N, cols: 2 }, rowLoss, sums)]);
      const z = tf.tensor2d(logits, [N, V]);
      const y = tf.tensor1d(targets, 'int32');
      const { value, grads } = tf.valueAndGrads((zz: tf.Tensor) => labelSmoothedCrossEntropy(zz, y, { labelSmoothing: eps, smoothing }))([z]);
      const [gotLoss, gotNll] = await gpu.read(sums);
      // The reference runs in float32 (tfjs cpu) with a different summation order: 1e-5 relative.
      expect(gotLoss / count).toBeCloseTo(value.dataSync()[0], 4);
      const nll = sumNegativeLogLikelihood(z, y);
      expect(nll.tokens).toBe(count);
      expect(gotNll).toBeCloseTo(nll.sumNll, 3);
      expectClose(await gpu.read(logitsB), grads[0].dataSync(), 1e-6, 1e-4, 'dlogits');
      tf.dispose([z, y, value, ...grads]);
    });
  }

  it('logits in row chunks (row0) give the whole batch\'s per-token losses and gradient bit for bit', async () => {
    const gpu = await acquireGpu();
    const [N, V] = [7, 300];
    const logits = randn(N * V, 1, 5);
    const targets = gpu.upload('t', Int32Array.from([5, 299, 0, 1, 2, 0, 17]));
    const stepParams = new StepParams(gpu);
    stepParams.set({ step: 1, seed: 0, stepSize: 0, invBias2: 0, tokenScale: 0.2 });
    const o = { vocab: V, labelSmoothing: 0.1, writeGrad: true, shape } as const;
    const whole = gpu.upload('logits', logits);
    const wholeLoss = gpu.createBuffer('rowloss', N * 2 * 4);
    await gpu.run([fusedClassifier(gpu, 'cls', { ...o, N }, stepParams.buffer, { logits: whole, targets, rowLoss: wholeLoss })]);
    // Rows 0–3 and 4–6, each chunk its own buffer; the targets and per-token losses stay whole.
    const chunks = [gpu.upload('logits/0', logits.slice(0, 4 * V)), gpu.upload('logits/1', logits.slice(4 * V))];
    const chunkLoss = gpu.createBuffer('rowloss/chunks', N * 2 * 4);
    await gpu.run([
      fusedClassifier(gpu, 'cls/0', { ...o, N: 4 }, stepParams.buffer, { logits: chunks[0], targets, rowLoss: chunkLoss }),
      fusedClassifier(gpu, 'cls/1', { ...o, N: 3, row0: 4 }, stepParams.buffer, { logits: chunks[1], targets, rowLoss: chunkLoss }),
    ]);
    expect(Array.from(await gpu.read(chunkLoss))).toEqual(Array.from(await gpu.read(wholeLoss)));
    const grad = await gpu.read(whole);
    expect(Array.from((await gpu.read(chunks[0])).subarray(0, 4 * V))).toEqual(Array.from(grad.subarray(0, 4 * V)));
    expect(Array.from((await gpu.read(chunks[1])).subarray(0, 3 * V))).toEqual(Array.from(grad.subarray(4 * V, N * V)));
  });

  it('evaluation mode leaves the logits untouched', async () => {
    const gpu = await acquireGpu();
    const [N, V] = [3, 12];
    const logits = randn(N * V, 2);
    const stepParams = new StepParams(gpu);
    stepParams.set({ step: 1, seed: 0, stepSize: 0, invBias2: 0, tokenScale: 1 });
    const logitsB = gpu.upload('logits', logits);
    await gpu.run([fusedClassifier(gpu, 'cls', { N, vocab: V, labelSmoothing: 0.1, writeGrad: false, shape }, stepParams.buffer, { logits: logitsB, targets: gpu.upload('t', Int32Array.from([1, 2, 3])), rowLoss: gpu.createBuffer('rl', N * 8) })]);
    expect(Array.from((await gpu.read(logitsB)).subarray(0, N * V))).toEqual(Array.from(logits));
  });
});
