/**
 * Runs, experiments, the queue's status and live progress, kept current from pushed events.
 * Run lists are replaced wholesale (shallowRef): views read them, never mutate them. Archived runs
 * and experiments are held too but left out of `runs` and `experiments` (what every view lists and
 * compares) unless `showArchived` is on; `byId` finds them either way (a run's own page).
 */
import { computed, shallowRef, type ShallowRef } from 'vue';
import type { ExperimentRow, QueueStatus, RunRow, WorkbenchApi, WorkbenchEvent } from '../../../contract/api';

export interface RunProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly loss: number;
  readonly tokensPerSecond: number;
  readonly etaSeconds: number | null;
  /** When this progress arrived (ms since epoch). */
  readonly at: number;
}

export type RunsStore = ReturnType<typeof createRunsStore>;

/** States a run can be retried from. */
export const RETRYABLE = new Set(['failed', 'cancelled', 'interrupted']);
/** States a run can be cancelled in. */
export const CANCELLABLE = new Set(['queued', 'running']);

export function createRunsStore(api: Pick<WorkbenchApi, 'listRuns' | 'listExperiments' | 'queueStatus'>) {
  const allRuns: ShallowRef<readonly RunRow[]> = shallowRef([]);
  const allExperiments: ShallowRef<readonly ExperimentRow[]> = shallowRef([]);
  /** List and compare archived runs and experiments too. */
  const showArchived = shallowRef(false);
  const runs = computed(() => (showArchived.value ? allRuns.value : allRuns.value.filter((r) => !r.archivedAt)));
  const experiments = computed(() => (showArchived.value ? allExperiments.value : allExperiments.value.filter((e) => !e.archivedAt)));
  const queue: ShallowRef<QueueStatus | null> = shallowRef(null);
  const progress: ShallowRef<ReadonlyMap<number, RunProgress>> = shallowRef(new Map());
  const error = shallowRef<string | null>(null);
  /** Whether a refresh has answered once (an empty list before that means "not known yet"). */
  const loaded = shallowRef(false);

  /** Queued runs in the order they will start (priority, then id), then everything else by id. */
  const queued = computed(() => runs.value.filter((r) => r.state === 'queued').sort((a, b) => a.priority - b.priority || a.id - b.id));
  const running = computed(() => runs.value.filter((r) => r.state === 'running'));
  const byId = computed(() => new Map(allRuns.value.map((r) => [r.id, r])));

  const listExperiments = () => api.listExperiments({ includeArchived: true });

  async function refresh(): Promise<void> {
    try {
      const [r, e, q] = await Promise.all([api.listRuns({ includeArchived: true }), listExperiments(), api.queueStatus()]);
      allRuns.value = r;
      allExperiments.value = e;
      queue.value = q;
      error.value = null;
      loaded.value = true;
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
    }
  }

  /** Merges changed rows by id (new ids appended, order by id kept). */
  function mergeRuns(changed: readonly RunRow[]): void {
    const map = new Map(allRuns.value.map((r) => [r.id, r]));
    let newExperiment = false;
    for (const r of changed) {
      map.set(r.id, r);
      if (!allExperiments.value.some((e) => e.id === r.experimentId)) newExperiment = true;
    }
    allRuns.value = [...map.values()].sort((a, b) => a.id - b.id);
    // Progress of finished runs is stale; drop it so Live does not show a frozen ETA.
    const p = new Map(progress.value);
    let dropped = false;
    for (const r of changed)
      if (r.state !== 'running' && p.delete(r.id)) dropped = true;
    if (dropped) progress.value = p;
    if (newExperiment) reloadExperiments();
  }

  function reloadExperiments(): void {
    void listExperiments().then((e) => (allExperiments.value = e), (err: unknown) => (error.value = err instanceof Error ? err.message : String(err)));
  }

  /** Drops deleted runs (and their progress). */
  function removeRuns(ids: readonly number[]): void {
    const gone = new Set(ids);
    allRuns.value = allRuns.value.filter((r) => !gone.has(r.id));
    const p = new Map(progress.value);
    if (ids.some((id) => p.delete(id))) progress.value = p;
  }

  function applyEvent(e: WorkbenchEvent): void {
    switch (e.type) {
      case 'runs-changed':
        mergeRuns(e.runs);
        break;
      case 'runs-removed':
        removeRuns(e.runIds);
        break;
      case 'experiments-changed':
        reloadExperiments();
        break;
      case 'queue':
        queue.value = e.status;
        break;
      case 'progress': {
        const p = new Map(progress.value);
        p.set(e.runId, { step: e.step, totalSteps: e.totalSteps, loss: e.loss, tokensPerSecond: e.tokensPerSecond, etaSeconds: e.etaSeconds, at: Date.now() });
        progress.value = p;
        break;
      }
      case 'metrics':
        break; // the metrics store's business
    }
  }

  return { runs, experiments, showArchived, queue, progress, error, loaded, queued, running, byId, refresh, mergeRuns, applyEvent };
}
