/**
 * ECharts option builders: pure functions from plotted data to an option object, so each chart is
 * testable without a canvas. Animation is off everywhere: live data redraws many times a second and
 * tweening 100 × 10k points is what makes dashboards sluggish.
 */
import type { CustomSeriesOption, CustomSeriesRenderItem, EChartsOption } from 'echarts';
import { colorFor } from './palette';

export interface LineSeries {
  readonly name: string;
  /** [x, y] points, x ascending. */
  readonly data: readonly (readonly [number, number])[];
  readonly color?: string;
  /** Drawn thin and faint (the raw curve under its smoothed version); no tooltip, no legend entry. */
  readonly faint?: boolean;
  /** Line dash (seeds of one colour told apart in Live). */
  readonly dash?: 'solid' | 'dashed' | 'dotted';
}

export interface BandSeries {
  readonly name: string;
  readonly xs: readonly number[];
  readonly lower: readonly number[];
  readonly upper: readonly number[];
  readonly color: string;
}

/** Single points drawn over the curves: a run's final (beam, test) score at its curve's end. */
export interface MarkSeries {
  readonly name: string;
  readonly data: readonly (readonly [number, number])[];
  /** Legend colour; each point takes its own from pointColors when given. */
  readonly color: string;
  readonly symbol: 'diamond' | 'triangle' | 'circle';
  readonly pointColors?: readonly string[];
  /** Tooltip name of each point (whose final score it is). */
  readonly pointNames?: readonly string[];
}

export type XKind = 'step' | 'time' | 'tokens';

export const X_LABELS: Record<XKind, string> = { step: 'step', time: 'wall time (s)', tokens: 'target tokens seen' };

interface TooltipParam {
  readonly seriesName?: string;
  readonly marker?: unknown;
  readonly axisValue?: unknown;
  readonly value?: unknown;
}

/**
 * An axis tooltip as a paper would print it: the x value once, in its own format (`step 160`, not
 * `160.00`), then each series at that x.
 */
export function axisTooltip(xName: string | undefined, params: readonly TooltipParam[]): string {
  if (!params.length) return '';
  const x = Number(Array.isArray(params[0].value) ? params[0].value[0] : params[0].axisValue);
  const head = `${escapeHtml(xName ?? 'x')} ${formatAxisValue(x)}`;
  const lines = params.map((p) => {
    const y = Array.isArray(p.value) ? Number(p.value[1]) : Number(p.value);
    return `${typeof p.marker === 'string' ? p.marker : ''}${escapeHtml(p.seriesName ?? '')} <b>${formatNumber(y)}</b>`;
  });
  return [head, ...lines].join('<br/>');
}

/**
 * One formatter for every axis label: `toLocaleString('en-US')` builds a new one per call, and
 * ECharts formats each label several times while laying out an axis (~50 ms of a 100-run first
 * draw in chromium's profile).
 */
const WHOLE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** An x value: integers whole with thousands separators (steps, tokens), others as formatNumber. */
export function formatAxisValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? WHOLE.format(v) : formatNumber(v);
}

