import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs'; // gradient registrations (Reshape …), as train/loss.test.ts does
import { afterAll, describe, expect, it } from 'vitest';
import type { RunConfig } from '../../../contract/spec';
import { createModel } from '../../model/transformer';
import { randomBatch, tinyConfig, useBackend } from '../../../test/support/model';
import { readCheckpoint, restoreTrainer, saveCheckpoint } from '../../train/checkpoint';
import { Trainer } from '../../train/loop';
import { acquireGpu } from '../runtime/gpu';
import { restoreFused, saveFusedCheckpoint } from './checkpoint';
import { FusedTransformer } from './engine';

const VOCAB = 23;
const dir = mkdtempSync(join(tmpdir(), 'fused-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = tinyConfig({ norm: 'pre', positional: 'learned' });
const options = { warmup: 4, lrFactor: 1, clipNorm: 1, labelSmoothing: 0.1, seed: 2 };
const b = randomBatch([7, 4, 6], [5, 6, 3], VOCAB, 51);
const batch = {
  size: 3, srcLen: b.src[0].length, tgtLen: b.tgtIn[0].length, src: Int32Array.from(b.src.flat()), tgtIn: Int32Array.from(b.tgtIn.flat()), tgtOut: Int32Array.from(b.tgtOut.flat()),
  targetTokens: b.tgtOut.flat().filter((x) => x !== 0).length,
};
const meta = { config: { experiment: 'fused-test' } as unknown as RunConfig, batchPosition: null, tokenizers: { src: null, tgt: null, shared: true }, vocab: { src: VOCAB, tgt: VOCAB } };

async function engineFor(): Promise<FusedTransformer> {
  return new FusedTransformer(await acquireGpu(), config, VOCAB, VOCAB, { batch: 3, srcLen: batch.srcLen, tgtLen: batch.tgtLen }, { labelSmoothing: options.labelSmoothing, clipNorm: options.clipNorm, seed: options.seed });
}

describe('checkpoints shared between the fused and the tfjs engine', () => {
  it('a tfjs checkpoint resumes on the fused engine, and a fused checkpoint resumes on tfjs, on the same curve', async () => {
    await useBackend('cpu');
    // tfjs: 2 steps, checkpoint, then a 3rd step as the reference continuation.
    const model = createModel(config, VOCAB, VOCAB, 4);
    const trainer = new Trainer(model, options);
    trainer.trainStep(batch);
    trainer.trainStep(batch);
    const fromTfjs = join(dir, 'tfjs.ckpt');
    await saveCheckpoint(fromTfjs, { trainer, ...meta });
    const lr3 = trainer.nextLearningRate();
    const tfjsStep3 = trainer.trainStep(batch).loss;
    const tfjsWeights = new Map(model.variables.map((v) => [v.name, v.dataSync().slice() as Float32Array]));
    model.dispose();
    trainer.optimizer.dispose();

    // fused resumes from the tfjs checkpoint: same step-3 loss and weights.
    const engine = await engineFor();
    restoreFused(engine, readCheckpoint(fromTfjs));
    expect(engine.step).toBe(2);
    const fusedStep3 = await (await engine.trainStep(batch, lr3)).loss;
    expect(Math.abs(fusedStep3 - tfjsStep3)).toBeLessThan(1e-4);
    const fusedWeights = await engine.readSlab('params');
    for (const [name, want] of tfjsWeights) {
      const got = fusedWeights.get(name)!;
      const scale = Math.sqrt(want.reduce((a, x) => a + x * x, 0) / want.length);
      // One Adam step from identical state: float32 differences only (≤ lr per weight for near-zero gradients).
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-3 * (Math.abs(want[i]) + scale));
    }

    // fused checkpoint (at step 3) resumes on a fresh tfjs trainer: state equal, and its step 4 matches fused step 4.
    const fromFused = join(dir, 'fused.ckpt');
    await saveFusedCheckpoint(fromFused, engine, meta);
    const ckpt = readCheckpoint(fromFused);
    expect(ckpt.header.step).toBe(3);
    const model2 = createModel(config, VOCAB, VOCAB, 99); // different init: everything must come from the file
    const trainer2 = new Trainer(model2, options);
    restoreTrainer(trainer2, ckpt);
    expect(trainer2.step).toBe(3);
    for (const v of model2.variables) expect(Array.from(v.dataSync())).toEqual(Array.from(fusedWeights.get(v.name)!));
    const lr4 = trainer2.nextLearningRate();
    const tfjsStep4 = trainer2.trainStep(batch).loss;
    const fusedStep4 = await (await engine.trainStep(batch, lr4)).loss;
    expect(Math.abs(fusedStep4 - tfjsStep4)).toBeLessThan(1e-4);
    model2.dispose();
    trainer2.optimizer.dispose();
    engine.plan.destroy();
  });
});
