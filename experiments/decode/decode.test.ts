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
import { NEVER_EMITTED, beamSearch, greedyDecode, hypothesisLimit, lengthPenalty } from './index';

const VOCAB = 12;
let model: Seq2SeqModel | null = null;
afterEach(() => { model?.dispose(); model = null; });

function sources(count: number, seed: number): Int32Array[] {
  const random = rng(seed);
  return Array.from({ length: count }, () => Int32Array.from({ length: 1 + Math.floor(random() * 7) }, () => 4 + Math.floor(random() * (VOCAB - 4))));
}

/**
 * A model whose next-token distribution is a function of the prefix (uncached decoding only):
 * `probs(prefix)` names some ids' probabilities; the rest share what is left (floored at 1e-9).
 */
function scriptedModel(probs: (prefix: number[]) => Record<number, number>): Seq2SeqModel {
  const forward = (_src: tf.Tensor2D, tgtIn: tf.Tensor2D) => {
    const rows = tgtIn.arraySync();
    const t = rows[0].length;
    const out = rows.map((row) =>
      Array.from({ length: t }, (_, i) => {
        const named = probs(row.slice(0, i + 1));
        const rest = Math.max(1e-9, (1 - Object.values(named).reduce((a, b) => a + b, 0)) / (VOCAB - Object.keys(named).length));
        return Array.from({ length: VOCAB }, (_, v) => Math.log(named[v] ?? rest));
      }),
    );
    return tf.tensor3d(out);
  };
  return { config: tinyConfig({}), forward } as unknown as Seq2SeqModel;
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
    // fairseq's score: every hypothesis pays for its EOS, forced or not, and its length counts it.
    const score = (s: Int32Array, out: number[]) => tf.tidy(() => {
      const tgtIn = tf.tensor2d([[1, ...out]], [1, out.length + 1], 'int32');
      const logp = tf.logSoftmax(m.forward(tf.tensor2d([Array.from(s)], [1, s.length], 'int32'), tgtIn, false)).arraySync() as number[][][];
      const next = [...out, 2];
      let sum = 0;
      for (let t = 0; t < next.length; t++) sum += logp[0][t][next[t]];
      return sum / lengthPenalty(out.length + 1, alpha);
    });
    src.forEach((s, i) => expect(score(s, beam[i])).toBeGreaterThanOrEqual(score(s, greedy[i]) - 1e-4));
  });

  it('never emits PAD, BOS or UNK, even when the model prefers them', async () => {
    await useBackend('cpu');
    // After any prefix: UNK 0.5, PAD 0.2, BOS 0.15, token 5 0.1, EOS 0.05 (rest tiny).
    const fake = scriptedModel(() => ({ 3: 0.5, 0: 0.2, 1: 0.15, 5: 0.1, 2: 0.05 }));
    const src = [Int32Array.from([4, 4, 4])];
    const greedy = await greedyDecode(fake, src, { maxLenOffset: 2, useCache: false });
    const beam = await beamSearch(fake, src, { beam: 3, alpha: 0.6, maxLenOffset: 2, useCache: false });
    expect(greedy).toEqual([[5, 5, 5, 5, 5]]);
    for (const out of [...greedy, ...beam]) for (const id of out) expect(NEVER_EMITTED).not.toContain(id);
  });

  it('forces EOS on a hypothesis cut at the length limit and charges its cost (fairseq)', async () => {
    await useBackend('cpu');
    // Empty source, maxLenOffset 2: at most 2 tokens. Without the EOS cost, [5, 5] wins:
    // log 0.6 + log 0.99 = −0.52 beats [6] + EOS = log 0.4 + log 0.9 = −1.02. With it, [5, 5] pays
    // log P(EOS | 5 5) = log 1e-6, so [6] wins (alpha 0: raw log-probabilities).
    const fake = scriptedModel((prefix): Record<number, number> => {
      const key = prefix.slice(1).join(' ');
      if (key === '') return { 5: 0.6, 6: 0.4 };
      if (key === '5') return { 5: 0.99, 2: 0.01 };
      if (key === '5 5') return { 7: 1 - 1e-6, 2: 1e-6 };
      if (key === '6') return { 2: 0.9, 7: 0.1 };
      return { 2: 1 };
    });
    expect(await beamSearch(fake, [new Int32Array(0)], { beam: 2, alpha: 0, maxLenOffset: 2, useCache: false })).toEqual([[6]]);
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
