/**
 * The fused decoder against the tfjs decoder (experiments/decode, cpu backend, the reference): the
 * same weights give the same tokens, greedy and beam, with the tfjs decoder's cache on and off, for
 * each structural switch of ModelConfig; a FusedTransformer's weights decode as the tfjs model
 * holding the same weights does; and a decoder bound to a training store follows its weights.
 */
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../contract/spec';
import { beamSearch, greedyDecode } from '../../decode/index';
import { createModel } from '../../model/transformer';
import { restoreWeights } from '../../train/checkpoint';
import type { Seq2SeqModel } from '../../model/types';
import { tinyConfig, useBackend } from '../../../test/support/model';
import { randomSources, sharpen } from '../../../test/support/decoding';
import { acquireGpu } from '../runtime/gpu';
import { FusedTransformer } from '../model/engine';
import { FusedDecoder } from './decoder';

const VOCAB = 12;

const sources = (count: number, seed: number, vocab = VOCAB): Int32Array[] => randomSources(count, seed, vocab);

function weightsOf(model: Seq2SeqModel): Map<string, Float32Array> {
  return new Map(model.variables.map((v) => [v.name, v.dataSync() as Float32Array]));
}

const variants: [string, Partial<ModelConfig>][] = [
  ['post-norm, sinusoidal, tied embeddings', {}],
  ['pre-norm, learned positions', { norm: 'pre', positional: 'learned' }],
  ['separate embeddings, share_qk, no scaling, h·d_k ≠ d_model, no positions', {
    share_embeddings: false, share_qk: true, attention_scale: false, heads: 3, d_k: 4, d_v: 7, positional: 'none',
  }],
];

describe('fused decoder vs the tfjs decoder (cpu)', () => {
  for (const [name, overrides] of variants) {
    it(`same greedy and beam tokens, tfjs cache on and off: ${name}`, async () => {
      await useBackend('cpu');
      const gpu = await acquireGpu();
      const config = tinyConfig(overrides);
      for (const seed of [1, 2]) {
        const model = createModel(config, VOCAB, VOCAB, seed);
        sharpen(model, seed);
        const decoder = new FusedDecoder(gpu, config, VOCAB, VOCAB, weightsOf(model), { maxRows: 12, maxSrcLen: 8, maxLenOffset: 4 });
        try {
          const src = sources(9, seed);
          const opts = { maxLenOffset: 4, maxRows: 12 };
          const greedyRef = await greedyDecode(model, src, opts);
          expect(await greedyDecode(model, src, { ...opts, useCache: false })).toEqual(greedyRef);
          expect(await decoder.greedy(src, opts)).toEqual(greedyRef);
          for (const beam of [1, 3]) {
            const beamOpts = { ...opts, beam, alpha: 0.6 };
            const beamRef = await beamSearch(model, src, beamOpts);
            expect(await beamSearch(model, src, { ...beamOpts, useCache: false })).toEqual(beamRef);
            expect(await decoder.beam(src, beamOpts), `beam ${beam}, seed ${seed}`).toEqual(beamRef);
          }
          // Outputs must vary in length (EOS and the limit both reached) or the comparison proves little.
          const lengths = new Set(greedyRef.map((h) => h.length));
          expect(lengths.size).toBeGreaterThan(1);
        } finally {
          decoder.destroy();
          model.dispose();
        }
      }
    });
  }

  it('decodes a FusedTransformer\'s weights as the tfjs model with the same weights', async () => {
    await useBackend('cpu');
    const gpu = await acquireGpu();
    const config = tinyConfig({ norm: 'pre' });
    let model = createModel(config, VOCAB, VOCAB, 5);
    sharpen(model, 5);
    const engine = new FusedTransformer(gpu, config, VOCAB, VOCAB, { batch: 2, srcLen: 4, tgtLen: 4 }, { labelSmoothing: 0, clipNorm: 0, seed: 1 });
    const w = weightsOf(model);
    engine.setWeights((n) => w.get(n)!);
    const decoder = await FusedDecoder.fromEngine(gpu, engine, { maxRows: 8, maxSrcLen: 8, maxLenOffset: 3 });
    try {
      const src = sources(7, 11);
      expect(await decoder.greedy(src, { maxLenOffset: 3 })).toEqual(await greedyDecode(model, src, { maxLenOffset: 3 }));
      expect(await decoder.beam(src, { maxLenOffset: 3, beam: 2, alpha: 0.6 })).toEqual(await beamSearch(model, src, { maxLenOffset: 3, beam: 2, alpha: 0.6 }));
      // New weights into the same decoder (a run's next evaluation): it decodes as a model holding them.
      model.dispose();
      model = createModel(config, VOCAB, VOCAB, 6);
      sharpen(model, 6);
      decoder.setWeights(weightsOf(model));
      expect(await decoder.greedy(src, { maxLenOffset: 3 })).toEqual(await greedyDecode(model, src, { maxLenOffset: 3 }));
    } finally {
      decoder.destroy();
      engine.plan.destroy();
      model.dispose();
    }
  });

  it('decodes a training store\'s weights in place: after a training step it decodes the new weights, tied and separate embeddings', async () => {
    await useBackend('cpu');
    const gpu = await acquireGpu();
    for (const [i, overrides] of [{}, { share_embeddings: false, norm: 'pre' as const }].entries()) {
      const config = tinyConfig(overrides);
      const model = createModel(config, VOCAB, VOCAB, 7 + i);
      sharpen(model, 7 + i);
      const engine = new FusedTransformer(gpu, config, VOCAB, VOCAB, { batch: 2, srcLen: 4, tgtLen: 4 }, { labelSmoothing: 0, clipNorm: 0, seed: 1 });
      const w = weightsOf(model);
      engine.setWeights((n) => w.get(n)!);
      const decoder = FusedDecoder.fromStore(engine.store, { maxRows: 8, maxSrcLen: 8, maxLenOffset: 3 });
      try {
        const src = sources(8, 21 + i);
        const opts = { maxLenOffset: 3 };
        const before = await greedyDecode(model, src, opts);
        expect(await decoder.greedy(src, opts)).toEqual(before);
        // One Adam step with a large rate moves every weight by about the rate.
        const ids = Int32Array.from([5, 6, 7, 8, 9, 10, 11, 4]);
        await (await engine.trainStep({ src: ids, tgtIn: Int32Array.from([1, 5, 6, 7, 1, 9, 10, 11]), tgtOut: Int32Array.from([5, 6, 7, 2, 9, 10, 11, 2]) }, 0.05)).loss;
        restoreWeights(model.variables, await engine.readSlab('params'), 'the engine');
        const after = await greedyDecode(model, src, opts);
        expect(after, 'the step changed what the model decodes').not.toEqual(before);
        expect(await decoder.greedy(src, opts)).toEqual(after);
        expect(await decoder.beam(src, { ...opts, beam: 3, alpha: 0.6 })).toEqual(await beamSearch(model, src, { ...opts, beam: 3, alpha: 0.6 }));
      } finally {
        decoder.destroy();
        engine.destroy(true);
        model.dispose();
      }
    }
  });
});
