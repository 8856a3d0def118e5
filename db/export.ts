/**
 * The Table-3-style result table: one row per config (base first, then the order the variants
 * were queued; the seeds of one config form a row, a `--force` repeat of a seed is counted as a
 * repeat, not a seed), the hyper-parameters each variant changes, and mean ± sample std over the seeds
 * of its finished runs for each metric column, with Δ against base and the best value marked.
 *
 * @example
 *   const table = buildResultTable(store, experiment.id);
 *   writeFileSync('table3.tex', formatResultTable(table, 'latex'));
 */
import { AVERAGED_CHECKPOINTS, BLEU_SIGNATURE, type ExportFormat, type ResultCell, type ResultRow, type ResultTable, type RowSignificance } from '../contract/api';
import type { RunOutputs, RunRow } from '../contract/rows';
import { configField, configHash, type RunConfig } from '../contract/spec';
import type { Store } from './store';
import { METRIC_COLUMNS, type MetricColumn } from './formats/columns';
import { formatCsv } from './formats/csv';
import { formatLatex } from './formats/latex';
import { formatMarkdown } from './formats/markdown';

export { METRIC_COLUMNS } from './formats/columns';

const BASE = 'base';

/** A row's key: the config hash with the seed left out, so the seeds of one config share it. */
export function rowKey(config: RunConfig): string {
  return configHash({ ...config, seed: 0 });
}

interface Group {
  variant: string;
  key: string;
  runs: RunRow[];
}

/**
 * Groups runs into table rows: one row per config (rowKey), never per variant name, so a spec
 * edited and queued again never pools old and new configs. When one variant name holds several
 * configs (databases written before re-queueing a changed spec was refused), the one queued last
 * keeps the plain name and each older one is labelled `name [config <hash>]`.
 */
function groupRuns(runs: readonly RunRow[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const r of runs) {
    const key = rowKey(r.config);
    const g = byKey.get(key);
    if (g) g.runs.push(r);
    else byKey.set(key, { variant: r.variant, key, runs: [r] });
  }
  const groups = [...byKey.values()];
  const latest = new Map<string, Group>();
  for (const g of groups) {
    const prev = latest.get(g.variant);
    if (!prev || lastId(g) > lastId(prev)) latest.set(g.variant, g);
  }
  for (const g of groups) if (latest.get(g.variant) !== g) g.variant = `${g.variant} [config ${g.key.slice(0, 8)}]`;
  // Base first, then the order of each row's first run (runs are ordered by id).
  return groups.sort((a, b) => (a.variant === BASE ? -1 : b.variant === BASE ? 1 : 0));
}

const lastId = (g: Group) => g.runs[g.runs.length - 1].id;

/** The first finished run of each seed (ascending seeds), and how many finished runs repeat a seed. */
function distinctSeeds(runs: readonly RunRow[]): { done: RunRow[]; repeats: number } {
  const bySeed = new Map<number, RunRow>();
  let repeats = 0;
  for (const r of runs) {
    if (r.state !== 'done') continue;
    if (bySeed.has(r.seed)) repeats++;
    else bySeed.set(r.seed, r);
  }
  return { done: [...bySeed.values()].sort((a, b) => a.seed - b.seed), repeats };
}

/** One seed's stored outputs, as a significance test takes them. */
export interface SeedOutputs {
  readonly seed: number;
  readonly outputs: RunOutputs;
}

/** Compares a variant's seeds with the base's on one split (experiments/run/evaluate.ts compareReplicates); db/ only gathers the outputs. */
export type SignificanceTest = (split: RowSignificance['split'], base: readonly SeedOutputs[], variant: readonly SeedOutputs[]) => RowSignificance;

export interface ResultTableOptions {
  /** When given, each variant row gets its significance against base from the stored hypotheses. */
  readonly significance?: SignificanceTest;
  /**
   * Count archived runs too (`ablate export --archived`, "show archived" in the app). Without it
   * an archived run is out of the table as it is out of every list and chart: archiving is how a
   * researcher sets aside a diverged or mistaken seed without deleting it (W&B and MLflow hide
   * archived / soft-deleted runs from tables and exports unless asked). The table says how many
   * it left out.
   */
  readonly includeArchived?: boolean;
}

/**
 * Each variant against base: test when the base's runs stored test hypotheses, dev otherwise;
 * over the seeds both finished with stored outputs on the same references (paired by seed).
 */
function addSignificance(store: Store, rows: { isBase: boolean }[], groups: Group[], test: SignificanceTest): void {
  const baseIndex = rows.findIndex((r) => r.isBase);
  if (baseIndex < 0) return;
  const baseRuns = distinctSeeds(groups[baseIndex].runs).done;
  const split: RowSignificance['split'] = baseRuns.some((r) => store.getHypotheses(r.id, 'test')) ? 'test' : 'valid';
  const outputs = (runs: RunRow[]) => new Map(runs.flatMap((r) => {
    const o = store.getHypotheses(r.id, split);
    return o ? [[r.seed, o] as const] : [];
  }));
  const base = outputs(baseRuns);
  rows.forEach((row, i) => {
    if (row.isBase) return;
    const mine = outputs(distinctSeeds(groups[i].runs).done);
    const seeds = [...mine.keys()].filter((s) => {
      const b = base.get(s);
      return b !== undefined && sameLines(b.references, mine.get(s)!.references);
    }).sort((a, b) => a - b);
    (row as { significance?: RowSignificance | null }).significance = seeds.length
      ? test(split, seeds.map((seed) => ({ seed, outputs: base.get(seed)! })), seeds.map((seed) => ({ seed, outputs: mine.get(seed)! })))
      : null;
  });
}