export function lineChartOption(opts: {
  title?: string;
  series: readonly LineSeries[];
  bands?: readonly BandSeries[];
  marks?: readonly MarkSeries[];
  xName?: string;
  yName?: string;
  yLog?: boolean;
  legend?: boolean;
  /** Wheel/drag zoom on x and a range slider under the plot. */
  zoom?: boolean;
}): EChartsOption {
  const { series, bands = [], marks = [] } = opts;
  const legend = opts.legend !== false;
  const shortName = opts.xName?.replace(/ \(≈.*$/, '');
  return {
    animation: false,
    backgroundColor: 'transparent',
    title: opts.title ? { text: opts.title, left: 8, top: 4, textStyle: { fontSize: 13 } } : undefined,
    grid: { left: 64, right: 24, top: opts.title ? 40 : 32, bottom: (legend ? 60 : 36) + (opts.zoom ? 30 : 0), containLabel: false },
    // An axis tooltip lists every series at the cursor: fine for a few, sluggish for 100 runs.
    tooltip:
      series.length > 24
        ? { trigger: 'item', confine: true, className: 'chart-tooltip', formatter: (p: unknown) => axisTooltip(shortName, [p as TooltipParam]) }
        : { trigger: 'axis', confine: true, className: 'chart-tooltip', formatter: (p: unknown) => axisTooltip(shortName, p as TooltipParam[]) },
    legend: legend ? { type: 'scroll', bottom: 0, data: [...series.filter((s) => !s.faint).map((s) => s.name), ...marks.map((m) => m.name)] } : undefined,
    dataZoom: opts.zoom
      ? [
          { type: 'inside', xAxisIndex: 0, filterMode: 'none' },
          { type: 'slider', xAxisIndex: 0, filterMode: 'none', height: 16, bottom: legend ? 30 : 6, labelFormatter: (v: number) => formatAxisValue(v) },
        ]
      : undefined,
    xAxis: { type: 'value', name: opts.xName, nameLocation: 'middle', nameGap: 24, scale: true, axisLabel: { formatter: (v: number) => formatAxisValue(v) } },
    yAxis: { type: opts.yLog ? 'log' : 'value', name: opts.yName, nameTextStyle: { align: 'left' }, scale: true },
    series: [
      ...bands.map((b) => bandSeries(b, opts.yLog)),
      ...series.map((s, i) => ({
        type: 'line' as const,
        name: s.name,
        // A log axis has no place for 0 or below (a BLEU of 0): those points are left as gaps.
        data: opts.yLog ? s.data.map(([x, y]) => [x, y > 0 ? y : null]) : (s.data as [number, number][]),
        showSymbol: s.data.length < 30 && !s.faint,
        symbolSize: 4,
        sampling: 'lttb' as const,
        large: true,
        color: s.color ?? colorFor(i),
        lineStyle: { width: s.faint ? 1 : 1.8, opacity: s.faint ? 0.3 : 1, type: s.dash ?? 'solid' },
        emphasis: { disabled: true },
        silent: s.faint,
        tooltip: s.faint ? { show: false } : undefined,
        connectNulls: false,
        z: s.faint ? 2 : 3,
      })),
      ...marks.map((m) => ({
        type: 'scatter' as const,
        name: m.name,
        data: m.data.map((d, i) => ({ value: [d[0], d[1]], name: m.pointNames?.[i], itemStyle: m.pointColors?.[i] ? { color: m.pointColors[i] } : undefined })),
        symbol: m.symbol,
        tooltip: { trigger: 'item' as const, formatter: (p: unknown) => { const q = p as { name?: string; value: [number, number] }; return `${escapeHtml(q.name || m.name)} <b>${formatNumber(q.value[1])}</b>`; } },
        symbolSize: 11,
        color: m.color,
        itemStyle: { borderColor: '#fff', borderWidth: 1 },
        z: 5,
      })),
    ],
  };
}

/**
 * Mean ± std band as one filled polygon (upper edge forward, lower edge back). On a log y axis an
 * edge at or below 0 (BLEU 0 ± 3 early in training) has no place: it is clipped to the bottom of
 * the plot and left out of the band's extent, so the axis is not asked to reach 0 or below.
 */
export function bandSeries(b: BandSeries, yLog = false): CustomSeriesOption {
  // Two data items span the band's extent, so the axes include all of it (not 0); the polygon is
  // drawn once, for the first item.
  const onAxis = (v: number) => Number.isFinite(v) && (!yLog || v > 0);
  const lows = b.lower.filter(onAxis);
  const highs = b.upper.filter(onAxis);
  const bottom = lows.length ? Math.min(...lows) : Math.min(...highs);
  const data = b.xs.length && highs.length ? [[b.xs[0], bottom], [b.xs[b.xs.length - 1], Math.max(...highs)]] : [];
  const renderItem: CustomSeriesRenderItem = (params, api) => {
    if (params.dataIndex !== 0) return null;
    const sys = params.coordSys as unknown as { x: number; y: number; width: number; height: number };
    const floor = sys.y + sys.height;
    // x in pixels does not depend on y: measured at a y the axis can place.
    const at = (x: number, y: number): number[] => (onAxis(y) ? api.coord([x, y]) : [api.coord([x, bottom])[0], floor]);
    const points: number[][] = [];
    for (let i = 0; i < b.xs.length; i++) if (Number.isFinite(b.upper[i])) points.push(at(b.xs[i], b.upper[i]));
    for (let i = b.xs.length - 1; i >= 0; i--) if (Number.isFinite(b.lower[i])) points.push(at(b.xs[i], b.lower[i]));
    return {
      type: 'polygon',
      shape: { points },
      style: { fill: b.color, opacity: 0.18 },
      clipPath: { type: 'rect', shape: { x: sys.x, y: sys.y, width: sys.width, height: sys.height } },
    };
  };
  return { type: 'custom', name: b.name, silent: true, tooltip: { show: false }, data, z: 1, renderItem };
}

/** ±1 std whiskers drawn over bar i: data items are [i, low, high]. */
const errorBarItem: CustomSeriesRenderItem = (_params, api) => {
  const x = api.value(0) as number;
  // One seed (or identical seeds): no spread to draw.
  if (!(Number(api.value(2)) > Number(api.value(1)))) return null;
  const low = api.coord([x, api.value(1) as number]);
  const high = api.coord([x, api.value(2) as number]);
  const size = api.size?.([1, 0]);
  const half = (Array.isArray(size) ? size[0] : (size ?? 20)) * 0.12;
  const style = { stroke: '#888', lineWidth: 1.5 };
  return {
    type: 'group',
    children: [
      { type: 'line', shape: { x1: high[0] - half, y1: high[1], x2: high[0] + half, y2: high[1] }, style },
      { type: 'line', shape: { x1: high[0], y1: high[1], x2: low[0], y2: low[1] }, style },
      { type: 'line', shape: { x1: low[0] - half, y1: low[1], x2: low[0] + half, y2: low[1] }, style },
    ],
  };
};

export interface BarItem {
  readonly label: string;
  readonly mean: number;
  readonly std: number;
  readonly n: number;
  /** The group's colour (the same in every view); else by position. */
  readonly color?: string;
}

/**
 * Bars of a final metric per group with ±1 std error bars (n in the tooltip). The whiskers' data
 * span both ends on y, so the axis always contains them (no bar overflows the plot, on screen or in
 * an exported image).
 */
export function barErrorOption(opts: { title: string; items: readonly BarItem[]; yName?: string }): EChartsOption {
  const { items } = opts;
  return {
    animation: false,
    backgroundColor: 'transparent',
    title: { text: opts.title, left: 8, top: 4, textStyle: { fontSize: 13 } },
    grid: { left: 56, right: 16, top: 36, bottom: 56 },
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p: unknown) => {
        const it = items[(p as { dataIndex: number }).dataIndex];
        return it ? `${escapeHtml(it.label)}<br/>${formatNumber(it.mean)}${it.n > 1 ? ` ± ${formatNumber(it.std)} (std, n=${it.n})` : ' (n=1)'}` : '';
      },
    },
    xAxis: { type: 'category', data: items.map((i) => i.label), axisLabel: { interval: 0, rotate: items.length > 4 ? 25 : 0, width: 110, overflow: 'truncate' } },
    yAxis: { type: 'value', name: opts.yName, nameTextStyle: { align: 'left' }, scale: false },
    series: [
      {
        type: 'bar',
        name: opts.title,
        data: items.map((it, i) => ({ value: it.mean, itemStyle: { color: it.color ?? colorFor(i) } })),
        barMaxWidth: 48,
      },
      {
        type: 'custom',
        name: 'std',
        silent: true,
        tooltip: { show: false },
        data: items.map((it, i) => [i, it.mean - it.std, it.mean + it.std]),
        encode: { x: 0, y: [1, 2] },
        clip: true,
        z: 10,
        renderItem: errorBarItem,
      },
    ],
  };
}

