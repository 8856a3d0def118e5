/**
 * The scheduler: gives free slots the next run, hosts each run in a process of its own, and turns
 * the run protocol (experiments/protocol.ts) into database rows. Metrics are buffered and written
 * in one transaction per run every ~100 ms; a checkpoint message first flushes the run's buffer, so
 * every metric up to a recorded checkpoint is on disk before the checkpoint is. A run that resumes
 * drops its metrics after the checkpoint step (they are measured again), so none is duplicated.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import type { Store } from '../../db/store';
import type { RunRow } from '../../contract/rows';
import type { RunConfig } from '../../contract/spec';
import type { BackendName } from '../../contract/backends';
import type { MetricPoint, RunJob, RunToParent } from '../../contract/run-protocol';
import type { FinalMetrics } from '../../contract/metrics';
import type { RunProcess, RunSpawner, RunExit } from './run-host';

/** Settings key of the persisted pause flag. */
export const PAUSED_SETTING = 'queue.paused';

export interface SchedulerOptions {
  readonly store: Store;
  readonly spawner: RunSpawner;
  /** Checkpoints go to `<dataDir>/checkpoints/run-<id>`, tokenized-data caches to `<dataDir>/cache`. */
  readonly dataDir: string;
  readonly slots: number;
  /** Milliseconds a cancelled or shut-down run gets to stop before SIGKILL. */
  readonly stopDeadlineMs?: number;
  /** Milliseconds metrics are buffered before one transaction writes them. */
  readonly flushMs?: number;
  /** Human-readable lines ("run 3 (base, seed 1) resumed from step 200"). */
  readonly log?: (line: string) => void;
  readonly notify?: SchedulerListener;
}

export interface SchedulerListener {
  runChanged(runId: number): void;
  metrics(runId: number, points: readonly MetricPoint[]): void;
  progress(p: { runId: number; step: number; totalSteps: number; loss: number; tokensPerSecond: number; etaSeconds: number | null }): void;
  queueChanged(): void;
}

type StopReason = 'cancel' | 'shutdown';

/** A run whose process is alive. */
interface ActiveRun {
  readonly id: number;
  readonly label: string;
  readonly proc: RunProcess;
  totalSteps: number;
  step: number;
  stepDirty: boolean;
  /** First progress of this process, for the ETA. */
  firstProgress: { step: number; time: number } | null;
  buffer: MetricPoint[];
  stopReason: StopReason | null;
  killTimer: NodeJS.Timeout | null;
  /** Set once the run reached a final state (done, failed, cancelled, interrupted). */
  settled: boolean;
  /** Last lines of stderr: the reason when the process dies without saying why. */
  stderrTail: string[];
  exited: Promise<void>;
}

/** "run 3 (base, seed 1)". */
export function runLabel(run: Pick<RunRow, 'id' | 'variant' | 'seed'>): string {
  return `run ${run.id} (${run.variant}, seed ${run.seed})`;
}

export class Scheduler {
  private readonly active = new Map<number, ActiveRun>();
  private readonly idleWaiters: (() => void)[] = [];
  private slots: number;
  private started = false;
  private closing = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly stopDeadlineMs: number;
  private readonly flushMs: number;

  constructor(private readonly opts: SchedulerOptions) {
    this.slots = Math.max(1, Math.floor(opts.slots));
    this.stopDeadlineMs = opts.stopDeadlineMs ?? 10_000;
    this.flushMs = opts.flushMs ?? 100;
  }

  private get store(): Store {
    return this.opts.store;
  }

  get slotCount(): number {
    return this.slots;
  }

  get runningIds(): number[] {
    return [...this.active.keys()];
  }

  get paused(): boolean {
    return this.store.getSetting(PAUSED_SETTING) === '1';
  }

  /** Begins taking runs from the queue (interrupted runs first, then queued by priority). */
  start(): void {
    this.started = true;
    // Another process (`ablate queue`, a second window) may add runs to the same database.
    this.pollTimer ??= setInterval(() => this.pump(), 2000);
    this.pollTimer.unref();
    this.pump();
  }

