/**
 * Clark et al. (2011) / MultEval: mean, s_dev, s_sel and stratified approximate randomization over
 * pooled seeds. Expected numbers come from test/fixtures/significance/reference.py, an independent
 * Python re-implementation of MultEval's Java (MultEvalModule, BootstrapResampler,
 * StratifiedApproximateRandomizationTest at jhclark/multeval bd93ed1) scored with sacreBLEU 2.6.0's
 * own BLEU and numpy 1.24.2's default_rng(12345), run as
 *
 *   cd test/fixtures/significance && PYTHONPATH=<sacrebleu 2.6.0 src> /usr/bin/python3 reference.py
 *
 * (Debian 12's python3 and python3-numpy). Its keys are named next to each expectation. The exact
 * p-values of tiny cases come from the same script listing every shuffle (exact_randomization).
 */
import { describe, expect, it } from 'vitest';
import { fixtureStats } from '../../test/fixtures/significance/fixtures';
import type { SegmentBleuStats } from './bleu';
import { stratifiedApproximateRandomization } from './approximate-randomization';
import { multEval, replicateSummary, sampleStddev, type ReplicateSummary } from './multeval';

const seeds = (name: string): SegmentBleuStats[] => [1, 2, 3].map((k) => fixtureStats(`${name}.seed${k}`));
const base = seeds('base');
const variant = seeds('var');
const close = seeds('close');

/** The first `n` segments of each replicate, starting at `from`. */
const slice = (runs: SegmentBleuStats[], from: number, n: number): SegmentBleuStats[] =>
  runs.map((r) => ({ ...r, count: n, data: r.data.slice(from * r.width, (from + n) * r.width) }));

function expectSummary(actual: ReplicateSummary, expected: { scores: number[]; mean: number; sDev: number | null; sSel: number; resampledMean: number }): void {
  // BLEU via V8's log/exp vs glibc's differs in the last bits; everything else is the same arithmetic.
  actual.scores.forEach((s, i) => expect(s).toBeCloseTo(expected.scores[i], 10));
  expect(actual.mean).toBeCloseTo(expected.mean, 10);
  if (expected.sDev === null) expect(actual.sDev).toBeNull();
  else expect(actual.sDev).toBeCloseTo(expected.sDev, 10);
  expect(actual.sSel).toBeCloseTo(expected.sSel, 10);
  expect(actual.resampledMean).toBeCloseTo(expected.resampledMean, 10);
}

