/**
 * Decoding: the incremental key/value cache changes nothing, beam K=1 is greedy, beam search
 * honours its length penalty and limit, and no tensor outlives a call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createModel } from '../model/transformer';
import type { Seq2SeqModel } from '../model/types';
import { rng, tinyConfig, useBackend } from '../../test/support/model';
import type { ModelConfig } from '../../contract/spec';
import { MAX_LEARNED_POSITIONS } from '../model/positional';
import { beamSearch, greedyDecode, hypothesisLimit, lengthPenalty } from './index';

const VOCAB = 12;
let model: Seq2SeqModel | null = null;
afterEach(() => { model?.dispose(); model = null; });

function sources(count: number, seed: number): Int32Array[] {
  const random = rng(seed);
  return Array.from({ length: count }, () => Int32Array.from({ length: 1 + Math.floor(random() * 7) }, () => 4 + Math.floor(random() * (VOCAB - 4))));
}

function build(overrides: Partial<ModelConfig>, seed: number): Seq2SeqModel {
  model = createModel(tinyConfig(overrides), VOCAB, VOCAB, seed);
  return model;
}

describe('decoding', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [name, overrides] of [['post-norm', {}], ['pre-norm, learned positions', { norm: 'pre', positional: 'learned' }]] as const) {
      it(`gives identical greedy and beam outputs with and without the cache (${name}, ${backend})`, async () => {
        await useBackend(backend);
        for (const seed of [1, 2]) {
          const m = build(overrides as Partial<ModelConfig>, seed);
          const src = sources(6, seed);
          const greedy = await greedyDecode(m, src, { maxLenOffset: 4 });
          expect(greedy).toEqual(await greedyDecode(m, src, { maxLenOffset: 4, useCache: false }));
          const beam = await beamSearch(m, src, { beam: 3, alpha: 0.6, maxLenOffset: 4 });
          expect(beam).toEqual(await beamSearch(m, src, { beam: 3, alpha: 0.6, maxLenOffset: 4, useCache: false }));
          // The outputs must vary in length (some stop at EOS, some at the limit) or the test proves little.
          expect(new Set(greedy.map((g) => g.length)).size).toBeGreaterThan(1);
          m.dispose(); model = null;
        }
      });
    }
  }

  it('returns greedy outputs from a beam of 1', async () => {
    await useBackend('cpu');
    const m = build({}, 3);
    const src = sources(8, 3);
    expect(await beamSearch(m, src, { beam: 1, alpha: 0.6, maxLenOffset: 5 })).toEqual(await greedyDecode(m, src, { maxLenOffset: 5 }));
  });

  it('stops every hypothesis at source length + maxLenOffset', async () => {
    await useBackend('cpu');
    const m = build({}, 4);
    const src = sources(8, 4);
    for (const out of [await greedyDecode(m, src, { maxLenOffset: 2 }), await beamSearch(m, src, { beam: 4, alpha: 0.6, maxLenOffset: 2 })]) {
      out.forEach((o, i) => expect(o.length).toBeLessThanOrEqual(src[i].length + 2));
    }
    expect((await greedyDecode(m, src, { maxLenOffset: 0 })).every((o, i) => o.length <= src[i].length)).toBe(true);
    // An empty source decodes (up to maxLenOffset tokens) instead of failing.
    for (const out of [await greedyDecode(m, [new Int32Array(0)], { maxLenOffset: 3 }), await beamSearch(m, [new Int32Array(0)], { beam: 2, alpha: 0.6, maxLenOffset: 3 })]) {
      expect(out).toHaveLength(1);
      expect(out[0].length).toBeLessThanOrEqual(3);
    }
  });

  it('decodes a long dev/test source with learned positions: the limit stops at the position table', async () => {
    await useBackend('cpu');
    const m = build({ positional: 'learned' }, 8);
    const long = Int32Array.from({ length: 500 }, (_, i) => 4 + (i % (VOCAB - 4)));
    expect(hypothesisLimit(m, 500, 50)).toBe(MAX_LEARNED_POSITIONS - 1);
    expect(hypothesisLimit({ config: { ...m.config, positional: 'sinusoidal' } }, 500, 50)).toBe(550); // no table to run out of
    const [out] = await greedyDecode(m, [long], { maxLenOffset: 50 });
    expect(out.length).toBeLessThanOrEqual(MAX_LEARNED_POSITIONS - 1);
  });

  it('finds a hypothesis at least as probable as greedy under the length-normalised score', async () => {
    // Beam search maximises logP/lp(len); with a wide beam its pick must score ≥ the greedy output's.
    await useBackend('cpu');
    const m = build({}, 5);
    const src = sources(5, 5);
    const alpha = 0.6;
    const greedy = await greedyDecode(m, src, { maxLenOffset: 3 });
    const beam = await beamSearch(m, src, { beam: 6, alpha, maxLenOffset: 3 });
    const score = (s: Int32Array, out: number[]) => tf.tidy(() => {
      const maxLen = s.length + 3;
      const ended = out.length < maxLen; // hypotheses at the limit carry no EOS
      const tgtIn = tf.tensor2d([[1, ...out]], [1, out.length + 1], 'int32');
      const logp = tf.logSoftmax(m.forward(tf.tensor2d([Array.from(s)], [1, s.length], 'int32'), tgtIn, false)).arraySync() as number[][][];
      const next = [...out, 2];
      let sum = 0;
      for (let t = 0; t < (ended ? next.length : out.length); t++) sum += logp[0][t][next[t]];
      return sum / lengthPenalty(ended ? out.length + 1 : out.length, alpha);
    });
    src.forEach((s, i) => expect(score(s, beam[i])).toBeGreaterThanOrEqual(score(s, greedy[i]) - 1e-4));
  });

  it('leaves no tensor behind', async () => {
    await useBackend('wasm');
    const m = build({}, 6);
    const src = sources(5, 6);
    await greedyDecode(m, src, { maxLenOffset: 3 }); // warm-up: kernels may cache constants once
    const before = tf.memory().numTensors;
    await greedyDecode(m, src, { maxLenOffset: 3 });
    await greedyDecode(m, src, { maxLenOffset: 3, useCache: false });
    await beamSearch(m, src, { beam: 3, alpha: 0.6, maxLenOffset: 3 });
    await beamSearch(m, src, { beam: 3, alpha: 0.6, maxLenOffset: 3, useCache: false });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps input order when chunking sentences of different lengths', async () => {
    await useBackend('cpu');
    const m = build({}, 7);
    const src = sources(9, 7);
    const whole = await greedyDecode(m, src, { maxLenOffset: 3, maxRows: 64 });
    expect(await greedyDecode(m, src, { maxLenOffset: 3, maxRows: 2 })).toEqual(whole);
    for (const [i, s] of src.entries()) expect((await greedyDecode(m, [s], { maxLenOffset: 3 }))[0]).toEqual(whole[i]);
  });
});
