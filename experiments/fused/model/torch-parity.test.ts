/**
 * The fused engine against PyTorch directly (experiments/model/reference/torch_transformer.py, plain
 * torch ops written from the paper), as experiments/model/parity.test.ts checks the tfjs engine: the
 * same weights and padded batch give the same logits (1e-4), label-smoothed loss in both conventions
 * (1e-4) and gradient of every weight (1e-3 of the tensor's scale), for every structural switch of
 * ModelConfig, with this adapter's kernel shape and with the other one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../contract/spec';
import { initialValue, parameterSpecs } from '../../model/params';
import { randomBatch, tinyConfig, useBackend } from '../../../test/support/model';
import { expectParity, runTorchReference, torchReferenceMissing } from '../../../test/support/torch-reference';
import { acquireGpu, kernelShape } from '../runtime/gpu';
import { FusedTransformer } from './engine';

const missing = torchReferenceMissing();
if (missing) console.warn(missing);

const VOCAB = 23;
const EPS_LS = 0.1;

let dir = '';
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'fused-torch-parity-')); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

// The list: post/pre norm, sinusoidal/learned/no positions, share_qk, no scaling,
// h·d_k ≠ d_model, separate embeddings; every batch is padded (sources and targets).
const variants: [string, Partial<ModelConfig>, 'default' | 'other'][] = [
  ['post-norm, sinusoidal', { norm: 'post', positional: 'sinusoidal' }, 'default'],
  ['pre-norm, sinusoidal', { norm: 'pre', positional: 'sinusoidal' }, 'default'],
  ['post-norm, learned positions', { norm: 'post', positional: 'learned' }, 'default'],
  ['pre-norm, learned positions', { norm: 'pre', positional: 'learned' }, 'default'],
  ['separate embeddings, share_qk, no scaling, h·d_k ≠ d_model, no positions', {
    share_embeddings: false, share_qk: true, attention_scale: false, heads: 3, d_k: 4, d_v: 7, positional: 'none',
  }, 'default'],
  ['post-norm, sinusoidal, the other kernel shape', { norm: 'post', positional: 'sinusoidal' }, 'other'],
  ['separate embeddings, share_qk, no scaling, h·d_k ≠ d_model, pre-norm, the other kernel shape', {
    share_embeddings: false, share_qk: true, attention_scale: false, heads: 3, d_k: 4, d_v: 7, norm: 'pre',
  }, 'other'],
];

describe.skipIf(Boolean(missing))('fused engine vs PyTorch (same weights, same padded batch)', () => {
  for (const [name, overrides, shape] of variants) {
    it(`matches logits, loss (both conventions) and every gradient: ${name}`, async () => {
      await useBackend('cpu'); // the workbench's initialisers (params.ts) are tfjs ops
      const gpu = await acquireGpu();
      const config = tinyConfig(overrides);
      // The workbench's initial weights, LayerNorm gains and biases nudged off 1/0 so parity covers them.
      const weights = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const spec of parameterSpecs(config, VOCAB, VOCAB)) {
        const t = initialValue(spec, config.d_model, 7);
        const data = t.dataSync() as Float32Array;
        t.dispose();
        if (/\/(gamma|beta|b1|b2)$/.test(spec.name)) data.forEach((v, i) => { data[i] = v + Math.sin(i + spec.name.length) * 0.3; });
        weights.set(spec.name, { shape: [...spec.shape], data });
      }
      const batch = randomBatch([7, 4, 6], [5, 6, 2], VOCAB, 11); // padded sources and targets
      const ref = runTorchReference(dir, `fused-${name.replace(/\W+/g, '_')}`, config, VOCAB, EPS_LS,
        Object.fromEntries([...weights].map(([n, w]) => [n, { shape: w.shape, data: Array.from(w.data) }])), batch);

      const saved = process.env.ABLATE_FUSED_KERNELS;
      const wanted = shape === 'other' ? (kernelShape(gpu) === 'cpu' ? 'gpu' : 'cpu') : kernelShape(gpu);
      process.env.ABLATE_FUSED_KERNELS = wanted;
      const bucket = { batch: 3, srcLen: batch.src[0].length, tgtLen: batch.tgtIn[0].length };
      let engines: FusedTransformer[];
      try {
        engines = (['non-pad', 'all'] as const).map((smoothing) => new FusedTransformer(gpu, config, VOCAB, VOCAB, bucket, { labelSmoothing: EPS_LS, smoothing, clipNorm: 0, seed: 1 }));
      } finally {
        if (saved === undefined) delete process.env.ABLATE_FUSED_KERNELS;
        else process.env.ABLATE_FUSED_KERNELS = saved;
      }
      const [nonPad, all] = engines;
      try {
        // cpu-shaped kernels carry _rows, _vec4 or a subgroup name; the gpu shape's do not.
        expect(nonPad.trainDispatches.some((d) => /_rows|_vec4|subgroup|_sg_/.test(d.pipeline.label)), `${wanted}-shaped kernels`).toBe(wanted === 'cpu');
        expect([...nonPad.params.keys()].sort()).toEqual([...weights.keys()].sort());
        for (const e of engines) e.setWeights((n) => weights.get(n)!.data);
        const fb = { src: Int32Array.from(batch.src.flat()), tgtIn: Int32Array.from(batch.tgtIn.flat()), tgtOut: Int32Array.from(batch.tgtOut.flat()) };
        const evalNonPad = await nonPad.evaluate(fb, true);
        expectParity(evalNonPad.logits!, ref.logits, 1e-4, 'logits');
        expectParity([evalNonPad.loss], [ref.loss_non_pad], 1e-4, 'loss (non-pad smoothing)');
        expectParity([(await all.evaluate(fb)).loss], [ref.loss_all], 1e-4, 'loss (PyTorch label_smoothing)');
        const { loss } = await nonPad.computeGradients(fb);
        expectParity([loss], [ref.loss_non_pad], 1e-4, 'loss (training pass)');
        const got = await nonPad.readSlab('grads');
        for (const [n] of weights) {
          const want = ref.grads[n];
          expect(want, `torch gradient for ${n}`).toBeTruthy();
          expect(Math.max(...want!.map(Math.abs)), `${n} has a gradient`).toBeGreaterThan(0);
          expectParity(got.get(n)!, want!, 1e-3, `gradient of ${n}`);
        }
      } finally {
        for (const e of engines) e.destroy(true);
      }
    });
  }
});
