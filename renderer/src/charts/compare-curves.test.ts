import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { compareCurves, RAW_POINT_BUDGET, type RunCurve } from './compare-curves';
import { groupColors, groupOrder } from './groups';
import { finalMarksFor } from './units';

const configs = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' }, train: { seeds: [1, 2] }, variants: [{ name: 'h=1', heads: 1 }] }));
function run(id: number, variant: string, seed: number, metrics: RunRow['metrics']): RunRow {
  const config = configs.find((c) => c.config.variant === variant && c.config.seed === seed)!.config;
  return {
    id, experimentId: 1, experiment: 'e', variant, seed, config, configHash: `h${id}`, state: 'done', priority: 0, backendRequested: 'cpu', backend: 'cpu', device: 'cpu',
    step: 30, totalSteps: 30, error: null, dataInfo: null, checkpointDir: null, params: 100, createdAt: 0, startedAt: 0, finishedAt: 1, metrics,
  };
}
const runs = [run(1, 'base', 1, { valid_bleu: 74, test_bleu: 73 }), run(2, 'base', 2, { valid_bleu: 76 }), run(3, 'h=1', 1, { valid_bleu: 60 })];
// Valid BLEU at three evaluations: a jump at the end, as training curves rarely have.
const curve = (r: RunRow, ys: number[]): RunCurve => ({ run: r, steps: [10, 20, 30], xs: [10, 20, 30], ys });
const curves = [curve(runs[0], [10, 40, 70]), curve(runs[1], [20, 50, 72]), curve(runs[2], [5, 30, 58])];
const order = groupOrder(runs, 'variant');
const colors = groupColors(runs, 'variant');
const base = { by: 'variant', order, colors, band: 'std' as const, xKind: 'step' as const, marks: finalMarksFor('valid/valid_bleu') };

describe('compare curves', () => {
  it('draws an unsmoothed curve through the measured points (no raw copy needed)', () => {
    const { series } = compareCurves(curves, { ...base, grouped: false, smoothing: 0 });
    expect(series.map((s) => s.name)).toEqual(['#1 base s1', '#2 base s2', '#3 h=1 s1']);
    expect(series[0].data.at(-1)).toEqual([30, 70]);
  });
  it('draws the raw series faintly behind each smoothed one, in the same colour', () => {
    const { series } = compareCurves(curves, { ...base, grouped: false, smoothing: 0.6 });
    const raw = series.find((s) => s.name === '#1 base s1 raw')!;
    const smooth = series.find((s) => s.name === '#1 base s1')!;
    expect(raw.faint).toBe(true);
    expect(raw.data.at(-1)).toEqual([30, 70]);
    expect(smooth.data.at(-1)![1]).toBeLessThan(70);
    expect(raw.color).toBe(smooth.color);
    expect(series.indexOf(raw)).toBeLessThan(series.indexOf(smooth));
  });
  it('marks each run’s final beam and test score at its curve’s end, in its colour', () => {
    const { marks } = compareCurves(curves, { ...base, grouped: false, smoothing: 0 });
    const valid = marks.find((m) => m.name === 'final valid BLEU (beam)')!;
    expect(valid.data).toEqual([[30, 74], [30, 76], [30, 60]]);
    expect(valid.pointColors).toEqual([colors.get('base'), colors.get('base'), colors.get('h=1')]);
    expect(marks.find((m) => m.name === 'test BLEU (beam)')!.data).toEqual([[30, 73]]);
  });
  it('groups: one mean line per group with its band, the mean of the finals at the end', () => {
    const { series, bands, marks } = compareCurves(curves, { ...base, grouped: true, smoothing: 0 });
    expect(series.map((s) => s.name)).toEqual(['base (n=2)', 'h=1 (n=1)']);
    expect(series[0].data).toEqual([[10, 15], [20, 45], [30, 71]]);
    expect(bands.map((b) => b.name)).toEqual(['base ± std']);
    expect(marks[0].data).toEqual([[30, 75], [30, 60]]);
  });
  it('keeps colours when a group is unticked (colours come from every run in view)', () => {
    const { series } = compareCurves([curves[2]], { ...base, grouped: true, smoothing: 0 });
    expect(series[0].color).toBe(colors.get('h=1'));
    expect(colors.get('h=1')).not.toBe(colors.get('base'));
  });
  it('groups by a config field, ordered by value', () => {
    expect(groupOrder(runs, 'heads')).toEqual(['heads=1', 'heads=4']);
    const { series } = compareCurves(curves, { ...base, by: 'heads', order: groupOrder(runs, 'heads'), colors: groupColors(runs, 'heads'), grouped: true, smoothing: 0 });
    expect(series.map((s) => s.name)).toEqual(['heads=1 (n=1)', 'heads=4 (n=2)']);
  });
  it('keeps 100 runs’ faint raw curves within one point budget, each from its first to its last point', () => {
    // 100 runs of 500 points each (what Compare loads for 100 runs): 50,000 raw points before the budget.
    const steps = Array.from({ length: 500 }, (_, i) => 10 * (i + 1));
    const many = Array.from({ length: 100 }, (_, k) => ({ run: runs[k % 3], steps, xs: steps, ys: steps.map((s) => 1 + Math.sin(s + k)) }));
    const { series } = compareCurves(many, { ...base, grouped: false, smoothing: 0.6 });
    const faint = series.filter((s) => s.faint);
    expect(faint).toHaveLength(100);
    expect(faint.reduce((n, s) => n + s.data.length, 0)).toBeLessThanOrEqual(RAW_POINT_BUDGET);
    for (const s of faint) expect([s.data[0][0], s.data.at(-1)![0]]).toEqual([10, 5000]);
    // The smoothed curves keep every point.
    expect(series.filter((s) => !s.faint).every((s) => s.data.length === 500)).toBe(true);
  });
  it('keeps every raw point of a few runs’ short curves', () => {
    const steps = Array.from({ length: 400 }, (_, i) => i + 1);
    const few = runs.map((r, k) => ({ run: r, steps, xs: steps, ys: steps.map((s) => Math.cos(s * k)) }));
    const { series } = compareCurves(few, { ...base, grouped: false, smoothing: 0.6 });
    expect(series.filter((s) => s.faint).map((s) => s.data.length)).toEqual([400, 400, 400]);
  });
});
