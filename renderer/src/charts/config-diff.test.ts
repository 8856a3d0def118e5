import { describe, expect, it } from 'vitest';
import { configDiff } from './config-diff';

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
