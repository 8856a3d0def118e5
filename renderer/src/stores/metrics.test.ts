import { describe, expect, it } from 'vitest';
import type { MetricRow } from '../../../contract/api';
import { createMetricsStore, METRIC_KEYS } from './metrics';

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
  it('plots the series the engine records, by their exact keys', () => {
    // run-job.ts records point('train', TRAIN_METRICS.loss, …) etc.: these are the keys getMetricKeys answers with.
    expect(METRIC_KEYS).toEqual({
      loss: 'train/loss',
      lr: 'train/lr',
      tokensSeen: 'train/tokens_seen',
      validLoss: 'valid/valid_loss',
      validPpl: 'valid/valid_ppl',
      validBleu: 'valid/valid_bleu',
    });
  });
});
