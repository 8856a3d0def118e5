/**
 * Many observers, one scheduler. The process holding the worker lock (db/worker-lock.ts) schedules
 * a database's queue; any number of others (`ablate serve` beside `ablate worker`, a second
 * window) attach as observers:
 * - they read live: every POLL_MS they compare SQLite's `PRAGMA data_version` (which changes when
 *   another connection commits) and, when it moved, turn what changed into the same events the
 *   holder's own runs produce (runs changed, new metric points, progress, queue status);
 * - they send commands (cancel, retry, move, pause, resume, delete, archive, unarchive) through the `commands` table, which
 *   the holder polls (CommandInbox) and carries out, stamping each done or with its error;
 * - when the holder goes away they try to take the lock over and become the scheduler.
 */
import type { CommandKind, CommandRow, Store } from '../../db/store';
import type { RunRow } from '../../contract/rows';
import type { MetricPoint } from '../../contract/run-protocol';
import { UserError } from '../../contract/errors';
import { TRAIN_METRICS } from '../../contract/metrics';
import type { SchedulerListener } from './scheduler';

export const POLL_MS = 250;

/** What an observer reports besides the scheduler's events: runs deleted and experiments changed by another process. */
export interface ObserverListener extends SchedulerListener {
  runsRemoved(runIds: readonly number[]): void;
  experimentsChanged(): void;
}

/** The holder's side: carries out commands observers left in the table. */
export class CommandInbox {
  private timer: NodeJS.Timeout | null = null;
  private version = -1;

  constructor(
    private readonly store: Store,
    private readonly execute: (cmd: CommandRow) => void | Promise<void>,
    /** Called after another connection committed (new runs queued by `ablate queue`, commands). */
    private readonly changed: () => void,
    /** A poll that failed (the database cannot be read or written): never thrown from the timer. */
    private readonly failed: (err: Error) => void,
  ) {}

  start(): void {
    const tick = () => this.poll().catch((err: Error) => this.failed(err));
    this.timer ??= setInterval(tick, POLL_MS);
    this.timer.unref();
    void tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Carries out pending commands if anything changed since the last poll. */
  async poll(): Promise<void> {
    const v = this.store.dataVersion();
    if (v === this.version) return;
    this.version = v;
    for (const cmd of this.store.pendingCommands()) {
      let error: string | null = null;
      try {
        await this.execute(cmd);
      } catch (err) {
        error = err instanceof UserError ? err.message : `${(err as Error).message}`;
      }
      this.store.finishCommand(cmd.id, error);
    }
    this.changed();
  }
}

/** Leaves a command for the holder and waits until it was carried out; its error is thrown as a UserError. */
export async function sendCommand(store: Store, kind: CommandKind, runId: number | null, arg: unknown, timeoutMs = 15_000): Promise<void> {
  const id = store.addCommand({ kind, runId, arg: arg === undefined ? null : JSON.stringify(arg) });
  const end = Date.now() + timeoutMs;
  for (;;) {
    const row = store.getCommand(id);
    if (row?.doneAt) {
      if (row.error) throw new UserError(row.error);
      return;
    }
    if (Date.now() > end) throw new UserError(`${store.file}: the process running this queue did not carry out '${kind}' within ${timeoutMs / 1000} s (it stays queued as command ${id})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The observer's side: turns other connections' commits into events. */
export class ObserverFeed {
  private timer: NodeJS.Timeout | null = null;
  private version = -1;
  private readonly seen = new Map<number, string>();
  /** Highest metric step delivered per run. */
  private readonly lastStep = new Map<number, number>();
  private experiments = '';

  constructor(
    private readonly store: Store,
    private readonly notify: ObserverListener,
    /** Called every poll (the Workbench tries to take the lock over here). */
    private readonly tick: () => void,
    /** A poll that failed (the database cannot be read): never thrown from the timer. */
    private readonly failed: (err: Error) => void,
  ) {}

  start(): void {
    // The current state is the baseline: only what changes from here on is an event.
    for (const r of this.store.listRuns()) {
      this.seen.set(r.id, fingerprint(r));
      this.lastStep.set(r.id, r.step);
    }
    this.experiments = experimentsFingerprint(this.store);
    this.version = this.store.dataVersion();
    this.timer ??= setInterval(() => {
      try {
        this.poll();
      } catch (err) {
        this.failed(err as Error);
      }
    }, POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Running run ids as the database says (the observer has no processes of its own). */
  runningIds(): number[] {
    return this.store.listRuns({ states: ['running'] }).map((r) => r.id);
  }

  poll(): void {
    const v = this.store.dataVersion();
    if (v !== this.version) {
      this.version = v;
      let queue = false;
      const runs = this.store.listRuns();
      const present = new Set(runs.map((r) => r.id));
      const removed = [...this.seen.keys()].filter((id) => !present.has(id));
      for (const id of removed) {
        this.seen.delete(id);
        this.lastStep.delete(id);
      }
      if (removed.length) this.notify.runsRemoved(removed);
      const experiments = experimentsFingerprint(this.store);
      if (experiments !== this.experiments) {
        this.experiments = experiments;
        this.notify.experimentsChanged();
      }
      for (const r of runs) {
        const f = fingerprint(r);
        if (this.seen.get(r.id) !== f) {
          this.seen.set(r.id, f);
          this.notify.runChanged(r.id);
          queue = true;
        }
        if (r.state === 'running' || (this.lastStep.get(r.id) ?? -1) < r.step) this.newPoints(r);
      }
      if (queue) this.notify.queueChanged();
    }
    this.tick();
  }

  private newPoints(r: RunRow): void {
    const after = this.lastStep.get(r.id) ?? -1;
    const points = this.store.metricsAfter(r.id, after);
    if (!points.length) return;
    this.notify.metrics(r.id, points.map((p) => ({ split: p.split as MetricPoint['split'], name: p.name, step: p.step, value: p.value, time: p.time })));
    this.lastStep.set(r.id, Math.max(after, ...points.map((p) => p.step)));
    const loss = points.filter((p) => p.split === 'train' && p.name === TRAIN_METRICS.loss).pop();
    const tps = points.filter((p) => p.split === 'train' && p.name === TRAIN_METRICS.tokensPerSecond).pop();
    if (loss && r.state === 'running') this.notify.progress({ runId: r.id, step: loss.step, totalSteps: r.totalSteps, loss: loss.value, tokensPerSecond: tps?.value ?? 0, etaSeconds: null });
  }
}

function fingerprint(r: RunRow): string {
  return `${r.state}|${r.step}|${r.priority}|${r.error}|${r.finishedAt}|${Object.keys(r.metrics).length}|${r.archivedAt ?? ''}`;
}

function experimentsFingerprint(store: Store): string {
  return store.listExperiments().map((e) => `${e.id}:${e.archivedAt ?? ''}`).join(',');
}
