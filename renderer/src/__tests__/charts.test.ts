import { describe, expect, it } from 'vitest';
import { ema } from '../charts/smoothing';
import { lttbIndices } from '../charts/lttb';
import { meanStd, meanStdBand } from '../charts/stats';
import { interpolate, plotPoints } from '../charts/curves';
import { finalMetricBars, parallelRows, varyingParams } from '../charts/compare';
import { configDiff } from '../charts/config-diff';
import { barErrorOption, heatmapOption, lineChartOption } from '../charts/options';
import type { RunRow } from '../../../contract/api';

describe('EMA smoothing (TensorBoard’s debiased form)', () => {
  it('matches s_t = w·s_{t-1} + (1-w)·x_t divided by 1 - w^t, worked by hand for w = 0.5', () => {
    // s1 = 0.5/0.5 = 1; s2 = (0.25 + 1)/0.75 = 5/3; s3 = (0.625 + 1.5)/0.875 = 17/7
    const out = ema([1, 2, 3], 0.5);
    expect(out[0]).toBeCloseTo(1, 12);
    expect(out[1]).toBeCloseTo(5 / 3, 12);
    expect(out[2]).toBeCloseTo(17 / 7, 12);
  });
  it('leaves a constant series constant and passes a diverged value through', () => {
    expect(ema([4, 4, 4, 4], 0.9).every((v) => Math.abs(v - 4) < 1e-12)).toBe(true);
    const out = ema([1, NaN, 1], 0.6);
    expect(out[1]).toBeNaN();
    expect(out[2]).toBeCloseTo(1, 12);
  });
  it('is the identity at weight 0', () => {
    expect(ema([3, 1, 2], 0)).toEqual([3, 1, 2]);
  });
});

