/**
 * The messages between a run process and its parent in main/service. A run process either trains
 * one run (`start`, then protocol messages until done/failed/stopped) or serves inference on
 * trained checkpoints (`infer` requests, answered one by one, for as long as the parent keeps it):
 * models never load in the app or server process. Plain JSON-serialisable objects: they cross
 * process.send / utilityProcess.postMessage. One definition, imported on both sides.
 */
import type { AttentionMaps } from './api';
import type { WireError } from './errors';
import type { BackendName } from './backends';
import type { RunConfig } from './spec';
import type { FinalMetrics, MetricSplit } from './metrics';

/**
 * The version of these messages and of RunJob as a cluster's job host reads them from job.json:
 * raised when a change means an older run process or job host would misread them. A job host in
 * another checkout (a cluster reached over ssh) must have the same one (checked at queue time).
 */
export const RUN_PROTOCOL_VERSION = 1;

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

/**
 * Inference on a checkpoint file; the process keeps the last checkpoint's model loaded. `engine`:
 * the engine the checkpoint's run trained on; 'fused' decodes on the fused WebGPU decoder where an
 * adapter exists (tfjs otherwise), in a process that can load Dawn.
 */
export type InferenceRequest = { readonly checkpoint: string; readonly engine?: 'tfjs' | 'fused' } & (
  | { readonly kind: 'attention'; readonly sentence: string }
  | { readonly kind: 'translate'; readonly sentences: readonly string[]; readonly beam: number; readonly alpha: number }
);

/** What each request kind answers. */
export interface InferenceResults {
  readonly attention: AttentionMaps;
  readonly translate: readonly string[];
}

export type ParentToRun =
  | { readonly type: 'start'; readonly job: RunJob }
  | { readonly type: 'stop' }
  | { readonly type: 'infer'; readonly id: number; readonly request: InferenceRequest };

/** Why a run failed; the scheduler stores `reason` in runs.error. */
export type FailureKind = 'diverged' | 'out-of-memory' | 'disk-full' | 'data' | 'backend' | 'error';

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
  /** Every hypothesis of the final evaluation on `split` (corpus order) with its reference; sent before 'done'. */
  | { readonly type: 'hypotheses'; readonly split: 'valid' | 'test'; readonly step: number; readonly hypotheses: readonly string[]; readonly references: readonly string[] }
  /** A checkpoint file was written completely (atomic rename) at `step`. */
  | { readonly type: 'checkpoint'; readonly step: number; readonly path: string }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly text: string }
  | { readonly type: 'done'; readonly metrics: FinalMetrics; readonly step: number }
  | { readonly type: 'failed'; readonly kind: FailureKind; readonly reason: string; readonly step: number }
  | { readonly type: 'stopped'; readonly step: number }
  /** The answer to `infer` request `id`. */
  | { readonly type: 'inferred'; readonly id: number; readonly result: InferenceResults[InferenceRequest['kind']] }
  | { readonly type: 'infer-failed'; readonly id: number; readonly error: WireError };
