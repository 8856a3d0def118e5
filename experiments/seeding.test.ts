/**
 * The random streams are pinned: every number below comes from an independent Python
 * transcription of the published algorithms (mulberry32, murmur3's fmix32, FNV-1a 32, whose own
 * published vectors FNV-1a("a") = 0xe40c292c and ("foobar") = 0xbf9cf968 it reproduces). A change
 * here would silently change the data, batches, weights and dropout masks of every stored run.
 */
import { describe, expect, it } from 'vitest';
import { dropoutSeed, initSeed, mixSeed, mulberry32, Rng, subSeed, withStepRandom } from './seeding';

const draws = (next: () => number, n: number) => Array.from({ length: n }, () => next() * 2 ** 32);

describe('seeding', () => {
  it('mulberry32 and Rng draw the reference sequences', () => {
    expect(draws(mulberry32(1), 3)).toEqual([2693262067, 11749833, 2265367787]);
    const rng = new Rng(7); // mulberry32 over fmix32(7)
    expect(draws(rng.next, 3)).toEqual([1496098489, 630630761, 3230872418]);
    expect(draws(new Rng(0).next, 2)).toEqual([2673918951, 1525398398]); // seed 0 → the golden-ratio constant
  });

  it('derives sub-stream, init, dropout and step seeds as the reference does', () => {
    expect([0, 1, 2].map((n) => subSeed(1, n))).toEqual([1114155158, 163005474, 147121565]);
    expect(initSeed(1, 'encoder/0/self_attn/wq')).toBe(1335687731);
    expect(dropoutSeed(3, 5, 2)).toBe(1991063910);
    expect(mixSeed(1, 5)).toBe(1260992698);
  });

  it('withStepRandom swaps Math.random for the (seed, step) stream and restores it, also on throw', () => {
    const original = Math.random;
    const inside = withStepRandom(1, 5, () => draws(Math.random, 2));
    expect(inside).toEqual(draws(mulberry32(mixSeed(1, 5)), 2));
    expect(Math.random).toBe(original);
    expect(() => withStepRandom(1, 5, () => { throw new Error('boom'); })).toThrow('boom');
    expect(Math.random).toBe(original);
  });
});