/** "last checkpoint", "mean of the last 5 checkpoints", or per row when rows differ. */
function scoredWeights(rows: readonly { variant: string; seedsDone: number; averagedCheckpoints: number }[]): string {
  const describe = (k: number) => (k >= 2 ? `mean of the last ${k} checkpoints (last weights' scores stored as *_last)` : 'last checkpoint');
  const kinds = [...new Set(rows.filter((r) => r.seedsDone).map((r) => r.averagedCheckpoints))];
  if (kinds.length <= 1) return describe(kinds[0] ?? 0);
  return rows.filter((r) => r.seedsDone).map((r) => `${r.variant}: ${describe(r.averagedCheckpoints)}`).join('; ');
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

/** Builds the result table of one experiment from its runs' final metrics. Throws for an unknown experiment id. */
export function buildResultTable(store: Store, experimentId: number, options: ResultTableOptions = {}): ResultTable {
  const experiment = store.getExperiment(experimentId);
  if (!experiment) throw new Error(`no experiment with id ${experimentId}`);
  // Runs reused from other experiments (same config, skipped when queued) count as this experiment's own.
  const stored = [...store.listRuns({ experimentId }), ...store.listLinkedRuns(experimentId)].sort((a, b) => a.id - b.id);
  const runs = options.includeArchived ? stored : stored.filter((r) => !r.archivedAt);

  const groups = groupRuns(runs);
  const changed: string[] = [];
  for (const g of groups) for (const key of Object.keys(g.runs[0].config.changes)) if (!changed.includes(key)) changed.push(key);
  // d_k and d_v follow heads and d_model unless set: a row changing those shows the derived widths
  // (a heads change inheriting an explicit base d_k has h·d_k ≠ d_model, invisible otherwise).
  if (changed.includes('heads') || changed.includes('d_model')) for (const key of ['d_k', 'd_v']) if (!changed.includes(key)) changed.push(key);

  const metricCols = METRIC_COLUMNS.filter((c) => !c.optional || runs.some((r) => r.state === 'done' && r.metrics[c.metric] !== undefined));
  const baseGroup = groups.find((g) => g.variant === BASE);
  const baseConfig = baseGroup?.runs[0].config;

  const rows = groups.map((g) => {
    const { done, repeats } = distinctSeeds(g.runs);
    const config = g.runs[0].config;
    const isBase = g === baseGroup;
    const params: Record<string, string> = {};
    for (const key of changed) {
      const value = displayValue(configField(config, key));
      // Paper convention: a variant row shows only what differs from base.
      params[key] = !isBase && baseConfig && value === displayValue(configField(baseConfig, key)) ? '' : value;
    }
    const metrics: Record<string, ResultCell> = {};
    for (const col of metricCols) metrics[col.label] = summarize(done.map((r) => r.metrics[col.metric]).filter((v): v is number => v !== undefined));
    const expectedSeeds = new Set(g.runs.filter((r) => r.state !== 'cancelled').map((r) => r.seed));
    return {
      variant: g.variant,
      isBase,
      params,
      metrics,
      seedsDone: done.length,
      seedsExpected: expectedSeeds.size,
      configHash: g.key,
      seeds: done.map((r) => r.seed),
      repeats,
      reusedFrom: [...new Set(g.runs.filter((r) => r.experimentId !== experimentId).map((r) => r.experiment))],
      averagedCheckpoints: Math.max(0, ...done.map((r) => r.metrics[AVERAGED_CHECKPOINTS] ?? 0)),
    };
  });

  if (options.significance) addSignificance(store, rows, groups, options.significance);
  const base = rows.find((r) => r.isBase);
  for (const col of metricCols) {
    const baseMean = base?.metrics[col.label].mean ?? null;
    for (const row of rows) {
      const cell = row.metrics[col.label];
      if (!row.isBase && baseMean !== null && cell.mean !== null) row.metrics[col.label] = { ...cell, delta: cell.mean - baseMean };
    }
    markBest(rows, col);
  }
  return {
    experiment: experiment.name,
    bleuSignature: BLEU_SIGNATURE,
    scoredWeights: scoredWeights(rows),
    columns: [...changed, ...metricCols.map((c) => c.label)],
    rows: rows as ResultRow[],
    archivedLeftOut: stored.length - runs.length,
  };
}

/** Renders the table as CSV (separate mean/std/n/delta columns, significance columns), Markdown or LaTeX (booktabs); `stats` adds the significance table (the CSV always has it). */
export function formatResultTable(table: ResultTable, format: ExportFormat, opts: { readonly stats?: boolean } = {}): string {
  switch (format) {
    case 'csv':
      return formatCsv(table);
    case 'md':
      return formatMarkdown(table, opts);
    case 'latex':
      return formatLatex(table, opts);
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
