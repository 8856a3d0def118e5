import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import { BatchStream, prepareData, type BatchPosition } from '../data/index';
import type { PreparedData } from '../data/types';
import { createModel } from '../model/transformer';
import { expandSpec, parseSpec, type RunConfig } from '../../contract/spec';
import { readCheckpoint, restoreTrainer, saveCheckpoint } from './checkpoint';
import { Trainer, trainLoop } from './loop';

// A model small enough for a few steps per second on wasm; dropout on, so the resume test also
// covers the dropout masks.
const config: RunConfig = expandSpec(
  parseSpec({
    name: 'loop-test',
    data: { task: 'synthetic-reverse', vocab: 12, min_len: 3, max_len: 8, train_size: 300, valid_size: 20, test_size: 0, seed: 3, tokenizer: { kind: 'word' } },
    base: { layers: 1, d_model: 32, d_ff: 64, heads: 4, dropout: 0.1, label_smoothing: 0.1 },
    train: { steps: 10, batch_tokens: 200, warmup: 4, seeds: [5] },
  }),
)[0].config;

let data: PreparedData;
let dir: string;

beforeAll(async () => {
  await selectBackend('wasm');
  data = await prepareData(config.data, '');
  dir = mkdtempSync(join(tmpdir(), 'ablate-loop-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newTrainer(): Trainer {
  const model = createModel(config.model, data.srcTokenizer.vocabSize, data.tgtTokenizer.vocabSize, config.seed);
  return new Trainer(model, { warmup: config.train.warmup, lrFactor: 1, clipNorm: 1, labelSmoothing: config.model.label_smoothing, seed: config.seed });
}

function dispose(trainer: Trainer): void {
  trainer.dispose();
  trainer.model.dispose();
}

async function losses(trainer: Trainer, stream: BatchStream, totalSteps: number): Promise<number[]> {
  const out: number[] = [];
  for await (const r of trainLoop(trainer, stream, { totalSteps })) out.push(r.loss);
  return out;
}

describe('training loop', () => {
  it('keeps tf.memory().numTensors constant from one step to the next', () => {
    const trainer = newTrainer();
    const stream = new BatchStream(data.train, config.train.batch_tokens, config.seed);
    trainer.trainStep(stream.next());
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainer.trainStep(stream.next());
    expect(tf.memory().numTensors).toBe(after1);
    dispose(trainer);
  });

  it('reports the schedule learning rate and lowers the loss on a fixed batch', () => {
    const trainer = newTrainer();
    const stream = new BatchStream(data.train, config.train.batch_tokens, config.seed);
    const batch = stream.next();
    const first = trainer.trainStep(batch);
    // eq. (3) at step 1: d_model^-0.5 · 1 · warmup^-1.5
    expect(first.lr).toBeCloseTo(32 ** -0.5 * 4 ** -1.5, 12);
    expect(first.tokens).toBe(batch.targetTokens);
    let last = first;
    for (let i = 0; i < 15; i++) last = trainer.trainStep(batch);
    expect(last.loss).toBeLessThan(first.loss * 0.9);
    dispose(trainer);
  });

  it('stops between steps when asked', async () => {
    const trainer = newTrainer();
    const stream = new BatchStream(data.train, config.train.batch_tokens, config.seed);
    let seen = 0;
    for await (const r of trainLoop(trainer, stream, { totalSteps: 100, shouldStop: () => seen >= 3 })) seen = r.step;
    expect(trainer.step).toBe(3);
    dispose(trainer);
  });

  it('continues the same loss curve after a checkpoint is restored into a fresh model', async () => {
    const k = 4;
    const straightTrainer = newTrainer();
    const straight = await losses(straightTrainer, new BatchStream(data.train, config.train.batch_tokens, config.seed), 2 * k);
    dispose(straightTrainer);

    const first = newTrainer();
    const stream = new BatchStream(data.train, config.train.batch_tokens, config.seed);
    const part1 = await losses(first, stream, k);
    const path = join(dir, 'resume.ckpt');
    await saveCheckpoint(path, {
      trainer: first,
      config,
      batchPosition: stream.position,
      tokenizers: { src: data.srcTokenizer.toJSON(), tgt: data.tgtTokenizer.toJSON(), shared: true },
      vocab: { src: data.srcTokenizer.vocabSize, tgt: data.tgtTokenizer.vocabSize },
    });
    dispose(first);

    const ckpt = readCheckpoint(path);
    expect(ckpt.header.step).toBe(k);
    const resumed = newTrainer();
    restoreTrainer(resumed, ckpt);
    const stream2 = new BatchStream(data.train, config.train.batch_tokens, config.seed);
    stream2.restore(ckpt.header.batchPosition as BatchPosition);
    const part2 = await losses(resumed, stream2, 2 * k);
    dispose(resumed);

    expect(part1).toEqual(straight.slice(0, k));
    expect(part2).toHaveLength(k);
    part2.forEach((loss, i) => expect(Math.abs(loss - straight[k + i])).toBeLessThan(1e-5 * Math.abs(straight[k + i])));
  });
});
