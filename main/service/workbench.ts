/**
 * The Workbench service: one object behind every front (Electron IPC, the WebSocket server, the
 * CLI). It validates and queues specs, owns the scheduler, answers queries from the database and
 * pushes events, batched every ~150 ms so a chart is not redrawn per metric message.
 *
 * @example
 *   const wb = await Workbench.open({ dbPath: 'ablate.sqlite', dataDir: '.ablate' });
 *   await wb.enqueueSpec(presetYaml);
 *   await wb.waitForIdle();
 *   await wb.close();
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { openStore, type CommandRow, type Store } from '../../db/store';
import { acquireWorkerLock, WorkerLockedError, type WorkerLock } from '../../db/worker-lock';
import { holdSpace, type SpaceReserve } from '../../db/space-reserve';
import { buildResultTable, formatResultTable, type SignificanceTest } from '../../db/export';
import { compareReplicates } from '../../experiments/run/evaluate';
import { checkRequeue } from '../../db/requeue';
import { learnedPositionProblems } from '../../experiments/data/positions';
import type { ExecutorChoice, MetricSeries, RunRow, RunState } from '../../contract/rows';
import { SpecError, type ExpandedRun } from '../../contract/spec';
import { specWarnings } from '../../contract/spec-warnings';
import type { BackendName } from '../../contract/backends';
import { PRESETS } from '../../experiments/presets';
import type {
  AttentionMaps,
  DeletionPlan,
  EnqueueResult,
  ExperimentRow,
  ExportFormat,
  LogRow,
  MetricQuery,
  PresetInfo,
  QueueStatus,
  ResultTable,
  RowSignificance,
  RunSelection,
  SampleRow,
  SpecPreview,
  TableOptions,
  WorkbenchApi,
  WorkbenchEvent,
} from '../../contract/api';
import { UserError } from '../../contract/errors';
import { parseApiArgs } from '../../contract/api-schemas';
import { lttbIndices } from '../../common/lttb';
import { forkSpawner, type RunSpawner } from './run-host';
import { Scheduler, isStorageError, runLabel } from './scheduler';
import { CommandInbox, ObserverFeed, sendCommand } from './observer';
import { removeCheckpointDirs } from './checkpoint-files';
import { EventBatcher } from './event-batcher';
import { InferenceHost } from './inference-host';
import { checkBackendSupport, expandLoaded, parseSpecText, type LoadedSpec } from './spec-edge';
import { SlurmExecutor, checkSlurmChoice, checkpointCopyName, type SlurmExecutorOptions } from './executors/slurm/executor';

export interface WorkbenchOptions {
  readonly dbPath: string;
  /** Checkpoints and data caches (see defaultDataDir). */
  readonly dataDir: string;
  /** Runs trained at the same time on this machine (default 1: one run already uses every core, or the GPU). */
  readonly slots?: number;
  /**
   * Cluster runs queued without maxParallel in their choice on a cluster at once (`ablate worker
   * --max-parallel`; default: slots). Cluster runs take none of the local slots; a choice with
   * maxParallel has a pool of its own (SlurmExecutor.slotPool).
   */
  readonly clusterSlots?: number;
  /** Backend for runs queued without one (CLI --backend); the spec's `backend` otherwise, else auto. */
  readonly backend?: BackendName;
  /** Start the scheduler (crash recovery + queue) on open. Default true; read-only commands pass false. */
  readonly autoStart?: boolean;
  /** How run processes are started (Electron passes utilityProcessSpawner). Default: child_process.fork with tsx. */
  readonly spawner?: RunSpawner;
  /** Human-readable progress lines ("run 3 (base, seed 1) resumed from step 200"). */
  readonly log?: (line: string) => void;
  /** Milliseconds a cancelled run gets to stop before it is killed (default 10 000). */
  readonly stopDeadlineMs?: number;
  /**
   * When another process holds the worker lock, attach as an observer (live reads, commands sent
   * to the holder, takeover when it goes away) instead of refusing. `ablate serve` and the app.
   */
  readonly attach?: boolean;
  /**
   * Cluster runs (queued with executor slurm): for runs without an ssh target, the shell, cluster
   * filesystem and events source (defaults: Slurm's clients and the root on this machine); a run
   * with a target (SlurmOptions.ssh) reaches its login node through `sshShell(target)` for all
   * three; host command and poll interval.
   */
  readonly slurm?: Pick<SlurmExecutorOptions, 'shell' | 'fs' | 'events' | 'sshShell' | 'hostCommand' | 'pollMs' | 'goneGraceMs'>;
}

