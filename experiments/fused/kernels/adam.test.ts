import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { acquireGpu } from '../runtime/gpu';
import { SlabLayout } from '../runtime/memory';
import { StepParams } from './common';
import { adamStepScalars, adamUpdate, gradNorm, NORM_PARTS } from './adam';
import { Adam, clipByGlobalNorm } from '../../train/optimizer';
import { expectClose, randn } from '../../../test/support/fused';

describe('flat-slab Adam and global gradient norm', () => {
  for (const clipNorm of [0, 1.5]) {
    it(`match train/optimizer.ts's Adam${clipNorm ? ' with clipByGlobalNorm' : ''} over 3 steps with a changing learning rate`, async () => {
      await tf.setBackend('cpu');
      const gpu = await acquireGpu();
      const shapes: Record<string, number[]> = { 'a/w': [5, 7], 'a/b': [7], 'c/gamma': [3] };
      const slab = new SlabLayout();
      for (const [name, shape] of Object.entries(shapes)) slab.add(name, shape.reduce((x, y) => x * y, 1));
      const n = slab.floats;
      const init = new Float32Array(n);
      const vars = Object.entries(shapes).map(([name, shape], k) => {
        const { offset, size } = slab.entry(name);
        const values = randn(size, 10 + k);
        init.set(values, offset);
        return tf.variable(tf.tensor(values, shape), true, name);
      });
      const adam = new Adam(vars);
      const stepParams = new StepParams(gpu);
      const params = gpu.upload('params', init);
      const gradsB = gpu.createBuffer('grads', n * 4);
      const m = gpu.createBuffer('m', n * 4);
      const v = gpu.createBuffer('v', n * 4);
      const norm = gpu.createBuffer('norm', 8);
      const partial = gpu.createBuffer('partial', NORM_PARTS * 4);
      const dispatches = [
        ...gradNorm(gpu, 'norm', { n, maxNorm: clipNorm }, { grads: gradsB, partial, norm }),
        adamUpdate(gpu, 'adam', { n, clip: clipNorm > 0 }, stepParams.buffer, { params, grads: gradsB, m, v, norm }),
      ];
      for (let t = 1; t <= 3; t++) {
        const lr = 1e-3 * t;
        const flat = new Float32Array(n);
        const grads: Record<string, tf.Tensor> = {};
        Object.entries(shapes).forEach(([name, shape], k) => {
          const { offset, size } = slab.entry(name);
          const g = randn(size, 100 * t + k, 2);
          flat.set(g, offset);
          grads[name] = tf.tensor(g, shape);
        });
        gpu.write(gradsB, flat);
        stepParams.set({ step: t, seed: 0, tokenScale: 0, ...adamStepScalars(lr, t) });
        await gpu.run(dispatches);
        const clipped = clipNorm > 0 ? clipByGlobalNorm(grads, clipNorm) : { grads, norm: null };
        if (clipped.norm) expect((await gpu.read(norm))[0]).toBeCloseTo(clipped.norm.dataSync()[0], 5);
        adam.apply(clipped.grads, lr);
      }
      const got = { params: await gpu.read(params), m: await gpu.read(m), v: await gpu.read(v) };
      const state = adam.state();
      for (const w of vars) {
        const { offset, size } = slab.entry(w.name);
        // Same float32 formula, op for op; only the clip coefficient's summation order differs.
        expectClose(got.params.subarray(offset, offset + size), w.dataSync(), 1e-6, 1e-5, `${w.name}`);
        expectClose(got.m.subarray(offset, offset + size), state.m.get(w.name)!.dataSync(), 1e-7, 1e-5, `${w.name}/m`);
        expectClose(got.v.subarray(offset, offset + size), state.v.get(w.name)!.dataSync(), 1e-7, 1e-5, `${w.name}/v`);
      }
      // Alignment padding stays exactly zero-gradient and unchanged.
      const { offset, size } = slab.entry('a/b');
      expect(got.params[offset + size]).toBe(0);
      adam.dispose();
      tf.dispose(vars);
    });
  }
});
