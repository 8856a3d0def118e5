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

/**
 * Mean ± std over seeds: curves are aligned on their shared x grid (seeds of one variant evaluate at
 * the same steps); an x only some curves reached uses those that did.
 */
export function meanStdBand(curves: readonly Curve[]): Band {
  const byX = new Map<number, number[]>();
  for (const c of curves)
    for (let i = 0; i < c.xs.length; i++) {
      const list = byX.get(c.xs[i]);
      if (list) list.push(c.ys[i]);
      else byX.set(c.xs[i], [c.ys[i]]);
    }
  const xs = [...byX.keys()].sort((a, b) => a - b);
  const band: Band = { xs, mean: [], lower: [], upper: [], n: [] };
  for (const x of xs) {
    const { mean, std, n } = meanStd(byX.get(x)!);
    band.mean.push(mean);
    band.lower.push(mean - std);
    band.upper.push(mean + std);
    band.n.push(n);
  }
  return band;
}
