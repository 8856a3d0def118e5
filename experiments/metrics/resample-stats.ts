/**
 * What the resampling tests share: BLEU of summed per-segment statistics, pairing checks, and
 * numpy's summation order (so means match sacreBLEU to the last bit).
 */
import { bleuFromStats, CORPUS_BLEU_DEFAULTS, type BleuOptions, type SegmentBleuStats } from './bleu';

/** How BLEU is computed from summed statistics; defaults are sacreBLEU's corpus BLEU (exp smoothing). */
export type ResampleBleuOptions = Partial<Pick<BleuOptions, 'smoothMethod' | 'smoothValue' | 'effectiveOrder'>>;

/**
 * BLEU of statistics summed into `sums` (layout of {@link SegmentBleuStats}: sys_len, ref_len,
 * correct_1..N, total_1..N), as sacreBLEU's BLEU._compute_score_from_stats.
 */
export function bleuOfSums(sums: Float64Array, order: number, opts: ResampleBleuOptions = {}): number {
  const correct = new Array<number>(order);
  const total = new Array<number>(order);
  for (let n = 0; n < order; n++) {
    correct[n] = sums[2 + n];
    total[n] = sums[2 + order + n];
  }
  return bleuFromStats(
    { correct, total, sysLen: sums[0], refLen: sums[1] },
    {
      smoothMethod: opts.smoothMethod ?? CORPUS_BLEU_DEFAULTS.smoothMethod,
      smoothValue: opts.smoothValue ?? CORPUS_BLEU_DEFAULTS.smoothValue,
      effectiveOrder: opts.effectiveOrder ?? CORPUS_BLEU_DEFAULTS.effectiveOrder,
      maxNgramOrder: order,
    },
  ).score;
}

/** Sum of every row. */
export function sumAllRows(stats: SegmentBleuStats): Float64Array {
  const { data, width } = stats;
  const sums = new Float64Array(width);
  for (let at = 0; at < data.length; at += width) for (let k = 0; k < width; k++) sums[k] += data[at + k];
  return sums;
}

/**
 * Adds rows rows[from … to − 1] of `data` (row-major, `width` values a row) to `out`. The usual
 * width 10 (BLEU up to 4-grams) runs in ten local sums, about three times faster than a loop over
 * the columns; this loop is where bootstrap and randomization tests spend their time.
 */
export function addRows(data: Int32Array, width: number, rows: Int32Array, from: number, to: number, out: Float64Array): void {
  if (width !== 10) {
    for (let i = from; i < to; i++) {
      const at = rows[i] * width;
      for (let k = 0; k < width; k++) out[k] += data[at + k];
    }
    return;
  }
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0;
  for (let i = from; i < to; i++) {
    const at = rows[i] * 10;
    a0 += data[at];
    a1 += data[at + 1];
    a2 += data[at + 2];
    a3 += data[at + 3];
    a4 += data[at + 4];
    a5 += data[at + 5];
    a6 += data[at + 6];
    a7 += data[at + 7];
    a8 += data[at + 8];
    a9 += data[at + 9];
  }
  out[0] += a0;
  out[1] += a1;
  out[2] += a2;
  out[3] += a3;
  out[4] += a4;
  out[5] += a5;
  out[6] += a6;
  out[7] += a7;
  out[8] += a8;
  out[9] += a9;
}

/** Corpus BLEU of all segments. */
export function corpusScore(stats: SegmentBleuStats, opts: ResampleBleuOptions = {}): number {
  return bleuOfSums(sumAllRows(stats), stats.order, opts);
}

/** Throws unless `a` and `b` score the same segments (same count and n-gram order). */
export function checkPaired(a: SegmentBleuStats, b: SegmentBleuStats, what: string): void {
  if (a.count !== b.count) throw new Error(`${what}: the systems have ${a.count} and ${b.count} segments; a paired test needs the same test set`);
  if (a.order !== b.order) throw new Error(`${what}: the systems were counted up to ${a.order}-grams and ${b.order}-grams`);
  if (a.count === 0) throw new Error(`${what}: no segments`);
}

/** True when every segment has the same statistics in both (then no resampling can tell them apart). */
export function sameStats(a: SegmentBleuStats, b: SegmentBleuStats): boolean {
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** numpy's buffer size: a reduction over a contiguous array runs in chunks of this many items. */
const NUMPY_BUFSIZE = 8192;
/** numpy's PW_BLOCKSIZE (loops_utils.h.src). */
const PW_BLOCKSIZE = 128;

/** numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src) over values[from, from + n). */
function pairwiseSum(values: Float64Array, from: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += values[from + i];
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = values.slice(from, from + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[from + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += values[from + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(values, from, n2) + pairwiseSum(values, from + n2, n - n2);
}

/**
 * `np.mean` of a 1-D float64 array, to the last bit: numpy adds chunks of 8192 items, each by
 * pairwise summation, starting from 0, then divides by the count (checked against numpy 1.24 for
 * sizes 1–300 and up to 50,000).
 */
export function numpyMean(values: Float64Array): number {
  let sum = 0;
  for (let from = 0; from < values.length; from += NUMPY_BUFSIZE) sum += pairwiseSum(values, from, Math.min(NUMPY_BUFSIZE, values.length - from));
  return sum / values.length;
}
