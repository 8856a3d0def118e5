/**
 * The scheduler: gives free slots the next run, hosts each run in a process of its own, stops and
 * kills processes, and decides each run's final state. What a process says is recorded by its
 * RunRecorder (run-recorder.ts). A run that resumes drops its metrics after the checkpoint step
 * (they are measured again), so none is duplicated.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import type { Store } from '../../db/store';
import type { RunRow } from '../../contract/rows';
import type { RunJob, RunToParent } from '../../contract/run-protocol';
import type { RunProcess, RunSpawner, RunExit } from './run-host';
import { RunRecorder, type RecorderListener, type RunEnding } from './run-recorder';

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
  /** Human-readable lines ("run 3 (base, seed 1) resumed from step 200"). */
  readonly log?: (line: string) => void;
  readonly notify: SchedulerListener;
}

export interface SchedulerListener extends RecorderListener {
  queueChanged(): void;
}

type StopReason = 'cancel' | 'shutdown';

/** A run whose process is alive. */
interface ActiveRun {
  readonly id: number;
  readonly label: string;
  readonly proc: RunProcess;
  readonly recorder: RunRecorder;
  stopReason: StopReason | null;
  killTimer: NodeJS.Timeout | null;
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
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly stopDeadlineMs: number;

  constructor(private readonly opts: SchedulerOptions) {
    this.slots = Math.max(1, Math.floor(opts.slots));
    this.stopDeadlineMs = opts.stopDeadlineMs ?? 10_000;
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
    this.opts.notify.queueChanged();
    this.pump();
  }

  pause(): void {
    this.store.setSetting(PAUSED_SETTING, '1');
    this.opts.notify.queueChanged();
    this.checkIdle();
  }

  resume(): void {
    this.store.setSetting(PAUSED_SETTING, '0');
    this.opts.notify.queueChanged();
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
    this.flush();
    this.checkIdle();
  }

  private requestStop(live: ActiveRun, reason: StopReason): void {
    if (live.recorder.isSettled) return;
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
    const config = run.config;
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
      backend: run.backendRequested,
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
      recorder: new RunRecorder(this.store, run.id, resumeFrom?.step ?? 0, run.totalSteps, this.opts.notify),
      stopReason: null,
      killTimer: null,
      stderrTail: [],
      exited: new Promise((r) => (resolveExit = r)),
    };
    this.active.set(run.id, live);
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
      live.recorder.output(stream, proc.pid, line);
    });
    proc.onExit((exit) => {
      this.onExit(live, exit);
      resolveExit();
    });
    proc.send({ type: 'start', job });
    this.changed(run.id);
    this.opts.notify.queueChanged();
  }

  // ---- how a run ends ----

  private onMessage(live: ActiveRun, m: RunToParent): void {
    const ending = live.recorder.receive(m);
    if (ending) this.end(live, ending);
  }

  /** The final state a run's last message means: done, failed, or (stopped) cancelled or interrupted. */
  private end(live: ActiveRun, m: RunEnding): void {
    if (m.type === 'done') this.settle(live, { state: 'done', step: m.step, error: null, ...(m.metrics.params !== undefined ? { params: m.metrics.params } : {}) });
    else if (m.type === 'failed') {
      this.settle(live, { state: 'failed', step: Math.max(m.step, live.recorder.step), error: m.reason });
      this.opts.log?.(`${live.label} failed: ${m.reason}`);
    } else if (live.stopReason === 'cancel') this.settle(live, { state: 'cancelled', step: m.step, error: null });
    else this.settle(live, { state: 'interrupted', step: m.step, error: 'stopped when the workbench shut down' });
  }

  private settle(live: ActiveRun, patch: { state: RunRow['state']; step: number; error: string | null; params?: number }): void {
    if (!live.recorder.settle(patch)) return;
    // The process should exit by itself now; make sure it does.
    live.killTimer ??= setTimeout(() => live.proc.kill(), this.stopDeadlineMs);
  }

  private onExit(live: ActiveRun, exit: RunExit): void {
    if (live.killTimer) clearTimeout(live.killTimer);
    live.recorder.flush();
    if (!live.recorder.isSettled) {
      const step = live.recorder.step;
      if (live.stopReason === 'cancel') this.settle(live, { state: 'cancelled', step, error: null });
      else if (live.stopReason === 'shutdown') this.settle(live, { state: 'interrupted', step, error: 'stopped when the workbench shut down' });
      else {
        const reason = exitReason(exit, live.stderrTail);
        this.store.addLog(live.id, 'error', reason);
        this.opts.log?.(`${live.label} failed: ${reason}`);
        this.settle(live, { state: 'failed', step, error: reason });
      }
    }
    if (live.killTimer) clearTimeout(live.killTimer);
    this.active.delete(live.id);
    this.opts.notify.queueChanged();
    this.pump();
  }

  /** Writes every live run's buffered metrics (the service calls this once per event batch). */
  flush(): void {
    for (const live of this.active.values()) live.recorder.flush();
  }

  private changed(runId: number): void {
    this.opts.notify.runChanged(runId);
  }
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
