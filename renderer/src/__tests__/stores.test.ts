import { describe, expect, it } from 'vitest';
import type { MetricRow, RunRow } from '../../../contract/api';
import { createMetricsStore, pickKey, METRIC_PATTERNS } from '../stores/metrics';
import { createRunsStore } from '../stores/runs';
import { parseRoute, routeHash } from '../stores/router';

function row(id: number, state: RunRow['state'], priority = 0): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant: 'base', seed: 1, config: {}, configHash: 'h', state, priority, backendRequested: 'auto',
    backend: null, device: null, step: 0, totalSteps: 10, error: null, dataInfo: null, checkpointDir: null, params: null, createdAt: 0, startedAt: null, finishedAt: null, metrics: {},
  };
}

const api = {
  listRuns: async () => [row(1, 'done'), row(2, 'queued', 5), row(3, 'queued', 1)],
  listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
  queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
};

describe('the runs store', () => {
  it('orders queued runs by priority then id, the order they will start in', async () => {
    const s = createRunsStore(api);
    await s.refresh();
    expect(s.queued.value.map((r) => r.id)).toEqual([3, 2]);
  });
  it('merges pushed run changes by id and drops stale progress when a run stops', async () => {
    const s = createRunsStore(api);
    await s.refresh();
    s.applyEvent({ type: 'progress', runId: 3, step: 4, totalSteps: 10, loss: 2, tokensPerSecond: 100, etaSeconds: 6 });
    s.applyEvent({ type: 'runs-changed', runs: [{ ...row(3, 'running'), step: 4 }, row(4, 'queued', 9)] });
    expect(s.running.value.map((r) => r.id)).toEqual([3]);
    expect(s.runs.value.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect(s.progress.value.get(3)?.etaSeconds).toBe(6);
    s.applyEvent({ type: 'runs-changed', runs: [row(3, 'done')] });
    expect(s.progress.value.has(3)).toBe(false);
  });
  it('reports a failed refresh as an error line instead of throwing', async () => {
    const s = createRunsStore({ ...api, listRuns: async () => Promise.reject(new Error('connection lost')) });
    await s.refresh();
    expect(s.error.value).toBe('connection lost');
  });
});

function point(runId: number, step: number, value: number, name = 'loss', split = 'train'): MetricRow {
  return { runId, split, name, step, value, time: step * 1000 };
}

describe('the metrics store', () => {
  it('loads a run once, then extends it with pushed points in step order without duplicates', async () => {
    let queries = 0;
    const s = createMetricsStore({ getMetrics: async () => (queries++, [{ runId: 1, split: 'train', name: 'loss', steps: [10, 20], values: [3, 2.5], times: [10_000, 20_000] }]) });
    await s.load([1]);
    await s.load([1]);
    expect(queries).toBe(1);
    s.applyPoints([point(1, 30, 2), point(1, 20, 2.4), point(1, 15, 2.8), point(2, 10, 9)]);
    const series = s.series(1, 'train/loss')!;
    expect(series.steps).toEqual([10, 15, 20, 30]);
    expect(series.values).toEqual([3, 2.8, 2.4, 2]);
    // Run 2 was never loaded: its points are not kept half-complete.
    expect(s.series(2, 'train/loss')).toBeUndefined();
  });
  it('loads only the named metrics when asked, keeps pushed points of those alone, and loads the rest later', async () => {
    const queries: { runIds: readonly number[]; names?: readonly string[] }[] = [];
    const s = createMetricsStore({
      getMetrics: async (q) => {
        queries.push({ runIds: q.runIds, names: q.names });
        const all = [
          { runId: 1, split: 'train', name: 'loss', steps: [10], values: [3], times: [10_000] },
          { runId: 1, split: 'train', name: 'lr', steps: [10], values: [0.1], times: [10_000] },
        ];
        return all.filter((x) => !q.names || q.names.includes(x.name));
      },
    });
    await s.load([1], 500, ['loss']);
    await s.load([1], 500, ['loss']);
    expect(queries).toEqual([{ runIds: [1], names: ['loss'] }]);
    s.applyPoints([point(1, 20, 2.5), point(1, 20, 0.2, 'lr')]);
    expect(s.series(1, 'train/loss')!.steps).toEqual([10, 20]);
    expect(s.series(1, 'train/lr')).toBeUndefined();
    await s.load([1]);
    expect(queries[1]).toEqual({ runIds: [1], names: undefined });
    expect(s.series(1, 'train/lr')!.values).toEqual([0.1]);
    expect(s.series(1, 'train/loss')!.steps).toEqual([10, 20]);
  });

  it('bumps its version on changes so charts redraw', async () => {
    const s = createMetricsStore({ getMetrics: async () => [] });
    const v0 = s.version.value;
    await s.load([1]);
    s.applyPoints([point(1, 1, 1)]);
    expect(s.version.value).toBeGreaterThan(v0 + 1);
  });
  it('finds the training code’s metric names', () => {
    const keys = ['train/loss', 'train/lr', 'train/tokens_per_second', 'valid/valid_bleu', 'valid/valid_loss', 'valid/valid_ppl'];
    expect(pickKey(keys, METRIC_PATTERNS.loss)).toBe('train/loss');
    expect(pickKey(keys, METRIC_PATTERNS.lr)).toBe('train/lr');
    expect(pickKey(keys, METRIC_PATTERNS.validPpl)).toBe('valid/valid_ppl');
    expect(pickKey(keys, METRIC_PATTERNS.bleu)).toBe('valid/valid_bleu');
    expect(pickKey(keys, METRIC_PATTERNS.tokens)).toBeUndefined();
  });
});

describe('routes', () => {
  it('round-trips every view through the URL hash and falls back to the queue', () => {
    for (const r of [{ view: 'queue' }, { view: 'live' }, { view: 'compare' }, { view: 'results' }, { view: 'run', runId: 12 }] as const) expect(parseRoute(routeHash(r))).toEqual(r);
    expect(parseRoute('#/nonsense')).toEqual({ view: 'queue' });
    expect(parseRoute('')).toEqual({ view: 'queue' });
  });
});
