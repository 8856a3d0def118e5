import { describe, expect, it } from 'vitest';
import { barErrorOption, heatmapOption, lineChartOption } from './options';

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
