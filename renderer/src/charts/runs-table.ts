/**
 * The runs table's data: one row per run, a column for every config field that varies among the
 * runs and for every final metric any of them has; sorting, filtering (experiment, state, text,
 * numeric ranges). Pure, tested.
 */
import type { RunRow } from '../../../contract/api';
import { FINAL_METRICS, type FinalMetricName } from '../../../contract/metrics';
import { configField } from '../../../contract/spec';
import { compareValues, displayValue, varyingFields } from './groups';
import { FINAL_LABELS } from './units';

export interface RunColumn {
  /** `id`, `experiment`, `variant`, `seed`, `state`, `cfg:<field>` or `m:<final metric>`. */
  readonly id: string;
  readonly label: string;
  readonly numeric: boolean;
}

const FIXED: RunColumn[] = [
  { id: 'id', label: '#', numeric: true },
  { id: 'experiment', label: 'experiment', numeric: false },
  { id: 'variant', label: 'variant', numeric: false },
  { id: 'seed', label: 'seed', numeric: true },
  { id: 'state', label: 'state', numeric: false },
];

/** The columns for these runs: identity, then the varying config fields, then the final metrics present. */
export function runColumns(runs: readonly RunRow[]): RunColumn[] {
  const fields = varyingFields(runs).map((f) => ({ id: `cfg:${f}`, label: f, numeric: runs.every((r) => { const v = configField(r.config, f); return v === undefined || typeof v === 'number'; }) }));
  const metrics = FINAL_METRICS.filter((m) => runs.some((r) => typeof r.metrics[m] === 'number')).map((m) => ({ id: `m:${m}`, label: FINAL_LABELS[m], numeric: true }));
  return [...FIXED, ...fields, ...metrics];
}

/** A run's value in a column (parameters in millions, as their heading says). */
export function cellValue(run: RunRow, column: string): unknown {
  if (column.startsWith('cfg:')) return configField(run.config, column.slice(4));
  if (column.startsWith('m:')) {
    const m = column.slice(2) as FinalMetricName;
    const v = run.metrics[m];
    return typeof v === 'number' ? (m === 'params' ? v / 1e6 : v) : undefined;
  }
  return (run as unknown as Record<string, unknown>)[column];
}

export interface RunFilter {
  readonly experimentId: number | null;
  readonly state: string;
  /** Matched case-insensitively against id, experiment, variant, state and the config fields shown. */
  readonly text: string;
  /** Numeric ranges by column id; an unset bound is open. A run without a value is left out. */
  readonly ranges: Readonly<Record<string, { readonly min?: number; readonly max?: number }>>;
}

export const NO_FILTER: RunFilter = { experimentId: null, state: '', text: '', ranges: {} };

export function filterRuns(runs: readonly RunRow[], f: RunFilter, columns: readonly RunColumn[] = runColumns(runs)): RunRow[] {
  const text = f.text.trim().toLowerCase();
  return runs.filter((r) => {
    if (f.experimentId !== null && r.experimentId !== f.experimentId) return false;
    if (f.state && r.state !== f.state) return false;
    if (text && !columns.some((c) => displayValue(cellValue(r, c.id)).toLowerCase().includes(text))) return false;
    for (const [col, range] of Object.entries(f.ranges)) {
      if (range.min === undefined && range.max === undefined) continue;
      const v = cellValue(r, col);
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      if (range.min !== undefined && v < range.min) return false;
      if (range.max !== undefined && v > range.max) return false;
    }
    return true;
  });
}

/** Sorted by a column (missing values last either way), then by id. */
export function sortRuns(runs: readonly RunRow[], column: string, dir: 'asc' | 'desc'): RunRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...runs].sort((a, b) => {
    const va = cellValue(a, column);
    const vb = cellValue(b, column);
    const missing = (v: unknown) => v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v));
    if (missing(va) !== missing(vb)) return missing(va) ? 1 : -1;
    return sign * compareValues(va, vb) || a.id - b.id;
  });
}

/** A cell as text: metrics with a paper's digits, config values as they are. */
export function cellText(run: RunRow, column: string): string {
  const v = cellValue(run, column);
  if (v === undefined || v === null) return '—';
  if (column.startsWith('m:') && typeof v === 'number') {
    const m = column.slice(2);
    return m === 'params' ? v.toFixed(2) : m === 'train_seconds' ? v.toFixed(1) : m === 'tokens_per_second' ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
  }
  return displayValue(v);
}
