import { describe, expect, it } from 'vitest';
import { BatchStream, evalBatches, toBatch } from './batches';
import { Rng } from '../seeding';
import { BOS_ID, EOS_ID, PAD_ID, type Batch, type EncodedPair } from './types';

/** `n` pairs with lengths 1..maxLen; the pair's index is written into its first source token so batches can be traced back. */
function makePairs(n: number, maxLen = 50, seed = 5): EncodedPair[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    // Translation lengths correlate: the target is within ±3 tokens of the source.
    const srcLen = rng.int(1, maxLen);
    const src = Int32Array.from({ length: srcLen }, () => rng.int(4, 99));
    const tgt = Int32Array.from({ length: Math.max(1, srcLen + rng.int(-3, 3)) }, () => rng.int(4, 99));
    src[0] = 1000 + i;
    return { source: `s${i}`, target: `t${i}`, src, tgt };
  });
}

/** Pair indices in a batch, read back from the first source token of each row. */
const rowsOf = (b: Batch) => Array.from({ length: b.size }, (_, r) => b.src[r * b.srcLen] - 1000);

describe('toBatch', () => {
  it('pads with 0 and shifts the target: tgtIn = BOS + tgt, tgtOut = tgt + EOS', () => {
    const pairs: EncodedPair[] = [
      { source: '', target: '', src: Int32Array.of(5, 6, 7), tgt: Int32Array.of(8) },
      { source: '', target: '', src: Int32Array.of(9), tgt: Int32Array.of(10, 11, 12) },
    ];
    const b = toBatch(pairs);
    expect([b.size, b.srcLen, b.tgtLen]).toEqual([2, 3, 4]);
    expect([...b.src]).toEqual([5, 6, 7, 9, PAD_ID, PAD_ID]);
    expect([...b.tgtIn]).toEqual([BOS_ID, 8, PAD_ID, PAD_ID, BOS_ID, 10, 11, 12]);
    expect([...b.tgtOut]).toEqual([8, EOS_ID, PAD_ID, PAD_ID, 10, 11, 12, EOS_ID]);
    expect(b.targetTokens).toBe(2 + 4);
  });
});

describe('BatchStream', () => {
  const pairs = makePairs(3000);
  const budget = 1024;

  /** Collects one epoch's batches (the stream is at an epoch start). */
  function epoch(stream: BatchStream): Batch[] {
    const { epoch: e, index } = stream.position;
    const count = stream.epochBatches(e).length;
    return Array.from({ length: count - index }, () => stream.next());
  }

  it('respects the token budget and serves every pair exactly once per epoch', () => {
    const stream = new BatchStream(pairs, budget, 1);
    for (let e = 0; e < 2; e++) {
      const batches = epoch(stream);
      for (const b of batches) {
        expect(b.size * b.tgtLen).toBeLessThanOrEqual(budget);
        expect(b.size * b.srcLen).toBeLessThanOrEqual(budget);
      }
      const seen = batches.flatMap(rowsOf).sort((a, b) => a - b);
      expect(seen).toEqual(pairs.map((_, i) => i));
      // Next call starts the next epoch.
      stream.next();
      stream.restore({ epoch: e + 1, index: 0 });
    }
  });

  it('buckets by length: far less padding than batches of random order', () => {
    const stream = new BatchStream(pairs, budget, 1);
    // Padding on both sides: source tokens are the non-zero ids of src.
    const real = (b: Batch) => b.targetTokens + b.src.reduce((a, id) => a + (id !== 0 ? 1 : 0), 0);
    const padFraction = (bs: Batch[]) => 1 - bs.reduce((a, b) => a + real(b), 0) / bs.reduce((a, b) => a + b.size * (b.tgtLen + b.srcLen), 0);
    const bucketed = padFraction(epoch(stream));
    // Same budget, original (random-length) order, as evalBatches cuts it.
    const unsorted = padFraction(evalBatches(pairs, budget));
    expect(bucketed).toBeLessThan(unsorted / 3);
  });

  it('reshuffles between epochs and differs between seeds, deterministically for a seed', () => {
    const a = new BatchStream(pairs, budget, 1);
    const b = new BatchStream(pairs, budget, 1);
    const c = new BatchStream(pairs, budget, 2);
    const first = epoch(a).map(rowsOf);
    expect(epoch(b).map(rowsOf)).toEqual(first);
    expect(epoch(c).map(rowsOf)).not.toEqual(first);
    a.next();
    a.restore({ epoch: 1, index: 0 });
    expect(epoch(a).map(rowsOf)).not.toEqual(first);
  });

  it('continues identically after restore from a JSON position (also across epochs)', () => {
    const original = new BatchStream(pairs, budget, 9);
    const perEpoch = original.epochBatches(0).length;
    for (let i = 0; i < perEpoch - 3; i++) original.next();
    const saved = JSON.parse(JSON.stringify(original.position));
    const expected = Array.from({ length: 10 }, () => rowsOf(original.next())); // crosses into epoch 1
    const resumed = new BatchStream(pairs, budget, 9);
    resumed.restore(saved);
    expect(Array.from({ length: 10 }, () => rowsOf(resumed.next()))).toEqual(expected);
    expect(resumed.position).toEqual(original.position);
    expect(() => resumed.restore({ epoch: -1, index: 0 })).toThrow(/invalid batch position/);
  });
});

describe('evalBatches', () => {
  it('keeps every pair once in the original order within the budget', () => {
    const pairs = makePairs(500, 30, 11);
    const batches = evalBatches(pairs, 300);
    expect(batches.flatMap(rowsOf)).toEqual(pairs.map((_, i) => i));
    for (const b of batches) expect(b.size === 1 || b.size * b.tgtLen <= 300).toBe(true);
  });

  it('puts a pair longer than the budget in a batch of its own', () => {
    const pairs = makePairs(5, 5, 1);
    const long: EncodedPair = { source: '', target: '', src: new Int32Array(40).fill(1099), tgt: new Int32Array(40).fill(7) };
    const batches = evalBatches([pairs[0], long, pairs[1]], 20);
    expect(batches.map((b) => b.size)).toEqual([1, 1, 1]);
  });
});
