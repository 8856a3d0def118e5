/**
 * Data-pipeline throughput against the engine it feeds, measured in the same run (goal: the
 * pipeline delivers ≥ 20× the target tokens/s that training consumes, so batching never starves
 * the model).
 *
 * Pipeline (Multi30k scale, batch_tokens 4096, shared BPE 8000):
 *   1. prepareData from a warm cache (read + hash the files, load the tokenized corpus);
 *   2. BatchStream.next() over whole epochs (shuffle, length-bucket, pad into Int32Arrays).
 * Reference: the engine's training steps (experiments/train Trainer.trainStep) on bench config A
 * of bench/engine.bench.ts (vocab 1000, d_model 64, 4 heads, d_ff 256, 2+2 layers, batch 32 × 20)
 * and on one real 4096-token Multi30k batch at config A's width, on each backend that loads; the
 * fastest one is the reference.
 *
 *   npm run bench data [-- --backends=wasm,cpu,tensorflow --steps=5 --epochs=3]
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../experiments/backend';
import { BatchStream, prepareData } from '../experiments/data/index';
import { BOS_ID, EOS_ID, type Batch } from '../experiments/data/types';
import { createModel } from '../experiments/model/transformer';
import { DataSchema, type ModelConfig } from '../contract/spec';
import { type BackendName } from '../contract/backends';
import { Trainer } from '../experiments/train/loop';

const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/data/multi30k');

function flag(args: string[], name: string, fallback: string): string {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
}

/** Engine bench config A's model (bench/engine.bench.ts). */
const CONFIG_A: ModelConfig = {
  layers: 2, d_model: 64, d_ff: 256, heads: 4, d_k: 16, d_v: 16, dropout: 0.1, label_smoothing: 0.1,
  positional: 'sinusoidal', share_embeddings: true, norm: 'post', attention_scale: true, share_qk: false,
};

