/**
 * BLEU beyond sacreBLEU's own suite: cases computed by the real sacreBLEU 2.6.0
 * (test/fixtures/sacrebleu/sacrebleu-vectors.json, including whole Multi30k/Tatoeba test sets),
 * Python's float formatting, and cases derived by hand from the definition
 * BLEU = BP · exp((1/N) Σ log p_n), BP = exp(1 − r/c) when c < r.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { corpusBleu, formatBleu, formatFixed, sentenceBleu, type BleuScore } from './bleu';
import { loadVectors, perturb, readLines, SHARED_DATA_DIR, toBleuOptions, type ComputedScore } from '../../test/fixtures/sacrebleu/vectors';

const vectors = loadVectors();

function closeTo(actual: number, expected: number, rel = 1e-12): boolean {
  return actual === expected || Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300);
}

/** Every field sacreBLEU reported: integers exactly, floats to 1e-12 (V8's log/exp vs glibc's), the line exactly. */
function expectSameAsSacrebleu(s: BleuScore, k: ComputedScore): void {
  expect(s.counts).toEqual(k.counts);
  expect(s.totals).toEqual(k.totals);
  expect(s.sysLen).toBe(k.sys_len);
  expect(s.refLen).toBe(k.ref_len);
  expect(closeTo(s.score, k.score), `score ${s.score} vs ${k.score}`).toBe(true);
  expect(closeTo(s.bp, k.bp), `bp ${s.bp} vs ${k.bp}`).toBe(true);
  expect(closeTo(s.ratio, k.ratio!), `ratio ${s.ratio} vs ${k.ratio}`).toBe(true);
  s.precisions.forEach((p, i) => expect(closeTo(p, k.precisions[i]), `precision ${i + 1}: ${p} vs ${k.precisions[i]}`).toBe(true));
  expect(formatBleu(s)).toBe(k.line);
}

describe('BLEU cases computed by sacreBLEU 2.6.0', () => {
  for (const c of vectors.bleu_cases) {
    it(`${c.id} (${c.kind})`, () => {
      const opts = toBleuOptions(c.options);
      const s =
        c.kind === 'corpus' ? corpusBleu(c.hyps, c.refs, opts) : sentenceBleu(c.hyps[0], c.refs.map((r) => r[0] as string), opts);
      expectSameAsSacrebleu(s, c.expected);
    });
  }
});

const haveData = existsSync(SHARED_DATA_DIR);
describe.skipIf(!haveData)(
  haveData ? 'whole test sets scored like sacreBLEU 2.6.0' : `whole test sets — skipped: ${SHARED_DATA_DIR} not found`,
  () => {
    for (const c of vectors.corpus_cases) {
      it(`${c.id}: ${c.hyps.file} (${c.hyps.perturb}) against ${c.refs.map((r) => `${r.file} (${r.perturb})`).join(' + ')}`, () => {
        const hyps = perturb(readLines(c.hyps.file), c.hyps.perturb);
        const refs = c.refs.map((r) => perturb(readLines(r.file), r.perturb));
        expectSameAsSacrebleu(corpusBleu(hyps, refs, toBleuOptions(c.options)), c.expected);
      });
    }

    it('sentence BLEU of each of 200 Multi30k lines matches sacreBLEU', () => {
      const scan = vectors.sentence_scan;
      const hyps = perturb(readLines(scan.hyps.file), scan.hyps.perturb).slice(0, scan.count);
      const refs = readLines(scan.ref).slice(0, scan.count);
      const opts = toBleuOptions(scan.options);
      const ours = hyps.map((h, i) => sentenceBleu(h, [refs[i]], opts).score);
      ours.forEach((s, i) => expect(closeTo(s, scan.scores[i]), `line ${i}: ${s} vs ${scan.scores[i]}`).toBe(true));
    });
  },
);

describe("Python's f'{x:.Nf}' formatting (sacreBLEU's score line)", () => {
  it('matches Python on every recorded number, exact ties rounding half to even', () => {
    for (const c of vectors.format_cases) {
      expect([formatFixed(c.x, 1), formatFixed(c.x, 2), formatFixed(c.x, 3)], String(c.x)).toEqual([c.f1, c.f2, c.f3]);
    }
    // (0.125).toFixed(2) is '0.13' in JS; Python's '0.12' is what sacreBLEU prints.
    expect(formatFixed(0.125, 2)).toBe('0.12');
  });
});

