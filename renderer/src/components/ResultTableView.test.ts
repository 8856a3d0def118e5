// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import type { ResultTable } from '../../../contract/api';
import ResultTableView from './ResultTableView.vue';
import { formatValue, showsDelta } from '../format';

const cell = (mean: number | null, std: number | null, n: number, delta: number | null, best = false) => ({ mean, std, n, delta, best });

describe('the result table', () => {
  const table: ResultTable = {
    experiment: 'abl',
    columns: ['heads', 'PPL (dev)', 'BLEU (dev)', 'params', 'train time'],
    rows: [
      { variant: 'base', isBase: true, params: { heads: '' }, metrics: { 'PPL (dev)': cell(4.92, 0.05, 3, null, true), 'BLEU (dev)': cell(25.8, 0.31, 3, null), params: cell(65_000_000, 0, 3, null), 'train time': cell(12.34, 1, 3, null) }, seedsDone: 3, seedsExpected: 3 },
      { variant: '(A) h=1', isBase: false, params: { heads: '1' }, metrics: { 'PPL (dev)': cell(5.29, 0.1, 2, 0.37), 'BLEU (dev)': cell(24.9, null, 1, -0.9, true), params: cell(65_000_000 + 1200, 0, 2, 1200), 'train time': cell(14, 1, 2, 1.66) }, seedsDone: 2, seedsExpected: 3 },
    ],
  };
  const w = mount(ResultTableView, { props: { table } });
  const rows = w.findAll('tbody tr');

  it('shows mean ± std, the changed parameter, and Δ against base', () => {
    const cells = rows[1].findAll('td');
    expect(cells[0].text()).toBe('1');
    expect(cells[1].text()).toContain('5.29 ± 0.10');
    expect(cells[1].text()).toContain('Δ +0.37');
    expect(cells[2].text()).toContain('Δ −0.90');
    expect(cells[3].text()).toBe('65.00M');
  });
  it('counts seeds once per row, and n in a cell only where it differs from its row', () => {
    expect(w.text()).not.toContain('(n=3)');
    expect(rows[1].findAll('td')[1].text()).not.toContain('n=');
    expect(rows[1].findAll('td')[2].text()).toContain('(n=1)');
  });
  it('prints Δ only where it means something: not for a parameter change below the precision, never for train time', () => {
    expect(rows[1].findAll('td')[3].text()).not.toContain('Δ');
    expect(rows[1].findAll('td')[4].text()).toBe('14.0 ± 1.0');
  });
  it('puts units in the headings', () => {
    expect(w.findAll('thead th').map((t) => t.text())).toContain('train time (s)');
  });
  it('puts the best value of each column in bold', () => {
    expect(rows[0].findAll('td')[1].find('strong').text()).toBe('4.92 ± 0.05');
    expect(rows[1].findAll('td')[2].find('strong').text()).toBe('24.90');
    expect(w.findAll('strong').length).toBe(2);
  });
  it('flags a variant whose seeds are not all done', () => {
    expect(rows[1].find('td.warn').text()).toBe('2/3');
    expect(rows[0].find('td.warn').exists()).toBe(false);
  });
});

describe('paper number formats', () => {
  it('gives tiny models 0.03M parameters, and Δ for parameters only when it shows', () => {
    expect(formatValue('params', 30_100)).toBe('0.03M');
    expect(formatValue('params', 2_500)).toBe('2.5k');
    expect(showsDelta('params', 1200, 65_000_000)).toBe(false);
    expect(showsDelta('params', 20_000, 65_000)).toBe(true);
    expect(formatValue('params', 20_000, 65_000)).toBe('0.02M');
    expect(showsDelta('BLEU (dev)', 0.001)).toBe(true);
    expect(showsDelta('train time', 50)).toBe(false);
  });
});

/**
 * The significance numbers are sacreBLEU 2.6.0's and MultEval's on the fixture systems of
 * test/fixtures/significance (see experiments/metrics/paired-bootstrap.test.ts, command A, and
 * multeval.test.ts, reference.py): var.seed1 against base.seed1 scores 67.08 with a bootstrap mean
 * of 67.00 ± 7.85 and p = 0.000999; close.seed1 scores 55.36, 55.00 ± 8.12, p = 0.1628; pooled over
 * three seeds, var against base gives p = 9.999e-5 and close against base p = 0.6821.
 */
