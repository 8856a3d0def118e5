/**
 * The Workbench API: everything a front (the renderer, the CLI) can ask of the workbench service.
 * One definition imported by main (implementation, IPC and WebSocket edges), preload
 * (contextBridge) and the renderer. Browser-safe: types and the method list only.
 */
import type { ExecutorChoice, ExperimentRow, LogRow, MetricRow, MetricSeries, RunRow, RunState, SampleRow } from './rows';

export type { ExperimentRow, LogRow, MetricRow, MetricSeries, RunRow, SampleRow, RunState } from './rows';

/** Result-table export formats: CSV (mean and std as columns), Markdown, LaTeX booktabs. */
export const EXPORT_FORMATS = ['csv', 'md', 'latex'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One run a spec would create, shown before queueing. */
export interface PreviewRun {
  readonly variant: string;
  readonly seed: number;
  readonly hash: string;
  readonly changes: Readonly<Record<string, unknown>>;
  /** Already queued/running/done in this database (would be skipped unless forced). */
  readonly duplicateOf: number | null;
}

export type SpecPreview =
  /** `warnings`: valid but probably unintended (e.g. changed heads inheriting an explicit base d_k); show them beside the runs. */
  | { readonly ok: true; readonly name: string; readonly runs: readonly PreviewRun[]; readonly warnings?: readonly string[] }
  /** `issues` are the schema's own `path: message` lines. */
  | { readonly ok: false; readonly issues: readonly string[] };

export interface EnqueueResult {
  readonly experimentId: number;
  readonly queued: readonly number[];
  /** Runs skipped because the same config hash is already queued, running or done. */
  readonly skipped: readonly { readonly variant: string; readonly seed: number; readonly existingRunId: number }[];
  /** The spec's warnings (as in SpecPreview): queued anyway. */
  readonly warnings?: readonly string[];
}

export interface QueueStatus {
  readonly paused: boolean;
  readonly slots: number;
  readonly running: readonly number[];
}

export interface PresetInfo {
  readonly name: string;
  readonly description: string;
  /** The preset as YAML text, ready for the spec editor. */
  readonly yaml: string;
}

/** Attention weights for one sentence: [layer][head][query][key], tokens as the model saw them. */
export interface AttentionMaps {
  readonly sourceTokens: readonly string[];
  readonly targetTokens: readonly string[];
  readonly translation: string;
  readonly encoderSelf: readonly number[][][][];
  readonly decoderSelf: readonly number[][][][];
  readonly cross: readonly number[][][][];
}

/** Runs named by id, or every run of one experiment (the experiment row goes with them). */
export type RunSelection = { readonly runIds: readonly number[] } | { readonly experimentId: number };

/** What deleting a selection removes, shown for confirmation before anything is deleted. */
export interface DeletionPlan {
  /** The experiment removed with its runs (an experiment selection); null for runs by id. */
  readonly experiment: { readonly id: number; readonly name: string } | null;
  readonly runs: readonly { readonly id: number; readonly experiment: string; readonly variant: string; readonly seed: number; readonly state: RunState }[];
  /** Rows that go with the runs. */
  readonly metricPoints: number;
  readonly hypotheses: number;
  /** Checkpoint folders removed from disk (those that still exist then). */
  readonly checkpointDirs: readonly string[];
  /** Other experiments whose result tables reuse one of these runs: it leaves their tables too. */
  readonly reusedBy: readonly { readonly runId: number; readonly experiment: string }[];
}

export interface MetricQuery {
  readonly runIds: readonly number[];
  /** Metric names (e.g. loss, lr, valid_ppl); all when omitted. */
  readonly names?: readonly string[];
  /** Return at most this many points per (run, split, name) series, LTTB-sampled. */
  readonly maxPoints?: number;
}

/** Pushed to fronts in batches: the service gathers ~150 ms of events into one batch (the only batching on the way). */
export type WorkbenchEvent =
  | { readonly type: 'runs-changed'; readonly runs: readonly RunRow[] }
  /** Runs deleted (their rows are gone): fronts drop them. */
  | { readonly type: 'runs-removed'; readonly runIds: readonly number[] }
  /** Experiments were deleted, archived or unarchived: fronts list them again. */
  | { readonly type: 'experiments-changed' }
  | { readonly type: 'metrics'; readonly points: readonly MetricRow[] }
  | { readonly type: 'progress'; readonly runId: number; readonly step: number; readonly totalSteps: number; readonly loss: number; readonly tokensPerSecond: number; readonly etaSeconds: number | null }
  | { readonly type: 'queue'; readonly status: QueueStatus };

/**
 * sacreBLEU's signature of every BLEU the workbench reports (experiments/metrics/bleu.ts
 * CORPUS_BLEU_DEFAULTS, checked against it in experiments/run/evaluate.test.ts): one reference,
 * case-sensitive, 13a tokenization, exponential smoothing, no effective order; the numbers match
 * sacreBLEU 2.6.0. Not the paper's BLEU: its numbers are tokenized, compound-split multi-bleu.
 */
export const BLEU_SIGNATURE = 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0';

/**
 * Final metric (split 'final') of a run scored with checkpoint averaging (`train.average_last`):
 * how many checkpoints were averaged. Its valid_bleu/test_bleu/valid_ppl are then the averaged
 * model's, and the last weights' are stored as valid_bleu_last, test_bleu_last, valid_ppl_last.
 */
export const AVERAGED_CHECKPOINTS = 'averaged_checkpoints';

/** Which runs a result table counts. */
export interface TableOptions {
  /** Count archived runs too (`ablate export --archived`, "show archived" in the app). */
  readonly includeArchived?: boolean;
}

/** The result table as data (the renderer renders it; export formats are text). */
export interface ResultTable {
  readonly experiment: string;
  /** sacreBLEU signature of the table's BLEU columns (BLEU_SIGNATURE): show it under the table. */
  readonly bleuSignature?: string;
  /** Which weights the scores come from, e.g. "last checkpoint" or "mean of the last 5 checkpoints": show it under the table. */
  readonly scoredWeights?: string;
  /** Columns the variants change, then the metric columns. */
  readonly columns: readonly string[];
  readonly rows: readonly ResultRow[];
  /**
   * Archived runs of the experiment (its own and reused ones) left out of the rows: archiving takes
   * a run out of every view, this table included, unless `includeArchived` was asked (0 then).
   */
  readonly archivedLeftOut?: number;
}

/** sacreBLEU's paired bootstrap (`--paired-bs`) of one variant run against the base run of the same seed. */
export interface SeedPairBootstrap {
  readonly seed: number;
  /** BLEU of the base run and of the variant run on the whole split. */
  readonly baseBleu: number;
  readonly bleu: number;
  /** The variant's bootstrap mean and 95% interval (sacreBLEU's `score (mean ± ci)`). */
  readonly mean: number;
  readonly ci: number;
  readonly lower: number;
  readonly upper: number;
  /** sacreBLEU's p-value of the difference (significant at p < 0.05). */
  readonly pValue: number;
}

/**
 * A variant against the base on one split, over the seeds both finished with stored hypotheses:
 * Clark et al. (2011) / MultEval (mean, s_dev over seeds, s_sel from bootstrap resampling of
 * sentences, p from stratified approximate randomization over the pooled replicates) and
 * sacreBLEU's paired bootstrap per seed pair.
 */
export interface RowSignificance {
  readonly split: 'test' | 'valid';
  /** Seeds paired (replicate r of base and of the variant share seeds[r]). */
  readonly seeds: readonly number[];
  readonly mean: number;
  readonly sDev: number | null;
  readonly sSel: number;
  readonly baseMean: number;
  readonly baseSDev: number | null;
  readonly baseSSel: number;
  /** Approximate randomization p-value (MultEval); `significant` is p < 0.05. */
  readonly pValue: number;
  readonly significant: boolean;
  /**
   * BLEU of the variant's and the base's replicates each pooled into one corpus: the difference the
   * approximate randomization tests (MultEval), which can differ in sign from mean − baseMean when
   * the seeds disagree (see result-notes.ts `markedSignificant`).
   */
  readonly pooled: number;
  readonly basePooled: number;
  readonly pairs: readonly SeedPairBootstrap[];
  /** Resampling settings: MultEval's bootstrap and shuffles, sacreBLEU's paired-bootstrap resamples, one numpy seed. */
  readonly bootSamples: number;
  readonly shuffles: number;
  readonly pairedSamples: number;
  readonly seed: number;
}

export interface ResultCell {
  readonly mean: number | null;
  readonly std: number | null;
  readonly n: number;
  /** Difference of the mean against the base row's mean. */
  readonly delta: number | null;
  readonly best: boolean;
}

export interface ResultRow {
  readonly variant: string;
  readonly isBase: boolean;
  /** Values of the changed hyper-parameters (blank when equal to base). */
  readonly params: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, ResultCell>>;
  /** Seeds finished / seeds expected: incomplete groups are flagged. */
  readonly seedsDone: number;
  readonly seedsExpected: number;
  /** The row's one config: its config hash with the seed left out (every run of a row shares it). */
  readonly configHash?: string;
  /** Distinct seeds of the row's finished runs, ascending; each counts once in mean ± std. */
  readonly seeds?: readonly number[];
  /** Finished runs beyond the first of their seed (`--force` repeats): shown, never averaged in as seeds. */
  readonly repeats?: number;
  /** Experiments whose runs this row reuses (the same config was already trained there, so queueing skipped it); empty when all are this experiment's. */
  readonly reusedFrom?: readonly string[];
  /** Checkpoints averaged for the row's scores (the most over its seeds); 0: the last weights. */
  readonly averagedCheckpoints?: number;
  /** This variant against the base (none for the base row, or without stored hypotheses for both). */
  readonly significance?: RowSignificance | null;
}

export interface WorkbenchApi {
  listPresets(): Promise<readonly PresetInfo[]>;
  /** Validates a spec (YAML or JSON text) and expands it, without queueing anything. */
  previewSpec(text: string): Promise<SpecPreview>;
  /** Validates and queues; nothing is queued when the spec is invalid (rejects with the issues). */
  /** `executor`: where the runs train (default local); a Slurm choice is checked (sbatch, cluster root, partition) before anything is queued. */
  enqueueSpec(text: string, options?: { readonly force?: boolean; readonly backend?: string; readonly executor?: ExecutorChoice }): Promise<EnqueueResult>;
  /** Archived experiments only with `includeArchived`. */
  listExperiments(options?: { readonly includeArchived?: boolean }): Promise<readonly ExperimentRow[]>;
  /** Archived runs only with `includeArchived`. */
  listRuns(filter?: { readonly experimentId?: number; readonly includeArchived?: boolean }): Promise<readonly RunRow[]>;
  getRun(runId: number): Promise<RunRow | null>;
  /** One column-wise series per (run, split, name), ordered by run, split, name (a third of the bytes of per-point rows on the wire). */
  getMetrics(query: MetricQuery): Promise<readonly MetricSeries[]>;
  /** `split/name` keys these runs have recorded, sorted (e.g. "train/loss"); reads no points. */
  getMetricKeys(runIds: readonly number[]): Promise<readonly string[]>;
  getSamples(runId: number): Promise<readonly SampleRow[]>;
  getLogs(runId: number): Promise<readonly LogRow[]>;
  cancelRun(runId: number): Promise<void>;
  retryRun(runId: number): Promise<void>;
  /** Moves a queued run to `position` (0 = next to run). */
  moveRun(runId: number, position: number): Promise<void>;
  pauseQueue(): Promise<void>;
  resumeQueue(): Promise<void>;
  /** What `deleteRuns` would remove; rejects with one line when a run is queued or running (cancel it first). */
  planDeletion(selection: RunSelection): Promise<DeletionPlan>;
  /** Deletes the runs (rows, metrics, hypotheses, checkpoint files) and, for an experiment selection, the experiment; carried out by the process running the queue. */
  deleteRuns(selection: RunSelection): Promise<void>;
  /** Archives (hides from default lists and compare views, keeps everything) or unarchives. */
  setArchived(selection: RunSelection, archived: boolean): Promise<void>;
  queueStatus(): Promise<QueueStatus>;
  /** Archived runs are left out (and counted in `archivedLeftOut`) unless `includeArchived`, as in listRuns. */
  resultTable(experimentId: number, options?: TableOptions): Promise<ResultTable>;
  /** The text `ablate export` writes; archived runs as in resultTable. */
  exportTable(experimentId: number, format: ExportFormat, options?: TableOptions): Promise<string>;
  /** Translates `sentence` with the run's latest checkpoint and returns attention maps. */
  attention(runId: number, sentence: string): Promise<AttentionMaps>;
  /** Subscribes to pushed events; returns the unsubscribe function. */
  onEvent(listener: (event: WorkbenchEvent) => void): () => void;
  /**
   * Saves text or a data URL through a native dialog (Electron) or a download (browser).
   * Returns the path saved to, or null when the user cancelled.
   */
  saveFile(suggestedName: string, content: string): Promise<string | null>;
}

/** Methods callable over IPC / WebSocket (everything but the local-only ones). */
export type RemoteMethod = Exclude<keyof WorkbenchApi, 'onEvent' | 'saveFile'>;

/** Every remote method, once; `satisfies` makes a method added to WorkbenchApi a compile error here until listed. */
const REMOTE_METHOD_SET = {
  listPresets: true,
  previewSpec: true,
  enqueueSpec: true,
  listExperiments: true,
  listRuns: true,
  getRun: true,
  getMetrics: true,
  getMetricKeys: true,
  getSamples: true,
  getLogs: true,
  cancelRun: true,
  retryRun: true,
  moveRun: true,
  pauseQueue: true,
  resumeQueue: true,
  planDeletion: true,
  deleteRuns: true,
  setArchived: true,
  queueStatus: true,
  resultTable: true,
  exportTable: true,
  attention: true,
} as const satisfies Record<RemoteMethod, true>;

/** The remote method names, for edges that register or forward each one. */
export const REMOTE_METHOD_NAMES = Object.keys(REMOTE_METHOD_SET) as readonly RemoteMethod[];

/**
 * The service as a front in the same process sees it (main/service/workbench.ts implements it; the
 * IPC and WebSocket edges serve it): the remote methods plus event batches.
 */
export type WorkbenchService = Pick<WorkbenchApi, RemoteMethod> & {
  /** Subscribes to event batches (each batch is one array, in order); returns the unsubscribe function. */
  onEvents(listener: (events: readonly WorkbenchEvent[]) => void): () => void;
};
