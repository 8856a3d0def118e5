import { describe, expect, it } from 'vitest';
import { noamLearningRate } from './schedule';

// Values of eq. (3) of the paper for its base model (d_model 512, warmup 4000), evaluated
// independently in Python: 512**-0.5 * min(step**-0.5, step * 4000**-1.5).
describe('noamLearningRate (eq. 3)', () => {
  it('rises linearly during warm-up', () => {
    expect(noamLearningRate(1, 512, 4000)).toBeCloseTo(1.746928107421711e-7, 15);
    expect(noamLearningRate(2000, 512, 4000) / noamLearningRate(1000, 512, 4000)).toBeCloseTo(2, 12);
  });
  it('peaks at the warm-up step', () => {
    expect(noamLearningRate(4000, 512, 4000)).toBeCloseTo(6.987712429686843e-4, 15);
    expect(noamLearningRate(3999, 512, 4000)).toBeLessThan(noamLearningRate(4000, 512, 4000));
    expect(noamLearningRate(4001, 512, 4000)).toBeLessThan(noamLearningRate(4000, 512, 4000));
  });
  it('decays with the inverse square root of the step afterwards', () => {
    expect(noamLearningRate(10000, 512, 4000)).toBeCloseTo(4.4194173824159226e-4, 15);
  });
  it('scales by the factor', () => {
    expect(noamLearningRate(10000, 512, 4000, 2)).toBeCloseTo(2 * 4.4194173824159226e-4, 15);
  });
  it('rejects step 0', () => {
    expect(() => noamLearningRate(0, 512, 4000)).toThrow(/step must be ≥ 1/);
  });
});
