/** Chart images for papers: PNG from the live canvas, SVG from an off-screen SVG render of the same option. */
import { init, type EChartsCoreOption as EChartsOption, type ECharts } from 'echarts/core';
import './echarts';

/**
 * How a chart takes a new option (live points, a run finishing): merged, with only the series
 * replaced, so the user's zoom, legend selection and an open tooltip survive the update (a
 * not-merge update rebuilds every component and drops them).
 */
export const LIVE_UPDATE = Object.freeze({ notMerge: false, replaceMerge: ['series'] as string[] });

export function chartPng(chart: Pick<ECharts, 'getDataURL'>, background: string): string {
  return chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: background });
}

/** Renders `option` with ECharts' SVG renderer in server-side mode (no DOM needed) as a data URL. */
export function chartSvg(option: EChartsOption, width: number, height: number, theme?: string): string {
  const chart = init(null, theme, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(option);
    return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(chart.renderToSVGString())}`;
  } finally {
    chart.dispose();
  }
}
