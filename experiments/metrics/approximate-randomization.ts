/**
 * MultEval's stratified approximate randomization over pooled optimizer replicates (Clark, Dyer,
 * Lavie & Smith 2011, "Better Hypothesis Testing for Statistical Machine Translation: Controlling
 * for Optimizer Instability"; jhclark/multeval,
 * src/multeval/significance/StratifiedApproximateRandomizationTest.java), procedure for procedure:
 *
 * - Pooling: each system's R replicates (seeds) are one corpus of R·H rows, row = run·H + hyp
 *   (SuffStatManager.getStatsAllOptForSys); the observed statistic is |BLEU(pooled A) − BLEU(pooled B)|.
 * - One shuffle (Shuffling.shuffle): a coin per row (swap systems or not), and for every sentence a
 *   uniform permutation of its R replicates (Fisher–Yates from the last run: for iRun = R … 2 swap
 *   run iRun − 1 with run nextInt(iRun)). Pseudo-system X takes row r from (swap[r] ? B : A) at
 *   perm[r]; Y takes it from (swap[r] ? A : B) at perm⁻¹[r] (Shuffling.at; for R ≥ 3, perm and
 *   perm⁻¹ differ, and X, Y are not exact complements: kept as MultEval has it).
 * - p = (#{shuffles with |BLEU(X) − BLEU(Y)| > observed} + 1) / (shuffles + 1), strictly greater,
 *   10,000 shuffles by default (MultEvalModule `--ar-shuffles`).
 *
 * Randomness: MultEval draws from unseeded java.util.Random, so its p-values vary run to run.
 * Here the draws come from numpy's default_rng(seed), in this order per shuffle: the R·H coins as
 * ⌈R·H/32⌉ 32-bit words (`integers(0, 2**32)`, bit j of word w is row 32w + j), then per sentence
 * the R − 1 `integers(0, iRun)`; test/fixtures/significance/reference.py replays them in Python.
 */
import type { SegmentBleuStats } from './bleu';
import { resamplingPValue } from './paired-bootstrap';
import { NumpyRandom, SACREBLEU_SEED } from './resample-rng';
import { addRows, bleuOfSums, checkPaired, sameStats, sumAllRows, type ResampleBleuOptions } from './resample-stats';

/** MultEval's default number of shuffles (`-s`, `--ar-shuffles`). */
export const AR_SHUFFLES = 10000;

export interface ApproximateRandomizationOptions {
  /** Shuffles (MultEval `--ar-shuffles`, default 10,000). */
  readonly shuffles?: number;
  /** numpy seed (default sacreBLEU's 12345; MultEval has none). */
  readonly seed?: number;
  readonly bleu?: ResampleBleuOptions;
}

export interface ApproximateRandomizationResult {
  /** BLEU of each system's replicates pooled into one corpus. */
  readonly pooledBaseline: number;
  readonly pooledSystem: number;
  /** Shuffles whose difference exceeded the observed one. */
  readonly exceeding: number;
  readonly shuffles: number;
  /**
   * (exceeding + 1) / (shuffles + 1). Identical statistics give 1 (MultEval would give
   * 1/(shuffles + 1): no shuffled difference of 0 exceeds the observed 0).
   */
  readonly pValue: number;
  readonly identical: boolean;
}

/** Checks that both systems have the same number of replicates, each on the same test set. */
export function checkReplicates(baseRuns: readonly SegmentBleuStats[], sysRuns: readonly SegmentBleuStats[], what: string): void {
  if (baseRuns.length === 0) throw new Error(`${what}: no replicates`);
  if (baseRuns.length !== sysRuns.length) {
    throw new Error(`${what}: ${baseRuns.length} baseline replicates but ${sysRuns.length} system replicates; MultEval pools the same number for both`);
  }
  for (const run of [...baseRuns, ...sysRuns]) checkPaired(baseRuns[0], run, what);
}

/** Concatenates replicates into one pooled table of R·H rows, row = run·H + hyp. */
function pool(runs: readonly SegmentBleuStats[]): Int32Array {
  const { count, width } = runs[0];
  const out = new Int32Array(runs.length * count * width);
  runs.forEach((run, r) => out.set(run.data, r * count * width));
  return out;
}

/**
 * MultEval's StratifiedApproximateRandomizationTest.getTwoSidedP for BLEU: `baseRuns[r]` and
 * `sysRuns[r]` are replicate r (e.g. seed r) of each system on the same test set. With one
 * replicate it is the plain paired approximate randomization (MultEval computes it but prints
 * no p-value then).
 */
