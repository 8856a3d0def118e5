import { describe, expect, it } from 'vitest';
import { axisTooltip, barErrorOption, formatAxisValue, heatmapOption, lineChartOption, parallelOption, scatterOption } from './options';

describe('chart options', () => {
  it('never animates, and gives a mean ± std band the extent of its data (so the axis does not start at 0)', () => {
    const opt = lineChartOption({ series: [{ name: 'base', data: [[10, 2], [30, 1]] }], bands: [{ name: 'base ± std', xs: [10, 30], lower: [1.5, 0.5], upper: [2.5, 1.5], color: '#000' }] });
    expect(opt.animation).toBe(false);
    const [band, line] = opt.series as { type: string; data: unknown }[];
    expect(band.type).toBe('custom');
    expect(band.data).toEqual([[10, 0.5], [30, 2.5]]);
    expect(line.type).toBe('line');
  });
  it('puts an error bar of mean ± std over each bar', () => {
    const opt = barErrorOption({ title: 'BLEU', items: [{ label: 'base', mean: 12, std: 2, n: 3 }, { label: 'h=1', mean: 8, std: 0, n: 1 }] });
    const [bars, whiskers] = opt.series as { data: unknown }[];
    expect((bars.data as { value: number }[]).map((d) => d.value)).toEqual([12, 8]);
    expect(whiskers.data).toEqual([[0, 10, 14], [1, 8, 8]]);
  });
  it('lays attention weights out as [key, query, weight] cells', () => {
    const opt = heatmapOption({ title: '', rows: ['a', 'b'], cols: ['x', 'y', 'z'], weights: [[0.2, 0.3, 0.5], [1, 0, 0]] });
    const data = (opt.series as { data: number[][] }[])[0].data;
    expect(data).toHaveLength(6);
    expect(data).toContainEqual([2, 0, 0.5]);
    expect(data).toContainEqual([0, 1, 1]);
  });
});

describe('numbers as a paper prints them', () => {
  it('heads an axis tooltip with the x value in its own format (step 160, not 160.00)', () => {
    const html = axisTooltip('step', [{ seriesName: 'base (n=2)', marker: '', axisValue: 160, value: [160, 2.345678] }]);
    expect(html.startsWith('step 160<br/>')).toBe(true);
    expect(html).toContain('base (n=2) <b>2.346</b>');
    expect(formatAxisValue(12000)).toBe('12,000');
    expect(formatAxisValue(1.5)).toBe('1.500');
  });
  it('escapes run names in tooltips', () => {
    expect(axisTooltip('step', [{ seriesName: '<b>x</b>', value: [1, 1] }])).toContain('&#60;b&#62;x');
  });
});

describe('error bars', () => {
  it('put both whisker ends on the y axis (so the axis contains them) and clip to the plot', () => {
    const opt = barErrorOption({ title: '', items: [{ label: 'base', mean: 90, std: 15, n: 3 }] });
    const whiskers = (opt.series as { type: string; encode?: unknown; clip?: boolean }[])[1];
    expect(whiskers.encode).toEqual({ x: 0, y: [1, 2] });
    expect(whiskers.clip).toBe(true);
  });
});

describe('final score marks', () => {
  it('draw each point in its own colour and keep it out of the raw-line legend', () => {
    const opt = lineChartOption({
      series: [{ name: 'a raw', data: [[0, 1]], faint: true }, { name: 'a', data: [[0, 1]] }],
      marks: [{ name: 'final valid BLEU (beam)', symbol: 'diamond', color: '#888', data: [[30, 74.9]], pointColors: ['#e15759'], pointNames: ['#1 base s1'] }],
    });
    expect((opt.legend as { data: string[] }).data).toEqual(['a', 'final valid BLEU (beam)']);
    const mark = (opt.series as { type: string; data: { value: number[]; itemStyle?: { color: string } }[] }[]).find((s) => s.type === 'scatter')!;
    expect(mark.data[0]).toMatchObject({ value: [30, 74.9], itemStyle: { color: '#e15759' } });
  });
});

