import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { cellText, filterRuns, NO_FILTER, runColumns, sortRuns } from './runs-table';

const configs = expandSpec(parseSpec({ name: 'heads', data: { task: 'synthetic-copy' }, grid: { heads: [1, 2] } }));
const rows: RunRow[] = configs.map((c, i) => ({
  id: i + 1, experimentId: 1, experiment: 'heads', variant: c.config.variant, seed: c.config.seed, config: c.config, configHash: c.hash, state: i === 2 ? 'failed' : 'done', priority: 0,
  backendRequested: 'cpu', backend: 'cpu', device: 'cpu', step: 1, totalSteps: 1, error: null, dataInfo: null, checkpointDir: null, params: 1, createdAt: 0, startedAt: 0, finishedAt: 1,
  metrics: i === 2 ? ({} as Record<string, number>) : { valid_bleu: [70, 60, 0][i], params: 30_100, train_seconds: 12.34 },
}));

describe('the runs table', () => {
  it('has a column per varying config field and per final metric present, with units', () => {
    const ids = runColumns(rows).map((c) => c.id);
    expect(ids).toEqual(['id', 'experiment', 'variant', 'seed', 'state', 'cfg:d_k', 'cfg:d_v', 'cfg:heads', 'm:valid_bleu', 'm:params', 'm:train_seconds']);
    expect(runColumns(rows).find((c) => c.id === 'm:train_seconds')!.label).toBe('train time (s)');
    expect(cellText(rows[0], 'm:params')).toBe('0.03');
    expect(cellText(rows[2], 'm:valid_bleu')).toBe('—');
  });
  it('filters by state, text and a numeric range (a run without the value is left out)', () => {
    expect(filterRuns(rows, { ...NO_FILTER, state: 'failed' }).map((r) => r.id)).toEqual([3]);
    expect(filterRuns(rows, { ...NO_FILTER, text: 'HEADS=1' }).map((r) => r.id)).toEqual([2]);
    expect(filterRuns(rows, { ...NO_FILTER, ranges: { 'm:valid_bleu': { min: 65 } } }).map((r) => r.id)).toEqual([1]);
    expect(filterRuns(rows, { ...NO_FILTER, ranges: { 'cfg:heads': { max: 2 } } }).map((r) => r.id)).toEqual([2, 3]);
  });
  it('sorts by a column either way, missing values last', () => {
    expect(sortRuns(rows, 'm:valid_bleu', 'desc').map((r) => r.id)).toEqual([1, 2, 3]);
    expect(sortRuns(rows, 'm:valid_bleu', 'asc').map((r) => r.id)).toEqual([2, 1, 3]);
    expect(sortRuns(rows, 'cfg:heads', 'asc').map((r) => r.id)).toEqual([2, 3, 1]);
  });
});
