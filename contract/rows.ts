/**
 * Row types of the workbench database: the one definition used by db/, main/ and (through
 * contract/api.ts) the renderer. Times are Unix epoch milliseconds; JSON columns are parsed.
 */
import type { BackendName } from './backends';
import type { RunConfig } from './spec';

export const RUN_STATES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface ExperimentRow {
  readonly id: number;
  readonly name: string;
  /** The spec as validated (JSON), for re-expansion and display. */
  readonly spec: unknown;
  /** Directory the spec file lived in (relative corpus paths resolve against it); null for presets/UI. */
  readonly specDir: string | null;
  readonly createdAt: number;
  /** When the experiment was archived (hidden from default lists, kept whole); absent or null: not archived. */
  readonly archivedAt?: number | null;
}

export interface RunRow {
  readonly id: number;
  readonly experimentId: number;
  readonly experiment: string;
  readonly variant: string;
  readonly seed: number;
  /** The run's config as expanded from its spec (stored as JSON). */
  readonly config: RunConfig;
  readonly configHash: string;
  readonly state: RunState;
  /** Position in the queue (lower runs first); meaningful while queued. */
  readonly priority: number;
  /** Backend requested when queued (auto, wasm, …). */
  readonly backendRequested: BackendName;
  /** Backend and device that actually ran it; null until started. */
  readonly backend: string | null;
  readonly device: string | null;
  /** Last optimizer step reported. */
  readonly step: number;
  readonly totalSteps: number;
  /** Failure or interruption reason, e.g. "diverged at step 120: loss is NaN". */
  readonly error: string | null;
  /** Data facts (pair counts, filtered counts) recorded by the run process. */
  readonly dataInfo: unknown;
  readonly checkpointDir: string | null;
  readonly params: number | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** Final metrics (split 'final'), by name. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Where a cluster run runs (Slurm job, node, attempt); absent or null for a local run. */
  readonly cluster?: ClusterFacts | null;
  /** When the run was archived (hidden from default lists and compare views, kept whole); absent or null: not archived. */
  readonly archivedAt?: number | null;
}

/** The executors a run may be queued on: this machine's scheduler, or a Slurm cluster. */
export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/**
 * An ssh destination for a cluster's login node: `host` or `user@host` (a Host alias of
 * ~/.ssh/config works, and is where a port, key or jump host go). Letters, digits, `.`, `_`, `-`;
 * never a leading `-` (ssh would read an option).
 */
export const SSH_TARGET = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,63}@)?[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$/;

/** How a run is submitted to Slurm (`ablate queue --executor slurm …`), stored with the run. */
export interface SlurmOptions {
  /**
   * Absolute path of the cluster root on the shared filesystem, as the nodes see it: mounted at the
   * same path here, or, with `ssh`, as the login node sees it (then this machine needs no mount).
   */
  readonly clusterRoot: string;
  /**
   * The login node (`host` or `user@host`, see SSH_TARGET) through which Slurm's clients run and
   * the cluster root is written and read, over one ssh ControlMaster connection; absent: both are
   * on this machine.
   */
  readonly ssh?: string;
  /** Absolute path of `node` (≥ 20) on the nodes (default: this machine's, the same path). */
  readonly clusterNode?: string;
  /** Absolute path of this project's checkout, with node_modules, on the nodes (default: this machine's). */
  readonly clusterCheckout?: string;
  readonly partition?: string;
  /** e.g. gpu:1 */
  readonly gres?: string;
  /** Slurm time limit, e.g. 4:00:00 */
  readonly time?: string;
  /**
   * Cluster runs of this choice in flight at once (pending or running on the cluster): runs queued with
   * the same choice share this many slots, apart from the local slots. Absent: the worker's
   * `--max-parallel`, else its slots.
   */
  readonly maxParallel?: number;
  /** More sbatch options, each one word starting with '-'. */
  readonly sbatchArgs?: readonly string[];
}

/** The largest maxParallel a Slurm choice may name (the API's schema, the Queue view's field). */
export const MAX_PARALLEL_LIMIT = 10_000;

/** sbatch options the workbench sets on every job itself, so never accepted as extra options (`sbatchArgs`). */
export const WORKBENCH_SBATCH_OPTIONS = /^--(array|parsable|comment|output|error|open-mode|signal|requeue|no-requeue|wrap)\b/;

/** Where queued runs train: `local` (this machine's scheduler, the default) or a Slurm cluster. */
export type ExecutorChoice = { readonly name: 'local' } | ({ readonly name: 'slurm' } & SlurmOptions);

/** What the desktop knows of a cluster run: from squeue/scontrol, reconciled with the events. */
export interface ClusterFacts {
  readonly executor: 'slurm';
  /** How scontrol/scancel name the current job (`<array>_<task>`); null until submitted. */
  readonly jobId: string | null;
  /** Node the current attempt runs (or ran) on; null while pending. */
  readonly node: string | null;
  /** Requeues of the current job (SLURM_RESTART_COUNT), 0 for the first attempt. */
  readonly attempt: number;
  /** Slurm's state of the job (PENDING, RUNNING, …) when last polled; null until submitted. */
  readonly slurmState: string | null;
  /** Why it waits or ended (BeginTime, Resources, …). */
  readonly reason: string | null;
}

export interface MetricRow {
  readonly runId: number;
  readonly split: string;
  readonly name: string;
  readonly step: number;
  /** NaN and ±Infinity survive the round trip. */
  readonly value: number;
  readonly time: number;
}

/** One (run, split, name) series in columns, ascending by step: what compare charts consume. */
export interface MetricSeries {
  readonly runId: number;
  readonly split: string;
  readonly name: string;
  readonly steps: number[];
  /** NaN and ±Infinity survive the round trip. */
  readonly values: number[];
  readonly times: number[];
}

export interface CheckpointRow {
  readonly runId: number;
  readonly step: number;
  readonly path: string;
  readonly createdAt: number;
}

export interface SampleRow {
  readonly runId: number;
  readonly step: number;
  readonly source: string;
  readonly reference: string;
  readonly hypothesis: string;
}

export interface LogRow {
  readonly runId: number;
  readonly time: number;
  readonly level: 'info' | 'warn' | 'error';
  readonly text: string;
}

/** Every hypothesis of one run's final evaluation on one split, in corpus order, with the references. */
export interface RunOutputs {
  readonly runId: number;
  readonly split: 'valid' | 'test';
  readonly step: number;
  readonly hypotheses: readonly string[];
  readonly references: readonly string[];
}
