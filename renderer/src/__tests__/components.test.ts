// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import type { ResultTable, RunRow, SpecPreview } from '../../../contract/api';
import SpecEditor from '../components/SpecEditor.vue';
import ResultTableView from '../components/ResultTableView.vue';
import RunQueueTable from '../components/RunQueueTable.vue';
import { UserError } from '../../../contract/errors';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function editorApi(preview: (text: string) => SpecPreview) {
  return {
    listPresets: vi.fn(async () => [{ name: 'quick', description: 'q', yaml: 'name: quick\n' }]),
    previewSpec: vi.fn(async (t: string) => preview(t)),
    enqueueSpec: vi.fn(async () => ({ experimentId: 1, queued: [1, 2], skipped: [] })),
  };
}

describe('the spec editor', () => {
  it('shows the schema’s own messages as the user types, and keeps Queue disabled', async () => {
    const api = editorApi(() => ({ ok: false, issues: ['base.heads: must be a positive integer', 'train.steps: must be a positive integer'] }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 5 } });
    await w.find('[data-test=spec-text]').setValue('name: x\nbase: { heads: -1 }');
    await wait(20);
    await flushPromises();
    expect(w.findAll('[data-test=spec-issues] li').map((li) => li.text())).toEqual(['base.heads: must be a positive integer', 'train.steps: must be a positive integer']);
    expect(w.find('[data-test=enqueue]').attributes('disabled')).toBeDefined();
  });

  it('validates once per pause in typing, not per keystroke', async () => {
    const api = editorApi(() => ({ ok: true, name: 'x', runs: [] }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 30 } });
    for (const t of ['n', 'na', 'nam', 'name']) await w.find('[data-test=spec-text]').setValue(t);
    await wait(60);
    await flushPromises();
    expect(api.previewSpec).toHaveBeenCalledTimes(1);
    expect(api.previewSpec).toHaveBeenCalledWith('name');
  });

  it('lists the expanded runs, counts duplicates, and queues with the chosen backend', async () => {
    const api = editorApi(() => ({
      ok: true,
      name: 'abl',
      runs: [
        { variant: 'base', seed: 1, hash: 'aaaaaaaaaaaa', changes: {}, duplicateOf: 7 },
        { variant: 'h=1', seed: 1, hash: 'bbbbbbbbbbbb', changes: { heads: 1 }, duplicateOf: null },
      ],
    }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 1 } });
    await w.find('[data-test=spec-text]').setValue('name: abl');
    await wait(10);
    await flushPromises();
    expect(w.findAll('[data-test=spec-runs] tbody tr').length).toBe(2);
    expect(w.find('[data-test=spec-runs]').text()).toContain('heads=1');
    expect(w.find('[data-test=spec-runs]').text()).toContain('= run #7');
    expect(w.find('[data-test=enqueue]').text()).toBe('Queue 1 run');
    await w.find('[data-test=backend]').setValue('wasm');
    await w.find('[data-test=enqueue]').trigger('click');
    await flushPromises();
    expect(api.enqueueSpec).toHaveBeenCalledWith('name: abl', { force: undefined, backend: 'wasm' });
    expect(w.emitted('queued')?.[0]).toEqual([{ experimentId: 1, queued: [1, 2], skipped: [] }]);
  });

  it('fills the editor from a preset', async () => {
    const api = editorApi(() => ({ ok: true, name: 'quick', runs: [] }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 1 } });
    await flushPromises();
    await w.find('[data-test=preset]').setValue('quick');
    expect((w.find('[data-test=spec-text]').element as HTMLTextAreaElement).value).toBe('name: quick\n');
  });

  it('shows every issue when queueing is refused', async () => {
    const api = editorApi(() => ({ ok: true, name: 'x', runs: [{ variant: 'base', seed: 1, hash: 'h', changes: {}, duplicateOf: null }] }));
    api.enqueueSpec.mockRejectedValueOnce(new UserError('bad', ['data.corpus.train: no such file']));
    const w = mount(SpecEditor, { props: { api, debounceMs: 1 } });
    await w.find('[data-test=spec-text]').setValue('name: x');
    await wait(10);
    await flushPromises();
    await w.find('[data-test=enqueue]').trigger('click');
    await flushPromises();
    expect(w.find('[data-test=enqueue-issues]').text()).toBe('data.corpus.train: no such file');
  });
});

