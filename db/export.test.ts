import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandSpec, parseSpec } from '../contract/spec';
import type { FinalMetrics } from '../contract/metrics';
import type { RunState } from '../contract/rows';
import { buildResultTable, formatResultTable, type SignificanceTest } from './export';
import { escapeLatex } from './formats/latex';
import { openStore, type Store } from './store';

/**
 * The fixture: final metrics chosen so that means and sample standard deviations are easy to
 * compute by hand (the expected numbers below are that hand computation):
 *   base  PPL 5.0 5.2 5.4 → 5.2 ± 0.2     BLEU 20 22 27 → 23 ± √13 = 3.6056   test 19 21 23 → 21 ± 2
 *         time 100 110 120 → 110 ± 10     params 1 000 000
 *   (A)   PPL 4.5 4.9 → 4.7 ± √0.08 = 0.2828   BLEU 24 25 → 24.5 ± √0.5 = 0.7071   (3rd seed failed)
 *         time 90 96 → 93 ± √18 = 4.2426   params 1 200 000; no test BLEU
 *   (B)   PPL 6.0 (n = 1, std none)   BLEU 30   time 50   params 900 000   (2nd seed cancelled)
 */
const SPEC = {
  name: 'table3-test',
  data: { task: 'synthetic-reverse' },
  base: { d_model: 128, heads: 4 },
  train: { seeds: [1, 2, 3] },
  variants: [
    { name: '(A) h=1', heads: 1, d_k: 128, d_v: 128 },
    // heads equals base: its column stays blank for this row, as in the paper.
    { name: '(B) d_k=16 & 50%_more', d_k: 16, heads: 4 },
  ],
};

type Outcome = { state: RunState; metrics?: FinalMetrics };
const OUTCOMES: Record<string, Outcome[]> = {
  base: [
    { state: 'done', metrics: { valid_ppl: 5.0, valid_bleu: 20, test_bleu: 19, params: 1_000_000, train_seconds: 100 } },
    { state: 'done', metrics: { valid_ppl: 5.2, valid_bleu: 22, test_bleu: 21, params: 1_000_000, train_seconds: 110 } },
    { state: 'done', metrics: { valid_ppl: 5.4, valid_bleu: 27, test_bleu: 23, params: 1_000_000, train_seconds: 120 } },
  ],
  '(A) h=1': [
    { state: 'done', metrics: { valid_ppl: 4.5, valid_bleu: 24, params: 1_200_000, train_seconds: 90 } },
    { state: 'done', metrics: { valid_ppl: 4.9, valid_bleu: 25, params: 1_200_000, train_seconds: 96 } },
    { state: 'failed' },
  ],
  '(B) d_k=16 & 50%_more': [{ state: 'done', metrics: { valid_ppl: 6.0, valid_bleu: 30, params: 900_000, train_seconds: 50 } }, { state: 'cancelled' }],
};

let store: Store;
let experimentId: number;

beforeEach(() => {
  store = openStore(':memory:');
  const spec = parseSpec(SPEC);
  const exp = store.upsertExperiment(spec.name, spec, null);
  experimentId = exp.id;
  const runs = expandSpec(spec).filter((r) => r.config.seed <= OUTCOMES[r.config.variant].length);
  // Queue (A) before base on purpose: the table still puts base first, then variants by first run.
  const order = [...runs.filter((r) => r.config.variant === '(A) h=1'), ...runs.filter((r) => r.config.variant !== '(A) h=1')];
  const ids = store.insertRuns(
    exp.id,
    order.map((r) => ({ variant: r.config.variant, seed: r.config.seed, config: r.config, configHash: r.hash, backendRequested: 'cpu', totalSteps: 10 })),
  );
  order.forEach((r, i) => {
    const outcome = OUTCOMES[r.config.variant][r.config.seed - 1];
    store.updateRun(ids[i], { state: outcome.state });
    if (outcome.metrics) store.insertMetrics(ids[i], Object.entries(outcome.metrics).map(([name, value]) => ({ split: 'final', name, step: 10, value, time: 0 })));
  });
  // Another experiment's runs must not leak in.
  const other = store.upsertExperiment('other', {}, null);
  const [o] = store.insertRuns(other.id, [{ variant: 'base', seed: 1, config: runs[0].config, configHash: 'x', backendRequested: 'cpu', totalSteps: 1 }]);
  store.updateRun(o, { state: 'done' });
  store.insertMetrics(o, [{ split: 'final', name: 'valid_ppl', step: 1, value: 1, time: 0 }]);
});
afterEach(() => store.close());

