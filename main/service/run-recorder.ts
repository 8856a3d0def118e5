/**
 * What a run process says, turned into database rows: the run protocol (contract/run-protocol.ts)
 * on one side, the store on the other. One recorder per live run. Metrics are buffered and written
 * in one transaction per flush; a checkpoint message first flushes the buffer, so every metric up
 * to a recorded checkpoint is on disk before the checkpoint is. The scheduler owns the process and
 * decides when a run ends; the recorder only records.
 */
import type { Store } from '../../db/store';
import type { RunRow } from '../../contract/rows';
import type { FinalMetrics } from '../../contract/metrics';
import type { MetricPoint, RunToParent } from '../../contract/run-protocol';

/** What the service is told as a run is recorded (it batches these into WorkbenchEvents). */
export interface RecorderListener {
  runChanged(runId: number): void;
  metrics(runId: number, points: readonly MetricPoint[]): void;
  progress(p: { runId: number; step: number; totalSteps: number; loss: number; tokensPerSecond: number; etaSeconds: number | null }): void;
}

/** The messages that end a run; the scheduler turns them into a final state. */
export type RunEnding = Extract<RunToParent, { type: 'done' | 'failed' | 'stopped' }>;

export class RunRecorder {
  /** Last optimizer step reported. */
  step: number;
  private totalSteps: number;
  private stepDirty = false;
  private settled = false;
  /** First progress of this process, for the ETA. */
  private firstProgress: { step: number; time: number } | null = null;
  private buffer: MetricPoint[] = [];

  constructor(
    private readonly store: Store,
    readonly runId: number,
    startStep: number,
    totalSteps: number,
    private readonly notify: RecorderListener,
  ) {
    this.step = startStep;
    this.totalSteps = totalSteps;
  }

  /** Records one message; returns it when it ends the run (done, failed, stopped). */
  receive(m: RunToParent): RunEnding | null {
    const id = this.runId;
    switch (m.type) {
      case 'ready':
        // The run process fell back to an older checkpoint than the one offered (the newer one did
        // not verify): what lies after its step is measured again.
        if (m.startStep < this.step) this.store.deleteMetricsAfter(id, m.startStep);
        this.store.updateRun(id, { backend: m.backend, device: m.device, params: m.params, dataInfo: m.data, step: m.startStep });
        this.store.addLog(id, 'info', `started on ${m.backend} (${m.device}) at step ${m.startStep}, ${m.params} parameters`);
        this.step = m.startStep;
        this.notify.runChanged(id);
        return null;
      case 'progress': {
        this.step = m.step;
        this.totalSteps = m.totalSteps;
        this.stepDirty = true;
        const now = Date.now();
        this.firstProgress ??= { step: m.step, time: now };
        const dSteps = m.step - this.firstProgress.step;
        const rate = dSteps > 0 ? dSteps / ((now - this.firstProgress.time) / 1000) : 0;
        const etaSeconds = rate > 0 ? Math.max(0, (m.totalSteps - m.step) / rate) : null;
        this.notify.progress({ runId: id, step: m.step, totalSteps: m.totalSteps, loss: m.loss, tokensPerSecond: m.tokensPerSecond, etaSeconds });
        return null;
      }
      case 'metrics':
        this.buffer.push(...m.points);
        return null;
      case 'samples':
        this.store.addSamples(id, m.step, m.samples);
        return null;
      case 'hypotheses':
        this.store.setHypotheses(id, m.split, m.step, m.hypotheses, m.references);
        return null;
      case 'checkpoint':
        this.flush();
        this.store.addCheckpoint(id, m.step, m.path);
        return null;
      case 'log':
        this.store.addLog(id, m.level, m.text);
        return null;
      case 'done':
        this.flush();
        this.writeMetrics(finalPoints(m.metrics, m.step));
        return m;
      case 'failed':
        this.flush();
        this.store.addLog(id, 'error', `failed (${m.kind}): ${m.reason}`);
        return m;
      case 'stopped':
        this.flush();
        return m;
      default:
        return null;
    }
  }

  /** A line the process wrote outside the protocol (stdout/stderr). */
  output(stream: 'stdout' | 'stderr', pid: number | undefined, line: string): void {
    this.store.addLog(this.runId, stream === 'stderr' ? 'warn' : 'info', `[pid ${pid}] ${line}`);
  }

  /** Writes buffered metrics in one transaction, and the latest step. */
  flush(): void {
    if (this.buffer.length) {
      const points = this.buffer;
      this.buffer = [];
      this.writeMetrics(points);
    }
    if (this.stepDirty && !this.settled) {
      this.stepDirty = false;
      this.store.updateRun(this.runId, { step: this.step });
      this.notify.runChanged(this.runId);
    }
  }

  /** Records the run's final state (once); later messages change nothing. */
  settle(patch: { state: RunRow['state']; step: number; error: string | null; params?: number }): boolean {
    if (this.settled) return false;
    this.flush();
    this.settled = true;
    this.stepDirty = false;
    this.store.updateRun(this.runId, { ...patch, finishedAt: patch.state === 'interrupted' ? null : Date.now() });
    this.notify.runChanged(this.runId);
    return true;
  }

  get isSettled(): boolean {
    return this.settled;
  }

  private writeMetrics(points: MetricPoint[]): void {
    this.store.insertMetrics(this.runId, points);
    this.notify.metrics(this.runId, points);
  }
}

function finalPoints(metrics: FinalMetrics, step: number): MetricPoint[] {
  const time = Date.now();
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([name, value]) => ({ split: 'final' as const, name, step, value: value as number, time }));
}
