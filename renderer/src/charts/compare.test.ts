import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../../contract/api';
import { expandSpec, parseSpec, type RunConfig } from '../../../contract/spec';
import { finalMetricBars, parallelRows, sameAsDrawn, varyingParams } from './compare';

// Base (4 heads) over seeds 1 and 2, and the variant "h=1" (1 head), as the spec edge expands them.
const configs = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' }, train: { seeds: [1, 2] }, variants: [{ name: 'h=1', heads: 1 }] }));
const configOf = (variant: string, seed: number) => configs.find((c) => c.config.variant === variant && c.config.seed === seed)!.config;

function run(id: number, config: RunConfig, metrics: Record<string, number>): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant: config.variant, seed: config.seed, config, configHash: `h${id}`, state: 'done', priority: 0,
    backendRequested: 'wasm', backend: 'wasm', device: 'cpu', step: 10, totalSteps: 10, error: null, dataInfo: null, checkpointDir: null, params: 100,
    createdAt: 0, startedAt: 0, finishedAt: 1, metrics,
  };
}

describe('compare view data', () => {
  const runs = [
    run(1, configOf('base', 1), { valid_bleu: 10, valid_ppl: 5 }),
    run(2, configOf('base', 2), { valid_bleu: 14, valid_ppl: 7 }),
    run(3, configOf('h=1', 1), { valid_bleu: 8 }),
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

describe('what Compare draws of a run', () => {
  const a = run(1, configOf('base', 1), { valid_bleu: 10 });
  it('is the same when only the step of a training run moved', () => {
    expect(sameAsDrawn([a], [{ ...a, step: 11 }])).toBe(true);
  });
  it('differs when a run changes state, gains a final metric, is archived, or the list changes', () => {
    expect(sameAsDrawn([a], [{ ...a, state: 'failed' }])).toBe(false);
    expect(sameAsDrawn([a], [{ ...a, metrics: { valid_bleu: 10, test_bleu: 9 } }])).toBe(false);
    expect(sameAsDrawn([a], [{ ...a, archivedAt: 5 }])).toBe(false);
    expect(sameAsDrawn([a], [a, run(2, configOf('base', 2), {})])).toBe(false);
  });
});
