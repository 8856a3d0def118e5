/**
 * sacreBLEU 2.6.0's own test vectors (../shared/reference/sacrebleu-suite.json): one test per case.
 * The suite's `expected.score` is checked with the suite's tolerance; every other field sacreBLEU
 * computed (counts, totals, lengths exactly; precisions and BP to 1e-12 relative, because V8's
 * Math.log/Math.exp may differ from glibc's by one ulp) is checked too.
 */
import { describe, expect, it } from 'vitest';
import { bleuFromStats, corpusBleu, formatBleu, formatFixed, sentenceBleu, type BleuScore } from './bleu';
import { loadSuite, SUITE_FILE, toBleuOptions, type SuiteCase } from '../../test/fixtures/sacrebleu/vectors';

const suite = loadSuite();

function closeTo(actual: number, expected: number, rel = 1e-12): boolean {
  return actual === expected || Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300);
}

function score(c: SuiteCase): BleuScore {
  const opts = toBleuOptions(c.options);
  switch (c.kind) {
    case 'corpus':
      return corpusBleu(c.hyps, c.refs, opts);
    case 'sentence':
      // sentence_score(hyp, refs): refs[k] is the k-th reference of the single hypothesis.
      return sentenceBleu(c.hyps[0], c.refs.map((stream) => stream[0] as string), opts);
    case 'stats': {
      const s = c.stats!;
      return bleuFromStats({ correct: s.correct, total: s.total, sysLen: s.sys_len, refLen: s.ref_len }, opts);
    }
  }
}

const title = suite ? "sacreBLEU's own test vectors" : `sacreBLEU's own test vectors — skipped: ${SUITE_FILE} not found (../shared is not beside this clone)`;

describe.skipIf(suite === null)(title, () => {
  it('has the cases this file expects (corpus, sentence and stats kinds)', () => {
    const kinds = new Set(suite!.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['corpus', 'sentence', 'stats']);
    expect(suite!.length).toBeGreaterThanOrEqual(48);
  });

  for (const c of suite ?? []) {
    it(`${c.id}: ${c.kind} BLEU matches sacreBLEU`, () => {
      const s = score(c);
      if (c.tolerance === 0) expect(s.score).toBe(c.expected.score);
      else expect(Math.abs(s.score - c.expected.score)).toBeLessThanOrEqual(c.tolerance);

      if (c.expected.counts) expect(s.counts).toEqual(c.expected.counts);
      if (c.expected.totals) expect(s.totals).toEqual(c.expected.totals);
      if (c.expected.sys_len !== undefined) expect(s.sysLen).toBe(c.expected.sys_len);
      if (c.expected.ref_len !== undefined) expect(s.refLen).toBe(c.expected.ref_len);
      if (c.expected.precisions_rounded_1dp) expect(s.precisions.map((p) => Number(formatFixed(p, 1)))).toEqual(c.expected.precisions_rounded_1dp);
      if (c.expected.bp_rounded !== undefined) expect(Number(formatFixed(s.bp, 3))).toBe(c.expected.bp_rounded);
      if (c.expected.readme) expect(formatBleu(s)).toBe(c.expected.readme.slice(c.expected.readme.indexOf('BLEU = ')));

      // Everything else sacreBLEU computed for this case.
      const k = c.computed;
      expect(s.counts).toEqual(k.counts_after_smoothing ?? k.counts);
      expect(s.totals).toEqual(k.totals_after_smoothing ?? k.totals);
      expect(s.sysLen).toBe(k.sys_len);
      expect(s.refLen).toBe(k.ref_len);
      expect(s.precisions.length).toBe(k.precisions.length);
      s.precisions.forEach((p, i) => expect(closeTo(p, k.precisions[i]), `precision ${i + 1}: ${p} vs ${k.precisions[i]}`).toBe(true));
      expect(closeTo(s.bp, k.bp), `bp ${s.bp} vs ${k.bp}`).toBe(true);
      expect(closeTo(s.score, k.score), `score ${s.score} vs ${k.score}`).toBe(true);
    });
  }
});