describe('LTTB sampling', () => {
  const xs = Array.from({ length: 10_000 }, (_, i) => i);
  const ys = xs.map((x) => Math.sin(x / 300));
  ys[4321] = 50; // a spike striding would miss

  it('keeps exactly the threshold count, first and last point, in order', () => {
    const idx = lttbIndices(xs, ys, 500);
    expect(idx.length).toBe(500);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(9999);
    expect(idx.every((v, i) => i === 0 || v > idx[i - 1])).toBe(true);
  });
  it('keeps a spike and a diverged (NaN) point', () => {
    const withNaN = ys.slice();
    withNaN[777] = NaN;
    const idx = lttbIndices(xs, withNaN, 200);
    expect(idx).toContain(4321);
    expect(idx).toContain(777);
  });
  it('returns everything when there are fewer points than asked for', () => {
    expect(lttbIndices([0, 1, 2], [1, 2, 3], 10)).toEqual([0, 1, 2]);
  });
  it('samples 100 runs × 10k points fast enough for a redraw', () => {
    const t0 = performance.now();
    for (let r = 0; r < 100; r++) plotPoints(xs, ys, { smoothing: 0.6, maxPoints: 1500 });
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('mean ± std over seeds', () => {
  it('uses the sample standard deviation (numpy ddof=1: std([1,2,3,4]) = 1.2909944487358056)', () => {
    const { mean, std, n } = meanStd([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(std).toBeCloseTo(1.2909944487358056, 14);
    expect(n).toBe(4);
  });
  it('aligns seeds logged at different steps by interpolating each inside its own range', () => {
    const band = meanStdBand([
      { xs: [0, 10], ys: [0, 10] },
      { xs: [0, 5, 10], ys: [2, 7, 12] },
    ]);
    expect(band.xs).toEqual([0, 5, 10]);
    expect(band.mean).toEqual([1, 6, 11]); // (0+2)/2, (5+7)/2, (10+12)/2
    expect(band.n).toEqual([2, 2, 2]);
    const partial = meanStdBand([{ xs: [0, 10], ys: [1, 1] }, { xs: [0, 20], ys: [3, 3] }]);
    expect(partial.n).toEqual([2, 2, 1]);
    expect(partial.mean[2]).toBe(3);
  });
  it('interpolates linearly and clamps at the ends', () => {
    expect(interpolate([0, 10], [0, 100], 2.5)).toBe(25);
    expect(interpolate([0, 10], [0, 100], -1)).toBe(0);
    expect(interpolate([0, 10], [0, 100], 11)).toBe(100);
  });
});

function run(id: number, variant: string, seed: number, metrics: Record<string, number>, model: Record<string, unknown> = {}, changes: Record<string, unknown> = {}): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant, seed, config: { model: { heads: 4, d_model: 32, ...model }, changes }, configHash: `h${id}`, state: 'done', priority: 0,
    backendRequested: 'wasm', backend: 'wasm', device: 'cpu', step: 10, totalSteps: 10, error: null, dataInfo: null, checkpointDir: null, params: 100,
    createdAt: 0, startedAt: 0, finishedAt: 1, metrics,
  };
}

describe('compare view data', () => {
  const runs = [
    run(1, 'base', 1, { valid_bleu: 10, valid_ppl: 5 }),
    run(2, 'base', 2, { valid_bleu: 14, valid_ppl: 7 }),
    run(3, 'h=1', 1, { valid_bleu: 8 }, { heads: 1 }, { heads: 1 }),
  ];
  it('gives one bar per variant, base first, with mean, sample std and n', () => {
    expect(finalMetricBars(runs, 'valid_bleu')).toEqual([
      { label: 'base', mean: 12, std: Math.SQRT2 * 2, n: 2 },
      { label: 'h=1', mean: 8, std: 0, n: 1 },
    ]);
    expect(finalMetricBars(runs, 'valid_ppl').map((b) => b.label)).toEqual(['base']);
  });
  it('puts only the hyper-parameters that vary on parallel axes, with each run’s values', () => {
    expect(varyingParams(runs)).toEqual(['heads']);
    expect(parallelRows(runs, ['heads'], ['valid_bleu']).map((r) => r.values)).toEqual([
      { heads: 4, valid_bleu: 10 },
      { heads: 4, valid_bleu: 14 },
      { heads: 1, valid_bleu: 8 },
    ]);
  });
});

describe('config diff against base', () => {
  it('lists every field and marks the ones that differ from base with base’s value', () => {
    const lines = configDiff({ model: { heads: 1, d_k: 32 }, train: { steps: 10 }, seed: 2 }, { model: { heads: 4, d_k: 8 }, train: { steps: 10 }, seed: 1 });
    expect(lines).toEqual([
      { key: 'model.d_k', value: '32', base: '8' },
      { key: 'model.heads', value: '1', base: '4' },
      { key: 'train.steps', value: '10' },
    ]);
  });
});

describe('chart options', () => {
  it('never animates, and gives a mean ± std band the extent of its data (so the axis does not start at 0)', () => {
    const opt = lineChartOption({ series: [{ name: 'base', data: [[10, 2], [30, 1]] }], bands: [{ name: 'base ± std', xs: [10, 30], lower: [1.5, 0.5], upper: [2.5, 1.5], color: '#000' }] });
    expect(opt.animation).toBe(false);
    const [band, line] = opt.series as { type: string; data: unknown }[];
    expect(band.type).toBe('custom');
    expect(band.data).toEqual([[10, 0.5], [30, 2.5]]);
    expect(line.type).toBe('line');
  });
  it('puts an error bar of mean ± std over each bar', () => {
    const opt = barErrorOption({ title: 'BLEU', items: [{ label: 'base', mean: 12, std: 2, n: 3 }, { label: 'h=1', mean: 8, std: 0, n: 1 }] });
    const [bars, whiskers] = opt.series as { data: unknown }[];
    expect((bars.data as { value: number }[]).map((d) => d.value)).toEqual([12, 8]);
    expect(whiskers.data).toEqual([[0, 10, 14], [1, 8, 8]]);
  });
  it('lays attention weights out as [key, query, weight] cells', () => {
    const opt = heatmapOption({ title: '', rows: ['a', 'b'], cols: ['x', 'y', 'z'], weights: [[0.2, 0.3, 0.5], [1, 0, 0]] });
    const data = (opt.series as { data: number[][] }[])[0].data;
    expect(data).toHaveLength(6);
    expect(data).toContainEqual([2, 0, 0.5]);
    expect(data).toContainEqual([0, 1, 1]);
  });
});