/** Config A's batch: 32 × 20 random ids in [4, 1000), no padding, as engine.bench.ts builds it. */
function configABatch(): Batch {
  let s = 1;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const tok = () => 4 + Math.floor(rand() * 996);
  const rows = 32;
  const len = 20;
  const src = Int32Array.from({ length: rows * len }, tok);
  const body = Array.from({ length: rows }, () => Array.from({ length: len - 1 }, tok));
  return {
    size: rows, srcLen: len, tgtLen: len, src,
    tgtIn: Int32Array.from(body.flatMap((r) => [BOS_ID, ...r])),
    tgtOut: Int32Array.from(body.flatMap((r) => [...r, EOS_ID])),
    targetTokens: rows * len,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median target tokens/s of `steps` training steps after two warm-up steps. */
function trainTokensPerSecond(batch: Batch, vocab: number, steps: number): number {
  const model = createModel(CONFIG_A, vocab, vocab, 1);
  const trainer = new Trainer(model, { warmup: 4000, lrFactor: 1, clipNorm: 0, labelSmoothing: 0.1, seed: 1 });
  try {
    trainer.trainStep(batch);
    trainer.trainStep(batch);
    const rates: number[] = [];
    for (let i = 0; i < steps; i++) rates.push(trainer.trainStep(batch).tokensPerSecond);
    return median(rates);
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

export async function run(args: string[]): Promise<void> {
  if (!existsSync(DATA)) {
    console.log(`skipped: Multi30k not found at ${DATA}`);
    return;
  }
  const steps = Number(flag(args, 'steps', '5'));
  const epochs = Number(flag(args, 'epochs', '3'));
  // wasm is the fastest engine on the 2-core CI machines (bench/engine.bench.ts); pass
  // --backends=wasm,tensorflow,webgpu on a machine where a native or GPU backend loads.
  const backends = flag(args, 'backends', 'wasm').split(',').map((b) => b.trim()) as BackendName[];
  const cacheDir = mkdtempSync(join(tmpdir(), 'bench-data-'));
  try {
    const data = DataSchema.parse({
      corpus: { train: [`${DATA}/train.en`, `${DATA}/train.de`], valid: [`${DATA}/valid.en`, `${DATA}/valid.de`], test: [`${DATA}/test.en`, `${DATA}/test.de`] },
      tokenizer: { kind: 'bpe', vocab: 8000, shared: true },
      max_len: 64,
    });

    // --- pipeline -------------------------------------------------------------------------
    let t = performance.now();
    await prepareData(data, cacheDir); // cold: learns BPE, tokenizes, writes the cache
    const coldMs = performance.now() - t;
    t = performance.now();
    const prepared = await prepareData(data, cacheDir);
    const warmMs = performance.now() - t;
    if (!prepared.info.cacheHit) throw new Error('expected a cache hit on the second prepareData');

    const stream = new BatchStream(prepared.train, 4096, 1);
    let tokens = 0;
    let batches = 0;
    let realBatch: Batch | undefined;
    t = performance.now();
    while (stream.position.epoch < epochs) {
      const b = stream.next();
      tokens += b.targetTokens;
      batches++;
      realBatch ??= b;
    }
    const streamMs = performance.now() - t;
    const streamRate = tokens / (streamMs / 1000);
    // One epoch including the warm prepare: what a run waits for before and during its first epoch.
    const epochTokens = tokens / epochs;
    const firstEpochRate = epochTokens / ((warmMs + streamMs / epochs) / 1000);

    console.log(`pipeline (Multi30k train ${prepared.train.length} pairs, BPE ${prepared.srcTokenizer.vocabSize}, batch_tokens 4096)`);
    console.log(`  prepareData cold (learn BPE + tokenize + write cache)  ${coldMs.toFixed(0)} ms`);
    console.log(`  prepareData warm (cache hit)                           ${warmMs.toFixed(0)} ms`);
    console.log(`  BatchStream.next: ${batches} batches, ${tokens} target tokens in ${streamMs.toFixed(0)} ms  → ${fmt(streamRate)} tokens/s`);
    console.log(`  first epoch incl. warm prepare                          → ${fmt(firstEpochRate)} tokens/s`);

    // --- engine reference -------------------------------------------------------------------
    const rows: { backend: string; device: string; shape: string; rate: number }[] = [];
    for (const name of backends) {
      let device: string;
      try {
        ({ device } = await selectBackend(name));
      } catch (err) {
        console.log(`  ${name}: not available (${(err as Error).message.split('\n')[0]})`);
        continue;
      }
      const shapes: [string, Batch, number][] = [
        ['config A, 32×20', configABatch(), 1000],
        [`config A, Multi30k ${realBatch!.size}×${realBatch!.tgtLen}`, realBatch!, prepared.srcTokenizer.vocabSize],
      ];
      for (const [shape, batch, vocab] of shapes) {
        try {
          rows.push({ backend: tf.getBackend(), device, shape, rate: trainTokensPerSecond(batch, vocab, steps) });
        } catch (err) {
          console.log(`  ${name} ${shape}: training step failed (${(err as Error).message.split('\n')[0]})`);
        }
      }
    }
    if (!rows.length) {
      console.log('no training backend loaded; no ratio');
      return;
    }
    console.log('\nengine training throughput (median of', steps, 'steps)');
    for (const r of rows) console.log(`  ${r.backend.padEnd(10)} ${r.shape.padEnd(28)} ${fmt(r.rate).padStart(8)} tokens/s   ${r.device}`);
    const fastest = rows.reduce((a, b) => (b.rate > a.rate ? b : a));
    console.log(`\nratio pipeline / fastest training (${fastest.backend}, ${fastest.shape}):`);
    console.log(`  BatchStream steady state   ${(streamRate / fastest.rate).toFixed(0)}×   (goal ≥ 20×)`);
    console.log(`  first epoch incl. prepare  ${(firstEpochRate / fastest.rate).toFixed(0)}×   (goal ≥ 20×)`);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
}
