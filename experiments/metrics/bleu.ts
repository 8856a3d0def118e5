/**
 * BLEU exactly as sacreBLEU 2.x computes it (sacrebleu/metrics/bleu.py and base.py, version 2.6.0):
 * corpus and sentence BLEU, the 13a / intl / char / none tokenizers, smoothing exp / floor / add-k /
 * none, effective order, any maximum n-gram order, several reference streams with clipping by the
 * maximum count over references, and the closest-reference-length brevity penalty (ties go to the
 * shorter reference). Scores are on sacreBLEU's 0–100 scale.
 */
import { preprocessSegment, pySplit, type SacrebleuTokenizer } from './tokenizers';

export type SmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';
export const SMOOTH_METHODS: readonly SmoothMethod[] = ['exp', 'floor', 'add-k', 'none'];

/** sacreBLEU's BLEU.SMOOTH_DEFAULTS: the value used when `smoothValue` is null. */
export const SMOOTH_DEFAULTS: Readonly<Record<SmoothMethod, number | null>> = {
  none: null,
  floor: 0.1,
  'add-k': 1,
  exp: null,
};

/** sacreBLEU's BLEU(...) arguments, in this project's spelling. */
export interface BleuOptions {
  /** Tokenizer applied to hypotheses and references (sacreBLEU `tokenize`). */
  readonly tokenize: SacrebleuTokenizer;
  /** Lowercase hypotheses and references before tokenizing (sacreBLEU `lowercase`). */
  readonly lowercase: boolean;
  /** Smoothing of zero n-gram precisions (sacreBLEU `smooth_method`). */
  readonly smoothMethod: SmoothMethod;
  /** Value for `floor` and `add-k`; null takes {@link SMOOTH_DEFAULTS} (sacreBLEU `smooth_value`). */
  readonly smoothValue: number | null;
  /** Average only over the n-gram orders the hypothesis has (sacreBLEU `effective_order`). */
  readonly effectiveOrder: boolean;
  /** Highest n-gram order (sacreBLEU `max_ngram_order`, default 4). */
  readonly maxNgramOrder: number;
}

/** sacreBLEU's BLEU() defaults, used by {@link corpusBleu}. */
export const CORPUS_BLEU_DEFAULTS: BleuOptions = {
  tokenize: '13a',
  lowercase: false,
  smoothMethod: 'exp',
  smoothValue: null,
  effectiveOrder: false,
  maxNgramOrder: 4,
};

/** sacreBLEU's sentence BLEU defaults (`sentence_bleu`, and the CLI's `--sentence-level`): effective order on. */
export const SENTENCE_BLEU_DEFAULTS: BleuOptions = { ...CORPUS_BLEU_DEFAULTS, effectiveOrder: true };

/** One BLEU result, the fields of sacreBLEU's BLEUScore. */
export interface BleuScore {
  /** BLEU on the 0–100 scale. */
  readonly score: number;
  /** Matched (clipped) n-grams per order 1..N. With add-k these include the added k for orders > 1, as in sacreBLEU. */
  readonly counts: readonly number[];
  /** Hypothesis n-grams per order 1..N (add-k: including k for orders > 1). */
  readonly totals: readonly number[];
  /** Smoothed n-gram precisions per order, 0–100. */
  readonly precisions: readonly number[];
  /** Brevity penalty exp(1 − r/c) when c < r, else 1 (0 when c = 0). */
  readonly bp: number;
  /** sysLen / refLen (0 when refLen is 0). */
  readonly ratio: number;
  /** Hypothesis tokens c, summed over segments. */
  readonly sysLen: number;
  /** Reference tokens r: per segment the reference length closest to the hypothesis's (ties: shorter), summed. */
  readonly refLen: number;
}

/** BLEU's sufficient statistics, summed over segments. */
export interface BleuStats {
  readonly correct: readonly number[];
  readonly total: readonly number[];
  readonly sysLen: number;
  readonly refLen: number;
}

/** sacreBLEU's my_log: log with log(0) floored to −9999999999 instead of −∞. */
function flooredLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/**
 * BLEU from sufficient statistics (sacreBLEU's BLEU.compute_bleu, equation by equation):
 * BLEU = BP · exp((1/N) Σ log p_n), BP = exp(1 − r/c) if c < r else 1.
 * The defaults are compute_bleu's own: smoothing 'none', no effective order, order 4.
 */
