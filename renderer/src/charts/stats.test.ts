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
