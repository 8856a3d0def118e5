/**
 * Attention maps from the fused decoder against the tfjs engine's (model.attention, the
 * teacher-forced pass experiments/run/inference.ts attentionMaps reads, cpu backend): the same
 * greedy hypothesis and every encoder self, decoder self and cross map of every layer and head
 * within 1e-4.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../../contract/spec';
import { toBatch } from '../../data/batches';
import { greedyDecode } from '../../decode/index';
import { createModel } from '../../model/transformer';
import { rng, tinyConfig, useBackend } from '../../../test/support/model';
import { expectClose } from '../../../test/support/fused';
import { acquireGpu } from '../runtime/gpu';
import { FusedDecoder } from './decoder';

const VOCAB = 12;

async function tfjsMaps(model: ReturnType<typeof createModel>, src: Int32Array, hyp: number[]): Promise<{ encoderSelf: number[][][][]; decoderSelf: number[][][][]; cross: number[][][][] }> {
  const batch = toBatch([{ source: '', target: '', src, tgt: Int32Array.from(hyp) }]);
  const w = tf.tidy(() => {
    const { weights } = model.attention(tf.tensor2d(batch.src, [1, batch.srcLen], 'int32'), tf.tensor2d(batch.tgtIn, [1, batch.tgtLen], 'int32'));
    return { encoderSelf: weights.encoderSelf, decoderSelf: weights.decoderSelf, cross: weights.cross };
  });
  const nested = async (maps: tf.Tensor4D[]) => Promise.all(maps.map(async (m) => ((await m.array()) as number[][][][])[0]));
  const out = { encoderSelf: await nested(w.encoderSelf), decoderSelf: await nested(w.decoderSelf), cross: await nested(w.cross) };
  tf.dispose([...w.encoderSelf, ...w.decoderSelf, ...w.cross]);
  return out;
}

const variants: [string, Partial<ModelConfig>][] = [
  ['post-norm, sinusoidal', {}],
  ['pre-norm, learned positions, share_qk, h·d_k ≠ d_model', { norm: 'pre', positional: 'learned', share_qk: true, heads: 3, d_k: 4, d_v: 7 }],
];

describe('fused attention maps vs the tfjs engine (cpu)', () => {
  for (const [name, overrides] of variants) {
    it(`every map of every layer and head within 1e-4: ${name}`, async () => {
      await useBackend('cpu');
      const gpu = await acquireGpu();
      const config = tinyConfig(overrides);
      const model = createModel(config, VOCAB, VOCAB, 4);
      const decoder = new FusedDecoder(gpu, config, VOCAB, VOCAB, new Map(model.variables.map((v) => [v.name, v.dataSync() as Float32Array])), { maxRows: 4, maxSrcLen: 8, maxLenOffset: 3 });
      try {
        const random = rng(9);
        let tokens = 0;
        for (const len of [1, 4, 7]) {
          const src = Int32Array.from({ length: len }, () => 4 + Math.floor(random() * (VOCAB - 4)));
          const got = await decoder.attentionMaps(src, { maxLenOffset: 3 });
          const [hyp] = await greedyDecode(model, [src], { maxLenOffset: 3 });
          expect(got.hypothesis).toEqual(hyp);
          tokens += hyp.length;
          const want = await tfjsMaps(model, src, hyp);
          for (const kind of ['encoderSelf', 'decoderSelf', 'cross'] as const) {
            expect(got[kind].length).toBe(config.layers);
            got[kind].forEach((layer, l) => layer.forEach((head, hh) => {
              expect(head.length, `${kind} rows`).toBe(want[kind][l][hh].length);
              head.forEach((row, i) => expectClose(row, want[kind][l][hh][i], 1e-4, 0, `${kind}[${l}][${hh}][${i}] (source length ${len})`));
            }));
          }
        }
        expect(tokens, 'decoder maps over more than one query row').toBeGreaterThan(0);
      } finally {
        decoder.destroy();
        model.dispose();
      }
    });
  }
});
