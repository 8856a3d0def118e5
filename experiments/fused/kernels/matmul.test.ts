import { describe, expect, it } from 'vitest';
import { acquireGpu } from '../runtime/gpu';
import { columnSum, matmul, matmulAuto, splitKFactor } from './matmul';
import { cpuMatmul, dot, expectClose, finiteDiff, randn } from '../../../test/support/fused';

// fp32 GPU sums of K ≤ 70 products of N(0,1) values against a float64 reference: |error| ≲ K·2^-24·Σ|a·b|,
// well under 1e-4 absolute for these sizes.
const ATOL = 1e-4;
const RTOL = 1e-5;

describe('matmul kernel', () => {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`matches a float64 reference (transA ${transA}, transB ${transB}), ragged tiles`, async () => {
      const gpu = await acquireGpu();
      const [M, N, K] = [70, 67, 19];
      const a = randn(M * K, 1);
      const b = randn(K * N, 2);
      const c = gpu.createBuffer('c', M * N * 4);
      const d = matmul(gpu, 'mm', { M, N, K, transA, transB }, { a: gpu.upload('a', a), b: gpu.upload('b', b), c });
      await gpu.run([d]);
      expectClose(await gpu.read(c), cpuMatmul(a, b, M, N, K, transA, transB), ATOL, RTOL, 'C');
    });
  }

  it('applies bias, accumulate, ReLU and gate epilogues, with offsets and leading dimensions', async () => {
    const gpu = await acquireGpu();
    const [M, N, K] = [5, 6, 7];
    // A sits in columns 3..9 of a [M, 12] matrix; C is written into columns 2..7 of a [M, 10] one.
    const aWide = randn(M * 12, 3);
    const b = randn(K * N, 4);
    const bias = randn(N, 5);
    const c0 = randn(M * 10, 6);
    const gate = randn(M * 10, 7);
    const cBuf = gpu.upload('c', c0);
    const d = matmul(gpu, 'mm', { M, N, K, lda: 12, aOffset: 3, ldc: 10, cOffset: 2, accumulate: true, relu: true },
      { a: gpu.upload('a', aWide), b: gpu.upload('b', b), c: cBuf, bias: gpu.upload('bias', bias), gate: gpu.upload('g', gate) });
    await gpu.run([d]);
    const a = new Float64Array(M * K);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) a[m * K + k] = aWide[m * 12 + 3 + k];
    const prod = cpuMatmul(a, b, M, N, K);
    const want = Float64Array.from(c0);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const i = m * 10 + 2 + n;
        const v = Math.max(c0[i] + prod[m * N + n] + bias[n], 0);
        want[i] = gate[i] > 0 ? v : 0;
      }
    }
    expectClose(await gpu.read(cBuf), want, ATOL, RTOL, 'C');
  });

  it('gives the FFN gradients of eq. (2) (ReLU gate epilogue, transposed products, dbias) matching finite differences', async () => {
    const gpu = await acquireGpu();
    const [M, D, F] = [9, 6, 11]; // rows, d_model, d_ff
    const x = randn(M * D, 8);
    const w1 = randn(D * F, 9, 0.5);
    const b1 = randn(F, 10, 0.5);
    const w2 = randn(F * D, 11, 0.5);
    const r = randn(M * D, 12); // loss = Σ r ⊙ FFN(x), so dY = r
    const loss = (xv: ArrayLike<number>, w1v: ArrayLike<number>, b1v: ArrayLike<number>, w2v: ArrayLike<number>) => {
      const h = cpuMatmul(xv, w1v, M, F, D).map((v, i) => Math.max(v + b1v[i % F], 0));
      return dot(r, cpuMatmul(h, w2v, M, D, F));
    };
    const [xB, w1B, w2B, dyB] = [gpu.upload('x', x), gpu.upload('w1', w1), gpu.upload('w2', w2), gpu.upload('dy', r)];
    const h = gpu.createBuffer('h', M * F * 4);
    const y = gpu.createBuffer('y', M * D * 4);
    const dh = gpu.createBuffer('dh', M * F * 4);
    const dx = gpu.createBuffer('dx', M * D * 4);
    const dw1 = gpu.createBuffer('dw1', D * F * 4);
    const dw2 = gpu.createBuffer('dw2', F * D * 4);
    const db1 = gpu.createBuffer('db1', F * 4);
    await gpu.run([
      matmul(gpu, 'ffn1', { M, N: F, K: D, relu: true }, { a: xB, b: w1B, c: h, bias: gpu.upload('b1', b1) }),
      matmul(gpu, 'ffn2', { M, N: D, K: F }, { a: h, b: w2B, c: y }),
      matmul(gpu, 'dh', { M, N: F, K: D, transB: true }, { a: dyB, b: w2B, c: dh, gate: h }),
      matmul(gpu, 'dw2', { M: F, N: D, K: M, transA: true }, { a: h, b: dyB, c: dw2 }),
      matmul(gpu, 'dx', { M, N: D, K: F, transB: true }, { a: dh, b: w1B, c: dx }),
      matmul(gpu, 'dw1', { M: D, N: F, K: M, transA: true }, { a: xB, b: dh, c: dw1 }),
      columnSum(gpu, 'db1', { rows: M, cols: F }, dh, db1),
    ]);
    // float32 GPU products vs float64 central differences (h = 1e-5, exact for the piecewise-linear
    // loss away from ReLU kinks; inputs are generic so no pre-activation sits within 1e-5 of 0).
    expectClose(await gpu.read(dx), finiteDiff((v) => loss(v, w1, b1, w2), x), 1e-4, 1e-4, 'dX');
    expectClose(await gpu.read(dw1), finiteDiff((v) => loss(x, v, b1, w2), w1), 1e-4, 1e-4, 'dW1');
    expectClose(await gpu.read(db1), finiteDiff((v) => loss(x, w1, v, w2), b1), 1e-4, 1e-4, 'db1');
    expectClose(await gpu.read(dw2), finiteDiff((v) => loss(x, w1, b1, v), w2), 1e-4, 1e-4, 'dW2');
  });

  it('column sums are exact in fixed order and accumulate', async () => {
    const gpu = await acquireGpu();
    const [rows, cols] = [37, 70];
    const x = randn(rows * cols, 12);
    const out0 = randn(cols, 13);
    const out = gpu.upload('out', out0);
    await gpu.run([columnSum(gpu, 'cs', { rows, cols, accumulate: true }, gpu.upload('x', x), out)]);
    const want = Float64Array.from(out0);
    for (let m = 0; m < rows; m++) for (let n = 0; n < cols; n++) want[n] += x[m * cols + n];
    expectClose(await gpu.read(out), want, 1e-5, 1e-6, 'colsum');
  });
});

