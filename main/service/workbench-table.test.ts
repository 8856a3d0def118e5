/**
 * The Workbench's queueing rules that shape the result table: a changed spec under an existing
 * name is refused, a config trained in another experiment is reused in this one's table, and
 * learned positions that cannot cover a dev sentence are refused when queued.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { UserError } from '../../contract/errors';
import { tempDir } from '../../test/support/workbench';
import { parseSpecText } from './spec-edge';
import { Workbench } from './workbench';
import { RunRecorder } from './run-recorder';
import { openStore } from '../../db/store';
import { fixtureLines, fixtureRefs } from '../../test/fixtures/significance/fixtures';

let wb: Workbench | undefined;
afterEach(async () => {
  await wb?.close();
  wb = undefined;
});

let dbPath = '';
async function open(): Promise<Workbench> {
  const dir = tempDir();
  dbPath = join(dir, 'db.sqlite');
  wb = await Workbench.open({ dbPath, dataDir: join(dir, 'data'), autoStart: false });
  return wb;
}

const spec = (name: string, steps: number, variants = '') =>
  `name: ${name}\ndata: { task: synthetic-copy }\nbase: { layers: 1, d_model: 16, heads: 2, d_ff: 32 }\ntrain: { steps: ${steps}, seeds: [1] }\n${variants}`;

describe('queueing and the result table', () => {
  it('refuses a changed spec under an existing experiment name and queues nothing', async () => {
    const w = await open();
    w.enqueue({ spec: parseSpecText(spec('exp', 10)), specDir: null, source: 'text' });
    const before = (await w.listRuns()).length;
    expect(() => w.enqueue({ spec: parseSpecText(spec('exp', 20)), specDir: null, source: 'text' })).toThrow(UserError);
    expect((await w.listRuns()).length).toBe(before);
    const preview = await w.previewSpec(spec('exp', 20));
    expect(preview.ok).toBe(false);
    if (!preview.ok) expect(preview.issues).toContain('variant "base": train.steps 10 → 20');
  });

  it('warns in the preview and the enqueue result when a heads variant inherits an explicit base d_k', async () => {
    const w = await open();
    const text = 'name: warn\ndata: { task: synthetic-copy }\nbase: { layers: 1, d_model: 16, heads: 2, d_k: 8, d_v: 8, d_ff: 32 }\ntrain: { steps: 10, seeds: [1, 2] }\nvariants:\n  - { name: h4, heads: 4 }\n';
    const preview = await w.previewSpec(text);
    const expected = ["h4: heads 4 keeps the base d_k 8 and d_v 8, so h·d_k = 4·8 = 32, h·d_v = 4·8 = 32 ≠ d_model 16; the paper's rows (A) keep h·d_k = h·d_v = d_model: set d_k and d_v in this variant if that is what you mean"];
    expect(preview.ok && preview.warnings).toEqual(expected);
    expect(w.enqueue({ spec: parseSpecText(text), specDir: null, source: 'text' }).warnings).toEqual(expected);
  });

  it('shows a base trained in another experiment in this experiment\'s table', async () => {
    const w = await open();
    w.enqueue({ spec: parseSpecText(spec('first', 10)), specDir: null, source: 'text' });
    const second = w.enqueue({ spec: parseSpecText(spec('second', 10, 'variants:\n  - { name: h1, heads: 1 }\n')), specDir: null, source: 'text' });
    expect(second.skipped.map((s) => s.variant)).toEqual(['base']);
    const table = await w.resultTable(second.experimentId);
    expect(table.rows.map((r) => [r.variant, r.isBase, r.seedsExpected, r.reusedFrom])).toEqual([
      ['base', true, 1, ['first']],
      ['h1', false, 1, []],
    ]);
  });
});

describe('significance from stored hypotheses', () => {
  it('records a run\'s hypotheses and shows MultEval and sacreBLEU paired-bootstrap numbers for each variant', async () => {
    const w = await open();
    const spec3 = `name: sig\ndata: { task: synthetic-copy }\nbase: { layers: 1, d_model: 16, heads: 2, d_ff: 32 }\ntrain: { steps: 10, seeds: [1, 2, 3] }\nvariants:\n  - { name: var, heads: 1 }\n`;
    const { queued, experimentId } = w.enqueue({ spec: parseSpecText(spec3), specDir: null, source: 'text' });
    // What the run processes would report, through the recorder (test/fixtures/significance: made-up systems over 40 references).
    const store = openStore(dbPath);
    try {
      for (const id of queued) {
        const run = store.getRun(id)!;
        const rec = new RunRecorder(store, id, 0, 10, { runChanged: () => {}, metrics: () => {}, progress: () => {} });
        rec.receive({ type: 'hypotheses', split: 'test', step: 10, hypotheses: fixtureLines(`${run.variant}.seed${run.seed}`), references: fixtureRefs });
        rec.receive({ type: 'done', step: 10, metrics: { valid_bleu: 1 } });
        rec.settle({ state: 'done', step: 10, error: null });
      }
      expect(store.getHypotheses(queued[0], 'test')?.hypotheses).toEqual(fixtureLines('base.seed1'));
    } finally {
      store.close();
    }
    const table = await w.resultTable(experimentId);
    const sig = table.rows[1].significance!;
    // test/fixtures/significance/reference.py "arBaseVar", "summaryVar"; sacreBLEU 2.6.0 --paired-bs on base.seed1 vs var.seed1 (command A).
    expect([sig.split, sig.seeds, sig.pValue, sig.significant]).toEqual(['test', [1, 2, 3], 9.999000099990002e-5, true]);
    expect(sig.mean).toBeCloseTo(70.32688303710454, 10);
    expect(sig.sSel).toBeCloseTo(3.8863189683299115, 10);
    expect(sig.pairs[0].pValue).toBe(0.000999000999000999);
    expect(sig.pairs[0].ci).toBeCloseTo(7.8502691508362545, 10);
    const md = await w.exportTable(experimentId, 'md', { stats: true });
    // pooled 70.39: reference.py "arBaseVar" (the seeds' outputs as one corpus, what the AR compares).
    expect(sig.pooled).toBeCloseTo(70.39301809908788, 10);
    expect(md).toContain('| var | test | 1 2 3 | 70.33 | 5.43 | 3.89 | 70.39 | 0.0001* | s1 67.08 [');
  });
});
