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
