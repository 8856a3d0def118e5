/**
 * Greedy and beam-search decoding of a Seq2SeqModel, batched over sentences.
 *
 * Both run the decoder one target position at a time. With `useCache` (default) each step feeds
 * only the newest token and reuses the keys/values of earlier positions (model.decodeStep); with
 * `useCache: false` each step recomputes the whole decoder on the full prefix (model.forward), the
 * slow path that the equality test compares against.
 *
 * PAD, BOS and UNK are never emitted: their log-probabilities are set to −∞ before any choice (as
 * fairseq does for PAD and BOS, and for UNK with --unkpen ∞); the rest are not renormalised.
 *
 * Outputs are target ids without BOS/EOS. A hypothesis that reaches source length + maxLenOffset
 * tokens without EOS is forced to end: greedy stops there; beam search takes one more step in
 * which only EOS is allowed and charges its log-probability, with the length counting that EOS
 * (fairseq's rule), so a capped hypothesis competes with finished ones on equal terms. With learned positions the limit is also capped so the decoder
 * never reads past its position table (dev and test sentences are not length-filtered).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BOS_ID, EOS_ID, PAD_ID, UNK_ID } from '../data/types';
import type { DecoderCache, EncoderOutput, Seq2SeqModel } from '../model/types';
import { MAX_LEARNED_POSITIONS } from '../model/positional';

export interface DecodeOptions {
  /** Extra target tokens allowed beyond the source length (the paper: 50). */
  readonly maxLenOffset: number;
  /** Incremental key/value cache (default true); false recomputes the full prefix each step. */
  readonly useCache?: boolean;
  /** Decoder rows per chunk (sentences × beam); sentences are chunked by source length. Default 128. */
  readonly maxRows?: number;
}

export interface BeamOptions extends DecodeOptions {
  /** Beam width K. */
  readonly beam: number;
  /** Length-penalty exponent α of ((5 + len) / 6)^α (GNMT; the paper uses 0.6). */
  readonly alpha: number;
}

/**
 * Longest hypothesis (tokens, EOS excluded) for a source: source length + maxLenOffset, and with
 * learned positions at most MAX_LEARNED_POSITIONS − 1, so BOS + hypothesis (+ a forced EOS step)
 * stays inside the position table.
 */
export function hypothesisLimit(model: Pick<Seq2SeqModel, 'config'>, srcLen: number, maxLenOffset: number): number {
  const limit = srcLen + maxLenOffset;
  return model.config.positional === 'learned' ? Math.min(limit, MAX_LEARNED_POSITIONS - 1) : limit;
}

/** GNMT / tensor2tensor length penalty lp(len) = ((5 + len) / 6)^α; scores are divided by it. */
export function lengthPenalty(len: number, alpha: number): number {
  return Math.pow((5 + len) / 6, alpha);
}

/**
 * Most probable next token, one at a time.
 * @example await greedyDecode(model, [Int32Array.from([5, 9, 7])], { maxLenOffset: 50 }) // [[8, 4, 6]]
 */
export async function greedyDecode(model: Seq2SeqModel, src: readonly Int32Array[], opts: DecodeOptions): Promise<number[][]> {
  return inChunks(src, opts.maxRows ?? 128, (chunk) => greedyChunk(model, chunk, opts));
}

/**
 * Beam search with K hypotheses per sentence. Candidates are ranked by summed log-probability;
 * finished hypotheses (EOS among the top K candidates, or EOS forced at the length limit) are
 * scored by logP / lp(len) with logP and len counting EOS, and kept until K are finished or no live hypothesis can
 * beat the best finished one. Returns the best finished hypothesis per sentence.
 */
export async function beamSearch(model: Seq2SeqModel, src: readonly Int32Array[], opts: BeamOptions): Promise<number[][]> {
  if (!Number.isInteger(opts.beam) || opts.beam < 1) throw new RangeError(`beam must be a positive integer, got ${opts.beam}`);
  const perChunk = Math.max(1, Math.floor((opts.maxRows ?? 128) / opts.beam));
  return inChunks(src, perChunk, (chunk) => beamChunk(model, chunk, opts));
}

