/**
 * The workbench database: one SQLite file written by the main (or CLI) process only. Every
 * method is synchronous (better-sqlite3); JSON columns are parsed on the way out, times are Unix
 * epoch milliseconds. main/ talks to SQLite through this interface and nothing else.
 *
 * @example
 *   const store = openStore('/tmp/ablate.sqlite');
 *   const exp = store.upsertExperiment('table3-mini', spec, null);
 *   const [runId] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config, configHash, backendRequested: 'auto', totalSteps: 2000 }]);
 *   store.insertMetrics(runId, [{ split: 'train', name: 'loss', step: 10, value: 7.1, time: Date.now() }]);
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type MetricPoint, type SampleTranslation } from '../contract/run-protocol';
import { METRIC_SPLITS } from '../contract/metrics';
import { UserError } from '../contract/errors';
import type { BackendName } from '../contract/backends';
import type { DeletionPlan, RunSelection } from '../contract/api';
import { MIGRATIONS, type Migration } from './migrations';
import type { CheckpointRow, ClusterFacts, ExperimentRow, LogRow, MetricRow, MetricSeries, RunOutputs, RunRow, RunState, SampleRow, SlurmOptions } from '../contract/rows';

/** A database written by a newer version of the workbench: refused rather than misread. */
export class StoreVersionError extends UserError {
  constructor(
    readonly file: string,
    readonly fileVersion: number,
    readonly supportedVersion: number,
  ) {
    super(`${file}: database schema version ${fileVersion} is newer than this workbench supports (version ${supportedVersion}); open it with a newer version of the workbench`);
    this.name = 'StoreVersionError';
  }
}

export interface NewRun {
  readonly variant: string;
  readonly seed: number;
  /** The RunConfig (experiments/spec.ts); stored as JSON. */
  readonly config: unknown;
  readonly configHash: string;
  readonly backendRequested: string;
  readonly totalSteps: number;
}

export interface RunPatch {
  readonly state: RunState;
  readonly backend: string | null;
  readonly device: string | null;
  readonly step: number;
  readonly error: string | null;
  readonly dataInfo: unknown;
  readonly checkpointDir: string | null;
  readonly params: number | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly priority: number;
}

export interface MetricsQuery {
  readonly runIds: readonly number[];
  readonly names?: readonly string[];
  readonly splits?: readonly string[];
}

export interface Store {
  /** The database file this store writes. */
  readonly file: string;
  /** Backup written before migrating an existing database at open; null when none was needed. */
  readonly backupPath: string | null;
  close(): void;
  /** PRAGMA integrity_check: 'ok' when fine, otherwise the problems joined by newlines. */
  integrityCheck(): string;

  /** Same name → same row (the spec and spec directory are updated). */
  upsertExperiment(name: string, spec: unknown, specDir: string | null): ExperimentRow;
  listExperiments(): ExperimentRow[];
  getExperiment(id: number): ExperimentRow | undefined;
  getExperimentByName(name: string): ExperimentRow | undefined;

  /** Inserts queued runs in one transaction, appended at the end of the queue; returns their ids in order. */
  insertRuns(experimentId: number, runs: readonly NewRun[]): number[];
  /** The oldest run with this config hash in one of `states`. */
  findRunByHash(hash: string, states: readonly RunState[]): RunRow | undefined;
  getRun(id: number): RunRow | undefined;
  /** Ordered by id; `metrics` holds each run's split-'final' metrics. */
  listRuns(filter?: { readonly experimentId?: number; readonly states?: readonly RunState[] }): RunRow[];
  /** Links runs of other experiments into `experimentId` under its variant names (a second link of the same run is ignored). */
  linkRuns(experimentId: number, links: readonly { readonly runId: number; readonly variant: string }[]): void;
  /** Runs of other experiments this experiment reuses, ordered by id, each with `variant` set to this experiment's name for it. */
  listLinkedRuns(experimentId: number): RunRow[];
  /** The queued run to start next: lowest priority, then lowest id. */
  nextQueuedRun(): RunRow | undefined;
  /** Ids of the queued runs in queue order (priority, then id): nextQueuedRun's order, all of them. */
  queuedRunIds(): number[];
  /** Moves a queued run to `position` (0 = next) among the queued runs. */
  moveRun(id: number, position: number): void;
  updateRun(id: number, patch: Partial<RunPatch>): void;
  /** Start-up crash recovery: every `running` run becomes `interrupted` with `reason`; returns them. */
  markRunningAsInterrupted(reason: string): RunRow[];

  // ---- deleting and archiving (migration 6) ----
  /** What deleteRuns(selection) would remove; a UserError names an unknown run or experiment, or a queued or running run (cancel it first). */
  planDeletion(selection: RunSelection): DeletionPlan;
  /**
   * Deletes the selection's runs with every row of theirs (metrics, hypotheses, checkpoints,
   * samples, logs, links, cluster rows) and, for an experiment selection, the experiment, in one
   * transaction; returns what was removed. Checkpoint files on disk are the caller's to remove.
   */
  deleteRuns(selection: RunSelection): DeletionPlan;
  /**
   * Archives (sets archived_at) or unarchives; returns the run ids whose flag changed. Archiving
   * an experiment archives its runs with it; unarchiving it brings back every run of it, and
   * unarchiving a run brings its experiment back. Queued or running runs cannot be archived.
   */
  setArchived(selection: RunSelection, archived: boolean): number[];

