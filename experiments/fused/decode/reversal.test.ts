/**
 * A trained model decodes the same on the fused engine as on the tfjs decoder: a tiny Transformer is
 * taught sequence reversal by the tfjs engine (wasm, 400 steps, ~6–12 s), then its weights go to the fused
 * decoder; greedy and beam tokens must equal the tfjs decoder's (cache on and off), and the model
 * must have learned the task (so the comparison is on peaked, meaningful distributions).
 */
import { describe, expect, it } from 'vitest';
import { beamSearch, greedyDecode } from '../../decode/index';
import { toBatch } from '../../data/batches';
import type { EncodedPair } from '../../data/types';
import { createModel } from '../../model/transformer';
import { Trainer } from '../../train/loop';
import { rng, tinyConfig, useBackend } from '../../../test/support/model';
import { acquireGpu } from '../runtime/gpu';
import { FusedDecoder } from './decoder';

const VOCAB = 10;

function reversalPairs(count: number, seed: number): EncodedPair[] {
  const random = rng(seed);
  return Array.from({ length: count }, () => {
    const src = Int32Array.from({ length: 3 + Math.floor(random() * 3) }, () => 4 + Math.floor(random() * (VOCAB - 4)));
    return { source: '', target: '', src, tgt: src.slice().reverse() };
  });
}

describe('fused decoder on a trained reversal model', () => {
  it('gives the tfjs decoder\'s tokens, greedy and beam 4, cache on and off', async () => {
    await useBackend('wasm');
    const config = tinyConfig({ layers: 1, d_model: 48, d_ff: 96, heads: 4, d_k: 12, d_v: 12, dropout: 0, label_smoothing: 0 });
    const model = createModel(config, VOCAB, VOCAB, 3);
    const trainer = new Trainer(model, { warmup: 60, lrFactor: 1, clipNorm: 1, labelSmoothing: 0, seed: 3 });
    const gpu = await acquireGpu();
    let decoder: FusedDecoder | null = null;
    try {
      const started = performance.now();
      for (let step = 0; step < 400; step++) trainer.trainStep(toBatch(reversalPairs(24, 100 + step)));
      const trainSeconds = (performance.now() - started) / 1000;
      const test = reversalPairs(48, 7).map((p) => p.src);
      const opts = { maxLenOffset: 3 };
      const greedyRef = await greedyDecode(model, test, opts);
      const correct = greedyRef.filter((h, i) => h.join() === Array.from(test[i]).reverse().join()).length;
      // Learned: most sentences reversed exactly. Measured on wasm over init seeds 3–5 and two summation
      // orders of the clip norm: 38–48 of 48 after 400 steps; after 200 steps 19–42 (a 1-ulp change in
      // the norm took seed 3 from 42 to 19), too close to chaos for a fixed bound.
      expect(correct, `exact reversals after ${trainSeconds.toFixed(1)} s of training`).toBeGreaterThanOrEqual(32);
      expect(await greedyDecode(model, test, { ...opts, useCache: false })).toEqual(greedyRef);
      decoder = new FusedDecoder(gpu, config, VOCAB, VOCAB, new Map(model.variables.map((v) => [v.name, v.dataSync() as Float32Array])), { maxRows: 64, maxSrcLen: 8, maxLenOffset: 3 });
      expect(await decoder.greedy(test, opts)).toEqual(greedyRef);
      const beamOpts = { ...opts, beam: 4, alpha: 0.6 };
      const beamRef = await beamSearch(model, test, beamOpts);
      expect(await beamSearch(model, test, { ...beamOpts, useCache: false })).toEqual(beamRef);
      expect(await decoder.beam(test, beamOpts)).toEqual(beamRef);
    } finally {
      decoder?.destroy();
      trainer.dispose();
      model.dispose();
    }
  });
});
