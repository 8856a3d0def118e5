/**
 * The messages between a run process (which trains one run with experiments/) and its parent
 * (the scheduler in main/). Plain JSON-serialisable objects: they cross process.send /
 * utilityProcess.postMessage. One definition, imported on both sides.
 */
import type { BackendName } from './backends';
import type { RunConfig } from './spec';
import type { FinalMetrics, MetricSplit } from './metrics';

/** What the parent asks a run process to do. */
export interface RunJob {
  readonly runId: number;
  readonly config: RunConfig;
  /** Backend requested (spec / CLI); `auto` picks the best that loads. */
  readonly backend: BackendName;
  /** Directory for this run's checkpoints (created by the parent). */
  readonly checkpointDir: string;
  /** Directory for shared tokenized-data caches. */
  readonly cacheDir: string;
  /** Resume from this checkpoint file (written by a previous attempt of the same run). */
  readonly resumeFrom?: { readonly path: string; readonly step: number };
}

export type ParentToRun = { readonly type: 'start'; readonly job: RunJob } | { readonly type: 'stop' };

/** Why a run failed; the scheduler stores `reason` in runs.error. */
export type FailureKind = 'diverged' | 'out-of-memory' | 'data' | 'backend' | 'error';

export interface MetricPoint {
  readonly split: MetricSplit;
  readonly name: string;
  /** Optimizer step the value belongs to (final metrics: the last step). */
  readonly step: number;
  /** May be NaN or ±Infinity (a diverged loss is data, not an absent value). */
  readonly value: number;
  /** Unix epoch milliseconds when measured. */
  readonly time: number;
}

export interface SampleTranslation {
  readonly source: string;
  readonly reference: string;
  readonly hypothesis: string;
}

export type RunToParent =
  /** Backend loaded, data ready, model built. */
  | {
      readonly type: 'ready';
      readonly backend: string;
      readonly device: string;
      readonly params: number;
      /** Data facts recorded with the run: pair counts and how many pairs were filtered per split. */
      readonly data: Readonly<Record<string, unknown>>;
      /** Step the run starts from (0, or the checkpoint's step when resuming). */
      readonly startStep: number;
    }
  /** Training progress; sent every few steps (not every step) to keep the pipe quiet. */
  | {
      readonly type: 'progress';
      readonly step: number;
      readonly totalSteps: number;
      readonly loss: number;
      readonly lr: number;
      /** Target tokens per second over the recent window. */
      readonly tokensPerSecond: number;
      /** Target tokens seen since step 0. */
      readonly tokensSeen: number;
    }
  | { readonly type: 'metrics'; readonly points: readonly MetricPoint[] }
  | { readonly type: 'samples'; readonly step: number; readonly samples: readonly SampleTranslation[] }
  /** A checkpoint file was written completely (atomic rename) at `step`. */
  | { readonly type: 'checkpoint'; readonly step: number; readonly path: string }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly text: string }
  | { readonly type: 'done'; readonly metrics: FinalMetrics; readonly step: number }
  | { readonly type: 'failed'; readonly kind: FailureKind; readonly reason: string; readonly step: number }
  | { readonly type: 'stopped'; readonly step: number };
