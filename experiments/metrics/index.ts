/** Evaluation metrics: sacreBLEU-identical BLEU and its tokenizers, perplexity. */
export {
  bleuFromStats,
  closestRefLength,
  corpusBleu,
  corpusBleuStats,
  formatBleu,
  formatFixed,
  sentenceBleu,
  CORPUS_BLEU_DEFAULTS,
  SENTENCE_BLEU_DEFAULTS,
  SMOOTH_DEFAULTS,
  SMOOTH_METHODS,
  type BleuOptions,
  type BleuScore,
  type BleuStats,
  type SmoothMethod,
} from './bleu';
export {
  isSacrebleuTokenizer,
  preprocessSegment,
  pyRstrip,
  pySplit,
  sacrebleuTokenize,
  SACREBLEU_TOKENIZERS,
  type SacrebleuTokenizer,
} from './tokenizers';
export { perplexity } from './perplexity';
export { referenceFileLines, stdinLines } from './text-lines';
