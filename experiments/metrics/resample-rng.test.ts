/**
 * numpy's default_rng, bit for bit. Every expected value was printed by numpy 1.24.2 (Debian 12's
 * python3-numpy, /usr/bin/python3), with the call written next to it.
 */
import { describe, expect, it } from 'vitest';
import { bootstrapIndices, NumpyRandom, seedSequenceState } from './resample-rng';

const hex = ([hi, lo]: [number, number]): string => '0x' + (BigInt(hi) * 2n ** 32n + BigInt(lo)).toString(16);

describe('NumpyRandom (numpy 1.24.2)', () => {
  it('hashes the seed as SeedSequence does', () => {
    // np.random.SeedSequence(12345).generate_state(8, np.uint32).tolist()
    expect(Array.from(seedSequenceState(12345, 8))).toEqual([2688385916, 3048105090, 4196366895, 3152189807, 924159892, 1692637855, 2685664627, 1052446614]);
  });

  it('produces PCG64 raw outputs for several seeds', () => {
    // [hex(x) for x in np.random.default_rng(s).bit_generator.random_raw(3)]
    const expected: Record<number, string[]> = {
      12345: ['0x3a32b18db2ffc19d', '0x51171315c9e4c4de', '0xcc2024823444efd9'],
      0: ['0xa30febcfd9c2825f', '0x4510bdf882d9d721', '0xa7d3da94ecde8b8'],
      1: ['0x8306bdf37922e4ff', '0xf35196bbc152a866', '0x24e7a4f608ec18cd'],
      [2 ** 40 + 3]: ['0xc60e533fbbb0872c', '0xfef0825f71d66341', '0x792240db6171ac88'],
    };
    for (const [seed, raws] of Object.entries(expected)) {
      const rng = new NumpyRandom(Number(seed));
      expect(raws.map(() => hex(rng.nextRaw64())), `seed ${seed}`).toEqual(raws);
    }
  });

  it('splits each 64-bit output into two 32-bit draws, low half first', () => {
    // np.random.default_rng(12345).integers(0, 2**32, size=5, dtype=np.uint32).tolist()
    const rng = new NumpyRandom(12345);
    expect([0, 1, 2, 3, 4].map(() => rng.integers(2 ** 32))).toEqual([3003105693, 976400781, 3387213022, 1360466709, 876933081]);
  });

  it('keeps the 32-bit buffer across random_raw calls', () => {
    // r = np.random.default_rng(12345); r.integers(0, 5); r.bit_generator.random_raw(1)
    // r.integers(0, 2**32, size=3, dtype=np.uint32).tolist()
    const rng = new NumpyRandom(12345);
    rng.integers(5);
    rng.nextRaw64();
    expect([0, 1, 2].map(() => rng.nextUint32())).toEqual([976400781, 876933081, 3424658562]);
  });

  it('draws choice(n, size, replace=True) indices by Lemire rejection', () => {
    // np.random.default_rng(12345).choice(7, size=(2, 10)).tolist() gave
    // [[4, 1, 5, 2, 1, 5, 4, 4, 6, 2], [5, 2, 3, 4, 1, 1, 1, 4, 4, 6]]; draws are sequential, so
    // choice(7, size=(2, 7)) is its first 14 values.
    expect(Array.from(bootstrapIndices(7, 2))).toEqual([4, 1, 5, 2, 1, 5, 4, 4, 6, 2, 5, 2, 3, 4]);
    // np.random.default_rng(12345).choice(3000, size=10).tolist()
    const rng = new NumpyRandom(12345);
    expect(Array.from(rng.fillIntegers(3000, new Int32Array(10)))).toEqual([2097, 682, 2365, 950, 612, 2392, 1928, 2028, 2965, 1173]);
    // A bound just above 2^31 rejects often: np.random.default_rng(12345).integers(0, 2**31 + 5, size=10).tolist()
    const big = new NumpyRandom(12345);
    expect(Array.from({ length: 10 }, () => big.integers(2 ** 31 + 5))).toEqual([
      1501552849, 488200391, 1693606514, 438466541, 1712329284, 839901365, 1802651557, 457721136, 401008610, 492064535,
    ]);
  });

  it('gives the same draws on both sides of the 2^21 fast-path bound', () => {
    // np.random.default_rng(12345).integers(0, h, size=6).tolist() for h = 2**21, 2**21 + 1, 3000000
    const expected: [number, number[]][] = [
      [2 ** 21, [1466360, 476758, 1653912, 664290, 428189, 1672196]],
      [2 ** 21 + 1, [1466360, 476758, 1653913, 664290, 428190, 1672197]],
      [3000000, [2097645, 682008, 2365940, 950275, 612530, 2392096]],
    ];
    for (const [high, draws] of expected) {
      const one = new NumpyRandom(12345);
      expect(draws.map(() => one.integers(high)), `integers(${high})`).toEqual(draws);
      expect(Array.from(new NumpyRandom(12345).fillIntegers(high, new Int32Array(6))), `fillIntegers(${high})`).toEqual(draws);
    }
    // np.random.default_rng(12345).choice(1, size=3).tolist() == [0, 0, 0] (no draw consumed)
    expect(Array.from(bootstrapIndices(1, 3))).toEqual([0, 0, 0]);
  });

  it('rejects bad arguments', () => {
    expect(() => new NumpyRandom(-1)).toThrow(/seed/);
    expect(() => new NumpyRandom(1).integers(0)).toThrow(/high/);
    expect(() => bootstrapIndices(0, 10)).toThrow(/segment/);
    expect(new NumpyRandom(1).integers(1)).toBe(0);
  });
});
