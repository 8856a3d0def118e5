/**
 * Re-queueing a spec under an experiment name that already exists. Adding seeds or variants is
 * fine; changing the config of a variant the experiment already has is refused, with the fields
 * that changed: the result table would otherwise hold two configs under one variant name and one
 * experiment name (see db/export.ts rowKey).
 *
 * Why refuse rather than version: the experiment name is how a person addresses the experiment
 * (`ablate export --experiment NAME`, the UI's list); a silent "version 2" behind the same name
 * needs a version argument on every command and view, while a new name is explicit, exportable
 * and comparable with the tools that exist.
 */
import { UserError } from '../contract/errors';
import type { ExpandedRun, RunConfig } from '../contract/spec';
import { rowKey } from './export';
import type { Store } from './store';

/** Throws a UserError when `runs` change the config of a variant `experiment` already holds. */
export function checkRequeue(store: Store, experiment: string, runs: readonly ExpandedRun[]): void {
  const existing = store.getExperimentByName(experiment);
  if (!existing) return;
  const old = new Map<string, RunConfig>();
  for (const r of [...store.listRuns({ experimentId: existing.id }), ...store.listLinkedRuns(existing.id)]) if (!old.has(r.variant)) old.set(r.variant, r.config);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of runs) {
    const before = old.get(r.config.variant);
    if (!before || seen.has(r.config.variant)) continue;
    seen.add(r.config.variant);
    if (rowKey(before) === rowKey(r.config)) continue;
    const diffs = configDiff(before, r.config);
    problems.push(`variant "${r.config.variant}": ${diffs.slice(0, 5).join(', ')}${diffs.length > 5 ? `, … (${diffs.length - 5} more)` : ''}`);
  }
  if (problems.length)
    throw new UserError(
      `experiment "${experiment}" already has runs with a different config; queue the changed spec under a new name (e.g. "${experiment}-v2") or keep the old settings`,
      problems,
    );
}

/** `train.steps 2000 → 4000` lines for every leaf that differs (seed, names and `changes` left out). */
export function configDiff(a: RunConfig, b: RunConfig): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (isObject(x) && isObject(y)) {
      for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) walk(x[k], y[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${path} ${show(x)} → ${show(y)}`);
  };
  walk({ data: a.data, model: a.model, train: a.train }, { data: b.data, model: b.model, train: b.train }, '');
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