const cell = (mean: number | null, std: number | null, n: number, delta: number | null, best = false) => ({ mean, std, n, delta, best });

describe('the result table', () => {
  const table: ResultTable = {
    experiment: 'abl',
    columns: ['heads', 'PPL (dev)', 'BLEU (dev)', 'params'],
    rows: [
      { variant: 'base', isBase: true, params: { heads: '' }, metrics: { 'PPL (dev)': cell(4.92, 0.05, 3, null, true), 'BLEU (dev)': cell(25.8, 0.31, 3, null), params: cell(65_000_000, 0, 3, null) }, seedsDone: 3, seedsExpected: 3 },
      { variant: '(A) h=1', isBase: false, params: { heads: '1' }, metrics: { 'PPL (dev)': cell(5.29, 0.1, 2, 0.37), 'BLEU (dev)': cell(24.9, null, 1, -0.9, true), params: cell(65_000_000, 0, 2, 0) }, seedsDone: 2, seedsExpected: 3 },
    ],
  };
  const w = mount(ResultTableView, { props: { table } });
  const rows = w.findAll('tbody tr');

  it('shows mean ± std with n, the changed parameter, and Δ against base', () => {
    const cells = rows[1].findAll('td');
    expect(cells[0].text()).toBe('1');
    expect(cells[1].text()).toContain('5.29 ± 0.10');
    expect(cells[1].text()).toContain('(n=2)');
    expect(cells[1].text()).toContain('Δ +0.37');
    expect(cells[2].text()).toContain('Δ −0.90');
    expect(cells[3].text()).toContain('65.00M');
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

function run(id: number, state: RunRow['state'], priority = 0): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant: 'base', seed: 1, config: {}, configHash: 'h', state, priority, backendRequested: 'auto',
    backend: state === 'queued' ? null : 'wasm', device: state === 'queued' ? null : 'CPU', step: 3, totalSteps: 10, error: state === 'failed' ? 'diverged at step 3: loss is NaN' : null,
    dataInfo: null, checkpointDir: null, params: null, createdAt: 0, startedAt: null, finishedAt: null, metrics: {},
  };
}

describe('the queue table', () => {
  const queued = [run(5, 'queued', 0), run(6, 'queued', 1), run(7, 'queued', 2)];
  const all = [...queued, run(1, 'done'), run(2, 'running'), run(3, 'failed')];
  const w = mount(RunQueueTable, { props: { queued, runs: all, progress: new Map() } });
  const btn = (label: string) => w.find(`button[aria-label="${label}"]`);

  it('lists queued runs in start order, then running, then the rest', () => {
    expect(w.findAll('tbody tr').map((r) => r.attributes('data-run'))).toEqual(['5', '6', '7', '2', '3', '1']);
  });
  it('moves a queued run one place up or down, and not past the ends', async () => {
    await btn('move run 6 up').trigger('click');
    await btn('move run 6 down').trigger('click');
    expect(w.emitted('move')!.map(([r, p]) => [(r as RunRow).id, p])).toEqual([[6, 0], [6, 2]]);
    expect(btn('move run 5 up').attributes('disabled')).toBeDefined();
    expect(btn('move run 7 down').attributes('disabled')).toBeDefined();
  });
  it('offers cancel for queued and running runs and retry for failed ones, and shows the failure', () => {
    expect(btn('cancel run 2').exists()).toBe(true);
    expect(btn('cancel run 5').exists()).toBe(true);
    expect(btn('cancel run 1').exists()).toBe(false);
    expect(btn('retry run 3').exists()).toBe(true);
    expect(btn('retry run 1').exists()).toBe(false);
    expect(w.find('tr[data-run="3"]').text()).toContain('diverged at step 3: loss is NaN');
    expect(w.find('tr[data-run="2"]').text()).toContain('wasm · CPU');
  });
  it('shows each run’s state as a badge', () => {
    expect(w.findAll('.badge').map((b) => b.text())).toEqual(['queued', 'queued', 'queued', 'running', 'failed', 'done']);
  });
});
