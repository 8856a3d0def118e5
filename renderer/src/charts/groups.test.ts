import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { compareValues, groupColors, groupOf, groupOrder, varyingFields } from './groups';
import { finalMarksFor, isTrainingCurve, metricLabel } from './units';

const configs = expandSpec(parseSpec({ name: 'sweep', data: { task: 'synthetic-copy' }, grid: { heads: [8, 1, 2], dropout: [0.1] } }));
const runs: RunRow[] = configs.map((c, i) => ({
  id: i + 1, experimentId: 1, experiment: 'sweep', variant: c.config.variant, seed: c.config.seed, config: c.config, configHash: c.hash, state: 'done', priority: 0,
  backendRequested: 'cpu', backend: 'cpu', device: 'cpu', step: 1, totalSteps: 1, error: null, dataInfo: null, checkpointDir: null, params: 1, createdAt: 0, startedAt: 0, finishedAt: 1, metrics: {},
}));

describe('groups', () => {
  it('finds the config fields that vary (not the ones every run shares)', () => {
    expect(varyingFields(runs)).toContain('heads');
    expect(varyingFields(runs)).not.toContain('d_model');
  });
  it('orders a field’s groups by value, numbers numerically', () => {
    expect(groupOrder(runs, 'heads')).toEqual(['heads=1', 'heads=2', 'heads=4', 'heads=8']);
    expect([10, 9, 'b', undefined, 'a'].sort(compareValues)).toEqual([9, 10, 'a', 'b', undefined]);
  });
  it('names variants by experiment when several experiments are in view', () => {
    expect(groupOf(runs[0], 'variant', true)).toBe('sweep/base');
    expect(groupOrder(runs, 'variant')[0]).toBe('base');
  });
  it('gives each group one colour, the same whatever subset is shown', () => {
    const all = groupColors(runs, 'heads');
    expect(new Set(all.values()).size).toBe(4);
    expect(groupColors(runs, 'heads').get('heads=8')).toBe(all.get('heads=8'));
  });
});

describe('metric labels', () => {
  it('names axes with units and tells training curves (smoothed by default) from evaluations', () => {
    expect(metricLabel('train/loss')).toBe('train loss (nats/token)');
    expect(metricLabel('valid/valid_bleu')).toBe('valid BLEU (0–100)');
    expect(metricLabel('custom/thing')).toBe('custom/thing');
    expect(isTrainingCurve('train/loss')).toBe(true);
    expect(isTrainingCurve('valid/valid_bleu')).toBe(false);
    expect(finalMarksFor('valid/valid_bleu').map((m) => m.metric)).toEqual(['valid_bleu', 'test_bleu']);
    expect(finalMarksFor('train/lr')).toEqual([]);
  });
});
