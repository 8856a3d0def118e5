import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, clipByGlobalNorm } from './optimizer';

const ref = JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/train-reference/reference.json'), 'utf8')) as {
  adam: { w0: number[][]; grads: number[][][]; lrs: number[]; trajectory: number[][][] };
  clip: { a: number[][]; b: number[]; max_norm: number; norm: number; a_clipped: number[][]; b_clipped: number[] };
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Adam (β1 0.9, β2 0.98, ε 1e-9)', () => {
  it('follows torch.optim.Adam step by step with a changing learning rate', () => {
    const w = tf.variable(tf.tensor2d(ref.adam.w0), true, 'adam-test/w');
    const adam = new Adam([w]);
    ref.adam.grads.forEach((g, i) => {
      tf.tidy(() => adam.apply({ [w.name]: tf.tensor2d(g) }, ref.adam.lrs[i]));
      const got = w.dataSync();
      const want = ref.adam.trajectory[i].flat();
      for (let j = 0; j < want.length; j++) expect(got[j]).toBeCloseTo(want[j], 6);
    });
    expect(adam.step).toBe(6);
    adam.dispose();
    w.dispose();
  });

  it('updates several variables of different shapes independently (Adam is elementwise)', () => {
    // The same values as a [4,3] and a [12] variable, with a bias vector between them: each must follow PyTorch's trajectory.
    const w = tf.variable(tf.tensor2d(ref.adam.w0), true, 'adam-test/multi-w');
    const bias = tf.variable(tf.zeros([5]), true, 'adam-test/multi-bias');
    const u = tf.variable(tf.tensor1d(ref.adam.w0.flat()), true, 'adam-test/multi-u');
    const adam = new Adam([w, bias, u]);
    ref.adam.grads.forEach((g, i) => tf.tidy(() => adam.apply({ [w.name]: tf.tensor2d(g), [u.name]: tf.tensor1d(g.flat()) }, ref.adam.lrs[i])));
    const want = ref.adam.trajectory[5].flat();
    for (const x of [w, u]) {
      const got = x.dataSync();
      want.forEach((y, j) => expect(got[j]).toBeCloseTo(y, 6));
    }
    expect(Array.from(bias.dataSync())).toEqual([0, 0, 0, 0, 0]); // zero gradient, zero moments: no motion
    for (const x of [adam, w, bias, u]) x.dispose();
  });

  it('continues identically after its state is restored into a fresh optimizer', () => {
    const wA = tf.variable(tf.tensor2d(ref.adam.w0), true, 'adam-test/a');
    const a = new Adam([wA]);
    for (let i = 0; i < 3; i++) tf.tidy(() => a.apply({ [wA.name]: tf.tensor2d(ref.adam.grads[i]) }, ref.adam.lrs[i]));
    const st = a.state();
    const m = new Map([[ 'adam-test/b', st.m.get(wA.name)!.dataSync() as Float32Array ]]);
    const v = new Map([[ 'adam-test/b', st.v.get(wA.name)!.dataSync() as Float32Array ]]);
    const wB = tf.variable(wA.clone(), true, 'adam-test/b');
    const b = new Adam([wB]);
    b.restore(st.t, m, v);
    for (let i = 3; i < 6; i++) {
      tf.tidy(() => a.apply({ [wA.name]: tf.tensor2d(ref.adam.grads[i]) }, ref.adam.lrs[i]));
      tf.tidy(() => b.apply({ [wB.name]: tf.tensor2d(ref.adam.grads[i]) }, ref.adam.lrs[i]));
    }
    expect(Array.from(wB.dataSync())).toEqual(Array.from(wA.dataSync()));
    for (const x of [a, b, wA, wB]) x.dispose();
  });
});

describe('clipByGlobalNorm', () => {
  it('matches torch.nn.utils.clip_grad_norm_', () => {
    tf.tidy(() => {
      const { grads, norm } = clipByGlobalNorm({ a: tf.tensor2d(ref.clip.a), b: tf.tensor1d(ref.clip.b) }, ref.clip.max_norm);
      expect(norm.dataSync()[0]).toBeCloseTo(ref.clip.norm, 5);
      const a = grads.a.dataSync();
      ref.clip.a_clipped.flat().forEach((x, i) => expect(a[i]).toBeCloseTo(x, 6));
      const b = grads.b.dataSync();
      ref.clip.b_clipped.forEach((x, i) => expect(b[i]).toBeCloseTo(x, 6));
    });
  });
  it('sums the squared norms of many tensors in one addN\'s order (bit-identical on cpu), in groups a WebGPU stage can bind', () => {
    // Any other association moves the norm by an ulp, and a 200-step reversal model's training by far
    // more (42 → 19 exact reversals of 48): training on cpu/wasm must not change with the grouping.
    tf.tidy(() => {
      for (const n of [1, 7, 8, 13, 14, 62]) {
        const grads: Record<string, tf.Tensor> = {};
        for (let i = 0; i < n; i++) grads[`w${i}`] = tf.randomNormal([10 + 3 * i], 0, 0.01 * (1 + (i % 5)), 'float32', i);
        const oneAddN = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0];
        expect(clipByGlobalNorm(grads, 1).norm.dataSync()[0], `${n} tensors`).toBe(oneAddN);
      }
    });
  });
  it('leaves gradients under the limit unchanged', () => {
    tf.tidy(() => {
      const { grads } = clipByGlobalNorm({ a: tf.tensor1d([0.3, 0.4]) }, 1);
      expect(Array.from(grads.a.dataSync())).toEqual([0.30000001192092896, 0.4000000059604645]);
    });
  });
});
