/**
 * `ablate translate` and attention maps for a run that trained on the fused engine: with a WebGPU
 * adapter its checkpoint decodes on the fused decoder, giving the tfjs decoder's translations from
 * the same checkpoint (greedy and beam 3, which are also the run's own samples and stored hypotheses)
 * and the tfjs engine's maps within 1e-4 (the decode/maps.test.ts tolerance) with the same labels.
 * A beam the fused decoder cannot take, or no adapter, decodes on tfjs as for any other run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionMaps } from '../../../contract/api';
import type { RunToParent } from '../../../contract/run-protocol';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { attentionMaps, openCheckpoint, openForInference, translate, type LoadedRun } from '../../run/inference';
import { runJob } from '../../run/run-job';
import { acquireGpu } from '../runtime/gpu';

const gpu = await acquireGpu().then(
  () => true,
  (err: Error) => (console.warn(`skipping fused inference: ${err.message}`), false),
);
const dir = mkdtempSync(join(tmpdir(), 'ablate-fused-inference-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A partly trained reversal model (peaked, varied outputs), as in fused-run.test.ts.
const config = expandSpec(
  parseSpec({
    name: 'fused-inference',
    data: { task: 'synthetic-reverse', vocab: 8, min_len: 2, max_len: 7, train_size: 200, valid_size: 12, test_size: 0, seed: 1, tokenizer: { kind: 'word' } },
    base: { layers: 1, d_model: 48, d_ff: 96, heads: 2, dropout: 0, label_smoothing: 0.1 },
    train: { steps: 150, batch_tokens: 192, warmup: 40, clip_norm: 1, eval_every: 150, checkpoint_every: 150, eval_bleu_sentences: 12, samples: 12, decode: { beam: 3, alpha: 0.6, max_len_offset: 3 } },
  }),
)[0].config;

let checkpoint = '';
let sources: string[] = [];
let samples: string[] = [];
let stored: readonly string[] = [];
const reference: { greedy: string[]; beam3: string[]; beam20: string[]; maps: AttentionMaps[] } = { greedy: [], beam3: [], beam20: [], maps: [] };

beforeAll(async () => {
  if (!gpu) return;
  const messages: RunToParent[] = [];
  await runJob({ runId: 1, config, backend: 'fused', checkpointDir: join(dir, 'ckpt'), cacheDir: join(dir, 'cache') }, { emit: (m) => messages.push(m), shouldStop: () => false });
  const last = messages.at(-1);
  if (last?.type !== 'done') throw new Error(`the fused run did not finish: ${JSON.stringify(last)}`);
  checkpoint = messages.flatMap((m) => (m.type === 'checkpoint' ? [m.path] : [])).pop()!;
  const sampled = messages.flatMap((m) => (m.type === 'samples' ? [m.samples] : [])).pop()!;
  sources = sampled.map((s) => s.source);
  samples = sampled.map((s) => s.hypothesis);
  stored = messages.flatMap((m) => (m.type === 'hypotheses' && m.split === 'valid' ? [m.hypotheses] : [])).pop()!;
  // The tfjs decoder's answers from the same checkpoint (one tfjs model per process: disposed before the fused runs open).
  const tfjs = await openCheckpoint(checkpoint, { backend: 'cpu' });
  try {
    reference.greedy = await translate(tfjs, sources, { beam: 1, alpha: 0.6 });
    reference.beam3 = await translate(tfjs, sources, { beam: 3, alpha: 0.6 });
    reference.beam20 = await translate(tfjs, sources, { beam: 20, alpha: 0.6 });
    for (const s of sources.slice(0, 4)) reference.maps.push(await attentionMaps(tfjs, s));
  } finally {
    tfjs.dispose();
  }
}, 240_000);

const maxDiff = (a: readonly (readonly (readonly (readonly number[])[])[])[], b: typeof a): number => {
  let worst = 0;
  a.forEach((l, i) => l.forEach((h, j) => h.forEach((r, k) => r.forEach((x, m) => (worst = Math.max(worst, Math.abs(x - b[i][j][k][m])))))));
  return worst;
};

/** Opens the checkpoint as a fused run's (`engine: 'fused'`), runs `f`, frees it. */
async function withRun(f: (run: LoadedRun) => Promise<void>, opts: Parameters<typeof openForInference>[1] = {}): Promise<void> {
  const run = await openForInference(checkpoint, { engine: 'fused', ...opts });
  try {
    await f(run);
  } finally {
    run.dispose();
  }
}

describe.skipIf(!gpu)('a fused run\'s checkpoint in inference', () => {
  it('translates on the fused decoder: the tfjs decoder\'s translations and the run\'s own, greedy and beam 3', async () => {
    await withRun(async (run) => {
      expect(run.decoder).toBe('fused');
      // The reference is not degenerate: outputs of several lengths, and beam differs from greedy somewhere.
      expect(new Set(reference.greedy.map((h) => h.split(' ').length)).size).toBeGreaterThan(2);
      expect(reference.beam3).not.toEqual(reference.greedy);
      expect(reference.greedy).toEqual(samples);
      expect(reference.beam3).toEqual(stored);
      expect(await translate(run, sources, { beam: 1, alpha: 0.6 })).toEqual(reference.greedy);
      expect(await translate(run, sources, { beam: 3, alpha: 0.6 })).toEqual(reference.beam3);
    });
  }, 120_000);

  it('reads attention maps on the fused decoder: the tfjs engine\'s within 1e-4, same labels and translation', async () => {
    await withRun(async (run) => {
      expect(run.decoder).toBe('fused');
      for (const [i, want] of reference.maps.entries()) {
        const got = await attentionMaps(run, sources[i]);
        expect({ s: got.sourceTokens, t: got.targetTokens, tr: got.translation }).toEqual({ s: want.sourceTokens, t: want.targetTokens, tr: want.translation });
        for (const kind of ['encoderSelf', 'decoderSelf', 'cross'] as const) {
          expect(got[kind].map((l) => l.map((h) => [h.length, h[0].length]))).toEqual(want[kind].map((l) => l.map((h) => [h.length, h[0].length])));
          expect(maxDiff(got[kind], want[kind]), `${kind}, sentence ${i}`).toBeLessThan(1e-4);
        }
      }
    });
  }, 120_000);

  it('decodes a beam the fused decoder cannot take (20 > 16) on tfjs, from the same checkpoint', async () => {
    await withRun(async (run) => {
      expect(run.decoder === 'fused' && run.fused.problem(20)).toBe('fused decoding: beam at most 16; got 20');
      expect(await translate(run, sources, { beam: 20, alpha: 0.6 })).toEqual(reference.beam20);
    });
  }, 120_000);

  it('without a WebGPU adapter decodes on tfjs and says why', async () => {
    await withRun(async (run) => {
      expect(run).toMatchObject({ decoder: 'tfjs', fusedUnavailable: 'no WebGPU adapter (no Vulkan/Metal/D3D12 device found)' });
      expect(await translate(run, sources, { beam: 3, alpha: 0.6 })).toEqual(reference.beam3);
    }, { gpu: () => Promise.reject(new Error('no WebGPU adapter (no Vulkan/Metal/D3D12 device found)')) });
  }, 120_000);
});
