/** LTTB downsampling (common/lttb.ts; the server and the renderer both sample with it), against hand-worked cases of Steinarsson's algorithm. */
import { describe, expect, it } from 'vitest';
import { lttbIndices } from './lttb';

describe('lttb', () => {
  it('keeps the point of the largest triangle in each bucket (worked example)', () => {
    // threshold 3 → one bucket {1,2,3}; third corner = point 4 (0); from (0,0) the triangle with
    // (1,5) and (3,5) both have area 10, (2,0) has 0 → the first maximum, index 1.
    expect(lttbIndices([0, 1, 2, 3, 4], [0, 5, 0, 5, 0], 3)).toEqual([0, 1, 4]);
    // y = [0, 1, 10, 1, 0, 0]: threshold 4 → buckets {1,2} and {3,4}; bucket 1 picks the spike at 2.
    expect(lttbIndices([0, 1, 2, 3, 4, 5], [0, 1, 10, 1, 0, 0], 4)[1]).toBe(2);
  });

  it('returns every point when the threshold is not below the length', () => {
    expect(lttbIndices([0, 1, 2], [3, 2, 1], 10)).toEqual([0, 1, 2]);
  });

  it('keeps first and last points, exactly `threshold` points, ascending', () => {
    const n = 10_000;
    const xs = Array.from({ length: n }, (_, i) => i);
    const ys = xs.map((x) => Math.exp(-x / 2000) + 0.05 * Math.sin(x / 7));
    const idx = lttbIndices(xs, ys, 300);
    expect(idx).toHaveLength(300);
    expect(idx[0]).toBe(0);
    expect(idx.at(-1)).toBe(n - 1);
    for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1]);
  });

  it('keeps a NaN (a diverged loss) visible', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const ys = xs.map((x) => (x === 777 ? NaN : 1 / (1 + x)));
    const kept = lttbIndices(xs, ys, 50);
    expect(kept.some((i) => Number.isNaN(ys[i]))).toBe(true);
  });

  it('keeps a spike that striding would miss, and a NaN, in a long curve', () => {
    const xs = Array.from({ length: 10_000 }, (_, i) => i);
    const ys = xs.map((x) => Math.sin(x / 300));
    ys[4321] = 50;
    ys[777] = NaN;
    const idx = lttbIndices(xs, ys, 200);
    expect(idx).toContain(4321);
    expect(idx).toContain(777);
  });

  it('does not use a NaN pick as a triangle corner: the next bucket still finds its spike', () => {
    // threshold 5 over 8 points → buckets {1,2} {3,4} {5,6}. Bucket 1 reports the NaN at 2; bucket 2,
    // measured from (2, NaN), would see only NaN areas and take its first point (3); measured from
    // (2, next average 0) the spike at 4 spans the larger triangle (35 against 0).
    expect(lttbIndices([0, 1, 2, 3, 4, 5, 6, 7], [0, 0, NaN, 0, 10, 0, 0, 0], 5)).toEqual([0, 2, 4, 5, 7]);
  });

  it('keeps only the end points below a threshold of 3', () => {
    expect(lttbIndices([0, 1, 2, 3], [1, 9, 9, 1], 2)).toEqual([0, 3]);
    expect(lttbIndices([5], [1], 0)).toEqual([0]);
    expect(lttbIndices([], [], 2)).toEqual([]);
  });
});
