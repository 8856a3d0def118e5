/**
 * Deterministic randomness for training steps.
 *
 * tfjs draws dropout masks with `tf.randomUniform`, which seeds its generator from Math.random()
 * when no seed is given. Around each training step we swap Math.random for a small PRNG seeded
 * from (run seed, step), so every dropout mask of step N is a function of the run seed and N alone:
 * a run is repeatable on the same backend, and a run resumed from a checkpoint at step k draws
 * exactly the masks the uninterrupted run drew — the RNG state to save is the step counter.
 */

/** 32-bit mix of two integers (splitmix-style avalanche), so nearby steps get unrelated seeds. */
export function mixSeed(seed: number, step: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(step >>> 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: a tiny PRNG with 32 bits of state; plenty for seeding tfjs's alea generators. */
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

/**
 * Runs `fn` with Math.random replaced by a generator seeded from (seed, step), restoring the
 * original afterwards (also on throw). Synchronous only: nothing else may run in between.
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
