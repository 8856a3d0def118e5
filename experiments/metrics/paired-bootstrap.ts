/**
 * sacreBLEU's paired bootstrap resampling (`sacrebleu --paired-bs`, sacrebleu/significance.py of
 * sacreBLEU 2.6.0: _bootstrap_resample, _paired_bs_test, estimate_ci, _compute_p_value), which
 * follows Koehn (2004), "Statistical Significance Tests for Machine Translation Evaluation", as
 * Moses' bootstrap-hypothesis-difference-significance.pl does. Same system files, same numbers:
 * the resample indices come from numpy's default_rng with sacreBLEU's seed (resample-rng.ts), and
 * every resample is scored from summed per-segment statistics as sacreBLEU does.
 *
 * Checked against sacreBLEU 2.6.0 run with numpy 1.24 (paired-bootstrap.test.ts). sacreBLEU sums
 * the statistics in float32, exact while every sum is below 2^24 (16.7M tokens); here they are
 * summed in float64.
 */
import { formatFixed, type SegmentBleuStats } from './bleu';
import { bootstrapIndices, SACREBLEU_SEED } from './resample-rng';
import { addRows, bleuOfSums, checkPaired, corpusScore, numpyMean, sameStats, type ResampleBleuOptions } from './resample-stats';

/** sacreBLEU's default number of resamples (`--paired-bs-n`, PairedTest._DEFAULT_SAMPLES['bs']). */
export const PAIRED_BS_SAMPLES = 1000;

export interface PairedBootstrapOptions {
  /** Bootstrap resamples (sacreBLEU `--paired-bs-n`, default 1000). */
  readonly samples?: number;
  /**
   * numpy seed (sacreBLEU's SACREBLEU_SEED, default 12345). sacreBLEU treats SACREBLEU_SEED=0 and
   * =none as "unseeded"; here every seed, 0 included, is a fixed seed.
   */
  readonly seed?: number;
  /** BLEU settings (default: sacreBLEU's corpus BLEU, exp smoothing); the n-gram order is the statistics'. */
  readonly bleu?: ResampleBleuOptions;
}

/** One system's bootstrap estimate: what sacreBLEU prints as `score (mean ± ci)`. */
export interface BootstrapEstimate {
  /** BLEU on the whole test set. */
  readonly score: number;
  /** Mean BLEU over the resamples (sacreBLEU's "bootstrap estimated true mean", μ). */
  readonly mean: number;
  /** Half-width of the 95% interval, (upper − lower) / 2: the "± 95% CI" sacreBLEU prints. */
  readonly ci: number;
  /** The interval itself: the resampled scores at sorted positions ⌊n/40⌋ and n − 1 − ⌊n/40⌋. */
  readonly lower: number;
  readonly upper: number;
}

export interface PairedBootstrapResult {
  readonly baseline: BootstrapEstimate;
  readonly system: BootstrapEstimate;
  /**
   * sacreBLEU's p-value: (c + 1) / (samples + 1), c = resamples whose centred difference
   * |sys − base| − mean|sys − base| exceeds the observed |sys − base|. Significant at p < 0.05.
   * One deviation: identical statistics give 1 (sacreBLEU prints 1/(samples + 1) = 0.0010*, since
   * no resampled difference of 0 exceeds the observed 0 and the +1 then marks a system as
   * significantly different from itself).
   */
  readonly pValue: number;
  /** Every segment has the same statistics in both systems. */
  readonly identical: boolean;
  readonly samples: number;
  readonly seed: number;
}

/**
 * sacreBLEU's estimate_ci: sort the resampled scores, take the mean (numpy's) and the values at
 * ⌊n/40⌋ and n − ⌊n/40⌋ − 1 (a 95% percentile interval); ci is half its width.
 */
export function estimateCi(scores: Float64Array): Omit<BootstrapEstimate, 'score'> {
  if (scores.length === 0) throw new Error('estimateCi: no scores');
  const sorted = Float64Array.from(scores).sort();
  const lowerIdx = Math.floor(sorted.length / 40);
  const lower = sorted[lowerIdx];
  const upper = sorted[sorted.length - lowerIdx - 1];
  return { mean: numpyMean(sorted), ci: 0.5 * (upper - lower), lower, upper };
}

/**
 * BLEU of each resample for each system: resample s sums rows indices[s·n … s·n + n − 1]
 * (sacreBLEU: `metric._compute_score_from_stats(_s.sum(0)) for _s in stats[idxs]`).
 */
