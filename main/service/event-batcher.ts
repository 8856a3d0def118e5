/**
 * The one place events are batched on their way to the fronts. Every ~150 ms (one tick) it first
 * has the scheduler write what runs reported since the last tick (one transaction per run), then
 * pushes one batch — runs changed, metric rows, the latest progress per run, queue status — to
 * every subscriber (the CLI's progress display, the IPC edge, the WebSocket edge), which forward it
 * as it is. A chart is redrawn once per batch, not per metric message.
 */
import type { MetricRow, QueueStatus, RunRow, WorkbenchEvent } from '../../contract/api';
import type { MetricPoint } from '../../contract/run-protocol';
import type { SchedulerListener } from './scheduler';

type ProgressEvent = Extract<WorkbenchEvent, { type: 'progress' }>;

export interface EventBatcherOptions {
  /** Milliseconds between batches. */
  readonly intervalMs?: number;
  /** Called at each tick before the batch is made (the scheduler writes buffered metrics here). */
  readonly beforeFlush: () => void;
  /** The current rows of changed runs. */
  readonly runs: (ids: readonly number[]) => RunRow[];
  readonly queueStatus: () => QueueStatus;
}

export class EventBatcher implements SchedulerListener {
  private readonly listeners = new Set<(events: readonly WorkbenchEvent[]) => void>();
  private readonly pendingRuns = new Set<number>();
  private pendingMetrics: MetricRow[] = [];
  private readonly pendingProgress = new Map<number, ProgressEvent>();
  private pendingQueue = false;
  private readonly pendingRemoved = new Set<number>();
  private pendingExperiments = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: EventBatcherOptions) {}

  /** Starts ticking (a service that runs a queue); read-only services never tick. */
  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.opts.intervalMs ?? 150);
    this.timer.unref();
  }

  /** Stops ticking after one last batch. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }

  onEvents(listener: (events: readonly WorkbenchEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  runChanged(runId: number): void {
    this.pendingRuns.add(runId);
  }

  metrics(runId: number, points: readonly MetricPoint[]): void {
    for (const p of points) this.pendingMetrics.push({ runId, split: p.split, name: p.name, step: p.step, value: p.value, time: p.time });
  }

  progress(p: Omit<ProgressEvent, 'type'>): void {
    this.pendingProgress.set(p.runId, { type: 'progress', ...p });
  }

  queueChanged(): void {
    this.pendingQueue = true;
  }

  /** Runs whose rows were deleted: one runs-removed event, and no runs-changed for them. */
  runsRemoved(runIds: readonly number[]): void {
    for (const id of runIds) {
      this.pendingRemoved.add(id);
      this.pendingRuns.delete(id);
      this.pendingProgress.delete(id);
    }
  }

  /** Experiments were deleted, archived or unarchived. */
  experimentsChanged(): void {
    this.pendingExperiments = true;
  }

  /** Writes what runs reported and pushes one batch now (the CLI calls this before printing results). */
  flush(): void {
    this.opts.beforeFlush();
    const events: WorkbenchEvent[] = [];
    if (this.pendingRuns.size) {
      if (this.listeners.size) events.push({ type: 'runs-changed', runs: this.opts.runs([...this.pendingRuns]) });
      this.pendingRuns.clear();
    }
    if (this.pendingRemoved.size) {
      if (this.listeners.size) events.push({ type: 'runs-removed', runIds: [...this.pendingRemoved] });
      this.pendingRemoved.clear();
    }
    if (this.pendingExperiments) {
      this.pendingExperiments = false;
      if (this.listeners.size) events.push({ type: 'experiments-changed' });
    }
    if (this.pendingMetrics.length) {
      events.push({ type: 'metrics', points: this.pendingMetrics });
      this.pendingMetrics = [];
    }
    for (const p of this.pendingProgress.values()) events.push(p);
    this.pendingProgress.clear();
    if (this.pendingQueue) {
      this.pendingQueue = false;
      if (this.listeners.size) events.push({ type: 'queue', status: this.opts.queueStatus() });
    }
    if (events.length) for (const l of this.listeners) l(events);
  }
}