/** Splits sentences into chunks of similar source length, decodes each, restores input order. */
async function inChunks(src: readonly Int32Array[], size: number, decode: (chunk: Int32Array[]) => Promise<number[][]>): Promise<number[][]> {
  const order = src.map((_, i) => i).sort((a, b) => src[a].length - src[b].length);
  const out: number[][] = new Array(src.length);
  for (let start = 0; start < order.length; start += size) {
    const ids = order.slice(start, start + size);
    const results = await decode(ids.map((i) => src[i]));
    ids.forEach((i, j) => { out[i] = results[j]; });
  }
  return out;
}

/**
 * Next-token log-probabilities for a set of decoder rows whose prefixes the caller tracks.
 * `rowSource[r]` is the sentence of row r (beam rows of one sentence share its encoding).
 */
interface Stepper {
  /** prefixes[r] = BOS + tokens so far (all the same length). Returns [rows, V] log-probabilities. */
  step(prefixes: readonly number[][]): tf.Tensor2D;
  /** Row r of the next step continues row indices[r] of this one. */
  reorder(indices: Int32Array): void;
  dispose(): void;
}

/** Sentences padded to one width (≥ 1), each repeated `copies` times: [sentences·copies, width]. */
function sourceRows(chunk: readonly Int32Array[], copies: number): tf.Tensor2D {
  const width = Math.max(1, ...chunk.map((s) => s.length));
  const data = new Int32Array(chunk.length * copies * width).fill(PAD_ID);
  chunk.forEach((s, b) => { for (let c = 0; c < copies; c++) data.set(s, (b * copies + c) * width); });
  return tf.tensor2d(data, [chunk.length * copies, width], 'int32');
}

function cachedStepper(model: Seq2SeqModel, chunk: readonly Int32Array[], copies: number): Stepper {
  const src = sourceRows(chunk, 1);
  const once = model.encode(src);
  src.dispose();
  // Repeat each sentence's encoding for its beam rows: [B·K, s, d] and [B·K, 1, 1, s].
  const repeat = tf.tensor1d(chunk.flatMap((_, b) => Array<number>(copies).fill(b)), 'int32');
  const encoded: EncoderOutput = copies === 1 ? once : tf.tidy(() => ({
    memory: tf.gather(once.memory, repeat) as tf.Tensor3D,
    srcMaskBias: tf.gather(once.srcMaskBias, repeat) as tf.Tensor4D,
  }));
  if (copies !== 1) tf.dispose([once.memory, once.srcMaskBias]);
  repeat.dispose();
  let cache: DecoderCache = model.initCache(encoded);
  const disposeSelf = (c: DecoderCache) => c.self.forEach(({ k, v }) => tf.dispose([k, v]));
  const disposeAll = (c: DecoderCache) => { disposeSelf(c); c.cross.forEach(({ k, v }) => tf.dispose([k, v])); };
  return {
    step(prefixes) {
      const tokens = tf.tensor1d(prefixes.map((p) => p[p.length - 1]), 'int32');
      const { logProbs, cache: next } = model.decodeStep(encoded, cache, tokens);
      tokens.dispose();
      disposeSelf(cache); // the cross-attention keys/values carry over into `next`
      cache = next;
      return logProbs;
    },
    reorder(indices) {
      const idx = tf.tensor1d(indices, 'int32');
      const next = model.selectCache(cache, idx);
      idx.dispose();
      disposeAll(cache);
      cache = next;
    },
    dispose() {
      disposeAll(cache);
      tf.dispose([encoded.memory, encoded.srcMaskBias]);
    },
  };
}

function uncachedStepper(model: Seq2SeqModel, chunk: readonly Int32Array[], copies: number): Stepper {
  const src = sourceRows(chunk, copies); // [B·K, s]
  return {
    step(prefixes) {
      return tf.tidy(() => {
        const rows = prefixes.length;
        const t = prefixes[0].length;
        const tgtIn = tf.tensor2d(Int32Array.from(prefixes.flat()), [rows, t], 'int32');
        const logits = model.forward(src, tgtIn, false); // [rows, t, V]
        const last = tf.reshape(tf.slice(logits, [0, t - 1, 0], [rows, 1, -1]), [rows, -1]) as tf.Tensor2D; // [rows, V]
        return tf.logSoftmax(last) as tf.Tensor2D;
      });
    },
    reorder() { /* prefixes carry all state */ },
    dispose() { src.dispose(); },
  };
}