/** States a config hash counts as "already there" in (skipped unless forced). */
const DUPLICATE_STATES: readonly RunState[] = ['queued', 'running', 'done', 'interrupted'];
/** Terminal states a run can be retried from. */
const RETRYABLE: readonly RunState[] = ['failed', 'cancelled', 'interrupted'];

/** The data folder next to a database: `<dir of db>/.ablate`. */
export function defaultDataDir(dbPath: string): string {
  return join(dirname(resolve(dbPath)), '.ablate');
}

export class Workbench implements Omit<WorkbenchApi, 'onEvent' | 'saveFile'> {
  readonly scheduler: Scheduler;
  private readonly events: EventBatcher;
  private lock: WorkerLock | null = null;
  /** Room beside the database for the last status write on a full disk (held with the lock). */
  private reserve: SpaceReserve | null = null;
  private closed = false;
  private closing = false;
  private readonly inbox: CommandInbox;
  private observer: ObserverFeed | null = null;
  private fatal: string | null = null;
  private readonly inference: InferenceHost;
  /** Runs queued on Slurm: their RunProcess is a facade over a Slurm job (executors/slurm). */
  readonly slurm: SlurmExecutor;

  private constructor(
    private readonly store: Store,
    private readonly opts: WorkbenchOptions,
  ) {
    // Per-database checkpoint folders, so two databases sharing a data dir never collide.
    const dataDir = resolve(opts.dataDir);
    const local = opts.spawner ?? forkSpawner();
    this.inference = new InferenceHost(local);
    this.slurm = new SlurmExecutor({ store, ...opts.slurm, requestCancel: (id) => this.scheduler.cancel(id), runChanged: (id) => this.events.runChanged(id), metricsRecorded: (id, points) => this.events.metrics(id, points), log: opts.log });
    const spawner = this.slurm.route(local);
    this.events = new EventBatcher({
      beforeFlush: () => this.scheduler.flush(),
      runs: (ids) => ids.map((id) => this.store.getRun(id)).filter((r): r is RunRow => r !== undefined),
      queueStatus: () => this.currentQueueStatus(),
    });
    this.scheduler = new Scheduler({
      store,
      spawner,
      dataDir: join(dataDir, basename(store.file).replace(/\.[^.]*$/, '') || 'db'),
      slots: opts.slots ?? 1,
      stopDeadlineMs: opts.stopDeadlineMs,
      log: opts.log,
      notify: this.events,
      onStorageError: (err) => this.storageFailure(err),
      remoteCheckpoints: (id) => this.slurm.overSsh(id),
      poolOf: (id) => this.slurm.slotPool(id, opts.clusterSlots ?? opts.slots ?? 1),
    });
    this.inbox = new CommandInbox(store, (cmd) => this.execute(cmd), () => this.scheduler.pump(), (err) => this.pollFailed(err));
  }

  /** Opens (creating or migrating) the database; with autoStart (default) recovers crashed runs and starts the queue. */
  static async open(opts: WorkbenchOptions): Promise<Workbench> {
    mkdirSync(dirname(resolve(opts.dbPath)), { recursive: true });
    mkdirSync(opts.dataDir, { recursive: true });
    const store = openStore(resolve(opts.dbPath));
    const wb = new Workbench(store, opts);
    if (opts.autoStart !== false) {
      try {
        wb.start();
      } catch (err) {
        store.close();
        throw err;
      }
    }
    return wb;
  }

  /**
   * Crash recovery, then the queue: runs left `running` by a dead process become `interrupted`
   * and resume from their latest checkpoint before queued runs start.
   */
  start(): void {
    // One scheduler per database (db/worker-lock.ts): a second live worker would mark the first
    // one's runs interrupted. With `attach`, a refused process observes instead.
    try {
      this.lock = acquireWorkerLock(this.store.file);
    } catch (err) {
      if (!(err instanceof WorkerLockedError) || !this.opts.attach) throw err;
      const h = err.holder;
      this.opts.log?.(`attached to ${this.store.file} as an observer: ${h ? `pid ${h.pid} on ${h.host}` : 'another process'} runs its queue; commands go to it`);
      this.observe();
      this.events.start();
      return;
    }
    try {
      const recovered = this.store.markRunningAsInterrupted('the workbench stopped while this run was running');
      for (const run of recovered) this.opts.log?.(`${runLabel(run)} was interrupted at step ${run.step}; it will resume`);
      for (const run of recovered) this.events.runChanged(run.id);
    } catch (err) {
      this.lock.release();
      this.lock = null;
      // A read-only database goes up as SQLite's own error: the fronts name the file and say what to
      // check (permissions of the file and its folder: main/cli/environment-errors.ts).
      if (isStorageError(err) && (err as { code?: unknown }).code !== 'SQLITE_READONLY') throw new UserError(`${this.store.file}: cannot write the database (${(err as Error).message}); nothing was started`);
      throw err;
    }
    this.reserve = holdSpace(this.store.file);
    this.events.start();
    this.scheduler.start();
    this.inbox.start();
  }