describe('the result table’s markers and notes, as the exports print them', () => {
  const SIGNATURE = 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0';
  const pair = (seed: number, bleu: number, mean: number, ci: number, pValue: number) => ({ seed, baseBleu: 51.32706879171798, bleu, mean, ci, lower: mean - ci, upper: mean + ci, pValue });
  // pooled: BLEU of the seeds' outputs pooled into one corpus (reference.py "arBaseVar", "arBaseClose"; base 57.614…).
  const sig = (mean: number, sDev: number, sSel: number, pValue: number, pairs: ReturnType<typeof pair>[], pooled: number) => ({
    split: 'test' as const, seeds: [1, 2, 3], mean, sDev, sSel, baseMean: 57.557622099110894, baseSDev: 5.427762614918119, baseSSel: 3.6205386977538225,
    pValue, significant: pValue < 0.05, pairs, pooled, basePooled: 57.61435544245543, bootSamples: 10000, shuffles: 10000, pairedSamples: 1000, seed: 12345,
  });
  const metrics = (bleu: number) => ({ 'BLEU (dev)': cell(bleu - 1, 1, 3, null), 'BLEU (test)': cell(bleu, 5, 3, null) });
  const table: ResultTable = {
    experiment: 'abl',
    bleuSignature: SIGNATURE,
    scoredWeights: 'mean of the last 5 checkpoints (last weights\' scores stored as *_last)',
    columns: ['heads', 'BLEU (dev)', 'BLEU (test)'],
    rows: [
      { variant: 'base', isBase: true, params: {}, metrics: metrics(57.56), seedsDone: 3, seedsExpected: 3, reusedFrom: ['wmt-base'], repeats: 2 },
      { variant: 'var', isBase: false, params: { heads: '4' }, metrics: metrics(70.33), seedsDone: 3, seedsExpected: 3, significance: sig(70.32688303710454, 5.427084867021786, 3.8863189683299115, 9.999000099990002e-5, [pair(1, 67.07625237750726, 67.00296420977631, 7.8502691508362545, 0.000999000999000999)], 70.39301809908788) },
      { variant: 'close', isBase: false, params: { heads: '16' }, metrics: metrics(56.42), seedsDone: 2, seedsExpected: 3, significance: sig(56.422190466715676, 2.9686550151697357, 3.800878866234566, 0.6821317868213179, [pair(1, 55.3607136104319, 55.00007353681978, 8.1247077396018, 0.16283716283716285)], 56.453098951004094) },
    ],
  };
  const w = mount(ResultTableView, { props: { table } });
  const row = (variant: string) => w.findAll('tbody tr').find((r) => r.find('th').text().startsWith(variant))!;
  const testCell = (variant: string) => row(variant).findAll('td')[2];

  it('marks a variant significantly different from base with * on the tested BLEU, and only there', () => {
    expect(testCell('var').find('[data-test=mark-significant]').text()).toBe('*');
    expect(w.findAll('[data-test=mark-significant]').length).toBe(1);
    expect(row('var').findAll('td')[1].text()).not.toContain('*');
  });

  it('puts the p-value, the spreads over seeds and sentences, and each seed pair’s 95% interval on hover', () => {
    const title = testCell('var').find('[data-test=significance]').attributes('title')!;
    expect(title).toContain('p = 0.0001 against base on test BLEU (significant at p < 0.05; approximate randomization, 10000 shuffles, seeds 1 2 3)');
    expect(title).toContain('BLEU mean 70.33, s_dev 5.43, s_sel 3.89; base 57.56, s_dev 5.43, s_sel 3.62');
    expect(title).toContain('paired bootstrap per seed: BLEU [95% CI] p (1000 resamples, seed 12345): s1 67.08 [59.15, 74.85] p=0.0010*');
    const close = testCell('close').find('[data-test=significance]').attributes('title')!;
    expect(close).toContain('p = 0.6821 against base on test BLEU (not significant at p < 0.05');
    expect(close).toContain('s1 55.36 [46.88, 63.12] p=0.1628');
    expect(testCell('close').find('[data-test=mark-significant]').exists()).toBe(false);
    expect(testCell('base').find('[data-test=significance]').exists()).toBe(false);
  });

  it('marks a row reused from another experiment ‡, an incomplete one †, and shows repeats of a seed as repeats', () => {
    expect(row('base').find('th').text()).toBe('base (+2 repeats of a seed, not averaged) ‡');
    expect(row('close').find('th').text()).toBe('close †');
    expect(row('var').find('th').text()).toBe('var');
  });

  it('prints the exports’ notes under the table: †, ‡, *, then the sacreBLEU signature and the scored weights', () => {
    const notes = w.findAll('[data-test=result-notes] p').map((p) => p.text());
    expect(notes).toEqual([
      '† Incomplete seed group, averaged over the finished seeds only: close (2 of 3 seeds done).',
      '‡ Reused runs (same config, trained in another experiment): base from wmt-base.',
      "* p < 0.05 against base on test BLEU: stratified approximate randomization over the seed pairs' sentences (10000 shuffles; Clark et al. 2011, MultEval's procedure; it tests the difference of the seeds' outputs pooled into one corpus, marked only where that has the sign of the difference of means); per seed pair, sacreBLEU's paired bootstrap (1000 resamples, seed 12345) in ablate export --stats and the CSV.",
      `BLEU: sacreBLEU signature ${SIGNATURE} (detokenized; the paper's BLEU is tokenized, compound-split multi-bleu, about +0.7: compare directions and deltas). Scores from: mean of the last 5 checkpoints (last weights' scores stored as *_last).`,
    ]);
    expect(w.find('[data-test=note-signature] code').text()).toBe(SIGNATURE);
    expect(w.find('[data-test=note-significance] code').text()).toBe('ablate export --stats');
  });

  it('has no notes for a table without signature, markers or tests', () => {
    const plain = mount(ResultTableView, { props: { table: { experiment: 'x', columns: ['BLEU (dev)'], rows: [{ variant: 'base', isBase: true, params: {}, metrics: { 'BLEU (dev)': cell(20, null, 1, null) }, seedsDone: 1, seedsExpected: 1 }] } } });
    expect(plain.find('[data-test=result-notes]').exists()).toBe(false);
  });
});
