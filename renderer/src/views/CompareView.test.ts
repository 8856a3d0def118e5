// @vitest-environment happy-dom
/** Compare's curve chart on the "tokens seen" axis: recorded train/tokens_seen first, the estimate only for runs without it. */
import { describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import { flushPromises, mount } from '@vue/test-utils';
import type { MetricQuery, MetricSeries, RunRow } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { APP } from '../stores/context';
import { createCompareState } from '../stores/compare-state';
import { createMetricsStore } from '../stores/metrics';
import { createRunsStore } from '../stores/runs';
import CompareView from './CompareView.vue';

// Two seeds of one variant at 100 target tokens per batch; run 2 was recorded before the engine logged tokens_seen.
const [seed1, seed2] = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' }, train: { seeds: [1, 2], batch_tokens: 100 } }));
function run(id: number, config: RunRow['config']): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant: config.variant, seed: config.seed, config, configHash: `h${id}`, state: 'done', priority: 0, backendRequested: 'cpu',
    backend: 'cpu', device: 'cpu', step: 20, totalSteps: 20, error: null, dataInfo: null, checkpointDir: null, params: 100, createdAt: 0, startedAt: 0, finishedAt: 1, metrics: {},
  };
}
const STORED: MetricSeries[] = [
  { runId: 1, split: 'train', name: 'loss', steps: [10, 20], values: [3, 2], times: [1000, 2000] },
  { runId: 1, split: 'valid', name: 'valid_bleu', steps: [10, 20], values: [20, 70], times: [1000, 2000] },
  { runId: 1, split: 'train', name: 'tokens_seen', steps: [10, 20], values: [900, 2100], times: [1000, 2000] },
  { runId: 2, split: 'train', name: 'loss', steps: [10, 20], values: [4, 3], times: [1000, 2000] },
];

/** A stand-in for ChartPanel that keeps the option it was given. */
const Chart = defineComponent({ name: 'ChartPanel', props: ['option', 'title', 'fileName', 'empty', 'height'], setup: () => () => h('div') });

async function mountCompare(hash = '') {
  const queries: MetricQuery[] = [];
  const api = {
    listRuns: async () => [run(1, seed1.config), run(2, seed2.config)],
    listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
    queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
    getMetricKeys: async (ids: readonly number[]) => [...new Set(STORED.filter((s) => ids.includes(s.runId)).map((s) => `${s.split}/${s.name}`))],
    getMetrics: async (q: MetricQuery) => (queries.push(q), STORED.filter((s) => q.runIds.includes(s.runId) && (!q.names || q.names.includes(s.name)))),
    resultTable: async () => ({ experiment: 'e', columns: [], rows: [] }),
  };
  const runs = createRunsStore(api);
  await runs.refresh();
  const compare = createCompareState(hash);
  const app = { api, runs, metrics: createMetricsStore(api), compare, router: { go: () => {} }, notify: (m: string) => void m };
  const w = mount(CompareView, { global: { provide: { [APP]: app }, stubs: { ChartPanel: Chart } } });
  await flushPromises();
  return { w, queries, compare, runs };
}

function curves(w: Awaited<ReturnType<typeof mountCompare>>['w']) {
  const option = w.findAllComponents(Chart).find((c) => c.props('fileName') === 'compare-curves')!.props('option');
  return { xName: option.xAxis.name as string, series: option.series as { name: string; data: [number, number][] }[] };
}

describe('the compare view on the tokens-seen axis', () => {
  it('plots the recorded train/tokens_seen and says which runs fall back to step × batch_tokens', async () => {
    const { w, queries } = await mountCompare();
    await w.find('[data-test=group]').setValue(false);
    await w.find('[data-test=smoothing]').setValue('0');
    await w.find('input[name=xaxis][value=tokens]').setValue(true);
    await flushPromises();
    expect(queries.at(-1)?.names).toContain('tokens_seen');
    const { xName, series } = curves(w);
    // Run 1 on its recorded counts, run 2 on the estimate (steps 10, 20 × 100 tokens).
    expect(series.find((s) => s.name.startsWith('#1 '))!.data).toEqual([[900, 3], [2100, 2]]);
    expect(series.find((s) => s.name.startsWith('#2 '))!.data).toEqual([[1000, 4], [2000, 3]]);
    expect(xName).toContain('≈ step × batch_tokens');
    expect(xName).toContain('#2');
    expect(xName).not.toContain('#1');
  });

  it('keeps the axis title plain when every run recorded tokens seen', async () => {
    const { w } = await mountCompare();
    await w.find('input[name=xaxis][value=tokens]').setValue(true);
    await w.findAll('label.run input')[1].setValue(false);
    await flushPromises();
    expect(curves(w).xName).toBe('target tokens seen');
  });
});