export function bleuFromStats(
  stats: BleuStats,
  opts: Partial<Pick<BleuOptions, 'smoothMethod' | 'smoothValue' | 'effectiveOrder' | 'maxNgramOrder'>> = {},
): BleuScore {
  const smoothMethod = opts.smoothMethod ?? 'none';
  if (!SMOOTH_METHODS.includes(smoothMethod)) throw new Error(`unknown smooth method "${smoothMethod}" (expected ${SMOOTH_METHODS.join(', ')})`);
  const maxOrder = opts.maxNgramOrder ?? 4;
  const effectiveOrder = opts.effectiveOrder ?? false;
  const smoothValue = opts.smoothValue ?? SMOOTH_DEFAULTS[smoothMethod] ?? 0;
  const { sysLen, refLen } = stats;
  // Copies: add-k changes the counts it reports, but must not change the caller's arrays.
  const correct = Array.from({ length: maxOrder }, (_, i) => stats.correct[i] ?? 0);
  const total = Array.from({ length: maxOrder }, (_, i) => stats.total[i] ?? 0);

  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const ratio = refLen ? sysLen / refLen : 0;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (score: number): BleuScore => ({ score, counts: correct, totals: total, precisions, bp, ratio, sysLen, refLen });

  // No match at any order: 0 whatever the smoothing (sacreBLEU #141).
  if (!correct.some((c) => c !== 0)) return result(0);

  let smoothMteval = 1;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (smoothMethod === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += flooredLog(precisions[i]);
  return result(bp * Math.exp(logSum / effOrder));
}

/**
 * Adds the count of every n-gram of order 1..maxOrder to `into`. Keys are the tokens joined by ' ':
 * tokens never contain whitespace, so n-grams of different orders never share a key.
 */
function countNgrams(tokens: readonly string[], maxOrder: number, into: Map<string, number>): void {
  for (let i = 0; i < tokens.length; i++) {
    let key = tokens[i];
    const last = Math.min(maxOrder, tokens.length - i);
    for (let n = 1; n <= last; n++) {
      if (n > 1) key += ' ' + tokens[i + n - 1];
      into.set(key, (into.get(key) ?? 0) + 1);
    }
  }
}

/** sacreBLEU's _get_closest_ref_len: the reference length nearest the hypothesis length, ties to the shorter. */
export function closestRefLength(hypLen: number, refLens: readonly number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = len;
    } else if (diff === closestDiff && len < closestLen) {
      closestLen = len;
    }
  }
  return closestLen;
}

/** Running sums of segment statistics. */
interface StatsAccumulator {
  correct: number[];
  total: number[];
  sysLen: number;
  refLen: number;
}

function zeroStats(order: number): StatsAccumulator {
  return { correct: new Array<number>(order).fill(0), total: new Array<number>(order).fill(0), sysLen: 0, refLen: 0 };
}

/**
 * Scratch maps reused across segments (allocating four maps per segment dominated the run time):
 * the references' n-gram counts maxed over references, one reference's counts, and how many times
 * each hypothesis n-gram has been matched so far.
 */
class SegmentScorer {
  private readonly refMax = new Map<string, number>();
  private readonly oneRef = new Map<string, number>();
  private readonly used = new Map<string, number>();
  constructor(private readonly maxOrder: number) {}