export function stratifiedApproximateRandomization(
  baseRuns: readonly SegmentBleuStats[],
  sysRuns: readonly SegmentBleuStats[],
  opts: ApproximateRandomizationOptions = {},
): ApproximateRandomizationResult {
  checkReplicates(baseRuns, sysRuns, 'stratifiedApproximateRandomization');
  const shuffles = opts.shuffles ?? AR_SHUFFLES;
  if (!Number.isInteger(shuffles) || shuffles < 1) throw new Error(`stratifiedApproximateRandomization: shuffles must be a positive integer, got ${shuffles}`);
  const { count: hyps, width, order } = baseRuns[0];
  const runs = baseRuns.length;
  const rows = runs * hyps;
  const a = pool(baseRuns);
  const b = pool(sysRuns);
  const pooled = (runsOf: readonly SegmentBleuStats[]): Float64Array => {
    const sums = new Float64Array(width);
    for (const run of runsOf) sumAllRows(run).forEach((v, k) => (sums[k] += v));
    return sums;
  };
  const sumA = pooled(baseRuns);
  const sumB = pooled(sysRuns);
  const pooledBaseline = bleuOfSums(sumA, order, opts.bleu);
  const pooledSystem = bleuOfSums(sumB, order, opts.bleu);
  const observed = Math.abs(pooledBaseline - pooledSystem);

  // perm is a bijection, so Σ_r A[perm r] = ΣA: X = ΣA + Σ_{swap r} (B − A)[perm r] and
  // Y = ΣB − Σ_{swap r} (B − A)[perm⁻¹ r]. Only swapped rows with B ≠ A need visiting.
  const diff = new Int32Array(rows * width);
  const differs = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < width; k++) {
      const d = b[r * width + k] - a[r * width + k];
      diff[r * width + k] = d;
      if (d !== 0) differs[r] = 1;
    }
  }

  const rng = new NumpyRandom(opts.seed ?? SACREBLEU_SEED);
  const words = new Uint32Array(Math.ceil(rows / 32));
  // One sentence's permutation of runs (MultEval keeps it in a rows-long array: perm[h + H·run] = h + H·runPerm[run]).
  const runPerm = new Int32Array(runs);
  const runPermInv = new Int32Array(runs);
  const intoX = new Int32Array(rows);
  const intoY = new Int32Array(rows);
  const x = new Float64Array(width);
  const y = new Float64Array(width);
  const dy = new Float64Array(width);
  let exceeding = 0;
  for (let t = 0; t < shuffles; t++) {
    for (let w = 0; w < words.length; w++) words[w] = rng.nextUint32();
    // Rows whose (B − A) enters X (at perm[r]) and leaves Y (at perm⁻¹[r]): swapped rows where B ≠ A.
    let nx = 0;
    let ny = 0;
    for (let h = 0; h < hyps; h++) {
      for (let run = 0; run < runs; run++) runPerm[run] = run;
      for (let run = runs; run > 1; run--) {
        const j = rng.integers(run);
        const tmp = runPerm[run - 1];
        runPerm[run - 1] = runPerm[j];
        runPerm[j] = tmp;
      }
      for (let run = 0; run < runs; run++) runPermInv[runPerm[run]] = run;
      for (let run = 0; run < runs; run++) {
        const r = h + hyps * run;
        if (((words[r >>> 5] >>> (r & 31)) & 1) === 0) continue;
        const p = h + hyps * runPerm[run];
        if (differs[p]) intoX[nx++] = p;
        const q = h + hyps * runPermInv[run];
        if (differs[q]) intoY[ny++] = q;
      }
    }
    x.set(sumA);
    addRows(diff, width, intoX, 0, nx, x);
    dy.fill(0);
    addRows(diff, width, intoY, 0, ny, dy);
    for (let k = 0; k < width; k++) y[k] = sumB[k] - dy[k];
    if (Math.abs(bleuOfSums(x, order, opts.bleu) - bleuOfSums(y, order, opts.bleu)) > observed) exceeding++;
  }

  const identical = baseRuns.every((run, r) => sameStats(run, sysRuns[r]));
  return { pooledBaseline, pooledSystem, exceeding, shuffles, pValue: identical ? 1 : resamplingPValue(exceeding, shuffles), identical };
}

