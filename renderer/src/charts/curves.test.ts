import { describe, expect, it } from 'vitest';
import { interpolate, plotPoints } from './curves';

describe('interpolation', () => {
  it('interpolates linearly and clamps at the ends', () => {
    expect(interpolate([0, 10], [0, 100], 2.5)).toBe(25);
    expect(interpolate([0, 10], [0, 100], -1)).toBe(0);
    expect(interpolate([0, 10], [0, 100], 11)).toBe(100);
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