/** Ids a hypothesis may never contain. */
export const NEVER_EMITTED = [PAD_ID, BOS_ID, UNK_ID] as const;

/**
 * The stepper whose log-probabilities have NEVER_EMITTED at −∞ and, for the rows in `forceEos`,
 * everything but EOS at −∞ (the row reached its length limit).
 */
function makeStepper(model: Seq2SeqModel, chunk: readonly Int32Array[], copies: number, useCache: boolean): Stepper & { forceEos(rows: readonly number[]): void } {
  const inner = useCache ? cachedStepper(model, chunk, copies) : uncachedStepper(model, chunk, copies);
  let forced: readonly number[] = [];
  return {
    step(prefixes) {
      const logProbs = inner.step(prefixes);
      const [rows, V] = logProbs.shape;
      const bias = new Float32Array(rows * V);
      for (let r = 0; r < rows; r++) for (const id of NEVER_EMITTED) if (id < V) bias[r * V + id] = -Infinity;
      for (const r of forced) for (let v = 0; v < V; v++) if (v !== EOS_ID) bias[r * V + v] = -Infinity;
      forced = [];
      const masked = tf.tidy(() => tf.add(logProbs, tf.tensor2d(bias, [rows, V])) as tf.Tensor2D);
      logProbs.dispose();
      return masked;
    },
    reorder: (indices) => inner.reorder(indices),
    dispose: () => inner.dispose(),
    forceEos(rows) {
      forced = rows;
    },
  };
}

async function greedyChunk(model: Seq2SeqModel, chunk: readonly Int32Array[], opts: DecodeOptions): Promise<number[][]> {
  const maxLen = chunk.map((s) => hypothesisLimit(model, s.length, opts.maxLenOffset));
  const out: number[][] = chunk.map(() => []);
  const done = maxLen.map((m) => m <= 0);
  const prefixes: number[][] = chunk.map(() => [BOS_ID]);
  const stepper = makeStepper(model, chunk, 1, opts.useCache ?? true);
  try {
    while (!done.every(Boolean)) {
      const logProbs = stepper.step(prefixes);
      const bestT = tf.argMax(logProbs, 1);
      logProbs.dispose();
      // Asynchronous read: webgpu has no synchronous read-back in Node.
      const best = await bestT.data();
      bestT.dispose();
      for (let i = 0; i < chunk.length; i++) {
        const token = done[i] ? EOS_ID : best[i];
        prefixes[i].push(token); // finished rows are fed filler; their outputs are never read
        if (done[i]) continue;
        if (token === EOS_ID) done[i] = true;
        else {
          out[i].push(token);
          if (out[i].length >= maxLen[i]) done[i] = true;
        }
      }
    }
  } finally {
    stepper.dispose();
  }
  return out;
}

interface Hypothesis {
  readonly tokens: number[];
  /** Summed log-probability. */
  readonly score: number;
}