export function resampledScores(systems: readonly SegmentBleuStats[], indices: Int32Array, bleu: ResampleBleuOptions = {}): Float64Array[] {
  const { count: n, width, order } = systems[0];
  if (indices.length % n !== 0) throw new Error(`resampledScores: ${indices.length} indices is not a whole number of resamples of ${n} segments`);
  const samples = indices.length / n;
  const out = systems.map(() => new Float64Array(samples));
  const sums = new Float64Array(width);
  systems.forEach((sys, k) => {
    for (let s = 0; s < samples; s++) {
      sums.fill(0);
      addRows(sys.data, width, indices, s * n, (s + 1) * n, sums);
      out[k][s] = bleuOfSums(sums, order, bleu);
    }
  });
  return out;
}

/**
 * One system's bootstrap estimate alone, as sacreBLEU computes the baseline's in PairedTest
 * (_bootstrap_resample + estimate_ci). Same seed, same indices: it equals the `baseline` of
 * {@link pairedBootstrap}.
 */
export function bootstrapEstimate(stats: SegmentBleuStats, opts: PairedBootstrapOptions = {}): BootstrapEstimate {
  if (stats.count === 0) throw new Error('bootstrapEstimate: no segments');
  const indices = bootstrapIndices(stats.count, opts.samples ?? PAIRED_BS_SAMPLES, opts.seed ?? SACREBLEU_SEED);
  const [scores] = resampledScores([stats], indices, opts.bleu);
  return { score: corpusScore(stats, opts.bleu), ...estimateCi(scores) };
}

/**
 * sacreBLEU's _compute_p_value: (#{stats > observed} + 1) / (#stats + 1), strictly greater, with
 * the +1 taken from MultEval's StratifiedApproximateRandomizationTest.
 */
export function resamplingPValue(exceeding: number, trials: number): number {
  return (exceeding + 1) / (trials + 1);
}

/**
 * Paired bootstrap of `system` against `baseline` on the same test set, as `sacrebleu REF -i BASE
 * SYS --paired-bs` (_paired_bs_test): both are resampled with the same indices; the statistic is
 * |BLEU_sys − BLEU_base| per resample, centred on its mean, compared with the observed difference.
 */
export function pairedBootstrap(baseline: SegmentBleuStats, system: SegmentBleuStats, opts: PairedBootstrapOptions = {}): PairedBootstrapResult {
  checkPaired(baseline, system, 'pairedBootstrap');
  const samples = opts.samples ?? PAIRED_BS_SAMPLES;
  const seed = opts.seed ?? SACREBLEU_SEED;
  const indices = bootstrapIndices(baseline.count, samples, seed);
  const [baseScores, sysScores] = resampledScores([baseline, system], indices, opts.bleu);
  const base: BootstrapEstimate = { score: corpusScore(baseline, opts.bleu), ...estimateCi(baseScores) };
  const sys: BootstrapEstimate = { score: corpusScore(system, opts.bleu), ...estimateCi(sysScores) };

  const observed = Math.abs(base.score - sys.score);
  const sampleDiffs = new Float64Array(samples);
  for (let s = 0; s < samples; s++) sampleDiffs[s] = Math.abs(sysScores[s] - baseScores[s]);
  const meanDiff = numpyMean(sampleDiffs);
  let exceeding = 0;
  for (let s = 0; s < samples; s++) if (sampleDiffs[s] - meanDiff > observed) exceeding++;

  const identical = sameStats(baseline, system);
  return { baseline: base, system: sys, pValue: identical ? 1 : resamplingPValue(exceeding, samples), identical, samples, seed };
}

/**
 * sacreBLEU's table cell for a bootstrap estimate (utils._format_score_lines), `width` decimals
 * (`--width`, default 1): `27.3 (27.3 ± 1.2)`.
 */
export function formatBootstrapEstimate(e: BootstrapEstimate, width = 1): string {
  return `${formatFixed(e.score, width)} (${formatFixed(e.mean, width)} ± ${formatFixed(e.ci, width)})`;
}

/** sacreBLEU's p-value cell: `(p = 0.0120)*`, the star when p ≤ 0.05 (it colours the others red). */
export function formatPValue(p: number): string {
  const msg = `(p = ${formatFixed(p, 4)})`;
  return p > 0.05 ? msg : msg + '*';
}