  /** One transaction; a point with the same (run, split, name, step) replaces the stored one. NaN/±Infinity kept. */
  insertMetrics(runId: number, points: readonly MetricPoint[]): void;
  /** Deletes the run's metrics and sample translations with step > `step` (resume from a checkpoint at `step`: they are measured again). */
  deleteMetricsAfter(runId: number, step: number): void;
  /** Ordered by run, split, name, step. */
  getMetrics(q: MetricsQuery): MetricRow[];
  /** The same points as getMetrics, one column-wise series per (run, split, name), in that order (no per-point objects: the compare path). */
  getMetricSeries(q: MetricsQuery): MetricSeries[];
  /** The run's points with step > `step`, ordered by split, name, step (an observer's live feed). */
  metricsAfter(runId: number, step: number): MetricRow[];
  /** The distinct (split, name) pairs these runs have recorded, sorted: what a chart can offer before loading any point. */
  getMetricKeys(runIds: readonly number[]): { split: string; name: string }[];

  addCheckpoint(runId: number, step: number, path: string): void;
  latestCheckpoint(runId: number): CheckpointRow | undefined;
  /** Every checkpoint recorded for the run, newest first (files may have been pruned since). */
  listCheckpoints(runId: number): CheckpointRow[];

  /** Automatic resumes used since a person last queued the run (runs.attempts). */
  attempts(runId: number): number;
  /** Sets runs.attempts (a resume adds one; a retry or a finished run resets it to 0). */
  setAttempts(runId: number, n: number): void;

  /** Adds a command for the process holding the worker lock; returns its id. */
  addCommand(cmd: NewCommand): number;
  /** Commands not carried out yet, oldest first. */
  pendingCommands(): CommandRow[];
  /** Stamps a command done (error null) or refused (the one-line reason). */
  finishCommand(id: number, error: string | null): void;
  getCommand(id: number): CommandRow | undefined;
  /** PRAGMA data_version: changes when another connection commits (cheap change polling). */
  dataVersion(): number;
  /** Replaces the run's stored hypotheses of `split` (one row per sentence, with its reference). */
  setHypotheses(runId: number, split: RunOutputs['split'], step: number, hypotheses: readonly string[], references: readonly string[]): void;
  /** The run's stored hypotheses of `split` in corpus order; undefined when none were stored. */
  getHypotheses(runId: number, split: RunOutputs['split']): RunOutputs | undefined;
  addSamples(runId: number, step: number, samples: readonly SampleTranslation[]): void;
  /** Ordered by step, then insertion. */
  getSamples(runId: number): SampleRow[];
  addLog(runId: number, level: LogRow['level'], text: string): void;
  /** Ordered by insertion. */
  getLogs(runId: number): LogRow[];
  getSetting(key: string): string | undefined;
  setSetting(key: string, value: string): void;

  // ---- cluster runs (migration 5) ----
  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T;
  /** Marks a run as queued on Slurm with these options; `runKey` names its folder under the cluster root. */
  setRunExecutor(runId: number, executor: 'slurm', options: SlurmOptions, runKey: string): void;
  getRunExecutor(runId: number): RunExecutorRow | undefined;
  /** What squeue/scontrol said of the run's current job (and which submission it is). */
  updateClusterFacts(runId: number, patch: Partial<ClusterFactsPatch>): void;
  /** The byte offset up to which an events file is ingested (0 when never read). */
  ingestOffset(path: string): number;
  setIngestOffset(runId: number, path: string, offset: number): void;
  /** Every events file of a run with its ingested offset. */
  listIngestOffsets(runId: number): { path: string; offset: number }[];
  /** Samples ingested from an events file, each keyed `<key>#<i>`: a key already stored is skipped. */
  addSamplesKeyed(runId: number, step: number, samples: readonly SampleTranslation[], key: string): void;
  /** A log line ingested from an events file, at its written time; a key already stored is skipped. */
  addLogKeyed(runId: number, time: number, level: LogRow['level'], text: string, key: string): void;
  /** A checkpoint ingested from an events file, at its written time; an existing (run, step) is kept. */
  addCheckpointOnce(runId: number, step: number, path: string, time: number): void;
}

/** A cluster run's executor row (run_executors). */
export interface RunExecutorRow {
  readonly runId: number;
  readonly executor: 'slurm';
  readonly options: SlurmOptions;
  readonly runKey: string;
  readonly submissionId: string | null;
  readonly jobId: string | null;
  readonly node: string | null;
  readonly attempt: number;
  readonly slurmState: string | null;
  readonly reason: string | null;
}

/** What a poll (or a submission) changes of a cluster run's row. */
export type ClusterFactsPatch = Pick<RunExecutorRow, 'submissionId' | 'jobId' | 'node' | 'attempt' | 'slurmState' | 'reason'>;

const CLUSTER_COLUMNS: Record<keyof ClusterFactsPatch, string> = {
  submissionId: 'submission_id',
  jobId: 'job_id',
  node: 'node',
  attempt: 'attempt',
  slurmState: 'slurm_state',
  reason: 'reason',
};

export type CommandKind = 'cancel' | 'retry' | 'move' | 'pause' | 'resume' | 'delete' | 'archive' | 'unarchive';

export interface NewCommand {
  readonly kind: CommandKind;
  readonly runId?: number | null;
  /** JSON text (move: the position; retry: { fromScratch }; delete, archive, unarchive: the RunSelection). */
  readonly arg?: string | null;
}

export interface CommandRow {
  readonly id: number;
  readonly kind: CommandKind;
  readonly runId: number | null;
  readonly arg: string | null;
  readonly createdAt: number;
  readonly doneAt: number | null;
  readonly error: string | null;
}

export interface OpenStoreOptions {
  /** Schema steps to apply (tests pass extra ones to exercise migration); default: MIGRATIONS. */
  readonly migrations?: readonly Migration[];
  /** Milliseconds a write waits for another connection's lock before SQLITE_BUSY. */
  readonly busyTimeoutMs?: number;
}

