/**
 * What a plotted metric is called on an axis, with its unit, and which final metric ends its curve.
 * Keyed by the contract's metric names (contract/metrics.ts), never by pattern.
 */
import { TRAIN_METRICS, VALID_METRICS, type FinalMetricName } from '../../../contract/metrics';

const NAMES: Readonly<Record<string, string>> = {
  [TRAIN_METRICS.loss]: 'train loss (nats/token)',
  [TRAIN_METRICS.lr]: 'learning rate',
  [TRAIN_METRICS.tokensPerSecond]: 'throughput (tokens/s)',
  [TRAIN_METRICS.tokensSeen]: 'target tokens seen',
  [VALID_METRICS.loss]: 'valid loss (nats/token)',
  [VALID_METRICS.ppl]: 'valid PPL',
  [VALID_METRICS.bleu]: 'valid BLEU (0–100)',
};

/** `train/loss` → `train loss (nats/token)`; an unknown key is shown as it is. */
export function metricLabel(key: string): string {
  const name = key.slice(key.indexOf('/') + 1);
  return NAMES[name] ?? key;
}

/** Whether a curve is a training curve (noisy, smoothed by default) rather than an evaluation. */
export function isTrainingCurve(key: string): boolean {
  return key.startsWith('train/');
}

export interface FinalMark {
  readonly metric: FinalMetricName;
  /** Legend/tooltip label of the mark. */
  readonly label: string;
  readonly symbol: 'diamond' | 'triangle';
}

/**
 * The final scores that belong at the end of a curve: the beam decode of the whole valid split (and
 * the test split) at the end of a valid BLEU curve, the final valid PPL or loss at theirs.
 */
export function finalMarksFor(key: string): FinalMark[] {
  switch (key) {
    case `valid/${VALID_METRICS.bleu}`:
      return [
        { metric: 'valid_bleu', label: 'final valid BLEU (beam)', symbol: 'diamond' },
        { metric: 'test_bleu', label: 'test BLEU (beam)', symbol: 'triangle' },
      ];
    case `valid/${VALID_METRICS.ppl}`:
      return [{ metric: 'valid_ppl', label: 'final valid PPL', symbol: 'diamond' }];
    case `valid/${VALID_METRICS.loss}`:
      return [{ metric: 'valid_loss', label: 'final valid loss', symbol: 'diamond' }];
    default:
      return [];
  }
}

/** Final-metric column titles with their units (the runs table, bar charts, parallel axes). */
export const FINAL_LABELS: Readonly<Record<FinalMetricName, string>> = {
  train_loss: 'train loss (nats/token)',
  valid_loss: 'valid loss (nats/token)',
  valid_ppl: 'valid PPL',
  valid_bleu: 'valid BLEU (beam)',
  test_bleu: 'test BLEU (beam)',
  params: 'params (M)',
  train_seconds: 'train time (s)',
  tokens_per_second: 'throughput (tokens/s)',
};
