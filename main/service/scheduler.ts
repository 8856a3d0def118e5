/**
 * The scheduler: gives free slots the next run, hosts each run in a process of its own, stops and
 * kills processes, and decides each run's final state. What a process says is recorded by its
 * RunRecorder (run-recorder.ts). A run that resumes drops its metrics after the checkpoint step
 * (they are measured again), so none is duplicated.
 *
 * How a run ends decides what happens next (classifyEnding):
 * - its process killed by a signal (the out-of-memory killer, a native crash, a GPU reset) or
 *   reporting out of memory: `interrupted`, resumed from its last checkpoint at once, at most
 *   MAX_AUTO_RESUMES times in a row (runs.attempts), then `failed` with the reason;
 * - no space left for a checkpoint: `interrupted` and parked (not resumed by this scheduler, which
 *   would fill the disk again); the next worker or `ablate retry` resumes it once space is back;
 * - divergence, bad data or spec, a backend that will not load, an exit without a result: `failed`.
 * A database that cannot be written (disk full, read-only, I/O error) stops the scheduler through
 * `onStorageError`: nothing half-recorded; the Workbench marks the runs interrupted as it closes
 * (on a full disk with the room of its reserve file), else the next start does.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import type { Store } from '../../db/store';
import type { RunRow } from '../../contract/rows';
import type { FailureKind, RunJob, RunToParent } from '../../contract/run-protocol';
import type { RunProcess, RunSpawner, RunExit } from './run-host';
import { RunRecorder, type RecorderListener, type RunEnding } from './run-recorder';

/** Settings key of the persisted pause flag. */
export const PAUSED_SETTING = 'queue.paused';

/** Automatic resumes of a run whose process was killed, before it is failed for good. */
export const MAX_AUTO_RESUMES = 3;

/** A database error that means the storage, not the code, is at fault: stop cleanly, resume later. */
export function isStorageError(err: unknown): boolean {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  return /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code) || /^(ENOSPC|EDQUOT|EFBIG|EROFS|EIO)$/.test(code);
}

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
  /** The database could not be written (see isStorageError): the owner stops the scheduler. Default: rethrow. */
  readonly onStorageError?: (err: Error) => void;
  /**
   * Whether a run's checkpoint folder lies on a filesystem this machine cannot see (a cluster
   * reached over ssh): then it is neither made nor looked into here; it resumes from its newest
   * recorded checkpoint, which the job host checks on the cluster (and falls back from).
   */
  readonly remoteCheckpoints?: (runId: number) => boolean;
  /**
   * The slots a run takes: undefined for this machine's (`slots`); a pool of its own for a run that
   * trains elsewhere (a cluster run: its choice's maxParallel), which takes no local slot and waits
   * only for its own pool. Runs with the same key share the pool's limit.
   */
  readonly poolOf?: (runId: number) => SlotPool | undefined;
}

/** Slots apart from this machine's: at most `limit` runs of the same `key` active at once. */
export interface SlotPool {
  readonly key: string;
  readonly limit: number;
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
  /** The pool whose slot it holds (SlotPool.key); null: a local slot. */
  readonly pool: string | null;
  stopReason: StopReason | null;
  killTimer: NodeJS.Timeout | null;
  /** Last lines of stderr: the reason when the process dies without saying why. */
  stderrTail: string[];
  /** The checkpoint step offered to the process (it may fall back to an older one that verifies). */
  readonly offeredStep: number | null;
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
  /** Runs interrupted by a full checkpoint disk: not resumed again by this scheduler. */
  private readonly parked = new Set<number>();
  private storageFailed = false;

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

  /**
   * Fills free slots. Cheap and idempotent: called after every change. A run whose slots are full
   * (local, or its pool's) holds back only runs that take the same slots: the next run in queue
   * order with room starts.
   */
  pump(): void {
    if (!this.started || this.closing) return;
    this.guard(() => {
      while (!this.paused) {
        const next = this.nextRun((id) => this.hasRoom(id));
        if (!next) break;
        this.launch(next);
      }
    });
    this.checkIdle();
  }

  /** Whether run `id` could start now: a free slot of its pool, or a free local slot. */
  private hasRoom(id: number): boolean {
    const pool = this.opts.poolOf?.(id);
    let used = 0;
    for (const a of this.active.values()) if (a.pool === (pool?.key ?? null)) used++;
    return used < (pool ? Math.max(1, Math.floor(pool.limit)) : this.slots);
  }

  /** Runs `fn`; a storage error goes to onStorageError (once), anything else is rethrown. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!isStorageError(err)) throw err;
      this.storageError(err as Error);
    }
  }

  private storageError(err: Error): void {
    if (this.storageFailed) return;
    this.storageFailed = true;
    if (!this.opts.onStorageError) throw err;
    this.opts.onStorageError(err);
  }

  /** True once a database write failed for lack of space or permission: nothing more is recorded. */
  get storageFailedNow(): boolean {
    return this.storageFailed;
  }

  /** Lets a parked run (interrupted by a full disk) be resumed by this scheduler again. */
  unpark(runId: number): void {
    this.parked.delete(runId);
  }

