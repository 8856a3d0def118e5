/** Live updates keep what the user did to a chart; exported images keep the group colours. */
import { describe, expect, it } from 'vitest';
import { init } from 'echarts/core';
import { chartSvg, LIVE_UPDATE } from './export';
import { barErrorOption, lineChartOption } from './options';
import './echarts';

const option = (n: number) =>
  lineChartOption({
    series: [
      { name: 'base (n=2)', data: Array.from({ length: n }, (_, i) => [i * 10, 5 - i / n] as [number, number]), color: '#4e79a7' },
      { name: 'h=1 (n=2)', data: Array.from({ length: n }, (_, i) => [i * 10, 6 - i / n] as [number, number]), color: '#f28e2b' },
    ],
    xName: 'step',
    yName: 'train loss (nats/token)',
    zoom: true,
  });

describe('a chart under live updates', () => {
  it('keeps the zoom window and the legend selection when new points arrive', () => {
    const chart = init(null, undefined, { renderer: 'svg', ssr: true, width: 600, height: 300 });
    try {
      chart.setOption(option(20));
      chart.dispatchAction({ type: 'dataZoom', start: 20, end: 60 });
      chart.dispatchAction({ type: 'legendUnSelect', name: 'h=1 (n=2)' });
      chart.setOption(option(25), LIVE_UPDATE);
      const now = chart.getOption() as { dataZoom: { start: number; end: number }[]; legend: { selected: Record<string, boolean> }[]; series: { data: unknown[] }[] };
      expect(now.series[0].data).toHaveLength(25);
      expect([now.dataZoom[0].start, now.dataZoom[0].end]).toEqual([20, 60]);
      expect(now.legend[0].selected['h=1 (n=2)']).toBe(false);
      // A not-merge update, as the charts did before, loses both: the test can tell them apart.
      chart.setOption(option(26), { notMerge: true });
      const reset = chart.getOption() as { dataZoom: { start: number }[] };
      expect(reset.dataZoom[0].start).toBe(0);
    } finally {
      chart.dispose();
    }
  });
});

describe('exported SVG', () => {
  it('draws each bar in its group’s colour, whatever its position', () => {
    const svg = decodeURIComponent(chartSvg(barErrorOption({ title: '', items: [{ label: 'h=1', mean: 3, std: 1, n: 2, color: '#e15759' }] }), 400, 240).split(',')[1]);
    expect(svg).toContain('#e15759');
    expect(svg).not.toContain('#4e79a7');
  });
});