describe('buildResultTable', () => {
  it('puts base first, then variants in queue order, with the changed fields before the metric columns', () => {
    const t = buildResultTable(store, experimentId);
    expect(t.experiment).toBe('table3-test');
    expect(t.rows.map((r) => r.variant)).toEqual(['base', '(A) h=1', '(B) d_k=16 & 50%_more']);
    expect(t.columns).toEqual(['heads', 'd_k', 'd_v', 'PPL (dev)', 'BLEU (dev)', 'BLEU (test)', 'params', 'train time']);
  });

  it('shows base values in full and a variant value only where it differs from base', () => {
    const [base, a, b] = buildResultTable(store, experimentId).rows;
    // base: d_k = d_v = d_model / heads = 128 / 4 = 32.
    expect(base.params).toEqual({ heads: '4', d_k: '32', d_v: '32' });
    expect(a.params).toEqual({ heads: '1', d_k: '128', d_v: '128' });
    expect(b.params).toEqual({ heads: '', d_k: '16', d_v: '' });
  });

  it('averages finished seeds with the sample standard deviation and the seed count', () => {
    const [base, a, b] = buildResultTable(store, experimentId).rows;
    const close = (got: number | null, want: number) => expect(got).toBeCloseTo(want, 10);
    close(base.metrics['PPL (dev)'].mean, 5.2);
    close(base.metrics['PPL (dev)'].std, 0.2);
    close(base.metrics['BLEU (dev)'].mean, 23);
    close(base.metrics['BLEU (dev)'].std, Math.sqrt(13));
    close(base.metrics['BLEU (test)'].std, 2);
    close(base.metrics['train time'].std, 10);
    expect(base.metrics['PPL (dev)'].n).toBe(3);
    close(a.metrics['PPL (dev)'].mean, 4.7);
    close(a.metrics['PPL (dev)'].std, Math.sqrt(0.08));
    close(a.metrics['BLEU (dev)'].std, Math.sqrt(0.5));
    close(a.metrics['train time'].std, Math.sqrt(18));
    expect(a.metrics['PPL (dev)'].n).toBe(2);
    expect(a.metrics['BLEU (test)']).toEqual({ mean: null, std: null, n: 0, delta: null, best: false });
    expect(b.metrics['PPL (dev)']).toMatchObject({ mean: 6, std: null, n: 1 });
  });

  it('gives Δ against the base mean with its sign, and none for base itself', () => {
    const [base, a, b] = buildResultTable(store, experimentId).rows;
    expect(base.metrics['PPL (dev)'].delta).toBeNull();
    expect(a.metrics['PPL (dev)'].delta).toBeCloseTo(-0.5, 10);
    expect(a.metrics['BLEU (dev)'].delta).toBeCloseTo(1.5, 10);
    expect(b.metrics['PPL (dev)'].delta).toBeCloseTo(0.8, 10);
    expect(b.metrics['BLEU (dev)'].delta).toBeCloseTo(7, 10);
    expect(a.metrics.params.delta).toBe(200_000);
    expect(b.metrics['train time'].delta).toBe(-60);
  });

  it('marks the lowest perplexity and the highest BLEU as best, and no best for cost columns', () => {
    const rows = buildResultTable(store, experimentId).rows;
    const bestOf = (label: string) => rows.filter((r) => r.metrics[label].best).map((r) => r.variant);
    expect(bestOf('PPL (dev)')).toEqual(['(A) h=1']);
    expect(bestOf('BLEU (dev)')).toEqual(['(B) d_k=16 & 50%_more']);
    expect(bestOf('BLEU (test)')).toEqual(['base']);
    expect(bestOf('params')).toEqual([]);
    expect(bestOf('train time')).toEqual([]);
  });

  it('flags a group with a failed seed as incomplete and does not count cancelled runs as expected', () => {
    const rows = buildResultTable(store, experimentId).rows;
    expect(rows.map((r) => [r.variant, r.seedsDone, r.seedsExpected])).toEqual([
      ['base', 3, 3],
      ['(A) h=1', 2, 3],
      ['(B) d_k=16 & 50%_more', 1, 1],
    ]);
  });

  it('leaves out the test BLEU column when no finished run has a test split', () => {
    const spec = parseSpec({ ...SPEC, name: 'no-test', variants: [] });
    const exp = store.upsertExperiment(spec.name, spec, null);
    const [r] = expandSpec(spec);
    const [id] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: r.config, configHash: r.hash, backendRequested: 'cpu', totalSteps: 1 }]);
    store.updateRun(id, { state: 'done' });
    store.insertMetrics(id, [{ split: 'final', name: 'valid_ppl', step: 1, value: 3, time: 0 }]);
    const t = buildResultTable(store, exp.id);
    expect(t.columns).toEqual(['PPL (dev)', 'BLEU (dev)', 'params', 'train time']);
    expect(t.rows[0].metrics['PPL (dev)']).toMatchObject({ mean: 3, std: null, n: 1, delta: null });
  });

  it('names a missing experiment', () => {
    expect(() => buildResultTable(store, 4242)).toThrow('no experiment with id 4242');
  });
});

