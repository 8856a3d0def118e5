/**
 * Token-budget batching with length bucketing (the paper's §5.1: "sentence pairs were batched
 * together by approximate sequence length", ~25k tokens per batch).
 *
 * Per epoch, from (seed, epoch) alone: shuffle all pairs, cut the order into chunks, sort each
 * chunk by length (so a batch holds similar lengths and little padding), cut batches so that
 * size × padded length ≤ batchTokens, then shuffle the batch order. Because an epoch's batches
 * depend only on (seed, epoch), a checkpoint needs just {epoch, index} to resume on the very
 * same batch sequence.
 */
import { Rng, subSeed } from '../seeding';
import { BOS_ID, EOS_ID, type Batch, type EncodedPair } from './types';

/** Where a BatchStream stands: plain JSON, stored in checkpoints. */
export interface BatchPosition {
  /** 0-based epoch being served. */
  readonly epoch: number;
  /** Index of the next batch within that epoch's batch order. */
  readonly index: number;
}

/** Pairs per sort chunk: large enough for tight length buckets, small enough to keep batches varied across epochs. */
const CHUNK_PAIRS = 2048;

/**
 * The padded cost of a pair in a batch: the longer of its source and its target + EOS (tgtIn
 * and tgtOut are both tgt.length + 1 long). Bounding size × this by the budget bounds the
 * target tokens (the brief's "size × max target length") and the source padding alike.
 */
function cost(p: EncodedPair): number {
  return Math.max(p.src.length, p.tgt.length + 1);
}

/** Greedy cut of `order` (indices into pairs) into batches with size × max cost ≤ budget; a single over-budget pair is a batch of its own. */
function cutBatches(pairs: readonly EncodedPair[], order: readonly number[], batchTokens: number): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let longest = 0;
  for (const i of order) {
    const c = cost(pairs[i]);
    const next = Math.max(longest, c);
    if (current.length && (current.length + 1) * next > batchTokens) {
      batches.push(current);
      current = [];
      longest = 0;
    }
    current.push(i);
    longest = Math.max(longest, c);
  }
  if (current.length) batches.push(current);
  return batches;
}

/** An endless stream of training batches, reshuffled and re-bucketed each epoch. */
export class BatchStream {
  private epoch = 0;
  private index = 0;
  private order: number[][] = [];

  constructor(
    private readonly pairs: readonly EncodedPair[],
    private readonly batchTokens: number,
    private readonly seed: number,
  ) {
    if (!pairs.length) throw new Error('BatchStream needs at least one pair');
    if (!(batchTokens > 0)) throw new Error(`BatchStream: batchTokens must be positive, got ${batchTokens}`);
    this.order = this.epochBatches(0);
  }

  /** The batches of `epoch` as lists of pair indices, in serving order. */
  epochBatches(epoch: number): number[][] {
    const rng = new Rng(subSeed(this.seed, epoch));
    const shuffled = rng.shuffle(Array.from(this.pairs, (_, i) => i));
    const batches: number[][] = [];
    for (let start = 0; start < shuffled.length; start += CHUNK_PAIRS) {
      const chunk = shuffled.slice(start, start + CHUNK_PAIRS);
      // Stable sort by padded cost, then target length: ties keep the shuffled order. Sorting by
      // the cost the budget is measured in (not target length alone) keeps batches full.
      chunk.sort((a, b) => cost(this.pairs[a]) - cost(this.pairs[b]) || this.pairs[a].tgt.length - this.pairs[b].tgt.length);
      batches.push(...cutBatches(this.pairs, chunk, this.batchTokens));
    }
    return rng.shuffle(batches);
  }

  /** The next batch; after the last batch of an epoch the next epoch starts. */
  next(): Batch {
    if (this.index >= this.order.length) {
      this.epoch++;
      this.index = 0;
      this.order = this.epochBatches(this.epoch);
    }
    const batch = this.order[this.index++];
    return toBatch(batch.map((i) => this.pairs[i]));
  }

  get position(): BatchPosition {
    return { epoch: this.epoch, index: this.index };
  }

  /** Continues exactly where a stream over the same pairs, budget and seed stood at `p`. */
  restore(p: BatchPosition): void {
    if (!Number.isInteger(p?.epoch) || !Number.isInteger(p?.index) || p.epoch < 0 || p.index < 0) {
      throw new Error(`invalid batch position ${JSON.stringify(p)}`);
    }
    this.epoch = p.epoch;
    this.index = p.index;
    this.order = this.epochBatches(p.epoch);
  }
}

/** Evaluation batches: every pair once, in the original order (consecutive pairs share a batch). */
export function evalBatches(pairs: readonly EncodedPair[], batchTokens: number): Batch[] {
  return cutBatches(pairs, Array.from(pairs, (_, i) => i), batchTokens).map((b) => toBatch(b.map((i) => pairs[i])));
}

/** Pads pairs into one batch: src, tgtIn = BOS + tgt, tgtOut = tgt + EOS, PAD (0) elsewhere. */
export function toBatch(pairs: readonly EncodedPair[]): Batch {
  const size = pairs.length;
  let srcLen = 1;
  let tgtLen = 1;
  for (const p of pairs) {
    if (p.src.length > srcLen) srcLen = p.src.length;
    if (p.tgt.length + 1 > tgtLen) tgtLen = p.tgt.length + 1;
  }
  const src = new Int32Array(size * srcLen); // zero-filled: PAD_ID is 0
  const tgtIn = new Int32Array(size * tgtLen);
  const tgtOut = new Int32Array(size * tgtLen);
  let targetTokens = 0;
  pairs.forEach((p, row) => {
    src.set(p.src, row * srcLen);
    const t = row * tgtLen;
    tgtIn[t] = BOS_ID;
    tgtIn.set(p.tgt, t + 1);
    tgtOut.set(p.tgt, t);
    tgtOut[t + p.tgt.length] = EOS_ID;
    targetTokens += p.tgt.length + 1;
  });
  return { size, srcLen, tgtLen, src, tgtIn, tgtOut, targetTokens };
}
