import { describe, expect, it } from 'vitest';
import type { MetricSeries } from '../../../contract/api';
import { interpolate, plotPoints, xAxisName, xValues } from './curves';

describe('interpolation', () => {
  it('interpolates linearly and clamps at the ends', () => {
    expect(interpolate([0, 10], [0, 100], 2.5)).toBe(25);
    expect(interpolate([0, 10], [0, 100], -1)).toBe(0);
    expect(interpolate([0, 10], [0, 100], 11)).toBe(100);
  });
});

describe('x values', () => {
  const loss: MetricSeries = { runId: 1, split: 'train', name: 'loss', steps: [10, 15, 20], values: [3, 2.5, 2], times: [5000, 6000, 7000] };
  const tokens: MetricSeries = { runId: 1, split: 'train', name: 'tokens_seen', steps: [10, 20], values: [900, 2100], times: [5000, 7000] };
  it('puts tokens seen from the recorded series (interpolated between its points), else step × batch_tokens', () => {
    expect(xValues(loss, 'tokens', { tokens, batchTokens: 100 })).toEqual([900, 1500, 2100]);
    expect(xValues(loss, 'tokens', { batchTokens: 100 })).toEqual([1000, 1500, 2000]);
    expect(xValues(loss, 'tokens', { tokens: { ...tokens, steps: [], values: [], times: [] }, batchTokens: 100 })).toEqual([1000, 1500, 2000]);
  });
  it('counts wall time in seconds from the run start', () => {
    expect(xValues(loss, 'time', { batchTokens: 100, startTime: 4000 })).toEqual([1, 2, 3]);
  });
  it('says on the axis which runs are on the estimate', () => {
    expect(xAxisName('tokens', [], 3)).toBe('target tokens seen');
    expect(xAxisName('step', [1, 2], 2)).toBe('step');
    expect(xAxisName('tokens', [1, 2], 2)).toBe('target tokens seen (≈ step × batch_tokens: recorded before tokens_seen)');
    expect(xAxisName('tokens', [4, 7], 9)).toBe('target tokens seen (≈ step × batch_tokens for #4, #7: recorded before tokens_seen)');
    expect(xAxisName('tokens', [1, 2, 3, 4, 5], 9)).toBe('target tokens seen (≈ step × batch_tokens for 5 of 9 runs: recorded before tokens_seen)');
  });
});

describe('plotted points', () => {
  const xs = Array.from({ length: 10_000 }, (_, i) => i);
  const ys = xs.map((x) => Math.sin(x / 300));
  ys[4321] = 50;

  it('draws at most maxPoints points, keeping the spike (LTTB) and the ends', () => {
    const pts = plotPoints(xs, ys, { maxPoints: 500 });
    expect(pts).toHaveLength(500);
    expect(pts).toContainEqual([4321, 50]);
    expect(pts[0][0]).toBe(0);
    expect(pts.at(-1)![0]).toBe(9999);
  });
  it('samples 100 runs × 10k points fast enough for a redraw', () => {
    const t0 = performance.now();
    for (let r = 0; r < 100; r++) plotPoints(xs, ys, { smoothing: 0.6, maxPoints: 1500 });
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