async function beamChunk(model: Seq2SeqModel, chunk: readonly Int32Array[], opts: BeamOptions): Promise<number[][]> {
  const K = opts.beam;
  const B = chunk.length;
  const maxLen = chunk.map((s) => hypothesisLimit(model, s.length, opts.maxLenOffset));
  // The longest a hypothesis can end: maxLen tokens plus the forced EOS.
  const maxLp = maxLen.map((m) => lengthPenalty(m + 1, opts.alpha));
  // Only beam 0 starts alive, so the K identical BOS rows do not yield K copies of one hypothesis.
  let alive: Hypothesis[][] = chunk.map(() => Array.from({ length: K }, (_, k) => ({ tokens: [], score: k === 0 ? 0 : -Infinity })));
  const finished: { tokens: number[]; norm: number }[][] = chunk.map(() => []);
  const done = maxLen.map((m) => m <= 0);
  done.forEach((d, b) => { if (d) finished[b].push({ tokens: [], norm: 0 }); });
  let prefixes: number[][] = Array.from({ length: B * K }, () => [BOS_ID]);
  const stepper = makeStepper(model, chunk, K, opts.useCache ?? true);
  try {
    while (!done.every(Boolean)) {
      const logProbs = stepper.step(prefixes); // [B·K, V]
      const V = logProbs.shape[1];
      const take = Math.min(2 * K, K * V);
      const top = tf.tidy(() => {
        const scores = tf.add(logProbs, tf.tensor2d(alive.flat().map((h) => h.score), [B * K, 1])); // [B·K, V]
        return tf.topk(tf.reshape(scores, [B, K * V]), take); // [B, 2K]
      });
      logProbs.dispose();
      const [values, indices] = await Promise.all([top.values.data(), top.indices.data()]);
      tf.dispose([top.values, top.indices]);
      const parents = new Int32Array(B * K);
      const forced: number[] = [];
      const nextPrefixes: number[][] = new Array(B * K);
      const nextAlive: Hypothesis[][] = [];
      for (let b = 0; b < B; b++) {
        const row = (k: number) => b * K + k;
        if (done[b]) {
          for (let k = 0; k < K; k++) { parents[row(k)] = row(k); nextPrefixes[row(k)] = [...prefixes[row(k)], EOS_ID]; }
          nextAlive.push(alive[b]);
          continue;
        }
        const kept: { hyp: Hypothesis; parent: number }[] = [];
        for (let j = 0; j < take && kept.length < K; j++) {
          const score = values[b * take + j];
          if (score === -Infinity) break;
          const flat = indices[b * take + j];
          const parent = Math.floor(flat / V);
          const token = flat % V;
          const prev = alive[b][parent].tokens;
          if (token === EOS_ID) {
            // Like fairseq: an EOS counts only when it ranks among the top K candidates.
            if (j < K) finished[b].push({ tokens: prev, norm: score / lengthPenalty(prev.length + 1, opts.alpha) });
            continue;
          }
          kept.push({ hyp: { tokens: [...prev, token], score }, parent });
        }
        const len = alive[b][0].tokens.length + 1; // every live hypothesis has the same length
        if (finished[b].length >= K) {
          done[b] = true;
        } else if (finished[b].length > 0 && kept.length > 0 && opts.alpha >= 0) {
          // No live hypothesis can end better: log-probabilities only fall, lp only grows up to maxLen + 1.
          const bestFinished = Math.max(...finished[b].map((f) => f.norm));
          if (bestFinished >= kept[0].hyp.score / maxLp[b]) done[b] = true;
        }
        if (kept.length === 0) {
          // Nothing left to extend (after the forced EOS, or tiny vocabularies): settle for the best live hypothesis so far.
          if (finished[b].length === 0) finished[b].push({ tokens: alive[b][0].tokens, norm: alive[b][0].score / lengthPenalty(len, opts.alpha) });
          done[b] = true;
        }
        // Length limit: the next step may only end these hypotheses, paying for their EOS.
        if (!done[b] && len >= maxLen[b]) for (let k = 0; k < K; k++) forced.push(row(k));
        const padded = [...kept];
        while (padded.length < K) padded.push({ hyp: { tokens: kept[0]?.hyp.tokens ?? [], score: -Infinity }, parent: kept[0]?.parent ?? 0 });
        padded.forEach(({ hyp, parent }, k) => {
          parents[row(k)] = row(parent);
          nextPrefixes[row(k)] = [...prefixes[row(parent)], hyp.tokens.length > 0 ? hyp.tokens[hyp.tokens.length - 1] : EOS_ID];
        });
        nextAlive.push(padded.map((p) => p.hyp));
      }
      alive = nextAlive;
      prefixes = nextPrefixes;
      if (!done.every(Boolean)) {
        stepper.reorder(parents);
        stepper.forceEos(forced);
      }
    }
  } finally {
    stepper.dispose();
  }
  return finished.map((list) => list.reduce((best, f) => (f.norm > best.norm ? f : best), list[0]).tokens);
}