  /**
   * sacreBLEU's _extract_reference_info + _compute_segment_statistics for one segment, added to
   * `acc`. Clipped matches Σ_ngram min(count_hyp, max_ref count_ref) are counted occurrence by
   * occurrence: the k-th occurrence of an n-gram matches while k ≤ its reference count.
   */
  add(hypTokens: readonly string[], refTokens: readonly (readonly string[])[], acc: StatsAccumulator): void {
    const { refMax, oneRef, used, maxOrder } = this;
    refMax.clear();
    const refLens: number[] = [];
    for (let r = 0; r < refTokens.length; r++) {
      refLens.push(refTokens[r].length);
      if (r === 0) {
        countNgrams(refTokens[r], maxOrder, refMax);
      } else {
        oneRef.clear();
        countNgrams(refTokens[r], maxOrder, oneRef);
        for (const [key, count] of oneRef) {
          const prev = refMax.get(key);
          if (prev === undefined || count > prev) refMax.set(key, count);
        }
      }
    }
    const len = hypTokens.length;
    acc.sysLen += len;
    acc.refLen += closestRefLength(len, refLens);
    used.clear();
    for (let n = 1; n <= maxOrder; n++) if (len - n + 1 > 0) acc.total[n - 1] += len - n + 1;
    for (let i = 0; i < len; i++) {
      let key = hypTokens[i];
      const last = Math.min(maxOrder, len - i);
      for (let n = 1; n <= last; n++) {
        if (n > 1) key += ' ' + hypTokens[i + n - 1];
        const refCount = refMax.get(key);
        // An n-gram absent from the references has no longer n-gram in them either.
        if (refCount === undefined) break;
        const k = (used.get(key) ?? 0) + 1;
        used.set(key, k);
        if (k <= refCount) acc.correct[n - 1]++;
      }
    }
  }
}