/** metrics.kind: SQLite stores NaN as NULL, so non-finite values are tagged explicitly. */
const KIND_FINITE = 0;
const KIND_NAN = 1;
const KIND_POS_INF = 2;
const KIND_NEG_INF = 3;
const NON_FINITE = [0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY] as const;

function metricKind(v: number): number {
  if (Number.isFinite(v)) return KIND_FINITE;
  if (Number.isNaN(v)) return KIND_NAN;
  return v > 0 ? KIND_POS_INF : KIND_NEG_INF;
}

function metricValue(value: number | null, kind: number): number {
  return kind === KIND_FINITE ? (value as number) : NON_FINITE[kind];
}

interface RunDbRow {
  id: number;
  experiment_id: number;
  experiment: string;
  variant: string;
  seed: number;
  config: string;
  config_hash: string;
  state: RunState;
  priority: number;
  backend_requested: BackendName;
  backend: string | null;
  device: string | null;
  step: number;
  total_steps: number;
  error: string | null;
  data_info: string | null;
  checkpoint_dir: string | null;
  params: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  archived_at?: number | null;
  x_executor?: string | null;
  x_job_id?: string | null;
  x_node?: string | null;
  x_attempt?: number | null;
  x_slurm_state?: string | null;
  x_reason?: string | null;
}

interface ExperimentDbRow {
  id: number;
  name: string;
  spec: string;
  spec_dir: string | null;
  created_at: number;
  archived_at?: number | null;
}

const PATCH_COLUMNS: Record<keyof RunPatch, string> = {
  state: 'state',
  backend: 'backend',
  device: 'device',
  step: 'step',
  error: 'error',
  dataInfo: 'data_info',
  checkpointDir: 'checkpoint_dir',
  params: 'params',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  priority: 'priority',
};

const RUN_SELECT = `SELECT r.*, e.name AS experiment, x.executor AS x_executor, x.job_id AS x_job_id, x.node AS x_node, x.attempt AS x_attempt, x.slurm_state AS x_slurm_state, x.reason AS x_reason
  FROM runs r JOIN experiments e ON e.id = r.experiment_id LEFT JOIN run_executors x ON x.run_id = r.id`;

function clusterFacts(r: RunDbRow): ClusterFacts | null {
  if (r.x_executor !== 'slurm') return null;
  return { executor: 'slurm', jobId: r.x_job_id ?? null, node: r.x_node ?? null, attempt: r.x_attempt ?? 0, slurmState: r.x_slurm_state ?? null, reason: r.x_reason ?? null };
}

function toExperiment(r: ExperimentDbRow): ExperimentRow {
  return { id: r.id, name: r.name, spec: JSON.parse(r.spec), specDir: r.spec_dir, createdAt: r.created_at, archivedAt: r.archived_at ?? null };
}

function toRun(r: RunDbRow, metrics: Record<string, number>): RunRow {
  return {
    id: r.id,
    experimentId: r.experiment_id,
    experiment: r.experiment,
    variant: r.variant,
    seed: r.seed,
    config: JSON.parse(r.config),
    configHash: r.config_hash,
    state: r.state,
    priority: r.priority,
    backendRequested: r.backend_requested,
    backend: r.backend,
    device: r.device,
    step: r.step,
    totalSteps: r.total_steps,
    error: r.error,
    dataInfo: r.data_info === null ? null : JSON.parse(r.data_info),
    checkpointDir: r.checkpoint_dir,
    params: r.params,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    metrics,
    cluster: clusterFacts(r),
    archivedAt: r.archived_at ?? null,
  };
}

/**
 * Queued and running runs belong to the scheduler, and so does an interrupted cluster run (its
 * Slurm job may still be training and is re-attached at the next start): a one-line refusal
 * naming them.
 */
function refuseBusy(runs: readonly RunDbRow[], verb: 'delete' | 'archive'): void {
  const busy = runs.filter((r) => r.state === 'queued' || r.state === 'running' || (r.state === 'interrupted' && r.x_executor === 'slurm'));
  if (!busy.length) return;
  const list = busy.map((r) => `run ${r.id} (${r.variant}, seed ${r.seed}) is ${r.state}${r.state === 'interrupted' ? ' on Slurm (its job may still run)' : ''}`).join(', ');
  throw new UserError(`cannot ${verb}: ${list}; cancel ${busy.length > 1 ? 'them' : 'it'} first`);
}

function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(',');
}

/**
 * Opens (creating or migrating) the workbench database. A database with tables and an older
 * schema version is first copied to `<file>.backup-v<old>-<timestamp>` with VACUUM INTO, which
 * reads through the connection and so includes changes still in a -wal file left by a crash.
 * Throws StoreVersionError for a database written by a newer version.
 */
