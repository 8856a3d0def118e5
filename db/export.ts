/**
 * The Table-3-style result table: one row per variant (base first, then the order the variants
 * were queued), the hyper-parameters each variant changes, and mean ± sample std over the seeds
 * of its finished runs for each metric column, with Δ against base and the best value marked.
 *
 * @example
 *   const table = buildResultTable(store, experiment.id);
 *   writeFileSync('table3.tex', formatResultTable(table, 'latex'));
 */
import type { ExportFormat, ResultCell, ResultRow, ResultTable } from '../contract/api';
import type { RunRow } from '../contract/rows';
import { configField } from '../contract/spec';
import type { Store } from './store';
import { METRIC_COLUMNS, type MetricColumn } from './formats/columns';
import { formatCsv } from './formats/csv';
import { formatLatex } from './formats/latex';
import { formatMarkdown } from './formats/markdown';

export { METRIC_COLUMNS } from './formats/columns';

const BASE = 'base';

/** Builds the result table of one experiment from its runs' final metrics. Throws for an unknown experiment id. */
export function buildResultTable(store: Store, experimentId: number): ResultTable {
  const experiment = store.getExperiment(experimentId);
  if (!experiment) throw new Error(`no experiment with id ${experimentId}`);
  const runs = store.listRuns({ experimentId });

  // Variants in order of their first run (runs are ordered by id), base first.
  const groups = new Map<string, RunRow[]>();
  for (const r of runs) {
    const g = groups.get(r.variant);
    if (g) g.push(r);
    else groups.set(r.variant, [r]);
  }
  const variants = [...groups.keys()].sort((a, b) => (a === BASE ? -1 : b === BASE ? 1 : 0));

  const configOf = (variant: string) => groups.get(variant)![0].config;
  const changed: string[] = [];
  for (const v of variants) for (const key of Object.keys(configOf(v).changes)) if (!changed.includes(key)) changed.push(key);

  const metricCols = METRIC_COLUMNS.filter((c) => !c.optional || runs.some((r) => r.state === 'done' && r.metrics[c.metric] !== undefined));
  const baseConfig = groups.has(BASE) ? configOf(BASE) : undefined;

  const rows = variants.map((variant) => {
    const group = groups.get(variant)!;
    const done = group.filter((r) => r.state === 'done');
    const config = configOf(variant);
    const params: Record<string, string> = {};
    for (const key of changed) {
      const value = displayValue(configField(config, key));
      // Paper convention: a variant row shows only what differs from base.
      params[key] = variant !== BASE && baseConfig && value === displayValue(configField(baseConfig, key)) ? '' : value;
    }
    const metrics: Record<string, ResultCell> = {};
    for (const col of metricCols) metrics[col.label] = summarize(done.map((r) => r.metrics[col.metric]).filter((v): v is number => v !== undefined));
    return {
      variant,
      isBase: variant === BASE,
      params,
      metrics,
      seedsDone: done.length,
      seedsExpected: group.filter((r) => r.state !== 'cancelled').length,
    };
  });

  const base = rows.find((r) => r.isBase);
  for (const col of metricCols) {
    const baseMean = base?.metrics[col.label].mean ?? null;
    for (const row of rows) {
      const cell = row.metrics[col.label];
      if (!row.isBase && baseMean !== null && cell.mean !== null) row.metrics[col.label] = { ...cell, delta: cell.mean - baseMean };
    }
    markBest(rows, col);
  }
  return { experiment: experiment.name, columns: [...changed, ...metricCols.map((c) => c.label)], rows: rows as ResultRow[] };
}

/** Renders the table as CSV (separate mean/std/n/delta columns), Markdown or LaTeX (booktabs). */
export function formatResultTable(table: ResultTable, format: ExportFormat): string {
  switch (format) {
    case 'csv':
      return formatCsv(table);
    case 'md':
      return formatMarkdown(table);
    case 'latex':
      return formatLatex(table);
    default:
      throw new Error(`unknown export format "${String(format)}"; one of csv, md, latex`);
  }
}

/** Mean and sample standard deviation (n − 1 in the denominator; null for a single seed). */
function summarize(values: readonly number[]): ResultCell {
  const n = values.length;
  if (n === 0) return { mean: null, std: null, n: 0, delta: null, best: false };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : null;
  return { mean, std, n, delta: null, best: false };
}

/** Flags every row whose mean is the column's best (ties all flagged); non-finite means never win. */
function markBest(rows: { metrics: Record<string, ResultCell> }[], col: MetricColumn): void {
  if (!col.better) return;
  const means = rows.map((r) => r.metrics[col.label].mean).filter((m): m is number => m !== null && Number.isFinite(m));
  if (means.length === 0) return;
  const best = col.better === 'lower' ? Math.min(...means) : Math.max(...means);
  for (const r of rows) if (r.metrics[col.label].mean === best) r.metrics[col.label] = { ...r.metrics[col.label], best: true };
}

function displayValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
