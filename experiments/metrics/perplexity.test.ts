import { describe, expect, it } from 'vitest';
import { perplexity } from './perplexity';

describe('perplexity', () => {
  it('is exp of the mean NLL per token, checked against a hand computation', () => {
    // Three target tokens predicted with probabilities 1/2, 1/4, 1/8:
    // NLL = ln 2 + ln 4 + ln 8 = 6 ln 2, mean 2 ln 2, PPL = e^(2 ln 2) = 4.
    const sumNll = -Math.log(1 / 2) - Math.log(1 / 4) - Math.log(1 / 8);
    expect(perplexity(sumNll, 3)).toBeCloseTo(4, 12);
  });

  it('equals the vocabulary size for a uniform model', () => {
    expect(perplexity(10 * Math.log(37), 10)).toBeCloseTo(37, 10);
  });

  it('is 1 for a model that is always certain', () => {
    expect(perplexity(0, 5)).toBe(1);
  });

  it('refuses zero tokens instead of making a number up', () => {
    expect(() => perplexity(1, 0)).toThrow(/token count must be a positive number, got 0/);
  });
});