describe('archived runs', () => {
  const runOf = (variant: string, seed: number) => store.listRuns({ experimentId }).find((r) => r.variant === variant && r.seed === seed)!.id;

  it('are left out of the table, as of every view, and counted as left out; includeArchived counts them', () => {
    // Base without seed 3: PPL 5.0, 5.2 → 5.1 ± √0.02; BLEU 20, 22 → 21 ± √2. (B) entirely archived: no row.
    store.setArchived({ runIds: [runOf('base', 3), runOf('(B) d_k=16 & 50%_more', 1), runOf('(B) d_k=16 & 50%_more', 2)] }, true);
    const t = buildResultTable(store, experimentId);
    expect(t.rows.map((r) => [r.variant, r.seedsDone, r.seedsExpected])).toEqual([
      ['base', 2, 2],
      ['(A) h=1', 2, 3],
    ]);
    expect(t.rows[0].metrics['PPL (dev)'].mean).toBeCloseTo(5.1, 12);
    expect(t.rows[0].metrics['PPL (dev)'].std).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(t.rows[0].metrics['BLEU (dev)'].std).toBeCloseTo(Math.sqrt(2), 12);
    expect(t.archivedLeftOut).toBe(3);

    const all = buildResultTable(store, experimentId, { includeArchived: true });
    expect(all.rows.map((r) => r.variant)).toEqual(['base', '(A) h=1', '(B) d_k=16 & 50%_more']);
    expect(all.rows[0].metrics['PPL (dev)'].mean).toBeCloseTo(5.2, 12);
    expect(all.archivedLeftOut).toBe(0);
  });

  it('reused from another experiment are left out too once archived there', () => {
    const spec = parseSpec({ ...SPEC, name: 'reuser', variants: [] });
    const exp = store.upsertExperiment(spec.name, spec, null);
    store.linkRuns(exp.id, [1, 2].map((seed) => ({ runId: runOf('base', seed), variant: 'base' })));
    expect(buildResultTable(store, exp.id).rows[0].seedsDone).toBe(2);
    store.setArchived({ runIds: [runOf('base', 2)] }, true);
    const t = buildResultTable(store, exp.id);
    expect(t.rows[0].seedsDone).toBe(1);
    expect(t.archivedLeftOut).toBe(1);
  });
});

/** Inserts finished runs of `spec` (every seed unless `seeds` is given) with one valid_bleu each. */
function addDone(spec: ReturnType<typeof parseSpec>, bleu: (variant: string, seed: number) => number, opts: { experimentId?: number; seeds?: number[] } = {}): number[] {
  const exp = opts.experimentId ?? store.upsertExperiment(spec.name, spec, null).id;
  const runs = expandSpec(spec).filter((r) => !opts.seeds || opts.seeds.includes(r.config.seed));
  const ids = store.insertRuns(exp, runs.map((r) => ({ variant: r.config.variant, seed: r.config.seed, config: r.config, configHash: r.hash, backendRequested: 'cpu', totalSteps: 1 })));
  ids.forEach((id, i) => {
    store.updateRun(id, { state: 'done' });
    store.insertMetrics(id, [{ split: 'final', name: 'valid_bleu', step: 1, value: bleu(runs[i].config.variant, runs[i].config.seed), time: 0 }]);
  });
  return ids;
}