  setSlots(n: number): void {
    this.slots = Math.max(1, Math.floor(n));
    this.opts.notify?.queueChanged();
    this.pump();
  }

  pause(): void {
    this.store.setSetting(PAUSED_SETTING, '1');
    this.opts.notify?.queueChanged();
    this.checkIdle();
  }

  resume(): void {
    this.store.setSetting(PAUSED_SETTING, '0');
    this.opts.notify?.queueChanged();
    this.pump();
  }

  /** Fills free slots. Cheap and idempotent: called after every change. */
  pump(): void {
    if (!this.started || this.closing) return;
    while (this.active.size < this.slots && !this.paused) {
      const next = this.nextRun();
      if (!next) break;
      this.launch(next);
    }
    this.checkIdle();
  }

  /** Interrupted runs resume before queued runs start: they already hold a slot's worth of work. */
  private nextRun(): RunRow | undefined {
    const interrupted = this.store.listRuns({ states: ['interrupted'] }).find((r) => !this.active.has(r.id));
    return interrupted ?? this.store.nextQueuedRun();
  }

  /** Resolves when no run is active and none is waiting (or the queue is paused). */
  waitForIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  private isIdle(): boolean {
    if (this.active.size > 0) return false;
    if (!this.started || this.paused || this.closing) return true;
    return this.nextRun() === undefined;
  }

  private checkIdle(): void {
    if (this.idleWaiters.length && this.isIdle()) this.idleWaiters.splice(0).forEach((r) => r());
  }

  /**
   * Cancels a run: a queued or interrupted run at once; a running one gets 'stop' (it stops
   * within one step) and SIGKILL after the deadline.
   */
  cancel(runId: number): void {
    const live = this.active.get(runId);
    if (live) {
      this.requestStop(live, 'cancel');
      return;
    }
    const run = this.store.getRun(runId);
    if (run && (run.state === 'queued' || run.state === 'interrupted')) {
      this.store.updateRun(runId, { state: 'cancelled', finishedAt: Date.now() });
      this.changed(runId);
      this.checkIdle();
    }
  }

