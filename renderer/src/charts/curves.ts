/** From stored series to plotted [x, y] points: x by step, wall time or tokens seen; smoothing; LTTB. */
import type { Series } from '../stores/metrics';
import { lttbIndices } from '../../../common/lttb';
import { ema } from './smoothing';
import { X_LABELS, type XKind } from './options';

/**
 * x values for a series. Wall time is seconds since the run's first measured point. Tokens seen come
 * from the run's recorded `train/tokens_seen` series (interpolated at each step); runs recorded
 * before the engine logged it get step × the run's batch_tokens budget, an estimate (real batches
 * fill the budget only approximately).
 */
export function xValues(s: Series, kind: XKind, ctx: { tokens?: Series; batchTokens: number; startTime?: number }): number[] {
  if (kind === 'step') return s.steps.slice();
  if (kind === 'time') {
    const t0 = ctx.startTime ?? s.times[0] ?? 0;
    return s.times.map((t) => (t - t0) / 1000);
  }
  const tok = ctx.tokens;
  if (recordsTokens(tok)) return s.steps.map((step) => interpolate(tok.steps, tok.values, step));
  return s.steps.map((step) => step * ctx.batchTokens);
}

/** Whether a run's `train/tokens_seen` series has points (runs recorded before the engine logged it have none). */
export function recordsTokens(tokens: Series | undefined): tokens is Series {
  return tokens !== undefined && tokens.steps.length > 0;
}

/** The x axis title; on tokens seen it names the runs whose x is the step × batch_tokens estimate. */
export function xAxisName(kind: XKind, estimatedRunIds: readonly number[], runCount: number): string {
  if (kind !== 'tokens' || estimatedRunIds.length === 0) return X_LABELS[kind];
  const which = estimatedRunIds.length === runCount ? '' : estimatedRunIds.length <= 4 ? ` for ${estimatedRunIds.map((id) => `#${id}`).join(', ')}` : ` for ${estimatedRunIds.length} of ${runCount} runs`;
  return `${X_LABELS.tokens} (≈ step × batch_tokens${which}: recorded before tokens_seen)`;
}

/** Linear interpolation of ys at x (clamped to the ends); xs ascending. */
export function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  if (xs.length === 0) return NaN;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[xs.length - 1]) return ys[ys.length - 1];
  let lo = 0;
  let hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const f = (x - xs[lo]) / (xs[hi] - xs[lo]);
  return ys[lo] + f * (ys[hi] - ys[lo]);
}

/** Points to draw: smoothed (EMA weight in [0, 1)) then LTTB-sampled to `maxPoints`. */
export function plotPoints(xs: readonly number[], ys: readonly number[], opts: { smoothing?: number; maxPoints?: number } = {}): [number, number][] {
  const smoothed = opts.smoothing ? ema(ys, opts.smoothing) : ys;
  const idx = lttbIndices(xs, smoothed, opts.maxPoints ?? 1500);
  return idx.map((i) => [xs[i], smoothed[i]]);
}
