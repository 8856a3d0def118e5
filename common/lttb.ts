/**
 * Largest-Triangle-Three-Buckets downsampling (Steinarsson 2013, "Downsampling Time Series for
 * Visual Representation", ch. 4): keeps the first and last point and, per bucket, the point that
 * spans the largest triangle with the previous pick and the next bucket's average — the shape of a
 * loss curve survives with a few hundred of its 10k points. Pure and browser-safe (no Node imports),
 * so the renderer can share it.
 */

/**
 * Indices of the points LTTB keeps, ascending. `x` must be ascending. NaN/±Inf values are always
 * kept (a diverged loss must stay visible) and not used as triangle corners.
 * @example lttbIndices([0,1,2,3,4], [0,5,0,5,0], 3) // → [0, 1, 4] (or 3: the largest triangle)
 */
export function lttbIndices(x: ArrayLike<number>, y: ArrayLike<number>, threshold: number): number[] {
  const n = x.length;
  if (threshold >= n || threshold <= 2) {
    if (threshold >= n) return Array.from({ length: n }, (_, i) => i);
    return n === 0 ? [] : n === 1 ? [0] : [0, n - 1];
  }
  const out: number[] = [0];
  const every = (n - 2) / (threshold - 2);
  let a = 0; // index of the previously selected point
  for (let i = 0; i < threshold - 2; i++) {
    // Average of the next bucket (the third triangle corner).
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    let count = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      if (!Number.isFinite(y[j])) continue;
      avgX += x[j];
      avgY += y[j];
      count++;
    }
    if (count > 0) {
      avgX /= count;
      avgY /= count;
    } else {
      avgX = x[Math.min(nextStart, n - 1)];
      avgY = Number.isFinite(y[a]) ? y[a] : 0;
    }
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    const ax = x[a];
    const ay = Number.isFinite(y[a]) ? y[a] : avgY;
    let best = start;
    let bestArea = -1;
    let nonFinite = -1;
    for (let j = start; j < end; j++) {
      if (!Number.isFinite(y[j])) {
        if (nonFinite < 0) nonFinite = j;
        continue;
      }
      const area = Math.abs((ax - avgX) * (y[j] - ay) - (ax - x[j]) * (avgY - ay));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    // A bucket holding a NaN/Inf reports that point: the divergence is the news.
    const pick = nonFinite >= 0 ? nonFinite : best;
    out.push(pick);
    a = pick;
  }
  out.push(n - 1);
  return out;
}