describe('smoothing in compare', () => {
  it('smooths training curves by default but draws evaluation curves as measured', async () => {
    const { w, compare } = await mountCompare();
    await w.find('[data-test=group]').setValue(false);
    await flushPromises();
    const loss = curves(w).series;
    expect(loss.find((s) => s.name === '#1 base s1 raw')!.data).toEqual([[10, 3], [20, 2]]);
    expect(loss.find((s) => s.name === '#1 base s1')!.data.at(-1)![1]).not.toBe(2);
    compare.metric = 'valid/valid_bleu';
    await flushPromises();
    const bleu = curves(w).series;
    expect(bleu.find((s) => s.name === '#1 base s1')!.data).toEqual([[10, 20], [20, 70]]);
    expect(bleu.some((s) => s.name.endsWith(' raw'))).toBe(false);
    expect(w.find('[data-test=smoothing-note]').exists()).toBe(true);
    await w.find('[data-test=smooth-eval]').setValue(true);
    expect(curves(w).series.find((s) => s.name === '#1 base s1')!.data.at(-1)![1]).toBeLessThan(70);
  });
  it('takes its state from the URL (metric, grouping, log y) and puts units on the axis', async () => {
    const { w } = await mountCompare('#/compare?m=valid/valid_bleu&grp=0&log=1');
    const option = w.findAllComponents(Chart).find((c) => c.props('fileName') === 'compare-curves')!.props('option');
    expect(option.yAxis).toMatchObject({ type: 'log', name: 'valid BLEU (0–100)' });
    expect(curves(w).series.map((s) => s.name)).toContain('#1 base s1');
  });
});

