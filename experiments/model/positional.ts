/**
 * Position information (section 3.5 of the paper).
 */

/** Longest sequence a learned position table covers (source, and target including decoding). */
export const MAX_LEARNED_POSITIONS = 512;

/**
 * The sinusoidal table of section 3.5, [len, d] row-major:
 *   PE(pos, 2i)   = sin(pos / 10000^(2i/d))
 *   PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
 * Positions count from 0. Computed in float64, stored as float32.
 */
export function sinusoidalTable(len: number, d: number): Float32Array {
  const out = new Float32Array(len * d);
  for (let pos = 0; pos < len; pos++) {
    for (let j = 0; j < d; j++) {
      const twoI = j - (j % 2); // 2i for both members of the (sin, cos) pair
      const angle = pos / Math.pow(10000, twoI / d);
      out[pos * d + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return out;
}

/** Rows [from, from+len) of the sinusoidal table, memoised by width (decoding asks one row at a time). */
export class SinusoidCache {
  private table: Float32Array = new Float32Array(0);
  private rows = 0;
  constructor(private readonly d: number) {}

  rowsFrom(from: number, len: number): Float32Array {
    const need = from + len;
    if (need > this.rows) {
      this.rows = Math.max(need, this.rows * 2, 64);
      this.table = sinusoidalTable(this.rows, this.d);
    }
    return this.table.subarray(from * this.d, need * this.d);
  }
}
