/**
 * numpy's default random generator, bit for bit, so that resampling tests draw exactly the indices
 * sacreBLEU draws (`np.random.default_rng(12345).choice(n, size=(samples, n), replace=True)` in
 * sacrebleu/significance.py). Three pieces of numpy (checked against numpy 1.24 in
 * resample-rng.test.ts):
 *
 * - SeedSequence (numpy/random/bit_generator.pyx): the integer seed is hashed into a 128-bit state
 *   and a 128-bit increment.
 * - PCG64 (numpy/random/src/pcg64/pcg64.h): a 128-bit LCG, state ← state · M + inc, whose output is
 *   XSL-RR: (high 64 bits XOR low 64 bits) rotated right by the top 6 bits of the state.
 *   32-bit draws use each 64-bit output twice, low half first (pcg64_next32).
 * - Bounded integers (numpy/random/src/distributions/distributions.c,
 *   buffered_bounded_lemire_uint32): Lemire's multiply-shift with rejection, which `integers` and
 *   `choice(..., replace=True)` use for ranges below 2^32.
 *
 * Arithmetic is on 16-bit limbs held in doubles (products < 2^32, sums of eight < 2^36: exact),
 * which is far faster in V8 than BigInt.
 */

/** sacreBLEU's default seed (SACREBLEU_SEED, sacrebleu/significance.py). */
export const SACREBLEU_SEED = 12345;

const MASK32 = 0xffffffff;
const TWO32 = 4294967296;
/** Bounds up to 2^21 keep x · bound (x < 2^32) below 2^53. */
const SMALL_BOUND = 2 ** 21;

/** numpy's SeedSequence constants (bit_generator.pyx). */
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