  /** An observer whose holder went away takes the lock and schedules (at most every 2 s). */
  private lastTakeOver = 0;
  /** Lines already said about failed takeovers (one attempt every 2 s would repeat them). */
  private readonly takeOverSaid = new Set<string>();
  private sayOnce(line: string): void {
    if (this.takeOverSaid.has(line)) return;
    this.takeOverSaid.add(line);
    this.opts.log?.(line);
  }
  private tryTakeOver(): void {
    if (!this.observer || this.closing || Date.now() - this.lastTakeOver < 2000) return;
    this.lastTakeOver = Date.now();
    try {
      this.lock = acquireWorkerLock(this.store.file);
    } catch {
      return;
    }
    // No room for the reserve: the disk that stopped the holder is still full, and the takeover's
    // first write would stop this process too. Keep watching; the next tick tries again.
    const room = holdSpace(this.store.file);
    this.lock.release();
    this.lock = null;
    if (!room.held) {
      const why = room.problem === 'ENOSPC' || room.problem === 'EDQUOT' ? 'the disk holding it is full' : `its folder cannot be written (${room.problem})`;
      this.sayOnce(`the process running ${this.store.file} went away and ${why}: this one runs the queue once it can write there`);
      return;
    }
    this.observer.stop();
    this.observer = null;
    this.opts.log?.(`the process running ${this.store.file} went away: this one runs the queue now`);
    try {
      this.start();
    } catch (err) {
      this.sayOnce(`could not take the queue over: ${(err as Error).message}`);
      // Keep watching (and trying): a takeover refused now may work once the database can be written.
      this.observe();
    }
  }

  private observe(): void {
    this.observer = new ObserverFeed(this.store, this.events, () => this.tryTakeOver(), (err) => this.pollFailed(err));
    this.observer.start();
  }

  /** Whether this process schedules the queue (holds the worker lock). */
  get isScheduler(): boolean {
    return this.lock !== null;
  }

  /** Whether this process observes a queue another process schedules. */
  get isObserver(): boolean {
    return this.observer !== null;
  }

  /** True once close() began (a signal, or the database could not be written). */
  get isClosing(): boolean {
    return this.closing;
  }

  /** The one line that stopped the scheduler (the database could not be written), or null. */
  get fatalError(): string | null {
    return this.fatal;
  }

  /** A command an observer left for this process (CommandInbox). */
  private async execute(cmd: CommandRow): Promise<void> {
    const arg = cmd.arg === null ? undefined : (JSON.parse(cmd.arg) as unknown);
    const runId = cmd.runId ?? -1;
    if (cmd.kind === 'cancel') return this.cancelRun(runId);
    if (cmd.kind === 'retry') return this.retryRun(runId, (arg ?? {}) as { fromScratch?: boolean });
    if (cmd.kind === 'move') return this.moveRun(runId, Number(arg));
    if (cmd.kind === 'pause') return this.pauseQueue();
    if (cmd.kind === 'resume') return this.resumeQueue();
    // The selection was written by another process: checked as an edge checks a front's call.
    if (cmd.kind === 'delete') return this.deleteRuns(...parseApiArgs('deleteRuns', [arg]));
    if (cmd.kind === 'archive' || cmd.kind === 'unarchive') return this.setArchived(parseApiArgs('setArchived', [arg, true])[0], cmd.kind === 'archive');
  }

  /** A command or observer poll failed: storage trouble stops the scheduler; anything else is said once per message. */
  private readonly pollErrors = new Set<string>();
  private pollFailed(err: Error): void {
    if (this.closed) return;
    if (isStorageError(err) && this.lock) return this.storageFailure(err);
    if (this.pollErrors.has(err.message)) return;
    this.pollErrors.add(err.message);
    this.opts.log?.(`${this.store.file}: ${this.lock ? 'carrying out commands' : 'reading the queue'} failed: ${err.message}`);
  }

