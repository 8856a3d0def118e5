import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs'; // gradient registrations
import { describe, expect, it } from 'vitest';
import { installWasmBatchMatMul, installWasmIdentity } from './wasm-kernels';

/** a·b on `backend` from the same host values. */
async function product(backend: string, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[]): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape)).dataSync() as Float32Array);
}

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

describe('wasm batched matMul on XNNPACK slices', () => {
  it('matches the cpu backend on batched products of rank 3 and 4 and leaves no tensors behind', async () => {
    await tf.setBackend('wasm');
    expect(installWasmBatchMatMul()).toBe(true);
    for (const [aShape, bShape] of [
      [[6, 32, 40], [6, 40, 24]],
      [[2, 3, 33, 32], [2, 3, 32, 31]],
    ]) {
      const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const a = random(size(aShape), 1);
      const b = random(size(bShape), 2);
      const want = await product('cpu', a, aShape, b, bShape);
      const before = (await tf.setBackend('wasm'), tf.memory().numTensors);
      const got = await product('wasm', a, aShape, b, bShape);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      expect(worst).toBeLessThan(1e-4);
    }
  });

  it('gives the same gradients as the cpu backend through a batched product', async () => {
    const a = random(4 * 32 * 32, 3);
    const b = random(4 * 32 * 32, 4);
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y))))([tf.tensor(a, [4, 32, 32]), tf.tensor(b, [4, 32, 32])]);
        return [ga.dataSync() as Float32Array, gb.dataSync() as Float32Array];
      });
    };
    const want = await grads('cpu');
    const got = await grads('wasm');
    for (let g = 0; g < 2; g++) for (let i = 0; i < want[g].length; i += 97) expect(got[g][i]).toBeCloseTo(want[g][i], 3);
  });
});

describe('wasm Identity without a copy', () => {
  it('keeps a clone valid after the original is disposed, and frees the buffer with the last reference', async () => {
    await tf.setBackend('wasm');
    expect(installWasmIdentity()).toBe(true);
    const before = tf.memory().numDataBuffers;
    const a = tf.tensor1d([1, 2, 3, 4]);
    const b = tf.clone(a);
    expect(tf.memory().numDataBuffers - before).toBe(1); // one shared buffer
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4]);
    b.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });

  it("leaves a variable's earlier clone unchanged when the variable is assigned", async () => {
    await tf.setBackend('wasm');
    const v = tf.variable(tf.tensor1d([1, 2]), true, 'identity-test/v');
    const c = tf.clone(v);
    v.assign(tf.tensor1d([5, 6]));
    expect(Array.from(c.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([5, 6]);
    c.dispose();
    v.dispose();
  });
});