  /** Stops every active run gracefully (they become interrupted and resume next time). */
  async shutdown(): Promise<void> {
    this.closing = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const live of this.active.values()) this.requestStop(live, 'shutdown');
    await Promise.all([...this.active.values()].map((a) => a.exited));
    this.flushAll();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.checkIdle();
  }

  private requestStop(live: ActiveRun, reason: StopReason): void {
    if (live.settled) return;
    live.stopReason ??= reason;
    live.proc.send({ type: 'stop' });
    live.killTimer ??= setTimeout(() => {
      this.opts.log?.(`${live.label} did not stop within ${this.stopDeadlineMs / 1000} s: killed`);
      live.proc.kill();
    }, this.stopDeadlineMs);
  }

  // ---- starting a run ----

  private checkpointDirFor(run: RunRow): string {
    return run.checkpointDir ?? join(this.opts.dataDir, 'checkpoints', `run-${run.id}`);
  }

  /** The checkpoint a run resumes from: the latest one recorded, if it lies in the run's current checkpoint folder and still exists. */
  private resumePoint(run: RunRow, dir: string): { path: string; step: number } | undefined {
    const ckpt = this.store.latestCheckpoint(run.id);
    if (!ckpt) return undefined;
    const rel = relative(dir, ckpt.path);
    if (rel.startsWith('..') || isAbsolute(rel) || !existsSync(ckpt.path)) return undefined;
    return { path: ckpt.path, step: ckpt.step };
  }

  private launch(run: RunRow): void {
    const config = run.config as RunConfig;
    const checkpointDir = this.checkpointDirFor(run);
    const cacheDir = join(this.opts.dataDir, 'cache');
    mkdirSync(checkpointDir, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    const resumeFrom = this.resumePoint(run, checkpointDir);
    const label = runLabel(run);
    // Metrics after the resume point are measured again by this attempt: drop them so none is duplicated.
    this.store.deleteMetricsAfter(run.id, resumeFrom ? resumeFrom.step : -1);
    if (resumeFrom) {
      this.opts.log?.(`${label} resumed from step ${resumeFrom.step}`);
      this.store.addLog(run.id, 'info', `resumed from step ${resumeFrom.step} (${resumeFrom.path})`);
    } else if (run.state === 'interrupted') {
      this.opts.log?.(`${label} restarted from step 0 (no checkpoint)`);
    }
    this.store.updateRun(run.id, {
      state: 'running',
      error: null,
      checkpointDir,
      step: resumeFrom?.step ?? 0,
      startedAt: run.startedAt ?? Date.now(),
      finishedAt: null,
    });
    const job: RunJob = {
      runId: run.id,
      config,
      backend: run.backendRequested as BackendName,
      checkpointDir,
      cacheDir,
      ...(resumeFrom ? { resumeFrom } : {}),
    };
    let proc: RunProcess;
    try {
      proc = this.opts.spawner(job);
    } catch (err) {
      this.store.updateRun(run.id, { state: 'failed', error: `could not start the run process: ${(err as Error).message}`, finishedAt: Date.now() });
      this.changed(run.id);
      return;
    }
    let resolveExit!: () => void;
    const live: ActiveRun = {
      id: run.id,
      label,
      proc,
      totalSteps: run.totalSteps,
      step: resumeFrom?.step ?? 0,
      stepDirty: false,
      firstProgress: null,
      buffer: [],
      stopReason: null,
      killTimer: null,
      settled: false,
      stderrTail: [],
      exited: new Promise((r) => (resolveExit = r)),
    };
    this.active.set(run.id, live);
    this.ensureFlushTimer();
    proc.onMessage((m) => {
      try {
        this.onMessage(live, m);
      } catch (err) {
        // A database error must not leave the run half-recorded and the process orphaned.
        this.opts.log?.(`${label}: could not record '${m.type}': ${(err as Error).message}`);
      }
    });
    proc.onOutput((stream, line) => {
      if (stream === 'stderr') {
        live.stderrTail.push(line);
        if (live.stderrTail.length > 5) live.stderrTail.shift();
      }
      this.store.addLog(run.id, stream === 'stderr' ? 'warn' : 'info', `[pid ${proc.pid}] ${line}`);
    });
    proc.onExit((exit) => {
      this.onExit(live, exit);
      resolveExit();
    });
    proc.send({ type: 'start', job });
    this.changed(run.id);
    this.opts.notify?.queueChanged();
  }

  // ---- messages from a run process ----

  private onMessage(live: ActiveRun, m: RunToParent): void {
    const id = live.id;
    switch (m.type) {
      case 'ready':
        this.store.updateRun(id, { backend: m.backend, device: m.device, params: m.params, dataInfo: m.data, step: m.startStep });
        this.store.addLog(id, 'info', `started on ${m.backend} (${m.device}) at step ${m.startStep}, ${m.params} parameters`);
        live.step = m.startStep;
        this.changed(id);
        break;
      case 'progress': {
        live.step = m.step;
        live.totalSteps = m.totalSteps;
        live.stepDirty = true;
        const now = Date.now();
        live.firstProgress ??= { step: m.step, time: now };
        const dSteps = m.step - live.firstProgress.step;
        const rate = dSteps > 0 ? dSteps / ((now - live.firstProgress.time) / 1000) : 0;
        const etaSeconds = rate > 0 ? Math.max(0, (m.totalSteps - m.step) / rate) : null;
        this.opts.notify?.progress({ runId: id, step: m.step, totalSteps: m.totalSteps, loss: m.loss, tokensPerSecond: m.tokensPerSecond, etaSeconds });
        break;
      }
      case 'metrics':
        live.buffer.push(...m.points);
        break;
      case 'samples':
        this.store.addSamples(id, m.step, m.samples);
        break;
      case 'checkpoint':
        this.flushRun(live);
        this.store.addCheckpoint(id, m.step, m.path);
        break;
      case 'log':
        this.store.addLog(id, m.level, m.text);
        break;
      case 'done':
        this.flushRun(live);
        this.store.insertMetrics(id, finalPoints(m.metrics, m.step));
        this.opts.notify?.metrics(id, finalPoints(m.metrics, m.step));
        this.settle(live, { state: 'done', step: m.step, error: null, ...(m.metrics.params !== undefined ? { params: m.metrics.params } : {}) });
        break;
      case 'failed':
        this.flushRun(live);
        this.settle(live, { state: 'failed', step: Math.max(m.step, live.step), error: m.reason });
        this.store.addLog(id, 'error', `failed (${m.kind}): ${m.reason}`);
        this.opts.log?.(`${live.label} failed: ${m.reason}`);
        break;
      case 'stopped':
        this.flushRun(live);
        if (live.stopReason === 'cancel') this.settle(live, { state: 'cancelled', step: m.step, error: null });
        else this.settle(live, { state: 'interrupted', step: m.step, error: 'stopped when the workbench shut down' });
        break;
    }
  }

  private settle(live: ActiveRun, patch: { state: RunRow['state']; step: number; error: string | null; params?: number }): void {
    if (live.settled) return;
    live.settled = true;
    live.stepDirty = false;
    this.store.updateRun(live.id, { ...patch, finishedAt: patch.state === 'interrupted' ? null : Date.now() });
    this.changed(live.id);
    // The process should exit by itself now; make sure it does.
    live.killTimer ??= setTimeout(() => live.proc.kill(), this.stopDeadlineMs);
  }

  private onExit(live: ActiveRun, exit: RunExit): void {
    if (live.killTimer) clearTimeout(live.killTimer);
    this.flushRun(live);
    if (!live.settled) {
      if (live.stopReason === 'cancel') this.settle(live, { state: 'cancelled', step: live.step, error: null });
      else if (live.stopReason === 'shutdown') this.settle(live, { state: 'interrupted', step: live.step, error: 'stopped when the workbench shut down' });
      else {
        const reason = exitReason(exit, live.stderrTail);
        this.store.addLog(live.id, 'error', reason);
        this.opts.log?.(`${live.label} failed: ${reason}`);
        this.settle(live, { state: 'failed', step: live.step, error: reason });
      }
    }
    if (live.killTimer) clearTimeout(live.killTimer);
    this.active.delete(live.id);
    this.opts.notify?.queueChanged();
    if (this.active.size === 0 && this.flushTimer) {
      clearInterval(this.flushTimer);
      this.flushTimer = null;
    }
    this.pump();
  }

  // ---- batched writes ----

  private ensureFlushTimer(): void {
    if (this.flushTimer) return;
    this.flushTimer = setInterval(() => this.flushAll(), this.flushMs);
    this.flushTimer.unref();
  }

  private flushAll(): void {
    for (const live of this.active.values()) this.flushRun(live);
  }

  private flushRun(live: ActiveRun): void {
    if (live.buffer.length) {
      const points = live.buffer;
      live.buffer = [];
      this.store.insertMetrics(live.id, points);
      this.opts.notify?.metrics(live.id, points);
    }
    if (live.stepDirty && !live.settled) {
      live.stepDirty = false;
      this.store.updateRun(live.id, { step: live.step });
      this.changed(live.id);
    }
  }

  private changed(runId: number): void {
    this.opts.notify?.runChanged(runId);
  }
}

function finalPoints(metrics: FinalMetrics, step: number): MetricPoint[] {
  const time = Date.now();
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([name, value]) => ({ split: 'final' as const, name, step, value: value as number, time }));
}

/** Why a process ended without reporting a result. */
export function exitReason(exit: RunExit, stderrTail: readonly string[]): string {
  const tail = stderrTail.join(' | ');
  const oom = /out of memory|heap limit|Allocation failed|ENOMEM/i.test(tail);
  let reason = exit.signal ? `run process killed by ${exit.signal}` : `run process exited with code ${exit.code} without a result`;
  if (oom) reason = `out of memory: ${reason}`;
  else if (exit.signal === 'SIGKILL') reason += ' (out of memory?)';
  return tail ? `${reason}: ${tail.slice(-400)}` : reason;
}
