import { describe, expect, it } from 'vitest';
import { COMPARE_DEFAULTS, compareQuery, createCompareState, parseCompareQuery, type CompareState } from './compare-state';

describe('compare view state in the URL', () => {
  it('writes nothing for the defaults and reads them back', () => {
    expect(compareQuery({ ...COMPARE_DEFAULTS })).toBe('');
    expect(parseCompareQuery('#/compare')).toEqual(COMPARE_DEFAULTS);
  });
  it('round-trips every field', () => {
    const s: CompareState = {
      experimentIds: [1, 3], runIds: [4, 5, 9], metric: 'valid/valid_bleu', extraMetrics: ['train/loss', 'valid/valid_ppl'], xKind: 'tokens', smoothing: 0.25,
      smoothEval: true, grouped: false, groupBy: 'heads', band: 'minmax', yLog: true, axes: ['heads', 'test_bleu'],
    };
    const q = compareQuery(s);
    expect(q).toContain('m=valid/valid_bleu');
    expect(parseCompareQuery(`#/compare?${q}`)).toEqual(s);
  });
  it('falls back to defaults for malformed values and keeps an empty selection apart from "all"', () => {
    const s = parseCompareQuery('#/compare?x=sideways&b=iqr&s=3&e=1,x,-2&r=');
    expect(s.xKind).toBe('step');
    expect(s.band).toBe('std');
    expect(s.smoothing).toBe(0.6);
    expect(s.experimentIds).toEqual([1]);
    expect(s.runIds).toEqual([]);
    expect(createCompareState('#/queue?m=x').metric).toBe('');
  });
});
