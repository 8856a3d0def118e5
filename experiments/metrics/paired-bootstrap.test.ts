/**
 * sacreBLEU's paired bootstrap, number for number. The expected values were printed by sacreBLEU
 * 2.6.0 itself (source tree of github.com/mjpost/sacrebleu at v2.6.0-1-gf615c72, significance.py
 * unchanged since v2.6.0) run by Debian 12's /usr/bin/python3 with python3-numpy 1.24.2 and
 * sacreBLEU's other dependencies from apt, in test/fixtures/significance/:
 *
 *   A: PYTHONPATH=<sacrebleu src> python3 -m sacrebleu ref.txt -i base.seed1.txt var.seed1.txt \
 *        var.seed3.txt close.seed1.txt base.seed2.txt --paired-bs -f json   (and -f text --no-color)
 *   B: SACREBLEU_SEED=7 … -m sacrebleu ref.txt -i base.seed1.txt var.seed2.txt close.seed1.txt \
 *        --paired-bs --paired-bs-n 200 -f json
 *   C: … -m sacrebleu ref.txt -i base.seed1.txt empty.txt --paired-bs -f json
 *   D: … -m sacrebleu ref.txt -i base.seed1.txt same.txt --paired-bs -f json   (same.txt = a copy of base.seed1.txt)
 *
 * The system files are made up (make_fixtures.py); var.seed3.txt has two empty hypotheses.
 */
import { describe, expect, it } from 'vitest';
import { fixtureLines, fixtureRefs as refs, fixtureStats } from '../../test/fixtures/significance/fixtures';
import { corpusBleuStats, segmentBleuStats } from './bleu';
import { bootstrapEstimate, estimateCi, formatBootstrapEstimate, formatPValue, pairedBootstrap, type BootstrapEstimate } from './paired-bootstrap';
import { numpyMean, sumAllRows } from './resample-stats';

/** sacreBLEU's JSON result for one system (`score`, `p_value`, `mean`, `ci`). */
interface SacrebleuResult {
  score: number;
  p_value: number | null;
  mean: number;
  ci: number;
}

function expectEstimate(actual: BootstrapEstimate, expected: SacrebleuResult): void {
  // BLEU through V8's log/exp vs glibc's: equal to ~1e-13; the resampling itself is exact.
  expect(actual.score).toBeCloseTo(expected.score, 10);
  expect(actual.mean).toBeCloseTo(expected.mean, 10);
  expect(actual.ci).toBeCloseTo(expected.ci, 10);
}

// Command A, -f json.
const A = {
  base: { score: 51.32706879171798, p_value: null, mean: 51.36683124409515, ci: 6.965044235053391 },
  systems: {
    'var.seed1': { score: 67.07625237750726, p_value: 0.000999000999000999, mean: 67.00296420977631, ci: 7.8502691508362545 },
    'var.seed3': { score: 67.31233841319535, p_value: 0.003996003996003996, mean: 66.89405481526481, ci: 9.083153615734705 },
    'close.seed1': { score: 55.3607136104319, p_value: 0.16283716283716285, mean: 55.00007353681978, ci: 8.1247077396018 },
    'base.seed2': { score: 60.08488419796697, p_value: 0.04495504495504495, mean: 60.12942808498361, ci: 7.0357319931529005 },
  },
};