  /**
   * The next run to start, the first in this order that `fits`: interrupted runs (they already hold
   * a slot's worth of work), then queued runs by priority.
   */
  private nextRun(fits: (id: number) => boolean = () => true): RunRow | undefined {
    const interrupted = this.store.listRuns({ states: ['interrupted'] }).find((r) => !this.active.has(r.id) && !this.parked.has(r.id) && fits(r.id));
    if (interrupted) return interrupted;
    const head = this.store.nextQueuedRun();
    if (!head || fits(head.id)) return head;
    // Without pools every run takes a local slot: the head does not fit, so none does.
    if (!this.opts.poolOf) return undefined;
    const id = this.store.queuedRunIds().find((i) => i !== head.id && fits(i));
    return id === undefined ? undefined : this.store.getRun(id);
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
    if (!this.started || this.closing || this.storageFailed || this.paused) return true;
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
    if (!this.storageFailed) this.guard(() => this.flush());
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

  /**
   * The checkpoint a run resumes from: the newest one recorded that lies in the run's current
   * checkpoint folder and still exists (a deleted latest file falls back to the one before, said in
   * the run's log). The run process verifies it and falls back further if it does not verify.
   */
  private resumePoint(run: RunRow, dir: string, label: string, remote = false): { path: string; step: number } | undefined {
    const recorded = this.store.listCheckpoints(run.id).filter((c) => {
      const rel = relative(dir, c.path);
      return !(rel.startsWith('..') || isAbsolute(rel));
    });
    // Not here to look at: the newest recorded one (what lies after it is measured again and re-recorded).
    if (remote) return recorded[0] && { path: recorded[0].path, step: recorded[0].step };
    const found = recorded.find((c) => existsSync(c.path));
    const missing = recorded.filter((c) => c.step > (found?.step ?? -1));
    if (missing.length) {
      const line = `checkpoint file missing: ${missing.map((c) => c.path).join(', ')}; ${found ? `resuming from the previous one (${found.path}, step ${found.step})` : 'no older checkpoint is left: restarting from step 0'}`;
      this.store.addLog(run.id, 'warn', line);
      this.opts.log?.(`${label}: ${line}`);
    }
    return found && { path: found.path, step: found.step };
  }

  private launch(run: RunRow): void {
    const config = run.config;
    const checkpointDir = this.checkpointDirFor(run);
    const cacheDir = join(this.opts.dataDir, 'cache');
    const remote = this.opts.remoteCheckpoints?.(run.id) ?? false;
    if (!remote) mkdirSync(checkpointDir, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    const label = runLabel(run);
    const resumeFrom = this.resumePoint(run, checkpointDir, label, remote);
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
      pool: this.opts.poolOf?.(run.id)?.key ?? null,
      stopReason: null,
      killTimer: null,
      stderrTail: [],
      offeredStep: resumeFrom?.step ?? null,
      exited: new Promise((r) => (resolveExit = r)),
    };
    this.active.set(run.id, live);
    proc.onMessage((m) => {
      if (this.storageFailed) return;
      try {
        this.onMessage(live, m);
      } catch (err) {
        if (isStorageError(err)) return this.storageError(err as Error);
        // A database error must not leave the run half-recorded and the process orphaned.
        this.opts.log?.(`${label}: could not record '${m.type}': ${(err as Error).message}`);
      }
    });
    proc.onOutput((stream, line) => {
      if (stream === 'stderr') {
        live.stderrTail.push(line);
        if (live.stderrTail.length > 5) live.stderrTail.shift();
      }
      if (!this.storageFailed) this.guard(() => live.recorder.output(stream, proc.pid, line));
    });
    proc.onExit((exit) => {
      try {
        if (!this.storageFailed) this.guard(() => this.onExit(live, exit));
      } finally {
        if (live.killTimer) clearTimeout(live.killTimer);
        // The same run may be active again already (resumed at once): only this attempt leaves.
        if (this.active.get(live.id) === live) this.active.delete(live.id);
        resolveExit();
        this.checkIdle();
      }
    });
    proc.send({ type: 'start', job });
    this.changed(run.id);
    this.opts.notify.queueChanged();
  }

  // ---- how a run ends ----

  private onMessage(live: ActiveRun, m: RunToParent): void {
    if (m.type === 'ready' && live.offeredStep !== null && m.startStep !== live.offeredStep)
      this.opts.log?.(`${live.label} resumed from step ${m.startStep} instead: the checkpoint of step ${live.offeredStep} did not verify (the run's log says why)`);
    const ending = live.recorder.receive(m);
    if (ending) this.end(live, ending);
  }

  /** The final state a run's last message means: done, failed, or (stopped) cancelled or interrupted. */
  private end(live: ActiveRun, m: RunEnding): void {
    if (m.type === 'done') {
      this.store.setAttempts(live.id, 0);
      this.settle(live, { state: 'done', step: m.step, error: null, ...(m.metrics.params !== undefined ? { params: m.metrics.params } : {}) });
    } else if (m.type === 'failed') this.ended(live, classifyFailureKind(m.kind), m.reason, Math.max(m.step, live.recorder.step));
    else if (live.stopReason === 'cancel') this.settle(live, { state: 'cancelled', step: m.step, error: null });
    else this.settle(live, { state: 'interrupted', step: m.step, error: 'stopped when the workbench shut down' });
  }

  /**
   * A run that ended without finishing: resumed at once (a killed process, up to MAX_AUTO_RESUMES
   * times), parked until space is back (a full checkpoint disk), or failed.
   */
  private ended(live: ActiveRun, cause: EndCause, reason: string, step: number): void {
    if (cause === 'resume') {
      const used = this.store.attempts(live.id);
      if (used < MAX_AUTO_RESUMES) {
        this.store.setAttempts(live.id, used + 1);
        const line = `${reason}; resuming from the last checkpoint (automatic attempt ${used + 1} of ${MAX_AUTO_RESUMES})`;
        this.store.addLog(live.id, 'warn', line);
        this.opts.log?.(`${live.label} interrupted: ${line}`);
        this.settle(live, { state: 'interrupted', step, error: reason });
        return;
      }
      reason = `${reason} (gave up after ${MAX_AUTO_RESUMES} automatic resumes; \`ablate retry ${live.id}\` resumes it again)`;
    } else if (cause === 'park') {
      this.parked.add(live.id);
      const line = `${reason}; interrupted: it resumes from its last checkpoint once space is back (\`ablate retry ${live.id}\` or the next worker)`;
      this.store.addLog(live.id, 'error', line);
      this.opts.log?.(`${live.label}: ${line}`);
      this.settle(live, { state: 'interrupted', step, error: reason });
      return;
    }
    this.opts.log?.(`${live.label} failed: ${reason}`);
    this.settle(live, { state: 'failed', step, error: reason });
  }

  private settle(live: ActiveRun, patch: { state: RunRow['state']; step: number; error: string | null; params?: number }): void {
    if (!live.recorder.settle(patch)) return;
    // The process should exit by itself now; make sure it does.
    live.killTimer ??= setTimeout(() => live.proc.kill(), this.stopDeadlineMs);
  }

  private onExit(live: ActiveRun, exit: RunExit): void {
    if (live.killTimer) clearTimeout(live.killTimer);
    if (this.active.get(live.id) === live) this.active.delete(live.id);
    live.recorder.flush();
    if (!live.recorder.isSettled) {
      const step = live.recorder.step;
      if (live.stopReason === 'cancel') this.settle(live, { state: 'cancelled', step, error: null });
      else if (live.stopReason === 'shutdown') this.settle(live, { state: 'interrupted', step, error: 'stopped when the workbench shut down' });
      else {
        const reason = exitReason(exit, live.stderrTail);
        this.store.addLog(live.id, 'error', reason);
        this.ended(live, classifyExit(exit, live.stderrTail), reason, step);
      }
    }
    this.opts.notify.queueChanged();
    this.pump();
  }

  /** Writes every live run's buffered metrics (the service calls this once per event batch). */
  flush(): void {
    if (this.storageFailed) return;
    this.guard(() => {
      for (const live of this.active.values()) live.recorder.flush();
    });
  }

  private changed(runId: number): void {
    this.opts.notify.runChanged(runId);
  }
}

/** What happens to a run that ended without finishing. */
export type EndCause = 'resume' | 'park' | 'fail';

const DISK_FULL = /ENOSPC|EDQUOT|no space left on device|disk quota exceeded|File too large|EFBIG/i;
const OUT_OF_MEMORY = /out of memory|heap limit|Allocation failed|ENOMEM/i;

/** A failure the run process reported: out of memory resumes, a full disk parks, the rest fail. */
export function classifyFailureKind(kind: FailureKind): EndCause {
  if (kind === 'out-of-memory') return 'resume';
  if (kind === 'disk-full') return 'park';
  return 'fail';
}

/**
 * A process that died without a result: a signal (SIGKILL from the out-of-memory killer, SIGSEGV,
 * SIGABRT of a native crash or V8's heap limit) or out-of-memory text resumes; a full disk parks;
 * an exit code without a result (the code gave up) fails.
 */
export function classifyExit(exit: RunExit, stderrTail: readonly string[]): EndCause {
  const tail = stderrTail.join('\n');
  if (DISK_FULL.test(tail)) return 'park';
  if (exit.signal || OUT_OF_MEMORY.test(tail)) return 'resume';
  return 'fail';
}

/** Why a process ended without reporting a result. */
export function exitReason(exit: RunExit, stderrTail: readonly string[]): string {
  const tail = stderrTail.join(' | ');
  const oom = OUT_OF_MEMORY.test(tail);
  let reason = exit.signal ? `run process killed by ${exit.signal}` : `run process exited with code ${exit.code} without a result`;
  if (oom) reason = `out of memory: ${reason}`;
  else if (exit.signal === 'SIGKILL') reason += ' (out of memory?)';
  return tail ? `${reason}: ${tail.slice(-400)}` : reason;
}
