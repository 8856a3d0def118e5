/**
 * Metric series per run, loaded on demand and extended by pushed points. The arrays can be large
 * (100 runs × 10k points), so they live outside Vue's reactivity (markRaw) and a `version` counter
 * tells views when to redraw.
 */
import { markRaw, shallowRef } from 'vue';
import type { MetricRow, MetricSeries, WorkbenchApi } from '../../../contract/api';
import { metricKey, TRAIN_METRICS, VALID_METRICS } from '../../../contract/metrics';

/** One (run, split, name) series, sorted by step; parallel arrays for cheap charting (the API's own shape). */
export type Series = MetricSeries;

/** `split/name`, e.g. "train/loss", "valid/valid_bleu" (contract/metrics.ts metricKey, for a row's split). */
export function seriesKey(split: string, name: string): string {
  return `${split}/${name}`;
}

export type MetricsStore = ReturnType<typeof createMetricsStore>;

export function createMetricsStore(api: Pick<WorkbenchApi, 'getMetrics'>) {
  /** runId → key → series. */
  const byRun = markRaw(new Map<number, Map<string, Series>>());
  /** Runs loaded with every metric, and runs loaded for some metric names only (Compare). */
  const loaded = markRaw(new Set<number>());
  const loadedNames = markRaw(new Map<number, Set<string>>());
  const version = shallowRef(0);
  /** Bumped by loads and invalidations only (`version` counts pushed points too): what a view redraws for at once while it paces live redraws. */
  const loads = shallowRef(0);
  const isLoaded = (runId: number, name: string) => loaded.has(runId) || (loadedNames.get(runId)?.has(name) ?? false);

  function insertPoint(row: MetricRow): void {
    let perRun = byRun.get(row.runId);
    if (!perRun) byRun.set(row.runId, (perRun = new Map()));
    const key = seriesKey(row.split, row.name);
    let s = perRun.get(key);
    if (!s) perRun.set(key, (s = { runId: row.runId, split: row.split, name: row.name, steps: [], values: [], times: [] }));
    const n = s.steps.length;
    // Points almost always arrive in step order: append. Otherwise find the slot (a resumed run
    // re-reports steps after its checkpoint: same step replaces, never duplicates).
    if (n === 0 || s.steps[n - 1] < row.step) {
      s.steps.push(row.step);
      s.values.push(row.value);
      s.times.push(row.time);
      return;
    }
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.steps[mid] < row.step) lo = mid + 1;
      else hi = mid;
    }
    if (s.steps[lo] === row.step) {
      s.values[lo] = row.value;
      s.times[lo] = row.time;
    } else {
      s.steps.splice(lo, 0, row.step);
      s.values.splice(lo, 0, row.value);
      s.times.splice(lo, 0, row.time);
    }
  }

  /** Adds pushed points, but only for series a view has loaded (others load in full when asked). */
  function applyPoints(points: readonly MetricRow[]): void {
    let changed = false;
    for (const p of points)
      if (isLoaded(p.runId, p.name)) {
        insertPoint(p);
        changed = true;
      }
    if (changed) version.value++;
  }

  /**
   * Loads what is not loaded yet of these runs: every series, or with `names` only the series of
   * those metric names (in every split); server-side LTTB to maxPoints each.
   */
  async function load(runIds: readonly number[], maxPoints = 2000, names?: readonly string[]): Promise<void> {
    const missing = runIds.filter((id) => (names ? names.some((n) => !isLoaded(id, n)) : !loaded.has(id)));
    if (missing.length === 0) return;
    const mark = (id: number) => {
      if (!names) return void loaded.add(id);
      let set = loadedNames.get(id);
      if (!set) loadedNames.set(id, (set = new Set()));
      for (const n of names) set.add(n);
    };
    const unmark = (id: number) => {
      if (!names) return void loaded.delete(id);
      for (const n of names) loadedNames.get(id)?.delete(n);
    };
    for (const id of missing) mark(id);
    try {
      const loadedSeries = await api.getMetrics({ runIds: missing, maxPoints, ...(names ? { names } : {}) });
      for (const s of loadedSeries) {
        let perRun = byRun.get(s.runId);
        if (!perRun) byRun.set(s.runId, (perRun = new Map()));
        const key = seriesKey(s.split, s.name);
        // Points pushed while the query ran are already in: merge by step (no duplicates); else take the fresh arrays as they are.
        if (perRun.has(key)) for (let i = 0; i < s.steps.length; i++) insertPoint({ runId: s.runId, split: s.split, name: s.name, step: s.steps[i], value: s.values[i], time: s.times[i] });
        else perRun.set(key, { runId: s.runId, split: s.split, name: s.name, steps: s.steps, values: s.values, times: s.times });
      }
      version.value++;
      loads.value++;
    } catch (err) {
      for (const id of missing) unmark(id);
      throw err;
    }
  }

  /** Forget runs so the next load fetches them again (e.g. after a reconnect). */
  function invalidate(runIds?: readonly number[]): void {
    for (const id of runIds ?? [...new Set([...loaded, ...loadedNames.keys()])]) {
      loaded.delete(id);
      loadedNames.delete(id);
      byRun.delete(id);
    }
    version.value++;
    loads.value++;
  }

  function series(runId: number, key: string): Series | undefined {
    return byRun.get(runId)?.get(key);
  }

  /** Every series key seen for these runs, sorted. */
  function keys(runIds: readonly number[]): string[] {
    const out = new Set<string>();
    for (const id of runIds) for (const k of byRun.get(id)?.keys() ?? []) out.add(k);
    return [...out].sort();
  }

  return { version, loads, load, applyPoints, invalidate, series, keys, insertPoint };
}

/**
 * The series views plot, by the exact `split/name` keys the engine records: both take the names
 * from contract/metrics.ts, so a chart never guesses which recorded series is "the loss".
 */
export const METRIC_KEYS = {
  loss: metricKey('train', TRAIN_METRICS.loss),
  lr: metricKey('train', TRAIN_METRICS.lr),
  /** Recorded since the engine counted tokens; older runs lack it (the tokens axis estimates them). */
  tokensSeen: metricKey('train', TRAIN_METRICS.tokensSeen),
  validLoss: metricKey('valid', VALID_METRICS.loss),
  validPpl: metricKey('valid', VALID_METRICS.ppl),
  validBleu: metricKey('valid', VALID_METRICS.bleu),
} as const;