/** numpy's _int_to_uint32_array: a non-negative integer as 32-bit words, least significant first. */
function seedWords(seed: number): number[] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative safe integer, got ${seed}`);
  if (seed === 0) return [0];
  const words: number[] = [];
  for (let n = seed; n > 0; n = Math.floor(n / TWO32)) words.push(n % TWO32);
  return words;
}

/**
 * numpy's `SeedSequence(seed).generate_state(nWords, np.uint32)`: mix_entropy over a pool of 4
 * words, then the output hash (bit_generator.pyx, SeedSequence.mix_entropy / generate_state).
 */
export function seedSequenceState(seed: number, nWords: number): Uint32Array {
  const entropy = seedWords(seed);
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    value = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    value = Math.imul(value, hashConst) >>> 0;
    return (value ^ (value >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  const pool = new Array<number>(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
  }
  const out = new Uint32Array(nWords);
  let hashB = INIT_B;
  for (let i = 0; i < nWords; i++) {
    let v = (pool[i % POOL_SIZE] ^ hashB) >>> 0;
    hashB = Math.imul(hashB, MULT_B) >>> 0;
    v = Math.imul(v, hashB) >>> 0;
    out[i] = (v ^ (v >>> 16)) >>> 0;
  }
  return out;
}

/** PCG_DEFAULT_MULTIPLIER_128 = 0x2360ED051FC65DA4_4385DF649FCCF645, 16-bit limbs, least significant first. */
const MULTIPLIER = [0xf645, 0x9fcc, 0xdf64, 0x4385, 0x5da4, 0x1fc6, 0xed05, 0x2360];

/** 16-bit limbs of a 128-bit number given as two 64-bit halves, each as [high32, low32]. */
function limbs(hi64: readonly [number, number], lo64: readonly [number, number]): number[] {
  const words = [lo64[1], lo64[0], hi64[1], hi64[0]];
  return words.flatMap((w) => [w & 0xffff, w >>> 16]);
}

/**
 * numpy's `np.random.default_rng(seed)`: PCG64 seeded through SeedSequence. Only what resampling
 * needs: raw 32-bit draws and bounded integers, consumed in numpy's order.
 */
export class NumpyRandom {
  private readonly s = new Float64Array(8);
  private readonly inc = new Float64Array(8);
  private hasUint32 = false;
  private uinteger = 0;
  /** The last 64-bit output, [high32, low32]. */
  private outHi = 0;
  private outLo = 0;

  constructor(seed: number = SACREBLEU_SEED) {
    // PCG64.__init__ → _reset_state_variables + pcg64_set_seed(state = val[0:2], inc = val[2:4]),
    // val = generate_state(4, uint64); each uint64 is two uint32 words, low word first.
    const w = seedSequenceState(seed, 8);
    const u64 = (k: number): [number, number] => [w[2 * k + 1], w[2 * k]];
    const initState = limbs(u64(0), u64(1));
    const initSeq = limbs(u64(2), u64(3));
    // pcg_setseq_128_srandom_r: inc = (initseq << 1) | 1; state = 0; step; state += initstate; step.
    let carry = 1;
    for (let i = 0; i < 8; i++) {
      const v = initSeq[i] * 2 + carry;
      this.inc[i] = v & 0xffff;
      carry = v >>> 16;
    }
    this.s.fill(0);
    this.step();
    carry = 0;
    for (let i = 0; i < 8; i++) {
      const v = this.s[i] + initState[i] + carry;
      this.s[i] = v & 0xffff;
      carry = v >>> 16;
    }
    this.step();
  }

  /** state ← state · M + inc (mod 2^128). */
  private step(): void {
    const s = this.s;
    const m = MULTIPLIER;
    const inc = this.inc;
    const s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
    let t = s0 * m[0] + inc[0];
    let c = Math.floor(t / 65536);
    s[0] = t - c * 65536;
    t = s0 * m[1] + s1 * m[0] + inc[1] + c;
    c = Math.floor(t / 65536);
    s[1] = t - c * 65536;
    t = s0 * m[2] + s1 * m[1] + s2 * m[0] + inc[2] + c;
    c = Math.floor(t / 65536);
    s[2] = t - c * 65536;
    t = s0 * m[3] + s1 * m[2] + s2 * m[1] + s3 * m[0] + inc[3] + c;
    c = Math.floor(t / 65536);
    s[3] = t - c * 65536;
    t = s0 * m[4] + s1 * m[3] + s2 * m[2] + s3 * m[1] + s4 * m[0] + inc[4] + c;
    c = Math.floor(t / 65536);
    s[4] = t - c * 65536;
    t = s0 * m[5] + s1 * m[4] + s2 * m[3] + s3 * m[2] + s4 * m[1] + s5 * m[0] + inc[5] + c;
    c = Math.floor(t / 65536);
    s[5] = t - c * 65536;
    t = s0 * m[6] + s1 * m[5] + s2 * m[4] + s3 * m[3] + s4 * m[2] + s5 * m[1] + s6 * m[0] + inc[6] + c;
    c = Math.floor(t / 65536);
    s[6] = t - c * 65536;
    t = s0 * m[7] + s1 * m[6] + s2 * m[5] + s3 * m[4] + s4 * m[3] + s5 * m[2] + s6 * m[1] + s7 * m[0] + inc[7] + c;
    s[7] = t - Math.floor(t / 65536) * 65536;
  }

  /** pcg64_next64 (step, then XSL-RR output), kept in outHi/outLo. */
  private next64(): void {
    this.step();
    const s = this.s;
    const xh = ((s[7] * 65536 + s[6]) ^ (s[3] * 65536 + s[2])) >>> 0;
    const xl = ((s[5] * 65536 + s[4]) ^ (s[1] * 65536 + s[0])) >>> 0;
    const rot = s[7] >>> 10;
    if (rot === 0) {
      this.outHi = xh;
      this.outLo = xl;
    } else if (rot < 32) {
      this.outLo = ((xl >>> rot) | (xh << (32 - rot))) >>> 0;
      this.outHi = ((xh >>> rot) | (xl << (32 - rot))) >>> 0;
    } else if (rot === 32) {
      this.outLo = xh;
      this.outHi = xl;
    } else {
      const r = rot - 32;
      this.outLo = ((xh >>> r) | (xl << (32 - r))) >>> 0;
      this.outHi = ((xl >>> r) | (xh << (32 - r))) >>> 0;
    }
  }

  /** `bit_generator.random_raw()`: the next 64-bit output as [high32, low32] (does not touch the 32-bit buffer). */
  nextRaw64(): [number, number] {
    this.next64();
    return [this.outHi, this.outLo];
  }

  /** pcg64_next32: the low half of a fresh 64-bit output, its high half on the next call. */
  nextUint32(): number {
    if (this.hasUint32) {
      this.hasUint32 = false;
      return this.uinteger;
    }
    this.next64();
    this.hasUint32 = true;
    this.uinteger = this.outHi;
    return this.outLo;
  }

  /**
   * `integers(0, high)` for 1 ≤ high ≤ 2^32 (any integer dtype): numpy's bounded draw,
   * buffered_bounded_lemire_uint32 with rng = high − 1 (no draw when high is 1, a raw 32-bit
   * draw when high is 2^32).
   */
  integers(high: number): number {
    if (!Number.isInteger(high) || high < 1 || high > TWO32) throw new Error(`integers: high must be an integer in [1, 2^32], got ${high}`);
    if (high === 1) return 0;
    if (high === TWO32) return this.nextUint32();
    if (high <= SMALL_BOUND) return this.lemireSmall(high);
    // m = x · high (< 2^64) as bHigh · 2^32 + mid, every product below 2^53 (no float modulo: slow in V8).
    let x = this.nextUint32();
    let b = (x >>> 16) * high;
    let bHigh = Math.floor(b / 65536);
    let mid = (b - bHigh * 65536) * 65536 + (x & 0xffff) * high;
    let midHigh = Math.floor(mid / TWO32);
    let leftover = mid - midHigh * TWO32;
    if (leftover < high) {
      const threshold = (MASK32 - (high - 1)) % high;
      while (leftover < threshold) {
        x = this.nextUint32();
        b = (x >>> 16) * high;
        bHigh = Math.floor(b / 65536);
        mid = (b - bHigh * 65536) * 65536 + (x & 0xffff) * high;
        midHigh = Math.floor(mid / TWO32);
        leftover = mid - midHigh * TWO32;
      }
    }
    return bHigh + midHigh;
  }

  /** Lemire's draw for 2 ≤ high ≤ 2^21, where x · high < 2^53 is exact in a double. */
  private lemireSmall(high: number): number {
    let m = this.nextUint32() * high;
    let result = Math.floor(m / TWO32);
    let leftover = m - result * TWO32;
    if (leftover < high) {
      const threshold = (MASK32 - (high - 1)) % high;
      while (leftover < threshold) {
        m = this.nextUint32() * high;
        result = Math.floor(m / TWO32);
        leftover = m - result * TWO32;
      }
    }
    return result;
  }

  /**
   * `choice(n, size=count, replace=True)` flattened: `count` draws of integers(0, n) into `out`
   * (numpy's Generator.choice calls integers(0, pop_size, size=shape)).
   */
  fillIntegers(n: number, out: Int32Array): Int32Array {
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw new Error(`fillIntegers: n must be an integer in [1, 2^31), got ${n}`);
    if (n === 1) out.fill(0);
    else if (n <= SMALL_BOUND) for (let i = 0; i < out.length; i++) out[i] = this.lemireSmall(n);
    else for (let i = 0; i < out.length; i++) out[i] = this.integers(n);
    return out;
  }
}

/**
 * sacreBLEU's resample indices: `np.random.default_rng(seed).choice(n, size=(samples, n),
 * replace=True)` (sacrebleu/significance.py, _bootstrap_resample and _paired_bs_test), row-major:
 * resample s uses segments out[s·n … s·n + n − 1].
 */
export function bootstrapIndices(n: number, samples: number, seed: number = SACREBLEU_SEED): Int32Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`bootstrapIndices: need at least one segment, got ${n}`);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`bootstrapIndices: samples must be a positive integer, got ${samples}`);
  return new NumpyRandom(seed).fillIntegers(n, new Int32Array(n * samples));
}
