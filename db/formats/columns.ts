/**
 * The metric columns of the result table, shared by buildResultTable (which fills them) and the
 * formatters (which render them). A ResultRow's `metrics` is keyed by `label`.
 */
import type { ResultCell, ResultRow, ResultTable } from '../../contract/api';

export interface MetricColumn {
  /** Column heading, and the key in ResultRow.metrics. */
  readonly label: string;
  /** Final metric (split 'final') the column averages. */
  readonly metric: string;
  /** Which direction is better; null: no best value is marked (cost columns). */
  readonly better: 'lower' | 'higher' | null;
  /** Shown only when some run has the metric. */
  readonly optional: boolean;
  /** Human-readable number (Markdown, LaTeX); CSV keeps full precision. */
  format(v: number): string;
}

const fixed = (digits: number) => (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

export const METRIC_COLUMNS: readonly MetricColumn[] = [
  { label: 'PPL (dev)', metric: 'valid_ppl', better: 'lower', optional: false, format: fixed(2) },
  { label: 'BLEU (dev)', metric: 'valid_bleu', better: 'higher', optional: false, format: fixed(2) },
  { label: 'BLEU (test)', metric: 'test_bleu', better: 'higher', optional: true, format: fixed(2) },
  // Table 3 of the paper counts parameters in millions.
  { label: 'params', metric: 'params', better: null, optional: false, format: (v) => (Number.isFinite(v) ? `${(v / 1e6).toFixed(2)}M` : String(v)) },
  { label: 'train time', metric: 'train_seconds', better: null, optional: false, format: (v) => (Number.isFinite(v) ? `${v.toFixed(1)}s` : String(v)) },
];

const BY_LABEL = new Map(METRIC_COLUMNS.map((c) => [c.label, c]));

export function metricColumn(label: string): MetricColumn | undefined {
  return BY_LABEL.get(label);
}

/** The table's columns split into the changed hyper-parameters and the metric columns. */
export function splitColumns(table: ResultTable): { params: string[]; metrics: MetricColumn[] } {
  const params: string[] = [];
  const metrics: MetricColumn[] = [];
  for (const c of table.columns) {
    const m = metricColumn(c);
    if (m) metrics.push(m);
    else params.push(c);
  }
  return { params, metrics };
}

/** ` (+2 repeats)` after a variant name when `--force` re-ran some of its seeds; empty otherwise. */
export function repeatNote(row: ResultRow): string {
  const n = row.repeats ?? 0;
  return n ? ` (+${n} repeat${n === 1 ? '' : 's'} of a seed, not averaged)` : '';
}

export function isIncomplete(row: ResultRow): boolean {
  return row.seedsDone < row.seedsExpected;
}

/** A signed difference, "+0.50" / "-0.50", in the column's number format. */
export function signed(col: MetricColumn, d: number): string {
  return d > 0 ? `+${col.format(d)}` : d < 0 ? `-${col.format(-d)}` : col.format(0);
}

export const EMPTY_CELL: ResultCell = { mean: null, std: null, n: 0, delta: null, best: false };
