/**
 * Test helpers for the fused kernels: deterministic random inputs, float64 CPU references, central
 * finite differences, and a closeness check that reports the worst element.
 */
import { expect } from 'vitest';
import { mulberry32 } from '../../experiments/seeding';

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

/** Asserts |got − want| ≤ atol + rtol·|want| element-wise, naming the worst element on failure. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = 0, what = 'value'): void {
  expect(got.length, `${what}: length`).toBeGreaterThanOrEqual(want.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) expect.fail(`${what}[${worst}]: got ${got[worst]}, want ${want[worst]} (atol ${atol}, rtol ${rtol})`);
}

/** Float64 C = op(A)·op(B); a is [M,K] or [K,M] (transA), b is [K,N] or [N,K] (transB). */
export function cpuMatmul(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, transA = false, transB = false): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (transA ? a[k * M + m] : a[m * K + k]) * (transB ? b[n * K + k] : b[k * N + n]);
      c[m * N + n] = s;
    }
  }
  return c;
}

/**
 * Central finite differences of a float64 scalar function f at x along every coordinate listed
 * (all by default): (f(x + h·e_i) − f(x − h·e_i)) / 2h. With float64 and h = 1e-5 the error is
 * ~1e-10·|f'''| + 1e-16·|f|/h, far below the float32 tolerances the tests use.
 */
export function finiteDiff(f: (x: Float64Array) => number, x0: ArrayLike<number>, h = 1e-5, coords?: readonly number[]): Float64Array {
  const x = Float64Array.from(x0);
  const g = new Float64Array(x.length);
  for (const i of coords ?? x.keys()) {
    const keep = x[i];
    x[i] = keep + h;
    const up = f(x);
    x[i] = keep - h;
    const down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += a[i] * b[i];
  return s;
}
