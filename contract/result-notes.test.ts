import { describe, expect, it } from 'vitest';
import type { ResultTable, RowSignificance } from './api';
import { directionNote, markedSignificant } from './result-notes';

// MultEval prints the mean BLEU over seeds beside a p-value that compares the seeds' outputs pooled
// into one corpus. Measured on Multi30k (table3-multi30k-cpu, 3 seeds): (A) h=1 mean 17.40 vs base
// 17.22 (+0.18), pooled 17.42 vs 17.89 (−0.47; `ablate bleu` on the concatenated test outputs), p 0.0116.
const sig = (over: Partial<RowSignificance>): RowSignificance => ({
  split: 'test', seeds: [1, 2, 3], mean: 17.40, sDev: 0.80, sSel: 0.57, baseMean: 17.22, baseSDev: 1.42, baseSSel: 0.61,
  pValue: 0.0116, significant: true, pooled: 17.42, basePooled: 17.89, pairs: [], bootSamples: 1000, shuffles: 10000, pairedSamples: 1000, seed: 12345,
  ...over,
});
const table = (rows: [string, RowSignificance | null][]): ResultTable => ({
  experiment: 'x', columns: ['BLEU (test)'],
  rows: [{ variant: 'base', isBase: true, params: {}, metrics: {}, seedsDone: 3, seedsExpected: 3 }, ...rows.map(([variant, significance]) => ({ variant, isBase: false, params: {}, metrics: {}, seedsDone: 3, seedsExpected: 3, significance }))],
});

describe('the significance marker', () => {
  it('is not put where the tested (pooled) difference and the printed difference of means disagree in sign', () => {
    expect(markedSignificant(sig({}))).toBe(false);
    expect(directionNote(table([['(A) h=1', sig({})]]))).toBe('No direction claimed (p < 0.05, but the seeds disagree): (A) h=1: mean over seeds +0.18, pooled corpus 17.42 vs 17.89 (-0.47), p 0.0116, base s_dev 1.42.');
  });

  it('is put where both differences point the same way and p < 0.05, and nowhere else', () => {
    const agree = sig({ mean: 15.29, pooled: 15.31 }); // (B) d_k=4 of the same measurement: both lower
    expect(markedSignificant(agree)).toBe(true);
    expect(markedSignificant(sig({ mean: 15.29, pooled: 15.31, pValue: 0.2, significant: false }))).toBe(false);
    expect(markedSignificant(null)).toBe(false);
    expect(directionNote(table([['(B) d_k=4', agree], ['other', null]]))).toBeNull();
  });
});
