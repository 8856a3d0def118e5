/**
 * Metric names: what a run records, under which split, in which unit. One definition for the
 * engine that records them, the database that stores them, and the fronts that plot and tabulate
 * them (the renderer picks a curve by these names, never by pattern).
 */

/** Splits a metric can belong to. `final` holds FINAL_METRICS once a run is done. */
export const METRIC_SPLITS = ['train', 'valid', 'test', 'final'] as const;
export type MetricSplit = (typeof METRIC_SPLITS)[number];

/** Recorded under split `train` every few steps. */
export const TRAIN_METRICS = {
  /** Label-smoothed cross-entropy per target token (nats), mean over the steps since the last point. */
  loss: 'loss',
  /** Learning rate of the step (the paper's schedule, eq. 3). */
  lr: 'lr',
  /** Target tokens per second of training time over the recent window. */
  tokensPerSecond: 'tokens_per_second',
  /** Target tokens (non-pad, EOS included) trained on since step 0: the x axis "tokens seen". */
  tokensSeen: 'tokens_seen',
} as const;

/** Recorded under split `valid` at every evaluation. */
export const VALID_METRICS = {
  /** Un-smoothed cross-entropy per target token (nats) on the valid split. */
  loss: 'valid_loss',
  /** exp(valid_loss). */
  ppl: 'valid_ppl',
  /** sacreBLEU (13a), 0–100, greedy on the first `eval_bleu_sentences` sentences (the final one: beam, whole split). */
  bleu: 'valid_bleu',
} as const;

/** Recorded once under split `final` when a run is done; units in the comments. */
export const FINAL_METRICS = [
  'train_loss', // label-smoothed cross-entropy per target token, mean over the last eval window
  'valid_loss', // un-smoothed cross-entropy (nats) per target token on the valid split
  'valid_ppl', // exp(valid_loss)
  'valid_bleu', // sacreBLEU (13a) of the final decode (beam as configured) on valid, 0–100
  'test_bleu', // same on test, when a test split exists
  'params', // trainable parameter count
  'train_seconds', // wall-clock seconds spent in training steps (evaluation excluded)
  'tokens_per_second', // target tokens per training second
] as const;
export type FinalMetricName = (typeof FINAL_METRICS)[number];
export type FinalMetrics = Partial<Record<FinalMetricName, number>>;

/** `split/name`, the key the API's getMetricKeys answers with. */
export function metricKey(split: MetricSplit, name: string): string {
  return `${split}/${name}`;
}
