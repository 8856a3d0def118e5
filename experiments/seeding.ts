/**
 * Every random stream of the workbench, in one place. Math.random cannot be seeded, and "same seed
 * → same numbers, also after a resume from a checkpoint" is a requirement, so each stream is a pure
 * function of a seed and a position in the run, never of how much was drawn before:
 *
 * - data generation (data/synthetic.ts): `new Rng(subSeed(data.seed, n))`, n = 0 for the grammar,
 *   1 train, 2 valid, 3 test; each split has its own stream, so sizes don't shift each other.
 * - batch shuffling (data/batches.ts): `new Rng(subSeed(run seed, epoch))`.
 * - weight init (model/params.ts): `initSeed(run seed, weight name)` seeds that weight's tfjs
 *   random op.
 * - dropout masks (model/transformer.ts): `dropoutSeed(run seed, step, call index within the step)`
 *   seeds each tf.dropout; any other tfjs draw of a training step that takes no seed reads
 *   Math.random, which `withStepRandom(run seed, step, …)` (train/loop.ts) swaps for mulberry32.
 * - test inputs (test/support): plain `mulberry32(n)`.
 *
 * So the masks of step N depend on (seed, N, call index) only: a run resumed at step k draws the
 * masks the uninterrupted run drew, and the RNG state a checkpoint saves is the step counter
 * (train/checkpoint.ts). Init and dropout seeds hash text, so they are the same on every backend.
 * Changing any function here changes the numbers of every stored run.
 */

/** mulberry32 (Tommy Ettinger): 32 bits of state, uniform floats in [0, 1). Raw seed, no mixing. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded source for data generation and shuffling: mulberry32 over a mixed seed, plus helpers. */
export class Rng {
  /** Uniform float in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    // Mix the seed once so nearby seeds (1, 2, 3) start far apart.
    this.next = mulberry32(mix32(seed >>> 0 || 0x9e3779b9));
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}

/** A 32-bit integer hash (murmur3 finaliser), used to derive independent streams from (seed, n). */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A seed for sub-stream `n` of `seed` (a data split, the shuffle of epoch n). */
export function subSeed(seed: number, n: number): number {
  return mix32((mix32(seed >>> 0) ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0);
}

/** A 31-bit seed from (seed, text): FNV-1a over `${seed}:${text}` (tfjs op seeds). */
function textSeed(seed: number, text: string): number {
  let hash = 0x811c9dc5;
  for (const ch of `${seed}:${text}`) {
    hash ^= ch.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash & 0x7fffffff;
}

/** Seed of the initial value of the weight named `name` ("encoder/0/self_attn/wq"). */
export function initSeed(seed: number, name: string): number {
  return textSeed(seed, name);
}

/** Seed of the `call`-th dropout mask (0-based, in forward order) of optimizer step `step`. */
export function dropoutSeed(seed: number, step: number, call: number): number {
  return textSeed(seed, `dropout/${step}/${call}`);
}

/** 32-bit mix of two integers (splitmix-style avalanche), so nearby steps get unrelated seeds. */
export function mixSeed(seed: number, step: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(step >>> 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Runs `fn` with Math.random replaced by mulberry32 seeded from (seed, step), restoring the
 * original afterwards (also on throw). tfjs seeds an unseeded random op from Math.random, so every
 * such draw inside a training step is a function of (seed, step). Synchronous only: nothing else
 * may run in between.
 */
export function withStepRandom<T>(seed: number, step: number, fn: () => T): T {
  const original = Math.random;
  Math.random = mulberry32(mixSeed(seed, step));
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
