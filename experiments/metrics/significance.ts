/**
 * Significance of BLEU differences between a variant and its baseline, from per-segment sufficient
 * statistics ({@link segmentBleuStats}, computed once per system):
 *
 * - sacreBLEU's paired bootstrap (`--paired-bs`), per seed pair: paired-bootstrap.ts;
 * - Clark et al. (2011) / MultEval over seeds: mean, s_dev, s_sel and stratified approximate
 *   randomization over pooled replicates: multeval.ts, approximate-randomization.ts;
 * - numpy's default_rng, so resamples match sacreBLEU's: resample-rng.ts.
 */
export { segmentBleuStats, type SegmentBleuStats } from './bleu';
export {
  bootstrapEstimate,
  estimateCi,
  formatBootstrapEstimate,
  formatPValue,
  pairedBootstrap,
  resampledScores,
  resamplingPValue,
  PAIRED_BS_SAMPLES,
  type BootstrapEstimate,
  type PairedBootstrapOptions,
  type PairedBootstrapResult,
} from './paired-bootstrap';
export {
  stratifiedApproximateRandomization,
  AR_SHUFFLES,
  type ApproximateRandomizationOptions,
  type ApproximateRandomizationResult,
} from './approximate-randomization';
export { multEval, replicateSummary, sampleStddev, MULTEVAL_BOOT_SAMPLES, type MultEvalOptions, type MultEvalResult, type ReplicateSummary } from './multeval';
export { bootstrapIndices, NumpyRandom, SACREBLEU_SEED } from './resample-rng';
export { bleuOfSums, corpusScore, numpyMean, type ResampleBleuOptions } from './resample-stats';
