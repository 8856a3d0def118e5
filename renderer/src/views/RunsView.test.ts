// @vitest-environment happy-dom
/** The runs table: sort, filter, pick columns, tick rows and plot them in Compare. */
import { describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import type { RunRow } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { createCompareState } from '../stores/compare-state';
import { APP } from '../stores/context';
import { createRunsStore } from '../stores/runs';
import RunsView from './RunsView.vue';

const a = expandSpec(parseSpec({ name: 'heads', data: { task: 'synthetic-copy' }, grid: { heads: [1] } }));
const b = expandSpec(parseSpec({ name: 'drop', data: { task: 'synthetic-copy' }, variants: [{ name: 'p=0.3', dropout: 0.3 }] }));
const rows: RunRow[] = [...a.map((c) => ({ c, e: 1 })), ...b.map((c) => ({ c, e: 2 }))].map(({ c, e }, i) => ({
  id: i + 1, experimentId: e, experiment: c.config.experiment, variant: c.config.variant, seed: c.config.seed, config: c.config, configHash: c.hash, state: 'done', priority: 0,
  backendRequested: 'cpu', backend: 'cpu', device: 'cpu', step: 1, totalSteps: 1, error: null, dataInfo: null, checkpointDir: null, params: 1, createdAt: 0, startedAt: 0, finishedAt: 1,
  metrics: { valid_bleu: [50, 40, 70, 60][i] },
}));

async function mountRuns() {
  const api = {
    listRuns: async () => rows,
    listExperiments: async () => [{ id: 1, name: 'heads', spec: {}, specDir: null, createdAt: 0 }, { id: 2, name: 'drop', spec: {}, specDir: null, createdAt: 0 }],
    queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
  };
  const runs = createRunsStore(api);
  await runs.refresh();
  const went: unknown[] = [];
  const compare = createCompareState();
  const w = mount(RunsView, { global: { provide: { [APP]: { api, runs, compare, router: { go: (r: unknown) => went.push(r) }, notify: () => {} } } } });
  await flushPromises();
  return { w, compare, went };
}
const ids = (w: Awaited<ReturnType<typeof mountRuns>>['w']) => w.findAll('[data-test=runs-table] tbody tr[data-run]').map((r) => Number(r.attributes('data-run')));

describe('the runs view', () => {
  it('lists every run with its varying fields and final metrics, and sorts by a column', async () => {
    const { w } = await mountRuns();
    expect(ids(w)).toEqual([1, 2, 3, 4]);
    const heads = w.findAll('thead th').map((t) => t.text());
    expect(heads).toContain('heads');
    expect(heads).toContain('dropout');
    expect(heads).toContain('valid BLEU (beam)');
    await w.find('[data-sort="m:valid_bleu"]').trigger('click');
    expect(ids(w)).toEqual([3, 4, 1, 2]);
    await w.find('[data-sort="m:valid_bleu"]').trigger('click');
    expect(ids(w)).toEqual([2, 1, 4, 3]);
  });
  it('filters by experiment, text and a numeric range, and hides a column', async () => {
    const { w } = await mountRuns();
    await w.find('[data-test=runs-experiment]').setValue('1');
    expect(ids(w)).toEqual([1, 2]);
    await w.find('[data-test=runs-experiment]').findAll('option')[0].setValue();
    await w.find('[data-test=runs-text]').setValue('p=0.3');
    expect(ids(w)).toEqual([4]);
    await w.find('[data-test=runs-text]').setValue('');
    await w.find('[data-test=runs-range-column]').setValue('m:valid_bleu');
    await w.find('[data-test=runs-min]').setValue('55');
    expect(ids(w)).toEqual([3, 4]);
    await w.find('[data-column=seed]').setValue(false);
    expect(w.findAll('thead th').map((t) => t.text())).not.toContain('seed');
  });
  it('plots the ticked runs in Compare, across experiments', async () => {
    const { w, compare, went } = await mountRuns();
    await w.find('[aria-label="tick run 2"]').setValue(true);
    await w.find('[aria-label="tick run 4"]').setValue(true);
    await w.find('[data-test=plot-selected]').trigger('click');
    expect(compare.experimentIds).toEqual([1, 2]);
    expect(compare.runIds).toEqual([2, 4]);
    expect(went).toEqual([{ view: 'compare' }]);
  });
});
