/**
 * The custom-gradient ops agree with tfjs's stock ops (forward and backward) on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { embeddingLookup, matMul, oneHotFloat } from './ops';
import { useBackend } from '../../test/support/model';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('ops', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`matMul matches tf.matMul and its gradient for every transpose combination (${backend})`, async () => {
      await useBackend(backend);
      for (const rank of [2, 3]) {
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
          tf.tidy(() => {
            const batch = rank === 3 ? [3] : [];
            const a = tf.randomNormal([...batch, ...(ta ? [5, 4] : [4, 5])], 0, 1, 'float32', 1);
            const b = tf.randomNormal([...batch, ...(tb ? [6, 5] : [5, 6])], 0, 1, 'float32', 2);
            const w = tf.randomNormal([...batch, 4, 6], 0, 1, 'float32', 3);
            const f = (mm: typeof matMul) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y, ta, tb), w));
            const ours = tf.grads(f(matMul))([a, b]);
            const stock = tf.grads(f((x, y, p, q) => tf.matMul(x, y, p, q)))([a, b]);
            expect(maxAbsDiff(matMul(a, b, ta, tb), tf.matMul(a, b, ta, tb))).toBeLessThan(1e-5);
            expect(maxAbsDiff(ours[0], stock[0])).toBeLessThan(1e-5);
            expect(maxAbsDiff(ours[1], stock[1])).toBeLessThan(1e-5);
          });
        }
      }
    });

    it(`embeddingLookup gathers rows and sums the gradient of repeated ids (${backend})`, async () => {
      await useBackend(backend);
      tf.tidy(() => {
        const table = tf.randomNormal([7, 3], 0, 1, 'float32', 4);
        const ids = tf.tensor2d([[1, 1, 4], [0, 6, 1]], [2, 3], 'int32');
        const upstream = tf.randomNormal([2, 3, 3], 0, 1, 'float32', 5);
        expect(embeddingLookup(table as tf.Tensor2D, ids).shape).toEqual([2, 3, 3]);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, ids), upstream)))(table);
        // Reference: d/dtable of sum(onehot(ids) · table ⊙ upstream) = onehot(ids)ᵀ · upstream, by hand.
        const up = upstream.arraySync() as number[][][];
        const idRows = ids.arraySync() as number[][];
        const expected = Array.from({ length: 7 }, () => [0, 0, 0]);
        idRows.forEach((row, i) => row.forEach((id, j) => up[i][j].forEach((x, k) => { expected[id][k] += x; })));
        expect(maxAbsDiff(g, tf.tensor2d(expected))).toBeLessThan(1e-5);
        const looked = embeddingLookup(table as tf.Tensor2D, ids).arraySync() as number[][][];
        const rows = table.arraySync() as number[][];
        idRows.forEach((row, i) => row.forEach((id, j) => looked[i][j].forEach((x, k) => expect(x).toBeCloseTo(rows[id][k], 6))));
      });
    });

    it(`oneHotFloat is a float one-hot (${backend})`, async () => {
      await useBackend(backend);
      tf.tidy(() => {
        const h = oneHotFloat(tf.tensor1d([2, 0], 'int32'), 3);
        expect(h.dtype).toBe('float32');
        expect(h.arraySync()).toEqual([[0, 0, 1], [1, 0, 0]]);
      });
    });
  }
});