export interface ParallelRun {
  readonly name: string;
  readonly group: string;
  readonly values: Readonly<Record<string, number | string | null>>;
}

/**
 * Parallel coordinates: one axis per picked dimension (hyper-parameters, then final metrics); one
 * line per run, coloured by its group. Axes with text values are categorical; an axis whose values
 * are all integers gets integer ticks.
 */
export function parallelOption(opts: {
  runs: readonly ParallelRun[];
  dimensions: readonly string[];
  groups: readonly string[];
  colors?: ReadonlyMap<string, string>;
  labels?: Readonly<Record<string, string>>;
}): EChartsOption {
  const { runs, dimensions, groups } = opts;
  const categorical = dimensions.map((d) => runs.some((r) => typeof r.values[d] === 'string'));
  const integer = dimensions.map((d) => runs.every((r) => r.values[d] === null || (typeof r.values[d] === 'number' && Number.isInteger(r.values[d]))));
  return {
    animation: false,
    backgroundColor: 'transparent',
    tooltip: { confine: true },
    legend: { type: 'scroll', bottom: 0, data: [...groups] },
    parallel: { left: 60, right: 80, top: 40, bottom: 50 },
    parallelAxis: dimensions.map((d, i) => {
      const name = opts.labels?.[d] ?? d;
      if (categorical[i]) return { dim: i, name, type: 'category', data: [...new Set(runs.map((r) => String(r.values[d] ?? '—')))] };
      return integer[i] ? { dim: i, name, type: 'value', scale: true, minInterval: 1 } : { dim: i, name, type: 'value', scale: true };
    }),
    series: groups.map((g, gi) => ({
      type: 'parallel' as const,
      name: g,
      color: opts.colors?.get(g) ?? colorFor(gi),
      lineStyle: { width: 2, opacity: 0.7 },
      data: runs.filter((r) => r.group === g).map((r) => dimensions.map((d, i) => (categorical[i] ? String(r.values[d] ?? '—') : (r.values[d] as number | null)))),
    })),
  };
}

