/** Mean and sample standard deviation (n - 1, as numpy's ddof=1 and the result table use). */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  const variance = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

export interface Curve {
  readonly xs: readonly number[];
  readonly ys: readonly number[];
}

export interface Band {
  readonly xs: number[];
  readonly mean: number[];
  readonly lower: number[];
  readonly upper: number[];
  /** Curves contributing at each x. */
  readonly n: number[];
}

/** What a band around a group's mean shows: ±1 std, ±1 standard error of the mean, or min to max. */
export type BandKind = 'std' | 'se' | 'minmax';

export const BAND_LABELS: Record<BandKind, string> = { std: '± std', se: '± s.e.', minmax: 'min–max' };

/**
 * Mean ± std over seeds on the union of their x values. Seeds do not log at exactly the same steps
 * (progress points come every few steps, wherever the loop is), so each curve is linearly
 * interpolated at every grid x inside its own range; an x only some curves reach uses those. The
 * band's edges are mean ± std (default), mean ± standard error, or the min and max of the seeds.
 */
export function meanStdBand(curves: readonly Curve[], kind: BandKind = 'std'): Band {
  const xs = [...new Set(curves.flatMap((c) => c.xs))].sort((a, b) => a - b);
  const band: Band = { xs: [], mean: [], lower: [], upper: [], n: [] };
  const cursors = curves.map(() => 0);
  // One buffer for the seeds' values at each x: with 20 groups × 5 seeds × 500 points the grid has
  // ~50k xs, and an array (plus meanStd's filtered copy) per x was most of a grouped redraw's cost.
  const values = new Float64Array(curves.length);
  for (const x of xs) {
    let n = 0;
    let sum = 0;
    for (let ci = 0; ci < curves.length; ci++) {
      const c = curves[ci];
      const len = c.xs.length;
      if (len === 0 || x < c.xs[0] || x > c.xs[len - 1]) continue;
      let i = cursors[ci];
      while (i < len - 1 && c.xs[i + 1] <= x) i++;
      cursors[ci] = i;
      const y = c.xs[i] === x || i === len - 1 ? c.ys[i] : c.ys[i] + ((x - c.xs[i]) / (c.xs[i + 1] - c.xs[i])) * (c.ys[i + 1] - c.ys[i]);
      // Non-finite values (a diverged seed) are left out, as meanStd does.
      if (!Number.isFinite(y)) continue;
      values[n++] = y;
      sum += y;
    }
    if (n === 0) continue;
    const mean = sum / n;
    band.xs.push(x);
    band.mean.push(mean);
    if (kind === 'minmax') {
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k < n; k++) {
        lo = Math.min(lo, values[k]);
        hi = Math.max(hi, values[k]);
      }
      band.lower.push(lo);
      band.upper.push(hi);
    } else {
      let squares = 0;
      for (let k = 0; k < n; k++) squares += (values[k] - mean) * (values[k] - mean);
      const std = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
      const half = kind === 'se' ? std / Math.sqrt(n) : std;
      band.lower.push(mean - half);
      band.upper.push(mean + half);
    }
    band.n.push(n);
  }
  return band;
}