describe('BLEU by hand from the definition', () => {
  const none = { tokenize: 'none' as const };

  it('applies the brevity penalty exp(1 − r/c) when the hypothesis is shorter', () => {
    // c = 3, r = 5; 1-, 2-, 3-gram precisions 100 %, no 4-grams (effective order 3).
    const s = corpusBleu(['a b c'], [['a b c d e']], { ...none, effectiveOrder: true });
    expect(s.bp).toBeCloseTo(Math.exp(1 - 5 / 3), 15);
    expect(s.score).toBeCloseTo(100 * Math.exp(1 - 5 / 3), 12);
    expect([s.sysLen, s.refLen]).toEqual([3, 5]);
  });

  it('gives 0 without effective order when the hypothesis has no 4-gram', () => {
    expect(corpusBleu(['a b c'], [['a b c']], none).score).toBe(0);
  });

  it('clips each n-gram by its maximum count over the references, not the sum', () => {
    // "the" ×4; ref 1 has it once, ref 2 twice → 2 matches of 4. Closest ref length to 4 is 3 → BP 1.
    const s = corpusBleu(['the the the the'], [['the cat'], ['the the dog']], { ...none, maxNgramOrder: 1 });
    expect(s.counts).toEqual([2]);
    expect(s.precisions).toEqual([50]);
    expect(s.score).toBeCloseTo(50, 12);
  });

  it('takes the shorter reference length when two are equally close', () => {
    expect(corpusBleu(['a b c d'], [['a b c d e'], ['a b c']], none).refLen).toBe(3);
    expect(corpusBleu(['a b c d'], [['a b c'], ['a b c d e']], none).refLen).toBe(3);
  });

  // "a b c d" vs "a b x d": 1-grams 3/4, 2-grams 1/3 (a b), 3-grams 0/2, 4-grams 0/1.
  const hyp = ['a b c d'];
  const ref = [['a b x d']];
  const geo = (ps: number[]): number => Math.exp(ps.reduce((a, p) => a + Math.log(p), 0) / ps.length);

  it("exp smoothing: the k-th zero precision becomes 100 / (2^k · total)", () => {
    const s = corpusBleu(hyp, ref, { ...none, smoothMethod: 'exp' });
    expect(s.precisions).toEqual([75, 100 / 3, 100 / (2 * 2), 100 / (4 * 1)]);
    expect(s.score).toBeCloseTo(geo([75, 100 / 3, 25, 25]), 12);
  });

  it('floor smoothing: a zero precision becomes 100 · ε / total', () => {
    const s = corpusBleu(hyp, ref, { ...none, smoothMethod: 'floor', smoothValue: 0.1 });
    expect(s.precisions[2]).toBeCloseTo(5, 12);
    expect(s.precisions[3]).toBeCloseTo(10, 12);
    expect(s.score).toBeCloseTo(geo([75, 100 / 3, 5, 10]), 12);
  });

  it('add-k smoothing adds k to matches and totals of orders above 1', () => {
    const s = corpusBleu(hyp, ref, { ...none, smoothMethod: 'add-k', smoothValue: 1 });
    expect(s.precisions).toEqual([75, 50, 100 / 3, 50]);
    expect(s.score).toBeCloseTo(geo([75, 50, 100 / 3, 50]), 12);
  });

  it("no smoothing: a zero precision makes the score 0", () => {
    expect(corpusBleu(hyp, ref, { ...none, smoothMethod: 'none' }).score).toBeLessThan(1e-300);
  });

  it('sums statistics over the corpus before taking the geometric mean (not an average of sentence scores)', () => {
    const a = corpusBleu(['a b c d', 'e f g h'], [['a b c d', 'e f x h']], none);
    // 1-grams 7/8, 2-grams 4/6, 3-grams 2/4, 4-grams 1/2.
    expect(a.counts).toEqual([7, 4, 2, 1]);
    expect(a.totals).toEqual([8, 6, 4, 2]);
    expect(a.score).toBeCloseTo(geo([87.5, 400 / 6, 50, 50]), 12);
  });

  it('treats refs as streams: refs[k][i] is the k-th reference of hypothesis i', () => {
    const s = corpusBleu(['x y', 'p q'], [['x y', 'nothing'], ['zzz', 'p q']], { ...none, maxNgramOrder: 2 });
    expect(s.score).toBeCloseTo(100, 12);
  });

  it('rejects a reference stream whose length differs from the hypotheses, naming it', () => {
    expect(() => corpusBleu(['a', 'b'], [['a', 'b'], ['a']])).toThrow(/reference stream 1 has 1 segments but there are 2 hypotheses/);
  });

  it('sentence BLEU defaults to exp smoothing with effective order, corpus BLEU to no effective order', () => {
    expect(sentenceBleu('a b c', ['a b c']).score).toBeCloseTo(100, 12);
    expect(corpusBleu(['a b c'], [['a b c']]).score).toBe(0);
  });

  it('prints sacreBLEU\'s line', () => {
    const s = corpusBleu(['a b c'], [['a b c d e']], { ...none, effectiveOrder: true });
    // 100·e^(−2/3) = 51.34; BP e^(−2/3) = 0.513; ratio 3/5.
    expect(formatBleu(s)).toBe('BLEU = 51.34 100.0/100.0/100.0/0.0 (BP = 0.513 ratio = 0.600 hyp_len = 3 ref_len = 5)');
  });
});
