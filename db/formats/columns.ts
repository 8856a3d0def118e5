/**
 * The metric columns of the result table, shared by buildResultTable (which fills them) and the
 * formatters (which render them). A ResultRow's `metrics` is keyed by `label`.
 */
import type { ResultCell, ResultRow, ResultTable } from '../../contract/api';
import { markedSignificant, pairsText } from '../../contract/result-notes';

// The notes' wording is shared with the renderer's table (contract/result-notes.ts).
export { directionNote, incompleteNote, isIncomplete, markedSignificant, repeatNote, reusedNote, signatureNote, significanceColumn, significanceNote } from '../../contract/result-notes';

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
  /** Whether a Δ against base means something here (not for cost columns like train time). */
  readonly delta: boolean;
}

const fixed = (digits: number) => (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

export const METRIC_COLUMNS: readonly MetricColumn[] = [
  { label: 'PPL (dev)', metric: 'valid_ppl', better: 'lower', optional: false, format: fixed(2), delta: true },
  { label: 'BLEU (dev)', metric: 'valid_bleu', better: 'higher', optional: false, format: fixed(2), delta: true },
  { label: 'BLEU (test)', metric: 'test_bleu', better: 'higher', optional: true, format: fixed(2), delta: true },
  // Table 3 of the paper counts parameters in millions.
  { label: 'params', metric: 'params', better: null, optional: false, format: (v) => (Number.isFinite(v) ? `${(v / 1e6).toFixed(2)}M` : String(v)), delta: true },
  // Wall-clock time depends on the machine and its load: a Δ would read as an effect of the variant.
  { label: 'train time', metric: 'train_seconds', better: null, optional: false, format: (v) => (Number.isFinite(v) ? `${v.toFixed(1)}s` : String(v)), delta: false },
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

/**
 * What goes in a cell's parentheses, as a paper prints it: the seed count only where it differs
 * from the row's (the row's own count is the seeds column), and Δ only where it means something —
 * not for cost columns, and not where it rounds to zero in the column's format (a 0.00M change of
 * parameters is noise). Empty when there is nothing to say.
 */
export function cellNotes(col: MetricColumn, c: ResultCell, row: ResultRow, delta: (d: string) => string): string {
  const notes: string[] = [];
  if (c.n !== row.seedsDone) notes.push(`n=${c.n}`);
  if (col.delta && c.delta !== null && col.format(Math.abs(c.delta)) !== col.format(0)) notes.push(delta(signed(col, c.delta)));
  return notes.join(', ');
}

/** A signed difference, "+0.50" / "-0.50", in the column's number format. */
export function signed(col: MetricColumn, d: number): string {
  return d > 0 ? `+${col.format(d)}` : d < 0 ? `-${col.format(-d)}` : col.format(0);
}

export const EMPTY_CELL: ResultCell = { mean: null, std: null, n: 0, delta: null, best: false };

const f2 = (v: number | null) => (v === null ? '–' : v.toFixed(2));

/** The `--stats` table as rows of text cells: variant, split, seeds, mean, s_dev, s_sel, pooled BLEU (what the AR compares), p (AR), paired bootstrap. */
export function statsRows(table: ResultTable): string[][] | null {
  const tested = table.rows.filter((r) => r.significance);
  if (!tested.length) return null;
  const base = table.rows.find((r) => r.isBase);
  const first = tested[0].significance!;
  const rows: string[][] = [];
  if (base) rows.push([base.variant, first.split, first.seeds.join(' '), f2(first.baseMean), f2(first.baseSDev), f2(first.baseSSel), f2(first.basePooled), '', '']);
  for (const r of tested) {
    const s = r.significance!;
    rows.push([r.variant, s.split, s.seeds.join(' '), f2(s.mean), f2(s.sDev), f2(s.sSel), f2(s.pooled), `${s.pValue.toFixed(4)}${markedSignificant(s) ? '*' : ''}`, pairsText(s)]);
  }
  return rows;
}

export const STATS_HEADER = ['variant', 'split', 'seeds', 'BLEU mean', 's_dev', 's_sel', 'pooled BLEU', 'p (AR)', 'paired bootstrap per seed: BLEU [95% CI] p'];