  /**
   * The database cannot be written (disk full, read-only, I/O error): stop every run, record
   * nothing more, release the lock. Runs whose rows still say `running` become interrupted at the
   * next start and resume from their checkpoints.
   */
  private storageFailure(err: Error): void {
    if (this.fatal) return;
    const code = (err as { code?: string }).code ?? 'error';
    this.fatal = `${this.store.file}: cannot write the database (${code}: ${err.message}); worker stopped, its runs are interrupted and resume with the next worker once the database can be written`;
    this.opts.log?.(this.fatal);
    void this.close();
  }

  /** Subscribes to event batches (one array per ~150 ms window); returns the unsubscribe function. */
  onEvents(listener: (events: readonly WorkbenchEvent[]) => void): () => void {
    return this.events.onEvents(listener);
  }

  /** Resolves when no run is running and none is queued or waiting to resume (or the queue is paused). */
  waitForIdle(): Promise<void> {
    return this.scheduler.waitForIdle();
  }

  /** Resolves when every run in `ids` is in a final state (done, failed, cancelled), the queue went idle or the workbench is closing. */
  async waitForRuns(ids: readonly number[]): Promise<void> {
    const pending = () => ids.some((id) => {
      const s = this.store.getRun(id)?.state;
      return s === 'queued' || s === 'running' || s === 'interrupted';
    });
    // Closing (a signal, or the database could not be written): the runs stay where they are.
    while (!this.closing && pending()) {
      await Promise.race([this.scheduler.waitForIdle(), new Promise((r) => setTimeout(r, 250))]);
      if (this.closing) break;
      if (!this.scheduler.runningIds.length && (this.scheduler.paused || !pending())) break;
    }
  }

  /** Stops running runs gracefully (they resume at the next start), flushes events, closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.inbox.stop();
    this.observer?.stop();
    this.slurm.detach(); // cluster jobs keep running; the next start re-attaches
    await this.scheduler.shutdown();
    const quiet = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        if (!this.fatal) throw err;
      }
    };
    if (this.fatal && this.lock) {
      // Its runs' rows must not say `running` with nobody running them. On a full disk even this
      // small write needs room: the reserve's (db/space-reserve.ts). Read-only: they stay, and the
      // next start marks them.
      this.reserve?.release();
      quiet(() => {
        for (const run of this.store.markRunningAsInterrupted(this.fatal!)) {
          this.store.addLog(run.id, 'error', this.fatal!);
          this.events.runChanged(run.id);
        }
      });
    }
    quiet(() => this.events.stop());
    this.reserve?.release();
    this.reserve = null;
    this.lock?.release();
    this.lock = null;
    this.inference.close();
    quiet(() => this.store.close());
  }

  // ---- specs and the queue ----

  async listPresets(): Promise<readonly PresetInfo[]> {
    return PRESETS.map((p) => ({ name: p.name, description: p.description, yaml: p.yaml }));
  }

  async previewSpec(text: string): Promise<SpecPreview> {
    let runs: ExpandedRun[];
    let name: string;
    try {
      const spec = parseSpecText(text);
      name = spec.name;
      runs = expandLoaded({ spec, specDir: null });
      checkPositions(runs);
      checkRequeue(this.store, name, runs);
    } catch (err) {
      if (err instanceof SpecError) return { ok: false, issues: err.issues };
      if (err instanceof UserError) return { ok: false, issues: [err.message, ...err.issues.filter((i) => i !== err.message)] };
      throw err;
    }
    const planned = new Map<string, true>();
    return {
      ok: true,
      name,
      warnings: specWarnings(runs),
      runs: runs.map((r) => {
        const existing = this.store.findRunByHash(r.hash, DUPLICATE_STATES);
        const duplicateOf = existing ? existing.id : planned.has(r.hash) ? -1 : null;
        planned.set(r.hash, true);
        return { variant: r.config.variant, seed: r.config.seed, hash: r.hash, changes: r.config.changes, duplicateOf };
      }),
    };
  }

  /** Validates and queues spec text (YAML or JSON); rejects with a SpecError and queues nothing when it is invalid. */
  async enqueueSpec(text: string, options: { readonly force?: boolean; readonly backend?: string; readonly executor?: ExecutorChoice } = {}): Promise<EnqueueResult> {
    const spec = parseSpecText(text);
    if (options.executor?.name === 'slurm') await checkSlurmChoice(options.executor, this.slurm.access(options.executor), this.slurm.hostCommandFor(options.executor));
    return this.enqueue({ spec, specDir: null, source: 'text' }, options);
  }

