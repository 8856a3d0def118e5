/**
 * Largest-Triangle-Three-Buckets downsampling (Steinarsson 2013, "Downsampling Time Series for
 * Visual Representation", ch. 4.2): keeps first and last point, then from each of `threshold - 2`
 * equal buckets the point forming the largest triangle with the previous kept point and the next
 * bucket's average. Keeps the visual shape (spikes, divergence) that plain striding drops.
 *
 * Returns the kept indices (ascending), so parallel arrays (steps, values, times) stay aligned.
 * @example lttbIndices([0, 1, 2, 3], [0, 5, 0, 0], 3) // → [0, 1, 3]
 */
export function lttbIndices(xs: ArrayLike<number>, ys: ArrayLike<number>, threshold: number): number[] {
  const n = xs.length;
  if (threshold >= n || threshold < 3) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [0];
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    // Average of the next bucket (the third triangle corner).
    const nextStart = Math.floor((i + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    let count = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      if (!Number.isFinite(ys[j])) continue;
      avgX += xs[j];
      avgY += ys[j];
      count++;
    }
    if (count) {
      avgX /= count;
      avgY /= count;
    } else {
      avgX = xs[Math.min(nextStart, n - 1)];
      avgY = 0;
    }
    const start = Math.floor(i * every) + 1;
    const end = Math.floor((i + 1) * every) + 1;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      // A non-finite value (diverged loss) is always kept: it is the most important point there is.
      if (!Number.isFinite(ys[j])) {
        best = j;
        break;
      }
      const area = Math.abs((xs[a] - avgX) * (ys[j] - ys[a]) - (xs[a] - xs[j]) * (avgY - ys[a]));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(best);
    a = best;
  }
  out.push(n - 1);
  return out;
}

/** [x, y] pairs sampled to at most `threshold` points. */
export function lttb(xs: ArrayLike<number>, ys: ArrayLike<number>, threshold: number): [number, number][] {
  return lttbIndices(xs, ys, threshold).map((i) => [xs[i], ys[i]]);
}
