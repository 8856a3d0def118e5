/**
 * A small seeded random source for data generation and batch shuffling. Math.random cannot be
 * seeded, and "same seed → same data / same batches after a resume" is a requirement here.
 */

/** mulberry32: 32-bit state, fast, good enough for shuffling and toy-data generation. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed once so nearby seeds (1, 2, 3) start far apart.
    this.state = mix32(seed >>> 0 || 0x9e3779b9);
  }

  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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

/** A seed for sub-stream `n` of `seed` (e.g. the shuffle of epoch n). */
export function subSeed(seed: number, n: number): number {
  return mix32((mix32(seed >>> 0) ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0);
}
