import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunToParent, SampleTranslation } from '../../contract/run-protocol';
import { expandSpec, parseSpec } from '../../contract/spec';
import { attentionMaps, openCheckpoint, translate, type LoadedRun } from './inference';
import { runJob } from './run-job';

const dir = mkdtempSync(join(tmpdir(), 'ablate-inference-'));
let run: LoadedRun;
let samples: readonly SampleTranslation[];

beforeAll(async () => {
  const config = expandSpec(
    parseSpec({
      name: 'inference-test',
      data: { task: 'synthetic-copy', vocab: 10, min_len: 3, max_len: 6, train_size: 200, valid_size: 8, test_size: 0, seed: 4, tokenizer: { kind: 'word' } },
      base: { layers: 2, d_model: 32, d_ff: 64, heads: 2, dropout: 0 },
      train: { steps: 20, batch_tokens: 160, warmup: 5, eval_every: 20, checkpoint_every: 20, eval_bleu_sentences: 8, samples: 8, decode: { beam: 1, alpha: 0.6 } },
    }),
  )[0].config;
  const messages: RunToParent[] = [];
  await runJob({ runId: 1, config, backend: 'wasm', checkpointDir: join(dir, 'ckpt'), cacheDir: join(dir, 'cache') }, { emit: (m) => messages.push(m), shouldStop: () => false });
  const ckpt = messages.filter((m) => m.type === 'checkpoint').pop();
  const sampleMsg = messages.filter((m) => m.type === 'samples').pop();
  if (!ckpt || ckpt.type !== 'checkpoint' || !sampleMsg || sampleMsg.type !== 'samples') throw new Error(`run produced no checkpoint/samples: ${JSON.stringify(messages.at(-1))}`);
  samples = sampleMsg.samples;
  run = await openCheckpoint(ckpt.path);
});
afterAll(() => {
  run?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('inference from a checkpoint', () => {
  it('restores config and step, and translates exactly as the run decoded at that step', async () => {
    expect(run.step).toBe(20);
    expect(run.config.model.layers).toBe(2);
    expect(await translate(run, samples.map((s) => s.source), { beam: 1, alpha: 0.6 })).toEqual(samples.map((s) => s.hypothesis));
  });

  it('returns attention maps shaped [layer][head][query][key] whose rows are distributions', async () => {
    const sentence = samples[0].source;
    const maps = await attentionMaps(run, sentence);
    expect(maps.translation).toBe(samples[0].hypothesis);
    expect(maps.sourceTokens).toEqual(sentence.split(' '));
    const s = maps.sourceTokens.length;
    const t = maps.targetTokens.length;
    expect(maps.targetTokens.at(-1)).toBe('</s>');
    const check = (layers: readonly number[][][][], q: number, k: number) => {
      expect(layers).toHaveLength(2);
      for (const heads of layers) {
        expect(heads).toHaveLength(2);
        for (const rows of heads) {
          expect(rows).toHaveLength(q);
          for (const row of rows) {
            expect(row).toHaveLength(k);
            expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
          }
        }
      }
    };
    check(maps.encoderSelf, s, s);
    check(maps.decoderSelf, t, t);
    check(maps.cross, t, s);
    // Causal: no decoder position attends to a later one.
    for (const heads of maps.decoderSelf) for (const rows of heads) rows.forEach((row, q) => row.slice(q + 1).forEach((w) => expect(w).toBeLessThan(1e-6)));
  });
});
