import { describe, expect, it } from 'vitest';
import { meanStd, meanStdBand } from './stats';

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
});

describe('band kinds', () => {
  const curves = [
    { xs: [0, 10], ys: [1, 1] },
    { xs: [0, 10], ys: [2, 2] },
    { xs: [0, 10], ys: [6, 6] },
  ];
  it('spans ±1 std, ±1 standard error (std/√n) or min to max around the mean', () => {
    const std = Math.sqrt(7); // values 1, 2, 6: mean 3, sample variance (4 + 1 + 9) / 2
    expect(meanStdBand(curves, 'std').upper[0]).toBeCloseTo(3 + std, 12);
    expect(meanStdBand(curves, 'se').lower[1]).toBeCloseTo(3 - std / Math.sqrt(3), 12);
    const mm = meanStdBand(curves, 'minmax');
    expect([mm.lower[0], mm.mean[0], mm.upper[0]]).toEqual([1, 3, 6]);
  });
  it('leaves a diverged seed (NaN) out of the mean and of every kind of band alike', () => {
    const diverged = [...curves, { xs: [0, 10], ys: [NaN, NaN] }];
    const mm = meanStdBand(diverged, 'minmax');
    expect([mm.lower[0], mm.mean[0], mm.upper[0], mm.n[0]]).toEqual([1, 3, 6, 3]);
    expect(meanStdBand(diverged, 'std').upper[0]).toBeCloseTo(3 + Math.sqrt(7), 12);
  });
});