describe('split-K matmul', () => {
  it('weight-gradient shapes (few output tiles, long K) split over K and sum in fixed order, with accumulate and strided B', async () => {
    const gpu = await acquireGpu();
    const [M, N, K] = [20, 24, 5000]; // one output tile, K = 5000 rows (a large batch's tokens)
    expect(splitKFactor(M, N, K)).toBeGreaterThan(1);
    expect(splitKFactor(640, 640, 5000)).toBe(3); // 100 tiles: split in 3
    expect(splitKFactor(2048, 2048, 5000)).toBe(1); // 1024 tiles: enough parallelism already
    expect(splitKFactor(64, 64, 1000)).toBe(1); // short K
    const a = randn(K * M, 21); // Aᵀ: A stored [K, M]
    const ldb = 30; // B is columns 3..26 of a [K, 30] matrix
    const bWide = randn(K * ldb, 22);
    const c0 = randn(M * N, 23);
    const c = gpu.upload('c', c0);
    const ds = matmulAuto(gpu, 'dw', { M, N, K, transA: true, ldb, bOffset: 3, accumulate: true }, { a: gpu.upload('a', a), b: gpu.upload('b', bWide), c, scratch: gpu.createBuffer('scratch', splitKFactor(M, N, K) * M * N * 4) });
    expect(ds.length).toBe(2);
    await gpu.run(ds);
    const b = new Float64Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) b[k * N + n] = bWide[k * ldb + 3 + n];
    const want = cpuMatmul(a, b, M, N, K, true).map((v, i) => v + c0[i]);
    // K = 5000 products of N(0,1): sums of size ~70; float32 rounding ~5000·2^-24·70 ≈ 2e-2 worst case,
    // ~1e-4 typical (random-walk): 2e-3 absolute + 1e-5 relative.
    expectClose(await gpu.read(c), want, 2e-3, 1e-5, 'C');
  });
});
