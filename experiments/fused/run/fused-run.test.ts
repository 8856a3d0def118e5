/**
 * Runs on the fused engine through run-job.ts (the same data, schedule, logging, evaluation and
 * checkpoint cadence as the tfjs engine), on whatever WebGPU adapter exists (lavapipe in CI).
 * Checkpoints cross engines at the run level: a tfjs (wasm) run stopped at step 10 resumes on the
 * fused engine, and a fused run resumes on wasm, each finishing on the curve of the run that was
 * never interrupted. Such a run decodes its BLEU, samples and stored hypotheses on the fused decoder,
 * token for token what the tfjs decoder gives from the run's final checkpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackendName } from '../../../contract/backends';
import type { RunToParent } from '../../../contract/run-protocol';
import { expandSpec, parseSpec, type RunConfig } from '../../../contract/spec';
import { BackendUnavailableError, selectEngine } from '../../backend';
import { runJob } from '../../run/run-job';
import { acquireGpu } from '../runtime/gpu';
import { createModel } from '../../model/transformer';
import { selectBackend } from '../../backend';
import { prepareData } from '../../data/index';
import { translateIds } from '../../run/evaluate';
import { openCheckpoint } from '../../run/inference';
import type { BatchStream } from '../../data/index';
import { BUCKET_LENGTHS, bucketOf, bucketRows, padBatch } from './buckets';
import { FusedRunEngine } from './fused-engine';
import { fusedProblems } from './support';

const gpu = await acquireGpu().then(
  () => true,
  (err: Error) => (console.warn(`skipping fused runs: ${err.message}`), false),
);
const dir = mkdtempSync(join(tmpdir(), 'ablate-fused-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (over: { dropout?: number; steps?: number; maxLen?: number; dk?: number; beam?: number; samples?: number; dModel?: number; warmup?: number; batchTokens?: number } = {}): RunConfig =>
  expandSpec(
    parseSpec({
      name: 'fused-run',
      data: { task: 'synthetic-reverse', vocab: 8, min_len: 2, max_len: over.maxLen ?? 7, train_size: 200, valid_size: 12, test_size: 6, seed: 1, tokenizer: { kind: 'word' } },
      base: { layers: 1, d_model: over.dModel ?? 16, d_ff: 2 * (over.dModel ?? 16), heads: 2, dropout: over.dropout ?? 0.1, label_smoothing: 0.1, ...(over.dk ? { d_k: over.dk } : {}) },
      train: { steps: over.steps ?? 20, batch_tokens: over.batchTokens ?? 96, warmup: over.warmup ?? 5, clip_norm: 1, eval_every: 10, checkpoint_every: 10, eval_bleu_sentences: over.samples ?? 6, samples: over.samples ?? 1, decode: { beam: over.beam ?? 2, alpha: 0.6, max_len_offset: 3 } },
    }),
  )[0].config;

let runs = 0;
/** Runs a job; `stopAt` stops it between steps once that step was reported. */
async function run(cfg: RunConfig, backend: BackendName, opts: { stopAt?: number; resumeFrom?: string; ckptDir?: string } = {}): Promise<RunToParent[]> {
  const messages: RunToParent[] = [];
  let reached = 0;
  await runJob(
    { runId: ++runs, config: cfg, backend, checkpointDir: opts.ckptDir ?? join(dir, `run-${runs}`), cacheDir: join(dir, 'cache'), ...(opts.resumeFrom ? { resumeFrom: { path: opts.resumeFrom, step: 0 } } : {}) },
    {
      emit: (m) => {
        messages.push(m);
        if (m.type === 'progress') reached = m.step;
      },
      shouldStop: () => opts.stopAt !== undefined && reached >= opts.stopAt,
    },
  );
  const failed = messages.find((m) => m.type === 'failed');
  expect(failed, JSON.stringify(failed)).toBeUndefined();
  return messages;
}