  /**
   * Queues a validated spec: expands it (base, variants, grid × seeds), skips configs already
   * queued, running, interrupted or done unless `force`, and inserts the rest in one transaction.
   * Everything that can fail runs before the first write, so a bad spec changes nothing.
   */
  enqueue(loaded: LoadedSpec, options: { readonly force?: boolean; readonly backend?: string; readonly executor?: ExecutorChoice } = {}): EnqueueResult {
    const runs = expandLoaded(loaded);
    checkPositions(runs);
    checkRequeue(this.store, loaded.spec.name, runs);
    const backend = options.backend ?? this.opts.backend ?? loaded.spec.backend ?? 'auto';
    checkBackendSupport(runs, backend); // e.g. lengths beyond the fused attention kernel: refused here, never mid-run
    const skipped: { variant: string; seed: number; existingRunId: number }[] = [];
    const toInsert: ExpandedRun[] = [];
    const seen = new Set<string>();
    for (const r of runs) {
      const existing = options.force ? undefined : this.store.findRunByHash(r.hash, DUPLICATE_STATES);
      if (existing) skipped.push({ variant: r.config.variant, seed: r.config.seed, existingRunId: existing.id });
      else if (seen.has(r.hash) && !options.force) continue; // the same config twice in one spec trains once
      else toInsert.push(r);
      seen.add(r.hash);
    }
    const experiment = this.store.upsertExperiment(loaded.spec.name, loaded.spec, loaded.specDir);
    // A config already trained (or queued) in another experiment is reused in this one's table.
    const reused = skipped.map((s) => ({ runId: s.existingRunId, variant: s.variant, run: this.store.getRun(s.existingRunId) }));
    this.store.linkRuns(experiment.id, reused.filter((r) => r.run && r.run.experimentId !== experiment.id));
    const executor = options.executor;
    const queued = this.store.transaction(() => {
      const ids = this.store.insertRuns(
        experiment.id,
        toInsert.map((r) => ({ variant: r.config.variant, seed: r.config.seed, config: r.config, configHash: r.hash, backendRequested: backend, totalSteps: r.config.train.steps })),
      );
      // Cluster runs: options stored with the run (checked by checkSlurmChoice first), checkpoints under the cluster root.
      if (executor?.name === 'slurm') for (const id of ids) this.assignSlurm(id, executor);
      return ids;
    });
    for (const id of queued) this.events.runChanged(id);
    this.events.queueChanged();
    this.scheduler.pump();
    return { experimentId: experiment.id, queued, skipped, warnings: specWarnings(runs) };
  }

  /** Queues run `id` on Slurm (a queued local run too: `ablate worker --executor slurm`). */
  assignSlurm(id: number, choice: Extract<ExecutorChoice, { name: 'slurm' }>): void {
    const { name: _name, ...options } = choice;
    const runKey = `run-${id}-${Date.now().toString(36)}`;
    this.store.setRunExecutor(id, 'slurm', options, runKey);
    this.store.updateRun(id, { checkpointDir: `${options.clusterRoot.replace(/\/+$/, '')}/runs/${runKey}/checkpoints` });
  }

  async listExperiments(options: { readonly includeArchived?: boolean } = {}): Promise<readonly ExperimentRow[]> {
    const all = this.store.listExperiments();
    return options.includeArchived ? all : all.filter((e) => !e.archivedAt);
  }

  async listRuns(filter: { readonly experimentId?: number; readonly includeArchived?: boolean } = {}): Promise<readonly RunRow[]> {
    const runs = this.store.listRuns(filter.experimentId === undefined ? {} : { experimentId: filter.experimentId });
    return filter.includeArchived ? runs : runs.filter((r) => !r.archivedAt);
  }

  async getRun(runId: number): Promise<RunRow | null> {
    return this.store.getRun(runId) ?? null;
  }

  /** A run's row now (the CLI's progress lines need it synchronously). */
  runRow(runId: number): RunRow | undefined {
    return this.store.getRun(runId);
  }

