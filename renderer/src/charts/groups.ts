/**
 * Grouping runs by the variant or by any config field, in the order of the field's values, with one
 * colour per group that stays the same in every view: colours are assigned over all the runs in
 * view (an experiment, or several), never over the subset ticked, so unticking a run or a variant
 * does not recolour the others.
 */
import type { RunRow } from '../../../contract/api';
import { configField } from '../../../contract/spec';
import { colorFor } from './palette';

/** Group by the variant's name, or by a config field (`heads`, `dropout`, `warmup`, …). */
export type GroupBy = 'variant' | (string & {});

/** A config value as text: numbers as they are, objects as JSON, missing as `—`. */
export function displayValue(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The group a run belongs to. Across experiments, variants are told apart by experiment name. */
export function groupOf(run: RunRow, by: GroupBy, multiExperiment = false): string {
  if (by === 'variant') return multiExperiment ? `${run.experiment}/${run.variant}` : run.variant;
  return `${by}=${displayValue(configField(run.config, by))}`;
}

/**
 * Groups in display order: variants base first then as first queued; a field's values ascending
 * (numbers by value, then text), so `heads=1, 2, 4, 8` reads as a sweep.
 */
export function groupOrder(runs: readonly RunRow[], by: GroupBy, multiExperiment = false): string[] {
  if (by === 'variant') {
    const seen = [...new Set(runs.map((r) => groupOf(r, by, multiExperiment)))];
    const isBase = (g: string) => g === 'base' || g.endsWith('/base');
    return multiExperiment ? seen : [...seen.filter(isBase), ...seen.filter((g) => !isBase(g))];
  }
  const values = new Map<string, unknown>();
  for (const r of runs) values.set(groupOf(r, by), configField(r.config, by));
  return [...values.entries()].sort(([, a], [, b]) => compareValues(a, b)).map(([g]) => g);
}

/** Numbers before text, numbers by value, text alphabetically, missing last. */
export function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (typeof v === 'number' ? 0 : v === undefined || v === null ? 2 : 1);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return displayValue(a).localeCompare(displayValue(b));
}

/** group → colour, by the group's position among all runs in view. */
export function groupColors(runs: readonly RunRow[], by: GroupBy, multiExperiment = false): Map<string, string> {
  return new Map(groupOrder(runs, by, multiExperiment).map((g, i) => [g, colorFor(i)]));
}

/** Config fields (model, train and variant changes; scalars only) whose value differs between these runs: what can be grouped or plotted against. */
export function varyingFields(runs: readonly RunRow[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.config.model)) if (v === null || typeof v !== 'object') keys.add(k);
    for (const [k, v] of Object.entries(r.config.train)) if (v === null || typeof v !== 'object') keys.add(k);
    for (const k of Object.keys(r.config.changes)) keys.add(k);
  }
  return [...keys].filter((k) => new Set(runs.map((r) => displayValue(configField(r.config, k)))).size > 1).sort();
}
