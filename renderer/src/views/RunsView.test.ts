// @vitest-environment happy-dom
/** The runs table: sort, filter, pick columns, tick rows and plot them in Compare. */
import { describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import type { DeletionPlan, RunRow, RunSelection } from '../../../contract/api';
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

async function mountRuns(overrides: Partial<Record<'planDeletion', () => Promise<never>>> = {}) {
  // A stateful fake service: archive and delete change what listRuns answers.
  let stored: RunRow[] = rows.map((r) => ({ ...r }));
  const calls: unknown[][] = [];
  const api = {
    listRuns: async (f?: { includeArchived?: boolean }) => (f?.includeArchived ? stored : stored.filter((r) => !r.archivedAt)),
    listExperiments: async () => [{ id: 1, name: 'heads', spec: {}, specDir: null, createdAt: 0 }, { id: 2, name: 'drop', spec: {}, specDir: null, createdAt: 0 }],
    queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
    setArchived: async (sel: RunSelection, archived: boolean) => {
      calls.push(['setArchived', sel, archived]);
      if ('runIds' in sel) stored = stored.map((r) => (sel.runIds.includes(r.id) ? { ...r, archivedAt: archived ? 5 : null } : r));
    },
    planDeletion: async (sel: RunSelection): Promise<DeletionPlan> => {
      calls.push(['planDeletion', sel]);
      const ids = 'runIds' in sel ? sel.runIds : [];
      return { experiment: null, runs: stored.filter((r) => ids.includes(r.id)).map((r) => ({ id: r.id, experiment: r.experiment, variant: r.variant, seed: r.seed, state: r.state })), metricPoints: 120, hypotheses: 0, checkpointDirs: ['/c/run-2'], reusedBy: [] };
    },
    deleteRuns: async (sel: RunSelection) => {
      calls.push(['deleteRuns', sel]);
      if ('runIds' in sel) stored = stored.filter((r) => !sel.runIds.includes(r.id));
    },
    ...overrides,
  };
  const runs = createRunsStore(api);
  await runs.refresh();
  const went: unknown[] = [];
  const compare = createCompareState();
  const w = mount(RunsView, { global: { provide: { [APP]: { api, runs, compare, router: { go: (r: unknown) => went.push(r) }, notify: () => {} } } } });
  await flushPromises();
  return { w, compare, went, calls };
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
  it('archives ticked runs out of the table; "show archived" brings them back marked, and unarchive restores them', async () => {
    const { w, calls } = await mountRuns();
    await w.find('[aria-label="tick run 2"]').setValue(true);
    await w.find('[data-test=archive-ticked]').trigger('click');
    await flushPromises();
    expect(calls).toEqual([['setArchived', { runIds: [2] }, true]]);
    expect(ids(w)).toEqual([1, 3, 4]);
    await w.find('[data-test=show-archived]').setValue(true);
    expect(ids(w)).toEqual([1, 2, 3, 4]);
    expect(w.find('tr[data-run="2"] [data-test=archived-badge]').exists()).toBe(true);
    await w.find('[aria-label="tick run 2"]').setValue(true);
    await w.find('[data-test=unarchive-ticked]').trigger('click');
    await flushPromises();
    expect(calls.at(-1)).toEqual(['setArchived', { runIds: [2] }, false]);
    expect(w.find('[data-test=archived-badge]').exists()).toBe(false);
  });
  it('deletes ticked runs only after the dialog lists them and the delete button is pressed', async () => {
    const { w, calls } = await mountRuns();
    await w.find('[aria-label="tick run 2"]').setValue(true);
    await w.find('[data-test=delete-ticked]').trigger('click');
    await flushPromises();
    expect(w.find('[data-test=delete-runs]').text()).toBe('run 2 · heads · heads=1 · seed 1 · done');
    expect(w.find('[data-test=delete-dialog]').text()).toContain('120 metric points');
    await w.find('[data-test=delete-cancel]').trigger('click');
    expect(w.find('[data-test=delete-dialog]').exists()).toBe(false);
    expect(calls.some((c) => c[0] === 'deleteRuns')).toBe(false);
    expect(ids(w)).toEqual([1, 2, 3, 4]);
    await w.find('[data-test=delete-ticked]').trigger('click');
    await flushPromises();
    await w.find('[data-test=delete-confirm]').trigger('click');
    await flushPromises();
    expect(calls.at(-1)).toEqual(['deleteRuns', { runIds: [2] }]);
    expect(w.find('[data-test=delete-dialog]').exists()).toBe(false);
    expect(ids(w)).toEqual([1, 3, 4]);
  });
  it('shows the service\'s refusal in the dialog with no delete button', async () => {
    const { w } = await mountRuns({ planDeletion: () => Promise.reject(new Error('cannot delete: run 2 (base, seed 2) is running; cancel it first')) });
    await w.find('[aria-label="tick run 2"]').setValue(true);
    await w.find('[data-test=delete-ticked]').trigger('click');
    await flushPromises();
    expect(w.find('[data-test=delete-error]').text()).toBe('cannot delete: run 2 (base, seed 2) is running; cancel it first');
    expect(w.find('[data-test=delete-confirm]').exists()).toBe(false);
  });
  it('offers archive and delete for the experiment picked in the filter', async () => {
    const { w, calls } = await mountRuns();
    expect(w.find('[data-test=delete-experiment]').exists()).toBe(false);
    await w.find('[data-test=runs-experiment]').setValue('2');
    await w.find('[data-test=archive-experiment]').trigger('click');
    await flushPromises();
    expect(calls).toEqual([['setArchived', { experimentId: 2 }, true]]);
    await w.find('[data-test=runs-experiment]').setValue('1');
    await w.find('[data-test=delete-experiment]').trigger('click');
    await flushPromises();
    expect(calls.at(-1)).toEqual(['planDeletion', { experimentId: 1 }]);
  });
});