  /** An experiment by name, or a one-line error listing the ones there are. */
  experimentNamed(name: string, flag = '--experiment'): ExperimentRow {
    const exp = this.store.getExperimentByName(name);
    if (!exp) throw new UserError(`${flag} ${name}: no such experiment (have: ${this.store.listExperiments().map((e) => e.name).join(', ') || 'none'})`);
    return exp;
  }

  /** The most recently created experiment, if any; archived ones only with `includeArchived` (as listExperiments). */
  latestExperiment(options: { readonly includeArchived?: boolean } = {}): ExperimentRow | undefined {
    const experiments = this.store.listExperiments().filter((e) => options.includeArchived || !e.archivedAt);
    return experiments.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id)[0];
  }

  /** Metric series; with maxPoints each (run, split, name) series is LTTB-sampled to at most that many points. */
  async getMetrics(query: MetricQuery): Promise<readonly MetricSeries[]> {
    const all = this.store.getMetricSeries({ runIds: query.runIds, names: query.names });
    const max = query.maxPoints;
    if (!max || max <= 0) return all;
    return all.map((s) => {
      if (s.steps.length <= max) return s;
      const keep = lttbIndices(s.steps, s.values, Math.max(3, max));
      return { ...s, steps: keep.map((i) => s.steps[i]), values: keep.map((i) => s.values[i]), times: keep.map((i) => s.times[i]) };
    });
  }

  /** `split/name` keys these runs have recorded, sorted (no points read). */
  async getMetricKeys(runIds: readonly number[]): Promise<readonly string[]> {
    return this.store.getMetricKeys(runIds).map((k) => `${k.split}/${k.name}`);
  }

  /** Samples by step (a resumed run's repeated steps were deleted with its metrics). */
  async getSamples(runId: number): Promise<readonly SampleRow[]> {
    return this.store.getSamples(runId);
  }

  async getLogs(runId: number): Promise<readonly LogRow[]> {
    return this.store.getLogs(runId);
  }

  async cancelRun(runId: number): Promise<void> {
    this.requireRun(runId);
    if (this.observer) return sendCommand(this.store, 'cancel', runId, undefined);
    if (this.lock) return this.scheduler.cancel(runId);
    // A CLI command: the worker running the queue stops the run; with none, cancelled here under the lock.
    return this.asQueueOwner('cancel', runId, undefined, () => this.scheduler.cancel(runId));
  }

  /**
   * Queues a failed, cancelled or interrupted run again, at the head of the queue. It resumes from
   * its newest checkpoint that verifies (the run process checks, and falls back to older ones);
   * `fromScratch` starts over at step 0 in a fresh checkpoint folder (a diverged run resumed from
   * the same weights may diverge again). Automatic resume attempts start again from 0.
   */
  async retryRun(runId: number, opts: { readonly fromScratch?: boolean } = {}): Promise<void> {
    const run = this.requireRun(runId);
    if (!RETRYABLE.includes(run.state)) throw new UserError(`run ${runId} is ${run.state}; only failed, cancelled or interrupted runs can be retried`);
    if (this.observer) return sendCommand(this.store, 'retry', runId, { fromScratch: Boolean(opts.fromScratch) });
    const fresh = Boolean(opts.fromScratch);
    if (fresh) this.store.deleteMetricsAfter(runId, -1);
    this.store.updateRun(runId, {
      state: 'queued',
      error: null,
      finishedAt: null,
      ...(fresh ? { step: 0, checkpointDir: run.checkpointDir ? `${run.checkpointDir.replace(/-retry\d+$/, '')}-retry${Date.now()}` : null } : {}),
    });
    this.store.setAttempts(runId, 0);
    this.store.addLog(runId, 'info', fresh ? 'retried from scratch (step 0)' : 'retried: resumes from its last checkpoint that verifies');
    this.store.moveRun(runId, 0);
    this.scheduler.unpark(runId);
    this.events.runChanged(runId);
    this.scheduler.pump();
  }

  async moveRun(runId: number, position: number): Promise<void> {
    if (this.observer) return sendCommand(this.store, 'move', runId, position);
    const run = this.requireRun(runId);
    if (run.state !== 'queued') throw new UserError(`run ${runId} is ${run.state}; only queued runs can be moved`);
    this.store.moveRun(runId, position);
    this.events.runChanged(runId);
    this.events.queueChanged();
  }

  async pauseQueue(): Promise<void> {
    if (this.observer) return sendCommand(this.store, 'pause', null, undefined);
    this.scheduler.pause();
  }

  async resumeQueue(): Promise<void> {
    if (this.observer) return sendCommand(this.store, 'resume', null, undefined);
    this.scheduler.resume();
  }

  async queueStatus(): Promise<QueueStatus> {
    return this.currentQueueStatus();
  }

  // ---- deleting and archiving ----

  async planDeletion(selection: RunSelection): Promise<DeletionPlan> {
    return this.store.planDeletion(selection);
  }

  /**
   * Deletes runs (or an experiment with its runs): rows in one transaction, then their checkpoint
   * folders; a cluster run's folders under its cluster root (run folder, events, job.json, Slurm's
   * output) through the executor's ClusterFs (over ssh when it has a target). Carried out by the
   * process running the queue, so it never races a run being started.
   */
  async deleteRuns(selection: RunSelection): Promise<void> {
    return this.asQueueOwner('delete', null, selection, async () => {
      // Read before the rows go: where each cluster run's files are.
      const onCluster = this.store.planDeletion(selection).runs.flatMap((r) => {
        const rx = this.store.getRunExecutor(r.id);
        return rx?.executor === 'slurm' ? [rx] : [];
      });
      // Local copies of a run-over-ssh's checkpoints (attention, translate) go with it.
      const copies = onCluster.flatMap((rx) => (rx.options.ssh === undefined ? [] : this.store.listCheckpoints(rx.runId).map((c) => join(this.checkpointCopies, checkpointCopyName(rx.options.ssh!, c.path)))));
      const plan = this.store.deleteRuns(selection);
      const clusterRuns = onCluster.map((rx) => `${rx.options.clusterRoot.replace(/\/+$/, '')}/runs/`);
      const files = removeCheckpointDirs(plan.checkpointDirs.filter((d) => !clusterRuns.some((prefix) => d.startsWith(prefix))), [this.store.file, resolve(this.opts.dataDir)]);
      removeCheckpointDirs(copies, [this.store.file]);
      const what = plan.experiment ? `experiment ${plan.experiment.name} and its ${plan.runs.length} run(s)` : `run(s) ${plan.runs.map((r) => r.id).join(', ')}`;
      this.events.runsRemoved(plan.runs.map((r) => r.id));
      if (plan.experiment) this.events.experimentsChanged();
      const cluster = onCluster.length ? await this.slurm.removeRunFolders(onCluster) : { removed: [], left: [] };
      this.opts.log?.(`deleted ${what}: ${plan.metricPoints} metric points, ${plan.hypotheses} hypotheses, ${files.removed.length} checkpoint folder(s)${onCluster.length ? `, ${cluster.removed.length} folder(s) under cluster roots` : ''}`);
      for (const l of files.left) this.opts.log?.(`checkpoint folder left on disk: ${l.dir} (${l.reason})`);
      for (const l of cluster.left) this.opts.log?.(`cluster folder left: ${l.dir} (${l.reason})`);
    });
  }

  /** Archives (hides from default lists, keeps everything) or unarchives; carried out by the process running the queue. */
  async setArchived(selection: RunSelection, archived: boolean): Promise<void> {
    return this.asQueueOwner(archived ? 'archive' : 'unarchive', null, selection, () => {
      for (const id of this.store.setArchived(selection, archived)) this.events.runChanged(id);
      this.events.experimentsChanged();
    });
  }

  /**
   * A change that must not race the scheduler, made by the process running the queue: here when
   * this process holds the worker lock; through the commands table when another process does (an
   * observer, or a CLI command beside a worker); under the lock, taken for the change, when nobody
   * does (a CLI command on an idle database).
   */
  private async asQueueOwner(kind: 'cancel' | 'delete' | 'archive' | 'unarchive', runId: number | null, arg: unknown, change: () => void | Promise<void>): Promise<void> {
    if (this.observer) return sendCommand(this.store, kind, runId, arg);
    if (this.lock) return change();
    let lock: WorkerLock;
    try {
      lock = acquireWorkerLock(this.store.file);
    } catch (err) {
      if (err instanceof WorkerLockedError) return sendCommand(this.store, kind, runId, arg);
      throw err;
    }
    try {
      await change();
    } finally {
      lock.release();
    }
  }

  async resultTable(experimentId: number, options: TableOptions = {}): Promise<ResultTable> {
    return buildResultTable(this.store, experimentId, { significance: this.significance, includeArchived: options.includeArchived });
  }

  /** `stats`: add the significance table (MultEval per variant, sacreBLEU's paired bootstrap per seed pair). */
  async exportTable(experimentId: number, format: ExportFormat, opts: TableOptions & { readonly stats?: boolean } = {}): Promise<string> {
    return (await this.exportedTable(experimentId, format, opts)).text;
  }

  /** exportTable's text with the table it was written from (`ablate export` says what the table left out). */
  async exportedTable(experimentId: number, format: ExportFormat, opts: TableOptions & { readonly stats?: boolean } = {}): Promise<{ text: string; table: ResultTable }> {
    const table = await this.resultTable(experimentId, opts);
    return { text: formatResultTable(table, format, opts), table };
  }

  /** Significance results by the runs compared (seconds each on a real test set; the UI asks for the table often). */
  private readonly significanceCache = new Map<string, RowSignificance>();
  private readonly significance: SignificanceTest = (split, base, variant) => {
    const id = (reps: typeof base) => reps.map((r) => `${r.outputs.runId}@${r.outputs.step}:${r.outputs.hypotheses.length}`).join(',');
    const key = `${split}|${id(base)}|${id(variant)}`;
    let result = this.significanceCache.get(key);
    if (!result) {
      result = compareReplicates(split, base, variant);
      if (this.significanceCache.size >= 1000) this.significanceCache.clear();
      this.significanceCache.set(key, result);
    }
    return result;
  };

  /** Decodes `sentence` with the run's latest checkpoint and returns every attention map (in the inference process). */
  async attention(runId: number, sentence: string): Promise<AttentionMaps> {
    return this.inference.request({ kind: 'attention', checkpoint: await this.latestCheckpointPath(runId), engine: this.trainedOn(runId), sentence });
  }

  /**
   * Translates sentences with the run's latest checkpoint (in the inference process); beam and
   * length penalty default to the run's own decode settings. Empty lines stay empty.
   */
  async translate(runId: number, sentences: readonly string[], opts: { readonly beam?: number; readonly alpha?: number } = {}): Promise<readonly string[]> {
    const checkpoint = await this.latestCheckpointPath(runId);
    const decode = this.requireRun(runId).config.train.decode;
    return this.inference.request({ kind: 'translate', checkpoint, engine: this.trainedOn(runId), sentences, beam: opts.beam ?? decode.beam, alpha: opts.alpha ?? decode.alpha });
  }

  /** The pid of the inference process, once one started (never this process). */
  get inferencePid(): number | undefined {
    return this.inference.pid;
  }

  /** The engine a run trained on: a fused run's checkpoint decodes on the fused decoder where a WebGPU adapter exists. */
  private trainedOn(runId: number): 'tfjs' | 'fused' {
    const run = this.requireRun(runId);
    return run.backend === 'fused' || (run.backend === null && run.backendRequested === 'fused') ? 'fused' : 'tfjs';
  }

  /** Where verified copies of checkpoints of runs over ssh are kept (SlurmExecutor.localCheckpoint). */
  private get checkpointCopies(): string {
    return join(resolve(this.opts.dataDir), 'cluster-checkpoints');
  }

  /** The run's latest checkpoint as a file here (a cluster run over ssh: a verified copy, cached in the data folder). */
  private async latestCheckpointPath(runId: number): Promise<string> {
    const run = this.requireRun(runId);
    const ckpt = this.store.latestCheckpoint(runId);
    if (!ckpt) throw new UserError(`run ${runId} has no checkpoint yet (state ${run.state}, step ${run.step})`);
    if (this.slurm.overSsh(runId)) return this.slurm.localCheckpoint(runId, ckpt.path, this.checkpointCopies);
    if (!existsSync(ckpt.path)) throw new UserError(`run ${runId}: checkpoint file is missing: ${ckpt.path}`);
    return ckpt.path;
  }

  private requireRun(runId: number): RunRow {
    const run = this.store.getRun(runId);
    if (!run) throw new UserError(`run ${runId} does not exist`);
    return run;
  }

  /** Writes what runs reported and pushes pending events now (the CLI calls this before printing results). */
  flushEvents(): void {
    this.events.flush();
  }

  private currentQueueStatus(): QueueStatus {
    return { paused: this.scheduler.paused, slots: this.scheduler.slotCount, running: this.observer ? this.observer.runningIds() : this.scheduler.runningIds };
  }
}

/** Learned position tables must cover every dev/test sentence: refused when queued, never after training. */
function checkPositions(runs: readonly ExpandedRun[]): void {
  const problems = learnedPositionProblems(runs);
  if (problems.length) throw new SpecError(problems);
}