describe('one config per row over distinct seeds', () => {
  it('never pools two configs stored under one variant name: each is its own row, the older one labelled by its config', () => {
    const v1 = parseSpec({ name: 'edited', data: { task: 'synthetic-copy' }, train: { steps: 100, seeds: [1, 2] } });
    const exp = store.upsertExperiment('edited', v1, null).id;
    addDone(v1, (_v, seed) => 10 + seed, { experimentId: exp });
    // The same name queued again with more steps (databases written before such a re-queue was refused).
    const v2 = parseSpec({ name: 'edited', data: { task: 'synthetic-copy' }, train: { steps: 400, seeds: [1, 2] } });
    addDone(v2, (_v, seed) => 20 + seed, { experimentId: exp });
    const t = buildResultTable(store, exp);
    expect(t.rows).toHaveLength(2);
    const [latest, older] = [t.rows.find((r) => r.variant === 'base')!, t.rows.find((r) => r.variant !== 'base')!];
    // 21, 22 → 21.5 ± √0.5; 11, 12 → 11.5 ± √0.5 (pooled, it would be 16.5 over "4 seeds").
    expect(latest.metrics['BLEU (dev)']).toMatchObject({ mean: 21.5, n: 2 });
    expect(latest.metrics['BLEU (dev)'].std).toBeCloseTo(Math.SQRT1_2, 12);
    expect(latest.isBase).toBe(true);
    expect(older.metrics['BLEU (dev)']).toMatchObject({ mean: 11.5, n: 2 });
    expect(older.variant).toMatch(/^base \[config [0-9a-f]{8}\]$/);
    expect(latest.configHash).not.toBe(older.configHash);
  });

  it('counts a --force repeat of a seed as a repeat, not as another seed', () => {
    const spec = parseSpec({ name: 'forced', data: { task: 'synthetic-copy' }, train: { seeds: [1, 2] } });
    const exp = store.upsertExperiment('forced', spec, null).id;
    addDone(spec, (_v, seed) => (seed === 1 ? 10 : 20), { experimentId: exp });
    addDone(spec, () => 40, { experimentId: exp, seeds: [1] }); // --force: seed 1 again
    const [row] = buildResultTable(store, exp).rows;
    expect(row.metrics['BLEU (dev)']).toMatchObject({ mean: 15, n: 2 });
    expect(row).toMatchObject({ seeds: [1, 2], repeats: 1, seedsDone: 2, seedsExpected: 2 });
    expect(formatResultTable(buildResultTable(store, exp), 'md')).toContain('| base (+1 repeat of a seed, not averaged) |');
  });
});

describe('derived head widths', () => {
  it('shows d_k and d_v beside a heads change: derived from d_model / heads, or inherited from an explicit base', () => {
    const derived = parseSpec({ name: 'heads-derived', data: { task: 'synthetic-copy' }, base: { d_model: 128, heads: 4 }, variants: [{ name: 'h8', heads: 8 }] });
    addDone(derived, () => 1);
    const t = buildResultTable(store, store.getExperimentByName('heads-derived')!.id);
    expect(t.columns.slice(0, 3)).toEqual(['heads', 'd_k', 'd_v']);
    expect(t.rows.map((r) => [r.variant, r.params.heads, r.params.d_k, r.params.d_v])).toEqual([
      ['base', '4', '32', '32'],
      ['h8', '8', '16', '16'],
    ]);
    const inherited = parseSpec({ name: 'heads-inherited', data: { task: 'synthetic-copy' }, base: { d_model: 128, heads: 4, d_k: 32, d_v: 32 }, variants: [{ name: 'h8', heads: 8 }] });
    addDone(inherited, () => 1);
    const u = buildResultTable(store, store.getExperimentByName('heads-inherited')!.id);
    // Blank = same as base (the paper's convention): h8 keeps d_k 32, so h·d_k = 256 ≠ 128 is visible.
    expect(u.rows.map((r) => [r.variant, r.params.heads, r.params.d_k])).toEqual([
      ['base', '4', '32'],
      ['h8', '8', ''],
    ]);
  });
});