export interface ScatterPoint {
  readonly x: number | string;
  readonly y: number;
  readonly group: string;
  readonly name: string;
}

/**
 * A final metric against a hyper-parameter: one point per run, coloured by its group. A numeric
 * field is a value axis (integer ticks when every value is an integer), text a category axis in the
 * given order.
 */
export function scatterOption(opts: { points: readonly ScatterPoint[]; groups: readonly string[]; colors: ReadonlyMap<string, string>; xName: string; yName: string; categories?: readonly string[] }): EChartsOption {
  const { points } = opts;
  const numeric = points.every((p) => typeof p.x === 'number');
  const integer = numeric && points.every((p) => Number.isInteger(p.x));
  return {
    animation: false,
    backgroundColor: 'transparent',
    grid: { left: 64, right: 24, top: 32, bottom: 60 },
    tooltip: { trigger: 'item', confine: true, formatter: (p: unknown) => {
      const q = p as { name: string; value: [number | string, number] };
      return `${escapeHtml(q.name)}<br/>${escapeHtml(opts.xName)} ${typeof q.value[0] === 'number' ? formatAxisValue(q.value[0]) : escapeHtml(String(q.value[0]))}: <b>${formatNumber(q.value[1])}</b>`;
    } },
    legend: { type: 'scroll', bottom: 0, data: [...opts.groups] },
    xAxis: numeric
      ? { type: 'value', name: opts.xName, nameLocation: 'middle', nameGap: 24, scale: true, ...(integer ? { minInterval: 1 } : {}) }
      : { type: 'category', name: opts.xName, nameLocation: 'middle', nameGap: 24, data: [...(opts.categories ?? [...new Set(points.map((p) => String(p.x)))])] },
    yAxis: { type: 'value', name: opts.yName, nameTextStyle: { align: 'left' }, scale: true },
    series: opts.groups.map((g) => ({
      type: 'scatter' as const,
      name: g,
      color: opts.colors.get(g) ?? '#888',
      symbolSize: 9,
      data: points.filter((p) => p.group === g).map((p) => ({ name: p.name, value: [numeric ? p.x : String(p.x), p.y] })),
    })),
  };
}

/** Attention weights of one head as a heatmap: rows are queries, columns keys. */
export function heatmapOption(opts: { title: string; rows: readonly string[]; cols: readonly string[]; weights: readonly (readonly number[])[] }): EChartsOption {
  const data: [number, number, number][] = [];
  opts.weights.forEach((row, q) => row.forEach((w, k) => data.push([k, q, w])));
  return {
    animation: false,
    backgroundColor: 'transparent',
    title: { text: opts.title, left: 8, top: 4, textStyle: { fontSize: 13 } },
    tooltip: { confine: true, formatter: (p: unknown) => {
      const [k, q, w] = (p as { data: [number, number, number] }).data;
      return `${escapeHtml(opts.rows[q] ?? '')} → ${escapeHtml(opts.cols[k] ?? '')}: ${w.toFixed(3)}`;
    } },
    grid: { left: 90, right: 60, top: 36, bottom: 80 },
    xAxis: { type: 'category', data: [...opts.cols], axisLabel: { rotate: 60, interval: 0 }, splitArea: { show: false } },
    yAxis: { type: 'category', data: [...opts.rows], inverse: true, axisLabel: { interval: 0 } },
    visualMap: { min: 0, max: 1, calculable: false, orient: 'vertical', right: 4, top: 'middle', itemHeight: 120, inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] } },
    series: [{ type: 'heatmap', data, emphasis: { disabled: true } }],
  };
}

export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(3) : v.toPrecision(3);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