const trainLoss = (ms: RunToParent[]) => ms.flatMap((m) => (m.type === 'metrics' ? m.points.filter((p) => p.split === 'train' && p.name === 'loss') : [])).map((p) => [p.step, p.value] as const);
const done = (ms: RunToParent[]) => {
  const d = ms[ms.length - 1];
  if (d.type !== 'done') throw new Error(`run ended with ${JSON.stringify(d)}`);
  return d;
};
const checkpoints = (ms: RunToParent[]) => ms.flatMap((m) => (m.type === 'checkpoint' ? [m] : []));

describe('buckets', () => {
  it('pads a batch into its bucket and keeps every batch of a length class in one bucket', () => {
    expect(BUCKET_LENGTHS[BUCKET_LENGTHS.length - 1]).toBe(256);
    const batch = { size: 2, srcLen: 3, tgtLen: 4, src: Int32Array.from([5, 6, 7, 8, 9, 0]), tgtIn: Int32Array.from([1, 5, 6, 0, 1, 8, 9, 10]), tgtOut: Int32Array.from([5, 6, 2, 0, 8, 9, 10, 2]), targetTokens: 7 };
    const key = bucketOf(batch, 96);
    expect(key).toEqual({ rows: Math.floor(96 / 4), len: 4 });
    const p = padBatch(batch, key);
    expect(Array.from(p.src.subarray(0, 8))).toEqual([5, 6, 7, 0, 8, 9, 0, 0]);
    expect(Array.from(p.tgtOut.subarray(0, 8))).toEqual([5, 6, 2, 0, 8, 9, 10, 2]);
    expect(p.tgtOut.subarray(8).every((x) => x === 0)).toBe(true);
    // Any batch cut by BatchStream (size × longest ≤ batch_tokens) fits its bucket's rows.
    for (const longest of [9, 12, 13, 100, 256]) {
      const k = bucketOf({ ...batch, size: Math.floor(4096 / longest), srcLen: longest, tgtLen: longest }, 4096);
      expect(k.rows * k.len).toBeLessThanOrEqual(1.5 * 4096);
      expect(k.rows).toBe(bucketRows(4096, k.len));
    }
  });

  it('names what the fused engine cannot train, for the queue-time check', () => {
    expect(fusedProblems(config())).toEqual([]);
    expect(fusedProblems(config({ maxLen: 300 }))).toEqual([expect.stringMatching(/^base: backend fused attends over at most 256 positions; data.max_len 300 needs 301/)]);
    expect(fusedProblems(config({ dk: 300 }))[0]).toMatch(/d_k and d_v up to 256; got d_k 300/);
    // max_len 7 → bucket length 8 (BOS + target), rows = batch_tokens / 8 (bucketRows): tokens = batch_tokens.
    // d_model 512, d_ff 1024, 2 heads of d_k = d_v = 256: 1024 floats a token; 2^31 bytes at 524,288 tokens.
    expect(fusedProblems(config({ dModel: 512, batchTokens: 500_000 }))).toEqual([]);
    expect(fusedProblems(config({ dModel: 512, batchTokens: 600_000 }))).toEqual([expect.stringMatching(/^base: backend fused: a batch's widest activation \(600000 tokens × 1024 = 2\.3 GiB for train\.batch_tokens 600000\) exceeds one WebGPU storage binding \(2 GiB\); lower train\.batch_tokens$/)]);
    // max_len 63 → buckets up to 64; the 48 bucket pads most: floor(400,000 / 33) = 12,121 rows × 48 =
    // 581,808 tokens (2.2 GiB), where the 64 bucket has 8,163 × 64 = 522,432 (under 2 GiB).
    expect(fusedProblems(config({ dModel: 512, maxLen: 63, batchTokens: 400_000 }))).toEqual([expect.stringMatching(/widest activation \(581808 tokens × 1024 = 2\.2 GiB/)]);
  });
});

describe.skipIf(!gpu)('engine selection', () => {
  it('auto takes the fused engine only on a hardware adapter and for a config it supports; fused refuses an unsupported config with its reason', async () => {
    const { description } = await acquireGpu().then((g) => ({ description: g.adapterDescription }));
    const software = /llvmpipe|lavapipe|swiftshader/i.test(description);
    const auto = await selectEngine('auto');
    if (software) {
      expect(auto.engine).toBe('tfjs');
      expect(auto.skipped).toMatch(/^backend fused skipped: only a software adapter/);
    } else expect(auto).toMatchObject({ engine: 'fused', backend: 'fused' });
    const fallback = await selectEngine('auto', () => ['base: backend fused attends over at most 256 positions']);
    expect(fallback.engine).toBe('tfjs');
    if (!software) expect(fallback.skipped).toBe('backend fused skipped: base: backend fused attends over at most 256 positions');
    await expect(selectEngine('fused', () => ['base: too long'])).rejects.toThrow(new BackendUnavailableError('base: too long'));
    expect(await selectEngine('fused')).toMatchObject({ engine: 'fused', backend: 'fused', device: expect.stringContaining(description) });
  }, 60_000);
});

describe.skipIf(!gpu)('the fused run engine', () => {
  it('alternates between its buckets without creating a GPU buffer once they exist', async () => {
    await selectBackend('cpu');
    const cfg = config({ dropout: 0.1 });
    const model = createModel(cfg.model, 12, 12, 1);
    const g = await acquireGpu();
    const engine = new FusedRunEngine(g, cfg, { src: 12, tgt: 12 }, model);
    try {
      // Two shapes, alternating: two buckets, built in the first two steps.
      const batch = (len: number) => ({ size: 3, srcLen: len, tgtLen: len, src: new Int32Array(3 * len).fill(5), tgtIn: new Int32Array(3 * len).fill(6), tgtOut: new Int32Array(3 * len).fill(7), targetTokens: 3 * len });
      let i = 0;
      const stream = { next: () => batch(i++ % 2 ? 4 : 7), position: null, restore: () => undefined } as unknown as BatchStream;
      const losses: number[] = [];
      for await (const r of engine.train(stream, { totalSteps: 4, shouldStop: () => false, settleAt: () => false })) losses.push(r.loss);
      expect(engine.bucketKeys.map((k) => k.len).sort()).toEqual([4, 7]);
      const created = g.buffersCreated;
      for await (const r of engine.train(stream, { totalSteps: 40, shouldStop: () => false, settleAt: (s) => s % 10 === 0 })) losses.push(r.loss);
      expect(g.buffersCreated - created, 'buffers created in the steady state').toBe(0);
      expect(losses).toHaveLength(40);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(engine.stats).toMatchObject({ steps: 40, buckets: 2 });
    } finally {
      engine.dispose();
    }
  }, 120_000);
});

describe.skipIf(!gpu)('runs on the fused engine', () => {
  it('trains with dropout, evaluates loss, perplexity and BLEU, checkpoints and finishes; the same seed gives the same curve', async () => {
    const a = await run(config(), 'fused');
    expect(a.find((m) => m.type === 'ready')).toMatchObject({ backend: 'fused', device: expect.stringMatching(/^WebGPU \(Dawn\): .*; BLEU decoded by the fused decoder \(WebGPU\)$/) });
    expect(checkpoints(a).map((m) => m.step)).toEqual([10, 20]);
    const d = done(a);
    for (const name of ['train_loss', 'valid_loss', 'valid_ppl', 'valid_bleu', 'test_bleu'] as const) expect(Number.isFinite(d.metrics[name]), name).toBe(true);
    expect(d.metrics.valid_ppl).toBeCloseTo(Math.exp(d.metrics.valid_loss!), 6);
    expect(trainLoss(a).map(([s]) => s)).toEqual([10, 20]);
    const b = await run(config(), 'fused');
    expect(trainLoss(b)).toEqual(trainLoss(a));
    expect(done(b).metrics.valid_loss).toBe(d.metrics.valid_loss);
  }, 120_000);

  it('decodes samples (greedy) and stored hypotheses (beam 3) on the fused decoder: the tfjs decoder\'s tokens from the run\'s final checkpoint', async () => {
    // Every dev sentence is a sample (greedy, at the last evaluation = the final step) and a stored hypothesis (beam 3).
    const cfg = config({ dropout: 0, steps: 150, beam: 3, samples: 12, dModel: 48, warmup: 40, batchTokens: 192 });
    const ms = await run(cfg, 'fused');
    expect(ms.find((m) => m.type === 'ready')).toMatchObject({ device: expect.stringContaining('BLEU decoded by the fused decoder (WebGPU)') });
    const samples = ms.flatMap((m) => (m.type === 'samples' ? [m] : [])).pop()!;
    const stored = ms.flatMap((m) => (m.type === 'hypotheses' && m.split === 'valid' ? [m] : [])).pop()!;
    const final = checkpoints(ms).pop()!;
    expect([samples.step, stored.step, final.step]).toEqual([150, 150, 150]);
    const data = await prepareData(cfg.data, join(dir, 'cache'), () => undefined);
    const ckpt = await openCheckpoint(final.path, { backend: 'cpu' });
    try {
      const sources = data.valid.map((p) => p.src);
      const maxLenOffset = cfg.train.decode.max_len_offset;
      const text = (ids: number[][]) => ids.map((h) => ckpt.tgtTokenizer.decode(h));
      const greedy = text(await translateIds(ckpt.model, sources, { beam: 1, alpha: 0, maxLenOffset }));
      const beam = text(await translateIds(ckpt.model, sources, { beam: 3, alpha: 0.6, maxLenOffset }));
      expect(samples.samples.map((s) => s.hypothesis)).toEqual(greedy);
      expect(stored.hypotheses).toEqual(beam);
      // Enough variety that equality is evidence (a partly trained model): outputs of several lengths, beam ≠ greedy somewhere.
      expect(new Set(greedy.map((h) => h.split(' ').length)).size).toBeGreaterThan(2);
      expect(beam).not.toEqual(greedy);
    } finally {
      ckpt.dispose();
    }
  }, 180_000);

  it('decodes on tfjs, and records so, a config the fused decoder cannot decode (beam 20 > its 16)', async () => {
    const ms = await run(config({ beam: 20 }), 'fused');
    expect(ms.find((m) => m.type === 'ready')).toMatchObject({ device: expect.stringMatching(/; BLEU decoded by tfjs (wasm|cpu), .*\(fused decoding: beam at most 16; got 20\)$/) });
    expect(Number.isFinite(done(ms).metrics.valid_bleu)).toBe(true);
  }, 120_000);

  it('resumes a tfjs checkpoint on the fused engine and a fused checkpoint on tfjs, continuing the uninterrupted curve', async () => {
    const cfg = config({ dropout: 0 });
    for (const [first, second] of [['wasm', 'fused'], ['fused', 'wasm']] as const) {
      const reference = await run(cfg, first);
      const ckptDir = join(dir, `cross-${first}`);
      const stopped = await run(cfg, first, { stopAt: 10, ckptDir });
      expect(stopped[stopped.length - 1]).toMatchObject({ type: 'stopped', step: 10 });
      const resumed = await run(cfg, second, { resumeFrom: checkpoints(stopped).pop()!.path, ckptDir });
      expect(resumed.find((m) => m.type === 'ready')).toMatchObject({ backend: second, startStep: 10 });
      const want = trainLoss(reference);
      const got = trainLoss(resumed);
      expect(got.map(([s]) => s), `${first} → ${second}`).toEqual([20]);
      // Dropout 0: the engines compute the same function (parity tests); 10 more steps of float drift.
      expect(Math.abs(got[0][1] - want[1][1]), `${first} → ${second}: train loss at 20`).toBeLessThan(2e-3);
      expect(Math.abs(done(resumed).metrics.valid_loss! - done(reference).metrics.valid_loss!), `${first} → ${second}: valid loss`).toBeLessThan(2e-3);
    }
  }, 240_000);
});
