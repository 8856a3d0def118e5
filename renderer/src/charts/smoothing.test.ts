import { describe, expect, it } from 'vitest';
import { ema } from './smoothing';

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
