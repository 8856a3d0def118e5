/**
 * Clark, Dyer, Lavie & Smith (2011), "Better Hypothesis Testing for Statistical Machine
 * Translation: Controlling for Optimizer Instability" (ACL), as their MultEval tool computes it
 * (jhclark/multeval, src/multeval/MultEvalModule.java): for each system over its optimizer
 * replicates (here: training seeds) on one test set,
 *
 * - mean: average BLEU over replicates (runOverallEval, MathUtils.average);
 * - s_dev ("s_opt" in MultEval's table): standard deviation over replicates with Bessel's
 *   correction (MathUtils.stddev → variance / (n − 1)); undefined for one replicate, where MultEval
 *   prints `*`: null here;
 * - s_sel: per replicate, the standard deviation (Bessel) of BLEU over bootstrap resamples of the
 *   test sentences, averaged over replicates as Σ_r sd_r / R (runBootstrapResampling, 10,000
 *   resamples by default, BootstrapResampler: n sentences drawn with replacement);
 * - p: stratified approximate randomization over the pooled replicates against the baseline
 *   (approximate-randomization.ts).
 *
 * BLEU is sacreBLEU's (bleu.ts), not MultEval's jBLEU; the procedure is MultEval's. MultEval's
 * Random is unseeded; here resamples come from numpy's default_rng(seed), one generator per system
 * drawing replicate after replicate (`choice(n, size=(B, n))` each), so a system's s_sel does not
 * depend on what it is compared with.
 */
import type { SegmentBleuStats } from './bleu';
import { AR_SHUFFLES, checkReplicates, stratifiedApproximateRandomization } from './approximate-randomization';
import { resampledScores } from './paired-bootstrap';
import { NumpyRandom, SACREBLEU_SEED } from './resample-rng';
import { corpusScore, type ResampleBleuOptions } from './resample-stats';

/** MultEval's default bootstrap resamples for s_sel (`-b`, `--boot-samples`). */
export const MULTEVAL_BOOT_SAMPLES = 10000;

export interface MultEvalOptions {
  /** Bootstrap resamples per replicate for s_sel (MultEval `--boot-samples`, default 10,000). */
  readonly bootSamples?: number;
  /** Approximate-randomization shuffles (MultEval `--ar-shuffles`, default 10,000). */
  readonly shuffles?: number;
  /** numpy seed for both (default 12345). */
  readonly seed?: number;
  readonly bleu?: ResampleBleuOptions;
}

/** One system over its replicates (MultEval's table row: `mean (s_sel/s_opt/p)`). */
export interface ReplicateSummary {
  /** BLEU of each replicate. */
  readonly scores: readonly number[];
  /** Average over replicates. */
  readonly mean: number;
  /** Standard deviation over replicates (n − 1); null with one replicate. */
  readonly sDev: number | null;
  /** Bootstrap standard deviation of BLEU over test sentences, averaged over replicates. */
  readonly sSel: number;
  /** Mean resampled BLEU, averaged over replicates (MultEval's RESAMPLED_MEAN_AVG). */
  readonly resampledMean: number;
}

export interface MultEvalResult {
  readonly baseline: ReplicateSummary;
  readonly system: ReplicateSummary;
  /** Stratified approximate randomization p-value (see stratifiedApproximateRandomization). */
  readonly pValue: number;
  /** BLEU of each system's replicates pooled into one corpus: the difference the p-value tests. */
  readonly pooledBaseline: number;
  readonly pooledSystem: number;
  /** Every replicate has the same statistics in both systems (pValue is then 1). */
  readonly identical: boolean;
  readonly bootSamples: number;
  readonly shuffles: number;
  readonly seed: number;
}

/** MultEval's MathUtils.average: left-to-right sum, divided by n. */
function average(xs: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < xs.length; i++) total += xs[i];
  return total / xs.length;
}

/** MultEval's MathUtils.stddev: sqrt(Σ(x − mean)² / (n − 1)); null when n < 2 (0/0 there). */
export function sampleStddev(xs: ArrayLike<number>): number | null {
  if (xs.length < 2) return null;
  const mean = average(xs);
  let varSum = 0;
  for (let i = 0; i < xs.length; i++) varSum += (xs[i] - mean) * (xs[i] - mean);
  return Math.sqrt(varSum / (xs.length - 1));
}

/** mean, s_dev and s_sel of one system's replicates on the same test set. */
export function replicateSummary(runs: readonly SegmentBleuStats[], opts: MultEvalOptions = {}): ReplicateSummary {
  checkReplicates(runs, runs, 'replicateSummary');
  const bootSamples = opts.bootSamples ?? MULTEVAL_BOOT_SAMPLES;
  if (!Number.isInteger(bootSamples) || bootSamples < 2) throw new Error(`replicateSummary: bootSamples must be an integer ≥ 2, got ${bootSamples}`);
  const scores = runs.map((run) => corpusScore(run, opts.bleu));
  const rng = new NumpyRandom(opts.seed ?? SACREBLEU_SEED);
  const indices = new Int32Array(bootSamples * runs[0].count);
  let sSel = 0;
  let resampledMean = 0;
  for (const run of runs) {
    rng.fillIntegers(run.count, indices);
    const [resampled] = resampledScores([run], indices, opts.bleu);
    // runBootstrapResampling: meanByMetric += mean / numOptRuns; stddevByMetric += stddev / numOptRuns.
    resampledMean += average(resampled) / runs.length;
    sSel += (sampleStddev(resampled) as number) / runs.length;
  }
  return { scores, mean: average(scores), sDev: sampleStddev(scores), sSel, resampledMean };
}

/**
 * MultEval for one system against the baseline: both summaries and the approximate-randomization
 * p-value over pooled replicates. `baseRuns[r]` and `sysRuns[r]` are replicate r of each system.
 */
export function multEval(baseRuns: readonly SegmentBleuStats[], sysRuns: readonly SegmentBleuStats[], opts: MultEvalOptions = {}): MultEvalResult {
  checkReplicates(baseRuns, sysRuns, 'multEval');
  const seed = opts.seed ?? SACREBLEU_SEED;
  const ar = stratifiedApproximateRandomization(baseRuns, sysRuns, { shuffles: opts.shuffles, seed, bleu: opts.bleu });
  return {
    baseline: replicateSummary(baseRuns, opts),
    system: replicateSummary(sysRuns, opts),
    pValue: ar.pValue,
    pooledBaseline: ar.pooledBaseline,
    pooledSystem: ar.pooledSystem,
    identical: ar.identical,
    bootSamples: opts.bootSamples ?? MULTEVAL_BOOT_SAMPLES,
    shuffles: opts.shuffles ?? AR_SHUFFLES,
    seed,
  };
}
