/** Compare view's data shaping: runs → per-variant bars, parallel-coordinate rows. Pure, tested. */
import type { RunRow } from '../../../contract/api';
import type { FinalMetricName } from '../../../contract/metrics';
import type { BarItem, ParallelRun } from './options';
import { meanStd } from './stats';
import { configField } from '../../../contract/spec';

/** Variants in the order they first appear (base first when present). */
export function variantsOf(runs: readonly RunRow[]): string[] {
  const seen = [...new Set(runs.map((r) => r.variant))];
  return seen.includes('base') ? ['base', ...seen.filter((v) => v !== 'base')] : seen;
}

/** One bar per variant: mean ± std of a final metric over its runs that have it. */
export function finalMetricBars(runs: readonly RunRow[], metric: FinalMetricName): BarItem[] {
  return variantsOf(runs)
    .map((variant) => {
      const values = runs.filter((r) => r.variant === variant && typeof r.metrics[metric] === 'number').map((r) => r.metrics[metric]);
      const { mean, std, n } = meanStd(values);
      return { label: variant, mean, std, n };
    })
    .filter((b) => b.n > 0);
}

const settingOf = (run: RunRow, key: string): unknown => configField(run.config, key);

/** Hyper-parameters that differ between the given runs (the only ones worth an axis). */
export function varyingParams(runs: readonly RunRow[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.config.changes)) keys.add(k);
  return [...keys].filter((k) => new Set(runs.map((r) => JSON.stringify(settingOf(r, k)))).size > 1).sort();
}

/** Rows for the parallel-coordinates chart: each run's hyper-parameter values then its final metrics. */
export function parallelRows(runs: readonly RunRow[], params: readonly string[], metricNames: readonly FinalMetricName[]): ParallelRun[] {
  return runs.map((r) => {
    const values: Record<string, number | string | null> = {};
    for (const p of params) {
      const v = settingOf(r, p);
      values[p] = typeof v === 'number' ? v : v === undefined || v === null ? null : String(v);
    }
    for (const m of metricNames) values[m] = typeof r.metrics[m] === 'number' && Number.isFinite(r.metrics[m]) ? r.metrics[m] : null;
    return { name: `#${r.id}`, group: r.variant, values };
  });
}