describe('pairedBootstrap (sacreBLEU 2.6.0 --paired-bs)', () => {
  const base = fixtureStats('base.seed1');

  it('reproduces sacreBLEU: 1,000 resamples, seed 12345 (command A)', () => {
    for (const [name, expected] of Object.entries(A.systems)) {
      const r = pairedBootstrap(base, fixtureStats(name));
      expectEstimate(r.baseline, A.base);
      expectEstimate(r.system, expected);
      expect(r.pValue, name).toBe(expected.p_value);
      expect(r.identical).toBe(false);
      expect([r.samples, r.seed]).toEqual([1000, 12345]);
    }
  });

  it('prints the cells sacreBLEU prints (command A, -f text --no-color; B uses -w 2)', () => {
    const cells = Object.keys(A.systems).map((name) => {
      const r = pairedBootstrap(base, fixtureStats(name));
      return [formatBootstrapEstimate(r.system), formatPValue(r.pValue)];
    });
    expectEstimate(bootstrapEstimate(base), A.base);
    expect(formatBootstrapEstimate(bootstrapEstimate(base))).toBe('51.3 (51.4 ± 7.0)');
    expect(cells).toEqual([
      ['67.1 (67.0 ± 7.9)', '(p = 0.0010)*'],
      ['67.3 (66.9 ± 9.1)', '(p = 0.0040)*'],
      ['55.4 (55.0 ± 8.1)', '(p = 0.1628)'],
      ['60.1 (60.1 ± 7.0)', '(p = 0.0450)*'],
    ]);
    // … -i base.seed1.txt var.seed1.txt --paired-bs --no-color -f text -w 2
    const r = pairedBootstrap(base, fixtureStats('var.seed1'));
    expect([formatBootstrapEstimate(r.baseline, 2), formatBootstrapEstimate(r.system, 2)]).toEqual(['51.33 (51.37 ± 6.97)', '67.08 (67.00 ± 7.85)']);
  });

  it('follows the seed and the number of resamples (command B)', () => {
    const opts = { seed: 7, samples: 200 };
    const baseB = { score: 51.32706879171798, p_value: null, mean: 51.592425428563786, ci: 6.92309277417192 };
    const v = pairedBootstrap(base, fixtureStats('var.seed2'), opts);
    expectEstimate(v.baseline, baseB);
    expectEstimate(v.system, { score: 76.59205832061099, p_value: 0.004975124378109453, mean: 76.1718864101533, ci: 5.02493527157668 });
    expect(v.pValue).toBe(0.004975124378109453);
    const c = pairedBootstrap(base, fixtureStats('close.seed1'), opts);
    expectEstimate(c.system, { score: 55.3607136104319, p_value: 0.17412935323383086, mean: 55.11876219800733, ci: 8.123816174821982 });
    expect(c.pValue).toBe(0.17412935323383086);
  });

  it('scores an all-empty system as 0 with no spread (command C)', () => {
    const r = pairedBootstrap(base, fixtureStats('empty'));
    expectEstimate(r.system, { score: 0, p_value: 0.000999000999000999, mean: 0, ci: 0 });
    expect(r.pValue).toBe(0.000999000999000999);
    expect(formatPValue(r.pValue)).toBe('(p = 0.0010)*');
  });

  it('gives p = 1 for identical systems, where sacreBLEU prints 0.0010* (command D)', () => {
    const r = pairedBootstrap(base, fixtureStats('base.seed1'));
    // sacreBLEU: score 51.32706879171798, mean 51.36683124409515, ci 6.965044235053391, p_value 0.000999000999000999.
    expectEstimate(r.system, { ...A.base, p_value: 0.000999000999000999 });
    expect(r.identical).toBe(true);
    expect(r.pValue).toBe(1);
    expect(formatPValue(r.pValue)).toBe('(p = 1.0000)');
  });

  it('rejects systems scored on different test sets', () => {
    const short = segmentBleuStats(fixtureLines('var.seed1').slice(1), [refs.slice(1)]);
    expect(() => pairedBootstrap(base, short)).toThrow(/40 and 39 segments/);
  });
});

describe('the pieces', () => {
  it('segment statistics add up to the corpus statistics', () => {
    const hyps = fixtureLines('var.seed3');
    const seg = segmentBleuStats(hyps, [refs]);
    const corpus = corpusBleuStats(hyps, [refs]);
    expect(seg.width).toBe(10);
    expect(Array.from(sumAllRows(seg))).toEqual([corpus.sysLen, corpus.refLen, ...corpus.correct, ...corpus.total]);
    // The empty hypothesis on line 5: length 0, nothing counted, its reference's length kept
    // ("Our neighbours are painting their house a bright shade of blue.": 11 words + the period 13a splits off).
    expect(Array.from(seg.data.subarray(4 * 10, 4 * 10 + 10))).toEqual([0, 12, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("numpy's summation order (values printed by numpy 1.24.2)", () => {
    // np.mean(np.arange(1, 20000) * 0.1) == 1000.0; a left-to-right sum gives 999.9999999999998.
    expect(numpyMean(Float64Array.from({ length: 19999 }, (_, i) => (i + 1) * 0.1))).toBe(1000);
    // Above 8192 items numpy sums chunks of 8192 pairwise: with x = [((i*7919) % 1000003 - 500000)
    // * 10.0**(i % 7) / 3 for i in range(10000)], np.mean(x) == 478272.6580999573 (one pairwise
    // sum over all 10,000 gives 478272.6581000061, left to right 478272.6581).
    const xs = Float64Array.from({ length: 10000 }, (_, i) => (((i * 7919) % 1000003) - 500000) * 10 ** (i % 7) / 3);
    expect(numpyMean(xs)).toBe(478272.6580999573);
  });

  it('estimateCi takes the 25th and 975th of 1,000 sorted scores', () => {
    const scores = Float64Array.from({ length: 1000 }, (_, i) => (i * 37) % 1000);
    expect(estimateCi(scores)).toEqual({ mean: 499.5, ci: 0.5 * (974 - 25), lower: 25, upper: 974 });
  });

  it('keeps 1,000 resamples of 3,000 segments well under a second', () => {
    const hyps = fixtureLines('var.seed1');
    const baseHyps = fixtureLines('base.seed1');
    const many = (xs: readonly string[]): string[] => Array.from({ length: 3000 }, (_, i) => xs[i % xs.length]);
    const refs3k = many(refs);
    const a = segmentBleuStats(many(baseHyps), [refs3k]);
    const b = segmentBleuStats(many(hyps), [refs3k]);
    const t0 = performance.now();
    const r = pairedBootstrap(a, b);
    const ms = performance.now() - t0;
    expect(r.pValue).toBeLessThan(0.05);
    // Typically ~0.3 s on one core; the bound leaves room for a loaded CI machine.
    expect(ms).toBeLessThan(2000);
  });
});