export function openStore(file: string, options: OpenStoreOptions = {}): Store {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = migrations[migrations.length - 1].version;
  const existed = file !== ':memory:' && existsSync(file);
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (e) {
    throw new UserError(`${file}: cannot open the database (${(e as Error).message})`);
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    let version: number;
    try {
      version = db.pragma('user_version', { simple: true }) as number;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'SQLITE_NOTADB') throw new UserError(`${file}: not a SQLite database (${(e as Error).message})`);
      // A full or read-only disk fails here too: keep SQLite's code so each front can say which.
      throw Object.assign(new Error(`${file}: cannot read the database (${(e as Error).message})`), { code });
    }
    if (version > latest) throw new StoreVersionError(file, version, latest);
    // WAL: readers never block the single writer; NORMAL sync is durable at checkpoints and
    // never corrupts on a crash (the last transactions may roll back, which resume tolerates).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    let backupPath: string | null = null;
    if (version < latest) {
      const hasSchema = (db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as { n: number }).n > 0;
      if (existed && hasSchema) {
        backupPath = `${file}.backup-v${version}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        db.prepare('VACUUM INTO ?').run(backupPath);
      }
      for (const m of migrations) {
        if (m.version <= version) continue;
        db.transaction(() => {
          m.up(db);
          db.pragma(`user_version = ${m.version}`);
        })();
      }
    }
    return new SqliteStore(db, file, backupPath);
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Rows per multi-row INSERT: one statement call (one N-API crossing) writes a whole chunk. */
const METRIC_CHUNKS = [64, 16, 4, 1] as const;
const METRIC_COLUMNS_PER_ROW = 7;

class SqliteStore implements Store {
  private readonly stmtCache = new Map<string, Database.Statement>();
  private readonly insertMetricsTx: (runId: number, points: readonly MetricPoint[]) => void;

  constructor(
    private readonly db: Database.Database,
    readonly file: string,
    readonly backupPath: string | null,
  ) {
    const tuple = `(${new Array<string>(METRIC_COLUMNS_PER_ROW).fill('?').join(',')})`;
    const chunks = METRIC_CHUNKS.map((size) => ({
      size,
      stmt: db.prepare(`INSERT OR REPLACE INTO metrics (run_id, split, name, step, value, kind, time) VALUES ${new Array<string>(size).fill(tuple).join(',')}`),
      args: new Array<unknown>(size * METRIC_COLUMNS_PER_ROW),
    }));
    this.insertMetricsTx = db.transaction((runId: number, points: readonly MetricPoint[]) => {
      let i = 0;
      for (const { size, stmt, args } of chunks) {
        for (; i + size <= points.length; i += size) {
          for (let j = 0; j < size; j++) {
            const p = points[i + j];
            const kind = metricKind(p.value);
            const o = j * METRIC_COLUMNS_PER_ROW;
            args[o] = runId;
            args[o + 1] = p.split;
            args[o + 2] = p.name;
            args[o + 3] = p.step;
            args[o + 4] = kind === KIND_FINITE ? p.value : null;
            args[o + 5] = kind;
            args[o + 6] = p.time;
          }
          stmt.run(args);
        }
      }
    });
  }

  /** Prepared statements are reused; dynamic ones (IN lists, patches) are cached by their SQL. */
  private stmt(sql: string): Database.Statement {
    let s = this.stmtCache.get(sql);
    if (!s) {
      if (this.stmtCache.size > 500) this.stmtCache.clear();
      s = this.db.prepare(sql);
      this.stmtCache.set(sql, s);
    }
    return s;
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('optimize');
    } catch {
      // A hint for the query planner: a full or read-only disk must not keep the database open.
    }
    this.db.close();
  }

  integrityCheck(): string {
    const rows = this.db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('\n');
  }

  // ---- experiments ----

  upsertExperiment(name: string, spec: unknown, specDir: string | null): ExperimentRow {
    const row = this.stmt(
      `INSERT INTO experiments (name, spec, spec_dir, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, spec_dir = excluded.spec_dir
       RETURNING *`,
    ).get(name, JSON.stringify(spec ?? null), specDir, Date.now()) as ExperimentDbRow;
    return toExperiment(row);
  }

  listExperiments(): ExperimentRow[] {
    return (this.stmt(`SELECT * FROM experiments ORDER BY id`).all() as ExperimentDbRow[]).map(toExperiment);
  }

  getExperiment(id: number): ExperimentRow | undefined {
    const r = this.stmt(`SELECT * FROM experiments WHERE id = ?`).get(id) as ExperimentDbRow | undefined;
    return r && toExperiment(r);
  }

  getExperimentByName(name: string): ExperimentRow | undefined {
    const r = this.stmt(`SELECT * FROM experiments WHERE name = ?`).get(name) as ExperimentDbRow | undefined;
    return r && toExperiment(r);
  }

  // ---- runs ----

  insertRuns(experimentId: number, runs: readonly NewRun[]): number[] {
    return this.db.transaction(() => {
      let priority = (this.stmt(`SELECT coalesce(max(priority), -1) + 1 AS p FROM runs`).get() as { p: number }).p;
      const insert = this.stmt(
        `INSERT INTO runs (experiment_id, variant, seed, config, config_hash, state, priority, backend_requested, total_steps, created_at)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      );
      const now = Date.now();
      return runs.map((r) => Number(insert.run(experimentId, r.variant, r.seed, JSON.stringify(r.config), r.configHash, priority++, r.backendRequested, r.totalSteps, now).lastInsertRowid));
    })();
  }

  findRunByHash(hash: string, states: readonly RunState[]): RunRow | undefined {
    if (states.length === 0) return undefined;
    const r = this.stmt(`${RUN_SELECT} WHERE r.config_hash = ? AND r.state IN (${placeholders(states.length)}) ORDER BY r.id LIMIT 1`).get(hash, ...states) as RunDbRow | undefined;
    return r && this.withFinalMetrics([r])[0];
  }

  getRun(id: number): RunRow | undefined {
    const r = this.stmt(`${RUN_SELECT} WHERE r.id = ?`).get(id) as RunDbRow | undefined;
    return r && this.withFinalMetrics([r])[0];
  }

  listRuns(filter: { readonly experimentId?: number; readonly states?: readonly RunState[] } = {}): RunRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.experimentId !== undefined) {
      where.push('r.experiment_id = ?');
      args.push(filter.experimentId);
    }
    if (filter.states) {
      if (filter.states.length === 0) return [];
      where.push(`r.state IN (${placeholders(filter.states.length)})`);
      args.push(...filter.states);
    }
    const clause = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    const runs = this.stmt(`${RUN_SELECT}${clause} ORDER BY r.id`).all(...args) as RunDbRow[];
    if (runs.length === 0) return [];
    // Final metrics of the same runs in one query. CROSS JOIN pins runs as the outer loop, so each
    // run is a seek on metrics' primary key (run_id, 'final', …) instead of a scan of all metrics.
    const finals = this.stmt(`SELECT m.run_id, m.name, m.value, m.kind FROM runs r CROSS JOIN metrics m ON m.run_id = r.id AND m.split = 'final'${clause}`).raw().all(...args) as [number, string, number | null, number][];
    return this.attachFinals(runs, finals);
  }

  private withFinalMetrics(runs: RunDbRow[]): RunRow[] {
    const finals = this.stmt(`SELECT run_id, name, value, kind FROM metrics WHERE run_id = ? AND split = 'final'`).raw().all(runs[0].id) as [number, string, number | null, number][];
    return this.attachFinals(runs, finals);
  }

  private attachFinals(runs: RunDbRow[], finals: [number, string, number | null, number][]): RunRow[] {
    const byRun = new Map<number, Record<string, number>>();
    for (const [runId, name, value, kind] of finals) {
      let m = byRun.get(runId);
      if (!m) byRun.set(runId, (m = {}));
      m[name] = metricValue(value, kind);
    }
    return runs.map((r) => toRun(r, byRun.get(r.id) ?? {}));
  }

  linkRuns(experimentId: number, links: readonly { readonly runId: number; readonly variant: string }[]): void {
    const insert = this.stmt(`INSERT OR IGNORE INTO experiment_runs (experiment_id, run_id, variant) VALUES (?, ?, ?)`);
    this.db.transaction(() => {
      for (const l of links) insert.run(experimentId, l.runId, l.variant);
    })();
  }

  listLinkedRuns(experimentId: number): RunRow[] {
    const links = this.stmt(`SELECT run_id, variant FROM experiment_runs WHERE experiment_id = ? ORDER BY run_id`).all(experimentId) as { run_id: number; variant: string }[];
    const out: RunRow[] = [];
    for (const l of links) {
      const run = this.getRun(l.run_id);
      if (run) out.push({ ...run, variant: l.variant });
    }
    return out;
  }

  nextQueuedRun(): RunRow | undefined {
    const r = this.stmt(`${RUN_SELECT} WHERE r.state = 'queued' ORDER BY r.priority, r.id LIMIT 1`).get() as RunDbRow | undefined;
    return r && this.withFinalMetrics([r])[0];
  }

  queuedRunIds(): number[] {
    return (this.stmt(`SELECT id FROM runs WHERE state = 'queued' ORDER BY priority, id`).raw().all() as [number][]).map((r) => r[0]);
  }

  moveRun(id: number, position: number): void {
    this.db.transaction(() => {
      const queued = (this.stmt(`SELECT id, priority FROM runs WHERE state = 'queued' ORDER BY priority, id`).all() as { id: number; priority: number }[]).map((r) => r.id);
      const from = queued.indexOf(id);
      if (from < 0) throw new Error(`run ${id} is not queued, so it cannot be moved`);
      queued.splice(from, 1);
      const to = Math.max(0, Math.min(queued.length, Math.floor(position)));
      queued.splice(to, 0, id);
      // Renumber from the current lowest queued priority so queued runs keep their place relative to others.
      const base = (this.stmt(`SELECT min(priority) AS p FROM runs WHERE state = 'queued'`).get() as { p: number }).p;
      const set = this.stmt(`UPDATE runs SET priority = ? WHERE id = ?`);
      queued.forEach((runId, i) => set.run(base + i, runId));
    })();
  }

  updateRun(id: number, patch: Partial<RunPatch>): void {
    const cols: string[] = [];
    const args: unknown[] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      const col = PATCH_COLUMNS[key as keyof RunPatch];
      if (!col) throw new Error(`updateRun: unknown field "${key}"; allowed: ${Object.keys(PATCH_COLUMNS).join(', ')}`);
      cols.push(`${col} = ?`);
      args.push(key === 'dataInfo' ? (value === null ? null : JSON.stringify(value)) : value);
    }
    if (cols.length === 0) return;
    const info = this.stmt(`UPDATE runs SET ${cols.join(', ')} WHERE id = ?`).run(...args, id);
    if (info.changes === 0) throw new Error(`updateRun: run ${id} does not exist`);
  }

  markRunningAsInterrupted(reason: string): RunRow[] {
    return this.db.transaction(() => {
      const ids = (this.stmt(`UPDATE runs SET state = 'interrupted', error = ? WHERE state = 'running' RETURNING id`).all(reason) as { id: number }[]).map((r) => r.id);
      return ids.sort((a, b) => a - b).map((id) => this.getRun(id) as RunRow);
    })();
  }

  // ---- deleting and archiving ----

  /** The selection's experiment (null for runs by id) and runs, ordered by id; unknown ids are a UserError. */
  private selected(selection: RunSelection): { experiment: ExperimentDbRow | null; runs: RunDbRow[] } {
    if ('experimentId' in selection) {
      const experiment = this.stmt(`SELECT * FROM experiments WHERE id = ?`).get(selection.experimentId) as ExperimentDbRow | undefined;
      if (!experiment) throw new UserError(`experiment ${selection.experimentId} does not exist`);
      return { experiment, runs: this.stmt(`${RUN_SELECT} WHERE r.experiment_id = ? ORDER BY r.id`).all(experiment.id) as RunDbRow[] };
    }
    const ids = [...new Set(selection.runIds)];
    if (!ids.length) throw new UserError('no run named');
    const runs = this.stmt(`${RUN_SELECT} WHERE r.id IN (${placeholders(ids.length)}) ORDER BY r.id`).all(...ids) as RunDbRow[];
    const missing = ids.filter((id) => !runs.some((r) => r.id === id));
    if (missing.length) throw new UserError(`${missing.length > 1 ? 'runs' : 'run'} ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist`);
    return { experiment: null, runs };
  }

  planDeletion(selection: RunSelection): DeletionPlan {
    const { experiment, runs } = this.selected(selection);
    refuseBusy(runs, 'delete');
    const ids = runs.map((r) => r.id);
    const inIds = `(${placeholders(ids.length)})`;
    const count = (table: string) => (ids.length ? (this.stmt(`SELECT count(*) AS n FROM ${table} WHERE run_id IN ${inIds}`).get(...ids) as { n: number }).n : 0);
    const recorded = ids.length ? (this.stmt(`SELECT path FROM checkpoints WHERE run_id IN ${inIds}`).all(...ids) as { path: string }[]) : [];
    // Each run's checkpoint folder, and the folders of recorded checkpoints (a retry from scratch moved to a new folder).
    const dirs = new Set<string>([...runs.flatMap((r) => (r.checkpoint_dir ? [r.checkpoint_dir] : [])), ...recorded.map((c) => dirname(c.path))]);
    const reusedBy = ids.length
      ? (this.stmt(`SELECT l.run_id AS runId, e.name AS experiment FROM experiment_runs l JOIN experiments e ON e.id = l.experiment_id WHERE l.run_id IN ${inIds} AND l.experiment_id != ? ORDER BY l.run_id, e.name`).all(...ids, experiment?.id ?? -1) as { runId: number; experiment: string }[])
      : [];
    return {
      experiment: experiment && { id: experiment.id, name: experiment.name },
      runs: runs.map((r) => ({ id: r.id, experiment: r.experiment, variant: r.variant, seed: r.seed, state: r.state })),
      metricPoints: count('metrics'),
      hypotheses: count('hypotheses'),
      checkpointDirs: [...dirs].sort(),
      reusedBy,
    };
  }

  deleteRuns(selection: RunSelection): DeletionPlan {
    return this.db.transaction(() => {
      const plan = this.planDeletion(selection);
      const ids = plan.runs.map((r) => r.id);
      // Every table keyed by run_id references runs ON DELETE CASCADE (foreign_keys is on).
      if (ids.length) this.stmt(`DELETE FROM runs WHERE id IN (${placeholders(ids.length)})`).run(...ids);
      if (plan.experiment) this.stmt(`DELETE FROM experiments WHERE id = ?`).run(plan.experiment.id);
      return plan;
    })();
  }

  setArchived(selection: RunSelection, archived: boolean): number[] {
    return this.db.transaction(() => {
      const { experiment, runs } = this.selected(selection);
      if (archived) refuseBusy(runs, 'archive');
      const now = Date.now();
      const changed = runs.filter((r) => (r.archived_at != null) !== archived).map((r) => r.id);
      if (changed.length) this.stmt(`UPDATE runs SET archived_at = ? WHERE id IN (${placeholders(changed.length)})`).run(archived ? now : null, ...changed);
      const experimentIds = experiment ? [experiment.id] : archived ? [] : [...new Set(runs.map((r) => r.experiment_id))];
      for (const id of experimentIds) this.stmt(`UPDATE experiments SET archived_at = ? WHERE id = ?`).run(archived ? now : null, id);
      return changed;
    })();
  }

  // ---- metrics ----

  insertMetrics(runId: number, points: readonly MetricPoint[]): void {
    if (points.length) this.insertMetricsTx(runId, points);
  }

  deleteMetricsAfter(runId: number, step: number): void {
    this.db.transaction(() => {
      this.stmt(`DELETE FROM metrics WHERE run_id = ? AND step > ?`).run(runId, step);
      this.stmt(`DELETE FROM samples WHERE run_id = ? AND step > ?`).run(runId, step);
    })();
  }

  getMetricSeries(q: MetricsQuery): MetricSeries[] {
    if (q.runIds.length === 0 || q.names?.length === 0 || q.splits?.length === 0) return [];
    // IN lists on all three leading key columns let SQLite seek each (run, split, name) range; with
    // names but no splits, every split is listed so the name still narrows the seek.
    const splits = q.splits ?? (q.names ? METRIC_SPLITS : undefined);
    let where = `run_id IN (${placeholders(q.runIds.length)})`;
    const args: unknown[] = [...q.runIds];
    if (splits) {
      where += ` AND split IN (${placeholders(splits.length)})`;
      args.push(...splits);
    }
    if (q.names) {
      where += ` AND name IN (${placeholders(q.names.length)})`;
      args.push(...q.names);
    }
    // One row per series with its steps, values and times as JSON arrays: crossing from SQLite to
    // JS per value costs more than JSON.parse (bench/ingest.bench.ts). SQLite renders REALs in JSON
    // with round-trip precision (tested); non-finite values travel as the strings
    // "NaN"/"Infinity"/"-Infinity", which Number() turns back into the numbers. Aggregating straight
    // off the primary-key scan (no ordered subquery) lets GROUP BY use the key order instead of a
    // temporary b-tree (measured 2.4× on 50 runs).
    const sql = `SELECT run_id, split, name, json_group_array(step),
        json_group_array(CASE kind WHEN ${KIND_FINITE} THEN value WHEN ${KIND_NAN} THEN 'NaN' WHEN ${KIND_POS_INF} THEN 'Infinity' ELSE '-Infinity' END),
        json_group_array(time)
      FROM metrics WHERE ${where} GROUP BY run_id, split, name ORDER BY run_id, split, name`;
    const series = this.stmt(sql).raw().all(...args) as [number, string, string, string, string, string][];
    const out: MetricSeries[] = [];
    for (const [runId, split, name, stepsJson, valuesJson, timesJson] of series) {
      let steps = JSON.parse(stepsJson) as number[];
      const parsed = JSON.parse(valuesJson) as (number | string)[];
      for (let i = 0; i < parsed.length; i++) if (typeof parsed[i] === 'string') parsed[i] = Number(parsed[i]);
      let values = parsed as number[];
      let times = JSON.parse(timesJson) as number[];
      // The key scan feeds the aggregate in step order; SQL does not promise that, so verify it.
      for (let i = 1; i < steps.length; i++)
        if (steps[i] < steps[i - 1]) {
          const order = steps.map((_, j) => j).sort((x, y) => steps[x] - steps[y]);
          [steps, values, times] = [order.map((j) => steps[j]), order.map((j) => values[j]), order.map((j) => times[j])];
          break;
        }
      out.push({ runId, split, name, steps, values, times });
    }
    return out;
  }

  getMetricKeys(runIds: readonly number[]): { split: string; name: string }[] {
    // A skip scan: one primary-key seek per (run, split, name) series instead of reading every point.
    // The row value `(split, name) > (?, ?)` is not a seek: SQLite seeks on run_id only and steps
    // through the run's points until the condition holds (280–470 ms for 100 runs × 10k points, on
    // the path of Compare's first draw); `split = ? AND name > ?`, then `split > ?`, seek (~30 ms).
    const nextName = this.stmt(`SELECT split, name FROM metrics WHERE run_id = ? AND split = ? AND name > ? ORDER BY name LIMIT 1`).raw();
    const nextSplit = this.stmt(`SELECT split, name FROM metrics WHERE run_id = ? AND split > ? ORDER BY split, name LIMIT 1`).raw();
    const seen = new Map<string, { split: string; name: string }>();
    for (const runId of runIds) {
      let key = nextSplit.get(runId, '') as [string, string] | undefined;
      while (key) {
        seen.set(`${key[0]}\u0000${key[1]}`, { split: key[0], name: key[1] });
        key = (nextName.get(runId, key[0], key[1]) ?? nextSplit.get(runId, key[0])) as [string, string] | undefined;
      }
    }
    return [...seen.keys()].sort().map((k) => seen.get(k)!); // "split\0name" sorts as (split, name)
  }

  metricsAfter(runId: number, step: number): MetricRow[] {
    const rows = this.stmt(`SELECT run_id, split, name, step, value, kind, time FROM metrics WHERE run_id = ? AND step > ? ORDER BY split, name, step`).raw().all(runId, step) as [number, string, string, number, number | null, number, number][];
    return rows.map(([r, split, name, st, value, kind, time]) => ({ runId: r, split, name, step: st, value: metricValue(value, kind), time }));
  }

  getMetrics(q: MetricsQuery): MetricRow[] {
    const out: MetricRow[] = [];
    for (const s of this.getMetricSeries(q))
      for (let i = 0; i < s.steps.length; i++) out.push({ runId: s.runId, split: s.split, name: s.name, step: s.steps[i], value: s.values[i], time: s.times[i] });
    return out;
  }

  // ---- checkpoints, samples, logs, settings ----

  addCheckpoint(runId: number, step: number, path: string): void {
    this.stmt(`INSERT OR REPLACE INTO checkpoints (run_id, step, path, created_at) VALUES (?, ?, ?, ?)`).run(runId, step, path, Date.now());
  }

  latestCheckpoint(runId: number): CheckpointRow | undefined {
    return this.stmt(`SELECT run_id AS runId, step, path, created_at AS createdAt FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1`).get(runId) as CheckpointRow | undefined;
  }

  listCheckpoints(runId: number): CheckpointRow[] {
    return this.stmt(`SELECT run_id AS runId, step, path, created_at AS createdAt FROM checkpoints WHERE run_id = ? ORDER BY step DESC`).all(runId) as CheckpointRow[];
  }

  attempts(runId: number): number {
    return (this.stmt(`SELECT attempts FROM runs WHERE id = ?`).get(runId) as { attempts: number } | undefined)?.attempts ?? 0;
  }

  setAttempts(runId: number, n: number): void {
    this.stmt(`UPDATE runs SET attempts = ? WHERE id = ?`).run(n, runId);
  }

  addCommand(cmd: NewCommand): number {
    return Number(this.stmt(`INSERT INTO commands (kind, run_id, arg, created_at) VALUES (?, ?, ?, ?)`).run(cmd.kind, cmd.runId ?? null, cmd.arg ?? null, Date.now()).lastInsertRowid);
  }

  pendingCommands(): CommandRow[] {
    return this.stmt(`SELECT id, kind, run_id AS runId, arg, created_at AS createdAt, done_at AS doneAt, error FROM commands WHERE done_at IS NULL ORDER BY id`).all() as CommandRow[];
  }

  finishCommand(id: number, error: string | null): void {
    this.stmt(`UPDATE commands SET done_at = ?, error = ? WHERE id = ?`).run(Date.now(), error, id);
  }

  getCommand(id: number): CommandRow | undefined {
    return this.stmt(`SELECT id, kind, run_id AS runId, arg, created_at AS createdAt, done_at AS doneAt, error FROM commands WHERE id = ?`).get(id) as CommandRow | undefined;
  }

  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  setHypotheses(runId: number, split: RunOutputs['split'], step: number, hypotheses: readonly string[], references: readonly string[]): void {
    if (hypotheses.length !== references.length) throw new Error(`setHypotheses: ${hypotheses.length} hypotheses but ${references.length} references`);
    const insert = this.stmt(`INSERT INTO hypotheses (run_id, split, line, step, hypothesis, reference) VALUES (?, ?, ?, ?, ?, ?)`);
    this.db.transaction(() => {
      this.stmt(`DELETE FROM hypotheses WHERE run_id = ? AND split = ?`).run(runId, split);
      hypotheses.forEach((h, i) => insert.run(runId, split, i, step, h, references[i]));
    })();
  }

  getHypotheses(runId: number, split: RunOutputs['split']): RunOutputs | undefined {
    const rows = this.stmt(`SELECT step, hypothesis, reference FROM hypotheses WHERE run_id = ? AND split = ? ORDER BY line`).raw().all(runId, split) as [number, string, string][];
    if (!rows.length) return undefined;
    return { runId, split, step: rows[0][0], hypotheses: rows.map((r) => r[1]), references: rows.map((r) => r[2]) };
  }

  addSamples(runId: number, step: number, samples: readonly SampleTranslation[]): void {
    const insert = this.stmt(`INSERT INTO samples (run_id, step, source, reference, hypothesis) VALUES (?, ?, ?, ?, ?)`);
    this.db.transaction(() => {
      for (const s of samples) insert.run(runId, step, s.source, s.reference, s.hypothesis);
    })();
  }

  getSamples(runId: number): SampleRow[] {
    return this.stmt(`SELECT run_id AS runId, step, source, reference, hypothesis FROM samples WHERE run_id = ? ORDER BY step, id`).all(runId) as SampleRow[];
  }

  addLog(runId: number, level: LogRow['level'], text: string): void {
    this.stmt(`INSERT INTO logs (run_id, time, level, text) VALUES (?, ?, ?, ?)`).run(runId, Date.now(), level, text);
  }

  getLogs(runId: number): LogRow[] {
    return this.stmt(`SELECT run_id AS runId, time, level, text FROM logs WHERE run_id = ? ORDER BY id`).all(runId) as LogRow[];
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  setRunExecutor(runId: number, executor: 'slurm', options: SlurmOptions, runKey: string): void {
    this.stmt(`INSERT INTO run_executors (run_id, executor, options, run_key) VALUES (?, ?, ?, ?)
       ON CONFLICT(run_id) DO UPDATE SET executor = excluded.executor, options = excluded.options`).run(runId, executor, JSON.stringify(options), runKey);
  }

  getRunExecutor(runId: number): RunExecutorRow | undefined {
    const r = this.stmt(`SELECT * FROM run_executors WHERE run_id = ?`).get(runId) as
      | { run_id: number; executor: 'slurm'; options: string; run_key: string; submission_id: string | null; job_id: string | null; node: string | null; attempt: number; slurm_state: string | null; reason: string | null }
      | undefined;
    return (
      r && { runId: r.run_id, executor: r.executor, options: JSON.parse(r.options) as SlurmOptions, runKey: r.run_key, submissionId: r.submission_id, jobId: r.job_id, node: r.node, attempt: r.attempt, slurmState: r.slurm_state, reason: r.reason }
    );
  }

  updateClusterFacts(runId: number, patch: Partial<ClusterFactsPatch>): void {
    const keys = Object.keys(patch) as (keyof ClusterFactsPatch)[];
    if (!keys.length) return;
    this.stmt(`UPDATE run_executors SET ${keys.map((k) => `${CLUSTER_COLUMNS[k]} = ?`).join(', ')} WHERE run_id = ?`).run(...keys.map((k) => patch[k] ?? null), runId);
  }

  ingestOffset(path: string): number {
    return (this.stmt(`SELECT byte_offset FROM ingest_offsets WHERE path = ?`).get(path) as { byte_offset: number } | undefined)?.byte_offset ?? 0;
  }

  setIngestOffset(runId: number, path: string, offset: number): void {
    this.stmt(`INSERT INTO ingest_offsets (path, run_id, byte_offset) VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE SET byte_offset = excluded.byte_offset`).run(path, runId, offset);
  }

  listIngestOffsets(runId: number): { path: string; offset: number }[] {
    return this.stmt(`SELECT path, byte_offset AS offset FROM ingest_offsets WHERE run_id = ? ORDER BY path`).all(runId) as { path: string; offset: number }[];
  }

  addSamplesKeyed(runId: number, step: number, samples: readonly SampleTranslation[], key: string): void {
    const insert = this.stmt(`INSERT OR IGNORE INTO samples (run_id, step, source, reference, hypothesis, event_key) VALUES (?, ?, ?, ?, ?, ?)`);
    this.db.transaction(() => samples.forEach((s, i) => insert.run(runId, step, s.source, s.reference, s.hypothesis, `${key}#${i}`)))();
  }

  addLogKeyed(runId: number, time: number, level: LogRow['level'], text: string, key: string): void {
    this.stmt(`INSERT OR IGNORE INTO logs (run_id, time, level, text, event_key) VALUES (?, ?, ?, ?, ?)`).run(runId, time, level, text, key);
  }

  addCheckpointOnce(runId: number, step: number, path: string, time: number): void {
    this.stmt(`INSERT OR IGNORE INTO checkpoints (run_id, step, path, created_at) VALUES (?, ?, ?, ?)`).run(runId, step, path, time);
  }

  getSetting(key: string): string | undefined {
    return (this.stmt(`SELECT value FROM settings WHERE key = ?`).get(key) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.stmt(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(key, value);
  }
}
