import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createModel } from '../model/transformer';
import { checkpointFileName, saveCheckpoint } from '../train/checkpoint';
import { Trainer } from '../train/loop';
import { tinyConfig, useBackend } from '../../test/support/model';
import { BLEU_SIGNATURE } from '../../contract/api';
import { CORPUS_BLEU_DEFAULTS, SENTENCE_BLEU_DEFAULTS } from '../metrics/bleu';
import { fixtureLines, fixtureRefs } from '../../test/fixtures/significance/fixtures';
import { averageCheckpoints, bleuSignature, compareReplicates } from './evaluate';

describe('BLEU signature', () => {
  it('is sacreBLEU 2.x\'s signature of the BLEU the runs compute, and the one every table shows', () => {
    // `sacrebleu -m bleu` with defaults prints "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0" (sacreBLEU 2.6.0 README / --signature).
    expect(bleuSignature(CORPUS_BLEU_DEFAULTS)).toBe('nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0');
    expect(BLEU_SIGNATURE).toBe(bleuSignature());
    // sentence BLEU uses effective order, and sacreBLEU's signature says so.
    expect(bleuSignature(SENTENCE_BLEU_DEFAULTS)).toBe('nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0');
    expect(bleuSignature({ ...CORPUS_BLEU_DEFAULTS, lowercase: true, tokenize: 'intl' })).toBe('nrefs:1|case:lc|eff:no|tok:intl|smooth:exp|version:2.6.0');
  });
});

describe('compareReplicates: a variant against the base over seeds and sentences', () => {
  const rep = (name: string, seed: number) => ({ seed, outputs: { hypotheses: fixtureLines(`${name}.seed${seed}`), references: fixtureRefs } });
  it('gives MultEval\'s mean, s_dev, s_sel and AR p, and sacreBLEU\'s paired bootstrap per seed pair', () => {
    const r = compareReplicates('test', [1, 2, 3].map((s) => rep('base', s)), [1, 2, 3].map((s) => rep('var', s)));
    // test/fixtures/significance/reference.py "summaryVar", "summaryBase", "arBaseVar" (MultEval procedure, sacreBLEU 2.6.0 BLEU, numpy 1.24 default_rng(12345)).
    expect(r.mean).toBeCloseTo(70.32688303710454, 10);
    expect(r.sDev).toBeCloseTo(5.427084867021786, 10);
    expect(r.sSel).toBeCloseTo(3.8863189683299115, 10);
    expect(r.baseMean).toBeCloseTo(57.557622099110894, 10);
    expect(r.baseSDev).toBeCloseTo(5.427762614918119, 10);
    expect(r.baseSSel).toBeCloseTo(3.6205386977538225, 10);
    expect(r.pValue).toBe(9.999000099990002e-5);
    expect(r.significant).toBe(true);
    // What the AR compares: each system's seeds pooled into one corpus (reference.py "arBaseVar", "arBaseClose").
    expect(r.pooled).toBeCloseTo(70.39301809908788, 10);
    expect(r.basePooled).toBeCloseTo(57.61435544245543, 10);
    // sacreBLEU 2.6.0 `sacrebleu ref.txt -i base.seed1.txt var.seed1.txt --paired-bs -f json` (paired-bootstrap.test.ts, command A).
    const [p1] = r.pairs;
    expect(p1.seed).toBe(1);
    expect(p1.baseBleu).toBeCloseTo(51.32706879171798, 10);
    expect(p1.bleu).toBeCloseTo(67.07625237750726, 10);
    expect(p1.mean).toBeCloseTo(67.00296420977631, 10);
    expect(p1.ci).toBeCloseTo(7.8502691508362545, 10);
    expect(p1.pValue).toBe(0.000999000999000999);
    expect(r.pairs.map((p) => p.seed)).toEqual([1, 2, 3]);
    expect([r.bootSamples, r.shuffles, r.pairedSamples, r.seed]).toEqual([10000, 10000, 1000, 12345]);
  });

  it('is not significant for a close system (AR p = 0.68 over three seeds)', () => {
    // reference.py "arBaseClose".
    const r = compareReplicates('valid', [1, 2, 3].map((s) => rep('base', s)), [1, 2, 3].map((s) => rep('close', s)));
    expect(r.pValue).toBe(0.6821317868213179);
    expect(r.significant).toBe(false);
  });
});

describe('averageCheckpoints', () => {
  it('loads the element-wise mean of the newest K checkpoints into the model', async () => {
    await useBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'ablate-average-'));
    const model = createModel(tinyConfig({}), 12, 12, 1);
    const trainer = new Trainer(model, { warmup: 4, lrFactor: 1, clipNorm: 0, labelSmoothing: 0, seed: 1 });
    try {
      const v = model.variables[0];
      const save = async (step: number, fill: (i: number) => number) => {
        v.assign(tf.tensor(Float32Array.from({ length: v.size }, (_, i) => fill(i)), v.shape));
        await saveCheckpoint(join(dir, checkpointFileName(step)), { trainer, config: {} as never, batchPosition: {}, tokenizers: { src: null, tgt: null, shared: true }, vocab: { src: 12, tgt: 12 } });
      };
      await save(1, () => 100); // oldest: not among the newest 2
      await save(2, (i) => i);
      await save(3, (i) => 3 * i + 1);
      const r = averageCheckpoints(model, dir, 2);
      // Steps come from the checkpoint headers (the trainer's step, 0 here: no optimizer step was taken).
      expect(r).toEqual({ steps: [0, 0], skipped: [] });
      // (i + 3i + 1) / 2 = 2i + 0.5
      expect(Array.from(v.dataSync())).toEqual(Array.from({ length: v.size }, (_, i) => 2 * i + 0.5));
    } finally {
      trainer.dispose();
      model.dispose();
      tf.disposeVariables();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