describe('significance against base', () => {
  const fakeTest: SignificanceTest = (split, base, variant) => ({
    split,
    seeds: base.map((b) => b.seed),
    mean: variant.length,
    sDev: 0.5,
    sSel: 0.25,
    baseMean: base.length,
    baseSDev: null,
    baseSSel: 0.125,
    pValue: variant[0].outputs.hypotheses[0] === 'same' ? 0.5 : 0.001,
    significant: variant[0].outputs.hypotheses[0] !== 'same',
    pooled: variant.length,
    basePooled: base.length,
    pairs: base.map((b) => ({ seed: b.seed, baseBleu: 1, bleu: 2, mean: 2, ci: 0.5, lower: 1.5, upper: 2.5, pValue: 0.002 })),
    bootSamples: 10000,
    shuffles: 10000,
    pairedSamples: 1000,
    seed: 12345,
  });
  const refs = ['r1', 'r2'];

  function withOutputs(split: 'valid' | 'test', hyps: (variant: string) => string[] | undefined): ReturnType<typeof buildResultTable> {
    for (const r of store.listRuns({ experimentId })) {
      const h = hyps(r.variant);
      if (r.state === 'done' && h) store.setHypotheses(r.id, split, 10, h, refs);
    }
    return buildResultTable(store, experimentId, { significance: fakeTest });
  }

  it('tests each variant against base on test, over the seeds both finished with stored hypotheses, paired by seed', () => {
    const seen: number[][] = [];
    const t = buildResultTable(store, experimentId, {
      significance: (split, base, variant) => {
        seen.push([...base.map((b) => b.seed), ...variant.map((v) => v.seed)]);
        return fakeTest(split, base, variant);
      },
    });
    expect(t.rows.every((r) => !r.significance)).toBe(true); // nothing stored yet
    const u = withOutputs('test', (v) => (v === 'base' ? ['a', 'b'] : v === '(A) h=1' ? ['c', 'd'] : ['same', 'x']));
    expect(u.rows.map((r) => [r.variant, r.significance?.split, r.significance?.seeds])).toEqual([
      ['base', undefined, undefined],
      ['(A) h=1', 'test', [1, 2]],
      ['(B) d_k=16 & 50%_more', 'test', [1]],
    ]);
  });

  it('falls back to dev when no test hypotheses were stored', () => {
    const t = withOutputs('valid', (v) => (v === 'base' ? ['a', 'b'] : ['c', 'd']));
    expect(t.rows[1].significance?.split).toBe('valid');
  });

  it('marks p < 0.05 in Markdown and LaTeX with a footnote, adds the --stats table, and fills the CSV columns', () => {
    const t = withOutputs('test', (v) => (v === 'base' ? ['a', 'b'] : v === '(A) h=1' ? ['c', 'd'] : ['same', 'x']));
    const md = formatResultTable(t, 'md');
    const rowOf = (text: string, v: string) => text.split('\n').find((l) => l.startsWith(`| ${v}`))!;
    expect(rowOf(md, '(A) h=1')).toContain('| – * |'); // the BLEU (test) cell ((A) has no test_bleu metric in this fixture)
    expect(rowOf(md, '(B)')).not.toContain(' * |');
    expect(md).toContain('\\* p < 0.05 against base on test BLEU: stratified approximate randomization');
    expect(md).not.toContain('| variant | split | seeds |');
    const stats = formatResultTable(t, 'md', { stats: true });
    expect(stats).toContain('| variant | split | seeds | BLEU mean | s_dev | s_sel | pooled BLEU | p (AR) | paired bootstrap per seed: BLEU [95% CI] p |');
    expect(stats).toContain('| (A) h=1 | test | 1 2 | 2.00 | 0.50 | 0.25 | 2.00 | 0.0010* | s1 2.00 [1.50, 2.50] p=0.0020*; s2 2.00 [1.50, 2.50] p=0.0020* |');
    expect(stats).toContain('| base | test | 1 2 | 2.00 | – | 0.13 | 2.00 |  |  |');
    const tex = formatResultTable(t, 'latex', { stats: true });
    expect(tex).toContain('{\\footnotesize $^{*}$ $p < 0.05$ against base on test BLEU');
    expect(tex.split('\n').find((l) => l.startsWith('(A) h=1'))).toContain('--$^{*}$');
    expect(tex).toContain('\\begin{tabular}{lllrrrrrl}');
    const csv = parseCsv(formatResultTable(t, 'csv'));
    const col = (name: string) => csv[0].indexOf(name);
    const a = csv.find((r) => r[0] === '(A) h=1')!;
    expect([a[col('sig_split')], a[col('sig_seeds')], a[col('sig_pooled')], a[col('sig_base_pooled')], a[col('sig_p_ar')], a[col('sig_p_lt_0_05')]]).toEqual(['test', '1 2', '2', '2', '0.001', 'true']);
    expect(JSON.parse(a[col('paired_bs')])).toHaveLength(2);
    expect(csv.find((r) => r[0] === 'base')![col('sig_p_ar')]).toBe('');
  });
});