function resolveOptions(defaults: BleuOptions, opts: Partial<BleuOptions> | undefined): BleuOptions {
  const o: BleuOptions = { ...defaults };
  if (opts) for (const [k, v] of Object.entries(opts)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  if (!Number.isInteger(o.maxNgramOrder) || o.maxNgramOrder < 1) throw new Error(`BLEU: maxNgramOrder must be a positive integer, got ${o.maxNgramOrder}`);
  if (!SMOOTH_METHODS.includes(o.smoothMethod)) throw new Error(`BLEU: unknown smooth method "${o.smoothMethod}" (expected ${SMOOTH_METHODS.join(', ')})`);
  return o;
}

/**
 * Tokenizes each segment and hands its hypothesis and references to `onSegment`, with the checks
 * sacreBLEU's API lacks. A null/undefined reference means "this segment has fewer references"
 * (sacreBLEU drops None; an empty string stays a reference of length 0, as in sacreBLEU 2.6).
 */
function forEachSegment(
  hyps: readonly string[],
  refs: readonly (readonly (string | null | undefined)[])[],
  o: BleuOptions,
  onSegment: (hypTokens: string[], refTokens: string[][]) => void,
): void {
  if (refs.length === 0) throw new Error('BLEU: no reference streams given');
  refs.forEach((stream, k) => {
    // sacreBLEU's API silently truncates to the shortest stream (zip); a mismatch is always a bug.
    if (stream.length !== hyps.length) throw new Error(`BLEU: reference stream ${k} has ${stream.length} segments but there are ${hyps.length} hypotheses`);
  });
  const tokens = (s: string): string[] => pySplit(preprocessSegment(s, o.tokenize, o.lowercase));
  for (let i = 0; i < hyps.length; i++) {
    const segRefs: string[][] = [];
    for (const stream of refs) {
      const r = stream[i];
      if (r !== null && r !== undefined) segRefs.push(tokens(r));
    }
    if (segRefs.length === 0) throw new Error(`BLEU: segment ${i} has no reference (all streams are null there)`);
    onSegment(tokens(hyps[i]), segRefs);
  }
}

/**
 * Sufficient statistics of a corpus: hyps[i] against refs[k][i] for every reference stream k
 * (null/undefined references: see forEachSegment).
 */
export function corpusBleuStats(
  hyps: readonly string[],
  refs: readonly (readonly (string | null | undefined)[])[],
  opts?: Partial<BleuOptions>,
): BleuStats {
  const o = resolveOptions(CORPUS_BLEU_DEFAULTS, opts);
  const acc = zeroStats(o.maxNgramOrder);
  const scorer = new SegmentScorer(o.maxNgramOrder);
  forEachSegment(hyps, refs, o, (hyp, segRefs) => scorer.add(hyp, segRefs, acc));
  return acc;
}

/** Per-segment BLEU statistics, one row per segment (see {@link segmentBleuStats}). */
export interface SegmentBleuStats {
  /** Number of segments (rows). */
  readonly count: number;
  /** Highest n-gram order N. */
  readonly order: number;
  /** Values per row: 2 + 2N. */
  readonly width: number;
  /**
   * Row-major, sacreBLEU's per-segment statistics vector (BLEU._extract_corpus_statistics):
   * [hyp_len, ref_len, correct_1 … correct_N, total_1 … total_N].
   */
  readonly data: Int32Array;
}

/**
 * Each segment's sufficient statistics, computed once so that resampling tests (bootstrap,
 * approximate randomization) can score any multiset of segments by summing rows instead of
 * re-tokenizing: the sum over all rows equals {@link corpusBleuStats}.
 */
export function segmentBleuStats(
  hyps: readonly string[],
  refs: readonly (readonly (string | null | undefined)[])[],
  opts?: Partial<BleuOptions>,
): SegmentBleuStats {
  const o = resolveOptions(CORPUS_BLEU_DEFAULTS, opts);
  const order = o.maxNgramOrder;
  const width = 2 + 2 * order;
  const data = new Int32Array(hyps.length * width);
  const scorer = new SegmentScorer(order);
  let row = 0;
  forEachSegment(hyps, refs, o, (hyp, segRefs) => {
    const acc = zeroStats(order);
    scorer.add(hyp, segRefs, acc);
    const at = row++ * width;
    data[at] = acc.sysLen;
    data[at + 1] = acc.refLen;
    for (let n = 0; n < order; n++) {
      data[at + 2 + n] = acc.correct[n];
      data[at + 2 + order + n] = acc.total[n];
    }
  });
  return { count: hyps.length, order, width, data };
}

/**
 * Corpus BLEU, as sacreBLEU's `BLEU(**opts).corpus_score(hyps, refs)` / `sacrebleu.corpus_bleu`.
 * `refs` is a list of reference STREAMS (refs[k][i] is the k-th reference of hypothesis i).
 * Defaults: 13a, exp smoothing, no effective order, order 4.
 *
 * @example corpusBleu(['the cat sat'], [['the cat sat']]).score // 0: no 4-grams and effective order is off
 */
export function corpusBleu(
  hyps: readonly string[],
  refs: readonly (readonly (string | null | undefined)[])[],
  opts?: Partial<BleuOptions>,
): BleuScore {
  const o = resolveOptions(CORPUS_BLEU_DEFAULTS, opts);
  return bleuFromStats(corpusBleuStats(hyps, refs, o), o);
}

/**
 * Sentence BLEU, as sacreBLEU's `sentence_bleu(hyp, refs)`: one hypothesis, its references
 * (refs[k] is the k-th reference). Defaults: 13a, exp smoothing, effective order on, order 4.
 *
 * @example sentenceBleu('the cat sat', ['the cat sat']).score // 100
 */
export function sentenceBleu(hyp: string, refs: readonly string[], opts?: Partial<BleuOptions>): BleuScore {
  const o = resolveOptions(SENTENCE_BLEU_DEFAULTS, opts);
  return bleuFromStats(corpusBleuStats([hyp], refs.map((r) => [r]), o), o);
}

/**
 * Python's `f'{x:.{digits}f}'`: like toFixed, but exact ties round half to even (JS rounds them
 * up: (0.125).toFixed(2) is '0.13', Python prints '0.12'). Only values whose binary expansion is
 * exactly half-way can tie, and those have few enough bits for toFixed(100) to be exact.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const a = Math.abs(x);
  const exact = a.toFixed(100);
  const dot = exact.indexOf('.');
  const rest = exact.slice(dot + 1 + digits);
  if (/^50*$/.test(rest)) {
    const truncated = exact.slice(0, digits > 0 ? dot + 1 + digits : dot);
    const lastDigit = truncated.charCodeAt(truncated.length - 1) - 48;
    if (lastDigit % 2 === 0) return sign + truncated;
  }
  return sign + a.toFixed(digits);
}

/**
 * sacreBLEU 2.x's score line (Score.format() without a signature), e.g.
 * `BLEU = 34.28 65.2/40.9/27.6/19.3 (BP = 1.000 ratio = 1.021 hyp_len = 1234 ref_len = 1209)`:
 * score 2 decimals, precisions 1, BP and ratio 3, Python's rounding.
 */
export function formatBleu(score: BleuScore): string {
  const precisions = score.precisions.map((p) => formatFixed(p, 1)).join('/');
  return (
    `BLEU = ${formatFixed(score.score, 2)} ${precisions} (BP = ${formatFixed(score.bp, 3)} ` +
    `ratio = ${formatFixed(score.ratio, 3)} hyp_len = ${score.sysLen} ref_len = ${score.refLen})`
  );
}
