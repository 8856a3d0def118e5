/** Compare view's data shaping: runs → per-variant bars, parallel-coordinate rows. Pure, tested. */
import type { RunRow } from '../../../contract/api';
import type { FinalMetricName } from '../../../contract/metrics';
import type { BarItem, ParallelRun } from './options';
import { meanStd } from './stats';
import { configField } from '../../../contract/spec';
import { groupOf, type GroupBy } from './groups';

/** Variants in the order they first appear (base first when present). */
export function variantsOf(runs: readonly RunRow[]): string[] {
  const seen = [...new Set(runs.map((r) => r.variant))];
  return seen.includes('base') ? ['base', ...seen.filter((v) => v !== 'base')] : seen;
}

/**
 * One bar per group (variant by default): mean ± std of a final metric over its runs that have it,
 * in the groups' order and colours.
 */
export function finalMetricBars(runs: readonly RunRow[], metric: FinalMetricName, groups?: { by: GroupBy; order: readonly string[]; colors?: ReadonlyMap<string, string>; multiExperiment?: boolean }): BarItem[] {
  const by = groups?.by ?? 'variant';
  const order = groups?.order ?? variantsOf(runs);
  return order
    .map((label) => {
      const values = runs.filter((r) => groupOf(r, by, groups?.multiExperiment) === label && typeof r.metrics[metric] === 'number').map((r) => r.metrics[metric]);
      const { mean, std, n } = meanStd(values);
      const color = groups?.colors?.get(label);
      return color ? { label, mean, std, n, color } : { label, mean, std, n };
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
export function parallelRows(runs: readonly RunRow[], params: readonly string[], metricNames: readonly FinalMetricName[], group: (r: RunRow) => string = (r) => r.variant): ParallelRun[] {
  return runs.map((r) => {
    const values: Record<string, number | string | null> = {};
    for (const p of params) {
      const v = settingOf(r, p);
      values[p] = typeof v === 'number' ? v : v === undefined || v === null ? null : String(v);
    }
    // Parameter counts in millions, as the result table has them.
    for (const m of metricNames) values[m] = typeof r.metrics[m] === 'number' && Number.isFinite(r.metrics[m]) ? (m === 'params' ? r.metrics[m] / 1e6 : r.metrics[m]) : null;
    return { name: `#${r.id}`, group: group(r), values };
  });
}

/**
 * Whether two lists of runs draw the same in Compare: the same runs in the same order with the same
 * state, archive flag, start time, config and final metrics. A training run's step (its row changes
 * at each one) is not drawn there: its curve comes from the metrics store.
 */
export function sameAsDrawn(a: readonly RunRow[], b: readonly RunRow[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i] || drawnKey(r) === drawnKey(b[i]));
}

function drawnKey(r: RunRow): string {
  return JSON.stringify([r.id, r.state, r.archivedAt ?? null, r.startedAt, r.configHash, r.experimentId, r.variant, r.metrics]);
}