describe('formatResultTable', () => {
  it('writes Markdown as a paper would: seeds once per row, mean ± std (Δ where it means something), the best in bold, a footnote for incomplete groups', () => {
    const md = formatResultTable(buildResultTable(store, experimentId), 'md');
    const lines = md.trimEnd().split('\n');
    expect(lines[0]).toBe('| variant | seeds | heads | d_k | d_v | PPL (dev) | BLEU (dev) | BLEU (test) | params | train time |');
    expect(lines[1]).toBe('| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |');
    expect(lines[2]).toBe('| base | 3 | 4 | 32 | 32 | 5.20 ± 0.20 | 23.00 ± 3.61 | **21.00** ± 2.00 | 1.00M | 110.0s ± 10.0s |');
    // Train time is a cost of the machine, not an effect of the variant: no Δ.
    expect(lines[3]).toBe('| (A) h=1 † | 2 | 1 | 128 | 128 | **4.70** ± 0.28 (Δ -0.50) | 24.50 ± 0.71 (Δ +1.50) | – | 1.20M (Δ +0.20M) | 93.0s ± 4.2s |');
    expect(lines[4]).toBe('| (B) d_k=16 & 50%_more | 1 |  | 16 |  | 6.00 (Δ +0.80) | **30.00** (Δ +7.00) | – | 0.90M (Δ -0.10M) | 50.0s |');
    expect(lines[6]).toBe('† Incomplete seed group, averaged over the finished seeds only: (A) h=1 (2 of 3 seeds done).');
    expect(md).not.toContain('NaN');
  });

  it('writes LaTeX with booktabs rules, \\textbf for the best, $\\pm$, and escaped special characters', () => {
    const tex = formatResultTable(buildResultTable(store, experimentId), 'latex');
    const lines = tex.trimEnd().split('\n');
    expect(lines.indexOf('\\toprule')).toBeLessThan(lines.indexOf('\\midrule'));
    expect(lines.indexOf('\\midrule')).toBeLessThan(lines.indexOf('\\bottomrule'));
    expect(lines).toContain('\\begin{tabular}{lrcccrrrrr}');
    expect(lines).toContain('Variant & Seeds & heads & d\\_k & d\\_v & PPL (dev) & BLEU (dev) & BLEU (test) & params & train time \\\\');
    const a = lines.find((l) => l.startsWith('(A) h=1'))!;
    expect(a.startsWith('(A) h=1$^\\dagger$ & 2 & 1 & 128 & 128 & \\textbf{4.70} $\\pm$ 0.28 {\\scriptsize ($\\Delta$ $-0.50$)} & 24.50 $\\pm$ 0.71')).toBe(true);
    const b = lines.find((l) => l.startsWith('(B)'))!;
    expect(b.startsWith('(B) d\\_k=16 \\& 50\\%\\_more & 1 &  & 16 &  & 6.00 {\\scriptsize ($\\Delta$ $+0.80$)} & \\textbf{30.00} {\\scriptsize')).toBe(true);
    // Every data line has as many cells as the column spec.
    for (const l of lines.filter((x) => x.endsWith('\\\\'))) expect(l.split(/(?<!\\)&/).length).toBe(10);
    expect(tex).toContain('$^\\dagger$ Incomplete seed group, averaged over the finished seeds only: (A) h=1 (2 of 3 seeds done).');
  });

  it('escapes every LaTeX special character exactly once', () => {
    expect(escapeLatex('a_b%c&d#e$f{g}h~i^j\\k')).toBe('a\\_b\\%c\\&d\\#e\\$f\\{g\\}h\\textasciitilde{}i\\textasciicircum{}j\\textbackslash{}k');
    expect(escapeLatex('(A) h=1')).toBe('(A) h=1');
  });

  it('writes CSV with separate mean, std, n and delta columns at full precision', () => {
    const csv = parseCsv(formatResultTable(buildResultTable(store, experimentId), 'csv'));
    const header = csv[0];
    const get = (variant: string, col: string) => csv.find((r) => r[0] === variant)![header.indexOf(col)];
    expect(header.slice(0, 5)).toEqual(['variant', 'is_base', 'heads', 'd_k', 'd_v']);
    expect(header).toContain('valid_ppl_std');
    expect(header.slice(header.indexOf('seeds_done'), header.indexOf('seeds_done') + 8)).toEqual(['seeds_done', 'seeds_expected', 'complete', 'seeds', 'repeats', 'config_hash', 'reused_from', 'bleu_signature']);
    expect(get('base', 'seeds')).toBe('1 2 3');
    expect(get('base', 'repeats')).toBe('0');
    expect(Number(get('base', 'valid_bleu_std'))).toBeCloseTo(Math.sqrt(13), 12);
    expect(Number(get('(A) h=1', 'valid_ppl_mean'))).toBeCloseTo(4.7, 12);
    expect(Number(get('(A) h=1', 'valid_ppl_delta'))).toBeCloseTo(-0.5, 12);
    expect(get('(A) h=1', 'valid_ppl_best')).toBe('true');
    expect(get('(A) h=1', 'complete')).toBe('false');
    expect(get('(A) h=1', 'test_bleu_mean')).toBe('');
    expect(get('(A) h=1', 'test_bleu_n')).toBe('0');
    expect(get('(B) d_k=16 & 50%_more', 'valid_ppl_std')).toBe('');
    expect(get('(B) d_k=16 & 50%_more', 'heads')).toBe('');
    expect(get('base', 'valid_ppl_delta')).toBe('');
    expect(csv.every((r) => r.length === header.length)).toBe(true);
  });

  it('quotes CSV fields holding commas and quotes (grid cell names)', () => {
    const csv = formatResultTable(
      { experiment: 'g', columns: ['heads', 'PPL (dev)'], rows: [{ variant: 'heads=1, d_k="x"', isBase: false, params: { heads: '1' }, metrics: {}, seedsDone: 0, seedsExpected: 1 }] },
      'csv',
    );
    expect(parseCsv(csv)[1].slice(0, 3)).toEqual(['heads=1, d_k="x"', 'false', '1']);
  });

  it('puts sacreBLEU\'s signature under every table: Markdown line, LaTeX footnote, CSV column, and the data for the UI', () => {
    const sig = 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0';
    const t = buildResultTable(store, experimentId);
    expect(t.bleuSignature).toBe(sig);
    expect(formatResultTable(t, 'md')).toContain(`BLEU: sacreBLEU signature \`${sig}\``);
    expect(formatResultTable(t, 'latex')).toContain('{\\footnotesize BLEU: sacreBLEU signature \\texttt{nrefs:1\\textbar{}case:mixed\\textbar{}eff:no\\textbar{}tok:13a\\textbar{}smooth:exp\\textbar{}version:2.6.0}');
    const csv = parseCsv(formatResultTable(t, 'csv'));
    expect(csv.slice(1).map((r) => r[csv[0].indexOf('bleu_signature')])).toEqual([sig, sig, sig]);
  });

  it('rejects an unknown format by name', () => {
    expect(() => formatResultTable(buildResultTable(store, experimentId), 'html' as never)).toThrow('unknown export format "html"');
  });
});

/** RFC 4180 reader (quoted fields, doubled quotes), the reference the CSV output must satisfy. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else if (ch !== '\r') field += ch;
  }
  if (field || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}