describe('replicateSummary (MultEval runOverallEval + runBootstrapResampling)', () => {
  it('mean, s_dev and s_sel over three seeds, 10,000 resamples each', () => {
    // reference.py "summaryBase"
    expectSummary(replicateSummary(base), {
      scores: [51.32706879171798, 60.08488419796697, 61.26091330764774],
      mean: 57.557622099110894,
      sDev: 5.427762614918119,
      sSel: 3.6205386977538225,
      resampledMean: 57.48401065112263,
    });
    // reference.py "summaryVar" (var.seed3 has two empty hypotheses)
    expectSummary(replicateSummary(variant), {
      scores: [67.07625237750726, 76.59205832061099, 67.31233841319535],
      mean: 70.32688303710454,
      sDev: 5.427084867021786,
      sSel: 3.8863189683299115,
      resampledMean: 70.29809338460348,
    });
  });

  it('follows the number of resamples', () => {
    // reference.py "summaryClose" (1,000 resamples)
    expectSummary(replicateSummary(close, { bootSamples: 1000 }), {
      scores: [55.3607136104319, 59.775669187865915, 54.13018860184922],
      mean: 56.422190466715676,
      sDev: 2.9686550151697357,
      sSel: 3.800878866234566,
      resampledMean: 56.23444825407509,
    });
  });

  it('one seed: s_dev is undefined (null), s_sel still defined', () => {
    // reference.py "summaryVarSeed1"
    expectSummary(replicateSummary(variant.slice(0, 1)), {
      scores: [67.07625237750726],
      mean: 67.07625237750726,
      sDev: null,
      sSel: 4.16167011922533,
      resampledMean: 67.01142952006344,
    });
    expect(sampleStddev([3])).toBeNull();
    // Bessel's correction, as MultEval's MathUtils.variance: var([1, 2, 3, 4]) = 5/3.
    expect(sampleStddev([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 15);
  });
});

describe('stratifiedApproximateRandomization (MultEval StratifiedApproximateRandomizationTest)', () => {
  it('three seeds pooled, 10,000 shuffles', () => {
    // reference.py "arBaseClose": pooled 57.61435544245543 vs 56.453098951004094, 6821 of 10,000 exceed.
    const r = stratifiedApproximateRandomization(base, close);
    expect(r.pooledBaseline).toBeCloseTo(57.61435544245543, 10);
    expect(r.pooledSystem).toBeCloseTo(56.453098951004094, 10);
    expect(r.exceeding).toBe(6821);
    expect(r.pValue).toBe(0.6821317868213179);
    // reference.py "arBaseVar": no shuffle reaches a 12.8 BLEU gap, p = 1/10001.
    const v = stratifiedApproximateRandomization(base, variant);
    expect([v.exceeding, v.pValue]).toEqual([0, 9.999000099990002e-5]);
    expect(v.pooledSystem).toBeCloseTo(70.39301809908788, 10);
  });

  it('one and two seeds', () => {
    // reference.py "arBaseCloseOneRun": 4526 of 10,000.
    const one = stratifiedApproximateRandomization(base.slice(0, 1), close.slice(0, 1));
    expect([one.exceeding, one.pValue]).toEqual([4526, 0.45265473452654736]);
    // reference.py "arBaseCloseTwoRuns": 1274 of 2,000.
    const two = stratifiedApproximateRandomization(base.slice(0, 2), close.slice(0, 2), { shuffles: 2000 });
    expect([two.exceeding, two.pValue]).toEqual([1274, 0.6371814092953523]);
    expect(two.pooledBaseline).toBeCloseTo(55.769899885739775, 10);
    expect(two.pooledSystem).toBeCloseTo(57.6061856319958, 10);
  });

  it('converges to the exact randomization p-value on cases small enough to list every shuffle', () => {
    // reference.py "exactH3R2": 3 sentences × 2 seeds, 2^6 coin patterns × 2!^3 permutations: 32 of 512 exceed.
    // reference.py "exactH2R3": sentences 6–7 × 3 seeds, 2^6 × 3!^2 shuffles: 1374 of 2304 exceed.
    const cases = [
      { a: slice(base.slice(0, 2), 0, 3), b: slice(variant.slice(0, 2), 0, 3), exact: 32 / 512 },
      { a: slice(base, 5, 2), b: slice(variant, 5, 2), exact: 1374 / 2304 },
    ];
    const shuffles = 20000;
    for (const { a, b, exact } of cases) {
      const { pValue } = stratifiedApproximateRandomization(a, b, { shuffles });
      // Within 4 binomial standard errors of the exact value.
      expect(Math.abs(pValue - exact)).toBeLessThan(4 * Math.sqrt((exact * (1 - exact)) / shuffles));
    }
  });

  it('identical systems: p = 1 (MultEval would report 1/(shuffles + 1))', () => {
    const r = stratifiedApproximateRandomization(base, seeds('base'), { shuffles: 500 });
    expect(r.identical).toBe(true);
    expect(r.exceeding).toBe(0);
    expect(r.pValue).toBe(1);
  });

  it('rejects unequal numbers of seeds and different test sets', () => {
    expect(() => stratifiedApproximateRandomization(base, variant.slice(0, 2))).toThrow(/3 baseline replicates but 2/);
    expect(() => stratifiedApproximateRandomization(base, [variant[0], variant[1], slice([variant[2]], 0, 39)[0]])).toThrow(/40 and 39 segments/);
    expect(() => stratifiedApproximateRandomization([], [])).toThrow(/no replicates/);
  });
});

describe('multEval', () => {
  it('puts the summaries and the p-value together with MultEval defaults', () => {
    const r = multEval(base, close, { bootSamples: 1000, shuffles: 10000 });
    expect(r.pValue).toBe(0.6821317868213179); // reference.py "arBaseClose"
    expect(r.system.sSel).toBeCloseTo(3.800878866234566, 10); // reference.py "summaryClose"
    expect(r.baseline.sDev).toBeCloseTo(5.427762614918119, 10); // reference.py "summaryBase" (s_dev needs no resampling)
    expect([r.bootSamples, r.shuffles, r.seed, r.identical]).toEqual([1000, 10000, 12345, false]);
  });
});