describe('parallel axes', () => {
  it('give integer axes integer ticks and colour lines by the given group colours', () => {
    const opt = parallelOption({
      runs: [{ name: '#1', group: 'heads=1', values: { heads: 1, test_bleu: 70.5 } }, { name: '#2', group: 'heads=4', values: { heads: 4, test_bleu: 74.9 } }],
      dimensions: ['heads', 'test_bleu'],
      groups: ['heads=1', 'heads=4'],
      colors: new Map([['heads=1', '#111111'], ['heads=4', '#222222']]),
      labels: { test_bleu: 'test BLEU (beam)' },
    });
    const axes = opt.parallelAxis as { name: string; minInterval?: number }[];
    expect(axes[0].minInterval).toBe(1);
    expect(axes[1].minInterval).toBeUndefined();
    expect(axes[1].name).toBe('test BLEU (beam)');
    expect((opt.series as { color: string }[]).map((s) => s.color)).toEqual(['#111111', '#222222']);
  });
});

describe('log-scale y', () => {
  it('clips a band that reaches 0 or below to the bottom of the plot instead of asking the axis for it', () => {
    // BLEU 0 ± 3 at step 10: the lower edge is -3; log10 of it is NaN and would break the polygon and the axis.
    const opt = lineChartOption({ series: [{ name: 'bleu', data: [[10, 0.5], [20, 10]] }], bands: [{ name: 'bleu ± std', xs: [10, 20, 30], lower: [-3, 0, 8], upper: [3, 12, 20], color: '#000' }], yLog: true });
    const band = (opt.series as { data: number[][]; renderItem: (p: unknown, a: unknown) => { shape: { points: number[][] } } }[])[0];
    expect(band.data).toEqual([[10, 8], [30, 20]]);
    // A 100×100 px plot: x at 10 px per step, y on log10 from 1 (bottom) to 100 (top); ≤ 0 maps to NaN as on a real log axis.
    const coordSys = { x: 0, y: 0, width: 100, height: 100 };
    const api = { coord: ([x, y]: number[]) => [x * 10 - 100, y > 0 ? 100 - 50 * Math.log10(y) : Number.NaN] };
    const points = band.renderItem({ dataIndex: 0, coordSys }, api).shape.points;
    expect(points.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))).toBe(true);
    // Upper edge forward, then the lower edge back: 30 → 8, 20 → clipped, 10 → clipped.
    expect(points.slice(3)).toEqual([[200, 100 - 50 * Math.log10(8)], [100, 100], [0, 100]]);
  });
  it('draws nothing for a band wholly at or below 0 and gives the axis no value from it', () => {
    const opt = lineChartOption({ series: [{ name: 'x', data: [[1, 2]] }], bands: [{ name: 'b', xs: [1, 2], lower: [-2, -1], upper: [0, 0], color: '#000' }], yLog: true });
    expect((opt.series as { data: unknown[] }[])[0].data).toEqual([]);
  });

  it('leaves points at or below 0 as gaps (a log axis cannot place them)', () => {
    const opt = lineChartOption({ series: [{ name: 'bleu', data: [[10, 0], [20, 5], [30, -1]] }], yLog: true });
    expect((opt.yAxis as { type: string }).type).toBe('log');
    expect((opt.series as { data: unknown }[])[0].data).toEqual([[10, null], [20, 5], [30, null]]);
  });
});

describe('metric vs hyper-parameter scatter', () => {
  it('puts a numeric field on a value axis with integer ticks, each group in its colour', () => {
    const opt = scatterOption({
      points: [{ x: 1, y: 70, group: 'heads=1', name: '#1' }, { x: 4, y: 75, group: 'heads=4', name: '#2' }],
      groups: ['heads=1', 'heads=4'],
      colors: new Map([['heads=1', '#111111'], ['heads=4', '#222222']]),
      xName: 'heads',
      yName: 'test BLEU (beam)',
    });
    expect(opt.xAxis).toMatchObject({ type: 'value', name: 'heads', minInterval: 1 });
    expect((opt.series as { color: string; data: { value: unknown[] }[] }[]).map((s) => [s.color, s.data[0].value])).toEqual([['#111111', [1, 70]], ['#222222', [4, 75]]]);
  });
  it('puts a text field on a category axis in the given order', () => {
    const opt = scatterOption({ points: [{ x: 'relu', y: 1, group: 'a', name: '#1' }], groups: ['a'], colors: new Map(), xName: 'act', yName: 'y', categories: ['gelu', 'relu'] });
    expect(opt.xAxis).toMatchObject({ type: 'category', data: ['gelu', 'relu'] });
  });
});