describe('a run that has just started', () => {
  it('gets its curve once it records points: the metric keys are asked again as progress arrives', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const started = { ...run(1, seed1.config), state: 'running' as const, finishedAt: null };
      let recorded: string[] = [];
      const api = {
        listRuns: async () => [started],
        listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
        queueStatus: async () => ({ paused: false, slots: 1, running: [1] }),
        getMetricKeys: async () => recorded,
        // Only what the run has recorded so far (the loss is asked for before the keys say so).
        getMetrics: async (q: MetricQuery) => STORED.filter((s) => q.runIds.includes(s.runId) && (!q.names || q.names.includes(s.name)) && recorded.includes(`${s.split}/${s.name}`)),
        resultTable: async () => ({ experiment: 'e', columns: [], rows: [] }),
      };
      const runs = createRunsStore(api);
      await runs.refresh();
      const app = { api, runs, metrics: createMetricsStore(api), compare: createCompareState(), router: { go: () => {} }, notify: () => {} };
      const w = mount(CompareView, { global: { provide: { [APP]: app }, stubs: { ChartPanel: Chart } } });
      await flushPromises();
      expect(w.find('[data-test=compare-metric]').findAll('option')).toHaveLength(0);
      recorded = ['train/loss'];
      vi.setSystemTime(Date.now() + 5000);
      // What the server pushes as the run records: its points and its progress.
      app.metrics.applyPoints([{ runId: 1, split: 'train', name: 'loss', step: 10, value: 3, time: 1000 }]);
      runs.applyEvent({ type: 'progress', runId: 1, step: 10, totalSteps: 20, loss: 3, tokensPerSecond: 1, etaSeconds: 1 });
      await flushPromises();
      expect(app.compare.metric).toBe('train/loss');
      expect(curves(w).series.map((s) => s.name)).toContain('base (n=1)');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a shared URL', () => {
  it('keeps the experiments it names while the lists load (a reload used to throw in setup)', async () => {
    const api = {
      listRuns: async () => [run(1, seed1.config), run(2, seed2.config)],
      listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
      queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
      getMetricKeys: async () => ['train/loss'],
      getMetrics: async (q: MetricQuery) => STORED.filter((s) => q.runIds.includes(s.runId) && (!q.names || q.names.includes(s.name))),
      resultTable: async () => ({ experiment: 'e', columns: [], rows: [] }),
    };
    const runs = createRunsStore(api);
    const compare = createCompareState('#/compare?e=1&r=2');
    const w = mount(CompareView, { global: { provide: { [APP]: { api, runs, metrics: createMetricsStore(api), compare, router: { go: () => {} }, notify: () => {} } }, stubs: { ChartPanel: Chart } } });
    expect(compare.experimentIds).toEqual([1]);
    await runs.refresh();
    await flushPromises();
    expect(compare.experimentIds).toEqual([1]);
    expect(w.findAll('label.run input').map((i) => (i.element as HTMLInputElement).checked)).toEqual([false, true]);
  });
});

describe('small multiples and the config diff', () => {
  it('draws an added metric beside the first, each with its own units', async () => {
    const { w, compare } = await mountCompare('#/compare?m=train/loss&mm=valid/valid_bleu');
    await flushPromises();
    const panels = w.findAllComponents(Chart).filter((c) => String(c.props('fileName')).startsWith('compare-'));
    expect(panels.map((c) => c.props('fileName'))).toEqual(['compare-curves', 'compare-valid/valid_bleu']);
    expect(panels[1].props('option').yAxis.name).toBe('valid BLEU (0–100)');
    compare.extraMetrics = [];
    await flushPromises();
    expect(w.findAllComponents(Chart).filter((c) => String(c.props('fileName')).startsWith('compare-'))).toHaveLength(1);
  });
  it('diffs two runs of one config as the same config', async () => {
    const { w } = await mountCompare();
    expect(w.find('[data-test=config-diff-two]').text()).toContain('Same config but for experiment, variant and seed.');
  });
});

describe('while a run streams', () => {
  it('keeps the final-metric charts as they are when only a training run’s step moves', async () => {
    const { w, runs } = await mountCompare();
    const bars = () => w.findAllComponents(Chart).find((c) => c.props('fileName') === 'final-bleu')!.props('option');
    const before = bars();
    const row = runs.runs.value[0];
    runs.mergeRuns([{ ...row, step: row.step + 1 }]);
    await flushPromises();
    expect(bars()).toBe(before);
    runs.mergeRuns([{ ...row, metrics: { valid_bleu: 30 } }]);
    await flushPromises();
    expect(bars()).not.toBe(before);
  });
});

describe('loading order', () => {
  it('asks for the curves before the result table (one server answers them in turn)', async () => {
    const calls: string[] = [];
    const api = {
      listRuns: async () => [run(1, seed1.config)],
      listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
      queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
      getMetricKeys: async () => (calls.push('keys'), ['train/loss']),
      getMetrics: async (q: MetricQuery) => (calls.push('metrics'), STORED.filter((s) => q.runIds.includes(s.runId))),
      resultTable: async () => (calls.push('table'), { experiment: 'e', columns: [], rows: [] }),
    };
    const runs = createRunsStore(api);
    await runs.refresh();
    mount(CompareView, { global: { provide: { [APP]: { api, runs, metrics: createMetricsStore(api), compare: createCompareState(), router: { go: () => {} }, notify: () => {} } }, stubs: { ChartPanel: Chart } } });
    await flushPromises();
    await flushPromises();
    expect(calls).toEqual(['keys', 'metrics', 'table']);
  });

  /** Compare over runs 1 and 2 whose metric keys answer only when the test says. */
  async function mountWithSlowKeys(stored = STORED) {
    let answerKeys: (keys: string[]) => void = () => {};
    const queries: MetricQuery[] = [];
    const api = {
      listRuns: async () => [run(1, seed1.config), run(2, seed2.config)],
      listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
      queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
      getMetricKeys: () => new Promise<string[]>((ok) => (answerKeys = ok)),
      getMetrics: async (q: MetricQuery) => (queries.push(q), stored.filter((s) => q.runIds.includes(s.runId) && (!q.names || q.names.includes(s.name)))),
      resultTable: async () => ({ experiment: 'e', columns: [], rows: [] }),
    };
    const runs = createRunsStore(api);
    await runs.refresh();
    const compare = createCompareState();
    const w = mount(CompareView, { global: { provide: { [APP]: { api, runs, metrics: createMetricsStore(api), compare, router: { go: () => {} }, notify: () => {} } }, stubs: { ChartPanel: Chart } } });
    await flushPromises();
    return { w, queries, compare, answerKeys: async (keys: string[]) => (answerKeys(keys), await flushPromises()) };
  }

  it('asks for the loss curves beside the metric keys, not after their answer, and not again once the keys pick the loss', async () => {
    const { w, queries, answerKeys } = await mountWithSlowKeys();
    expect(queries.map((q) => q.names)).toEqual([['loss']]);
    await answerKeys(['train/loss', 'valid/valid_bleu']);
    expect(queries).toHaveLength(1);
    expect(curves(w).series.map((s) => s.name)).toContain('base (n=2)');
  });

  it('loads the metric the keys name when the runs recorded no loss', async () => {
    const { queries, compare, answerKeys } = await mountWithSlowKeys(STORED.filter((s) => s.name === 'valid_bleu'));
    await answerKeys(['valid/valid_bleu']);
    expect(compare.metric).toBe('valid/valid_bleu');
    expect(queries.map((q) => q.names)).toEqual([['loss'], ['valid_bleu']]);
  });
});

describe('an experiment without curves', () => {
  it('still gets its result table once the server says there is nothing to draw', async () => {
    const calls: string[] = [];
    const api = {
      listRuns: async () => [run(1, seed1.config)],
      listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
      queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
      getMetricKeys: async () => (calls.push('keys'), []),
      getMetrics: async () => (calls.push('metrics'), []),
      resultTable: async () => (calls.push('table'), { experiment: 'e', columns: ['PPL (dev)'], rows: [] }),
    };
    const runs = createRunsStore(api);
    await runs.refresh();
    const w = mount(CompareView, { global: { provide: { [APP]: { api, runs, metrics: createMetricsStore(api), compare: createCompareState(), router: { go: () => {} }, notify: () => {} } }, stubs: { ChartPanel: Chart } } });
    await flushPromises();
    // The loss is asked for beside the keys (before their answer could say there is none).
    expect(calls).toEqual(['keys', 'metrics', 'table']);
    expect(w.find('[data-test=result-table]').exists()).toBe(true);
  });
});
