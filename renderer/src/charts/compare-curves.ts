/**
 * Compare's curve chart from the runs' series: one line per run or one mean line per group (with a
 * band), the raw curve drawn faintly behind every smoothed one, and each run's (or group's) final
 * beam/test score marked at the end of its curve. Pure, tested.
 */
import type { RunRow } from '../../../contract/api';
import { lttbIndices } from '../../../common/lttb';
import { interpolate, plotPoints } from './curves';
import type { GroupBy } from './groups';
import { groupOf } from './groups';
import type { BandSeries, LineSeries, MarkSeries, XKind } from './options';
import { ema } from './smoothing';
import { meanStd, meanStdBand, BAND_LABELS, type BandKind } from './stats';
import type { FinalMark } from './units';

export interface RunCurve {
  readonly run: RunRow;
  /** Steps of the series' points, and x at each (step, seconds or tokens seen). */
  readonly steps: readonly number[];
  readonly xs: readonly number[];
  readonly ys: readonly number[];
}

export interface CurveOptions {
  /** One mean line (and band) per group instead of one line per run. */
  readonly grouped: boolean;
  readonly by: GroupBy;
  readonly multiExperiment?: boolean;
  /** Groups in display order and their colours (over all runs in view). */
  readonly order: readonly string[];
  readonly colors: ReadonlyMap<string, string>;
  /** EMA weight applied to this chart (0: raw only). */
  readonly smoothing: number;
  readonly band: BandKind;
  readonly xKind: XKind;
  /** Final scores to mark at each curve's end. */
  readonly marks: readonly FinalMark[];
  readonly maxPoints?: number;
}

export interface CurveChart {
  readonly series: LineSeries[];
  readonly bands: BandSeries[];
  readonly marks: MarkSeries[];
}

export function compareCurves(curves: readonly RunCurve[], o: CurveOptions): CurveChart {
  const maxPoints = o.maxPoints ?? 1500;
  const rawPoints = rawPointsPerCurve(o.grouped ? o.order.length : curves.length, maxPoints);
  const series: LineSeries[] = [];
  const bands: BandSeries[] = [];
  const points = new Map<FinalMark, { x: number; y: number; color: string; name: string }[]>(o.marks.map((m) => [m, []]));
  const colorOf = (g: string) => o.colors.get(g) ?? '#888';
  const smooth = o.smoothing > 0;

  if (o.grouped) {
    for (const g of o.order) {
      const members = curves.filter((c) => groupOf(c.run, o.by, o.multiExperiment) === g);
      if (!members.length) continue;
      const color = colorOf(g);
      // Seeds are aligned on step (interpolated); with time or tokens on x, each aligned step sits at
      // the seeds' mean x there (wall time and tokens seen differ a little between seeds).
      const band = meanStdBand(members.map((c) => ({ xs: c.steps, ys: c.ys })), o.band);
      const xs = o.xKind === 'step' ? band.xs : band.xs.map((step) => mean(members.map((c) => interpolate(c.steps, c.xs, step))));
      // Smooth mean and edges alike, then draw all three at the mean's LTTB points (a 10k-point band
      // polygon per group is what makes redraws slow).
      const mean_ = ema(band.mean, o.smoothing);
      const keep = lttbIndices(xs, mean_, maxPoints);
      const name = `${g} (n=${members.length})`;
      if (smooth) series.push({ name: `${name} raw`, data: plotPoints(xs, band.mean, { maxPoints: rawPoints }), color, faint: true });
      series.push({ name, data: keep.map((i) => [xs[i], mean_[i]] as [number, number]), color });
      if (members.length > 1) {
        const lower = ema(band.lower, o.smoothing);
        const upper = ema(band.upper, o.smoothing);
        bands.push({ name: `${g} ${BAND_LABELS[o.band]}`, xs: keep.map((i) => xs[i]), lower: keep.map((i) => lower[i]), upper: keep.map((i) => upper[i]), color });
      }
      const lastX = xs[xs.length - 1];
      for (const m of o.marks) {
        const finals = members.map((c) => c.run.metrics[m.metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        if (finals.length && lastX !== undefined) points.get(m)!.push({ x: lastX, y: meanStd(finals).mean, color, name: `${g}: ${m.label}${finals.length > 1 ? ` (mean of ${finals.length})` : ''}` });
      }
    }
  } else {
    for (const c of curves) {
      const g = groupOf(c.run, o.by, o.multiExperiment);
      const color = colorOf(g);
      const label = `#${c.run.id} ${g} s${c.run.seed}`;
      if (smooth) series.push({ name: `${label} raw`, data: plotPoints(c.xs, c.ys, { maxPoints: rawPoints }), color, faint: true });
      series.push({ name: label, data: plotPoints(c.xs, c.ys, { smoothing: o.smoothing, maxPoints }), color });
      const lastX = c.xs[c.xs.length - 1];
      for (const m of o.marks) {
        const v = c.run.metrics[m.metric];
        if (typeof v === 'number' && Number.isFinite(v) && lastX !== undefined) points.get(m)!.push({ x: lastX, y: v, color, name: `${label}: ${m.label}` });
      }
    }
  }
  const marks: MarkSeries[] = o.marks
    .filter((m) => points.get(m)!.length)
    .map((m) => ({ name: m.label, symbol: m.symbol, color: '#888', data: points.get(m)!.map((p) => [p.x, p.y] as const), pointColors: points.get(m)!.map((p) => p.color), pointNames: points.get(m)!.map((p) => p.name) }));
  return { series, bands, marks };
}

/**
 * The faint raw curves behind smoothed ones share one point budget: each curve's noise drawn at 30%
 * opacity is what costs (chromium strokes a zigzag translucent line far slower than a smooth one),
 * so 100 runs × 500 raw points tripled the first draw while 100 × ~170 cost about nothing more
 * than no raw curves (issue 13's UI note). LTTB keeps each curve's spikes; a few runs keep a third
 * of the smoothed curve's points.
 */
export const RAW_POINT_BUDGET = 16_000;

export function rawPointsPerCurve(curveCount: number, maxPoints: number): number {
  return Math.max(100, Math.min(Math.round(maxPoints / 3), Math.floor(RAW_POINT_BUDGET / Math.max(1, curveCount))));
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
