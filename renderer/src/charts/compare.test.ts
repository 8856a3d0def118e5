import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../../contract/api';
import { finalMetricBars, parallelRows, varyingParams } from './compare';

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
