/**
 * Exponential moving average as TensorBoard's scalar dashboard does it: s_t = w·s_{t-1} + (1-w)·x_t,
 * debiased by 1 - w^t so the first points are not pulled toward 0. Non-finite values pass through
 * (and do not poison the average): a divergence stays visible.
 * @example ema([1, 2, 3], 0) // → [1, 2, 3]
 */
export function ema(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return values.slice();
  const out = new Array<number>(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    out[i] = last / (1 - Math.pow(weight, count));
  }
  return out;
}
