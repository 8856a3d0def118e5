import { describe, expect, it } from 'vitest';
import { acquireGpu } from '../runtime/gpu';
import { columnSum, gpuTile, matmul, matmulAuto, type MatmulKernel, splitKFactor, subgroupKernelApplies, TILED128_MIN_GROUPS } from './matmul';
import { cpuMatmul, dot, expectClose, finiteDiff, randn } from '../../../test/support/fused';

// fp32 GPU sums of K ≤ 70 products of N(0,1) values against a float64 reference: |error| ≲ K·2^-24·Σ|a·b|,
// well under 1e-4 absolute for these sizes.
const ATOL = 1e-4;
const RTOL = 1e-5;

// Both kernels on shapes each can take: the vec4 kernel needs N, K, leading dimensions and offsets in
// multiples of 4 (and falls back to tiled otherwise, tested below); M stays ragged against the tiles (68 = 2·32 + 4 rows), and vec4's
// N = 68 leaves the second half of the last 8-column block past the edge.
type Case = MatmulKernel | 'tiled128 aligned';
const SHAPES: Record<Case, { M: number; N: number; K: number; wide: { ld: number; aOff: number; ldc: number; cOff: number; N: number; K: number } }> = {
  tiled: { M: 70, N: 67, K: 19, wide: { ld: 12, aOff: 3, ldc: 10, cOff: 2, N: 6, K: 7 } },
  // 140 rows = 128 + 12 and 133 columns = 128 + 5: ragged 128-tiles; K = 19 ends inside a k step of 8.
  // Rows of 19 and 133 floats are not whole vec4s: the scalar loads.
  tiled128: { M: 140, N: 133, K: 19, wide: { ld: 12, aOff: 3, ldc: 10, cOff: 2, N: 6, K: 7 } },
  // The same kernel where rows and offsets are whole vec4s (vec4 loads): 140 × 136, K = 20 ends half
  // way through a k step of 8; ragged 128-tiles in both directions.
  'tiled128 aligned': { M: 140, N: 136, K: 20, wide: { ld: 16, aOff: 4, ldc: 20, cOff: 8, N: 12, K: 8 } },
  vec4: { M: 68, N: 68, K: 20, wide: { ld: 16, aOff: 4, ldc: 20, cOff: 8, N: 12, K: 8 } },
  // 68 rows = 2·32 + 4 and 36 columns = 32 + 4: a ragged last block in both directions (its
  // invocations still load and broadcast A, and must not store); 12 columns leave lanes 3..7 idle.
  subgroup: { M: 68, N: 36, K: 20, wide: { ld: 16, aOff: 4, ldc: 20, cOff: 8, N: 12, K: 8 } },
};
const PIPELINE: Record<Case, RegExp> = { tiled: /^matmul$/, tiled128: /^matmul_tiled128$/, 'tiled128 aligned': /^matmul_tiled128_aligned$/, vec4: /^matmul_vec4$/, subgroup: /^matmul_subgroup_[nt][nt]$/ };
const kernelOf = (c: Case): MatmulKernel => (c === 'tiled128 aligned' ? 'tiled128' : c);

// The subgroup kernel needs an adapter with subgroups of ≥ 8 lanes (lavapipe, CI's adapter, has them):
// without one this fails here rather than testing the fallback twice.
it('the test adapter has subgroups of at least 8 lanes (the subgroup kernel is tested)', async () => {
  expect(subgroupKernelApplies(await acquireGpu())).toBe(true);
});

describe.each(['tiled', 'tiled128', 'tiled128 aligned', 'vec4', 'subgroup'] as const)('matmul kernel (%s)', (name) => {
  const kernel = kernelOf(name);
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`matches a float64 reference (transA ${transA}, transB ${transB}), ragged tiles`, async () => {
      const gpu = await acquireGpu();
      const { M, N, K } = SHAPES[name];
      const a = randn(M * K, 1);
      const b = randn(K * N, 2);
      const c = gpu.createBuffer('c', M * N * 4);
      const d = matmul(gpu, 'mm', { M, N, K, transA, transB, kernel }, { a: gpu.upload('a', a), b: gpu.upload('b', b), c });
      expect(d.pipeline.label.split('|')[0]).toMatch(PIPELINE[name]);
      await gpu.run([d]);
      expectClose(await gpu.read(c), cpuMatmul(a, b, M, N, K, transA, transB), ATOL, RTOL, 'C');
    });
  }

  it('applies bias, accumulate, ReLU and gate epilogues, with offsets and leading dimensions', async () => {
    const gpu = await acquireGpu();
    const M = 5;
    const { ld, aOff, ldc, cOff, N, K } = SHAPES[name].wide;
    // A sits in columns aOff..aOff+K of a [M, ld] matrix; C is written into columns cOff..cOff+N of a [M, ldc] one.
    const aWide = randn(M * ld, 3);
    const b = randn(K * N, 4);
    const bias = randn(N, 5);
    const c0 = randn(M * ldc, 6);
    const gate = randn(M * ldc, 7);
    const cBuf = gpu.upload('c', c0);
    const d = matmul(gpu, 'mm', { M, N, K, lda: ld, aOffset: aOff, ldc, cOffset: cOff, accumulate: true, relu: true, kernel },
      { a: gpu.upload('a', aWide), b: gpu.upload('b', b), c: cBuf, bias: gpu.upload('bias', bias), gate: gpu.upload('g', gate) });
    expect(d.pipeline.label.split('|')[0]).toMatch(PIPELINE[name]);
    await gpu.run([d]);
    const a = new Float64Array(M * K);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) a[m * K + k] = aWide[m * ld + aOff + k];
    const prod = cpuMatmul(a, b, M, N, K);
    const want = Float64Array.from(c0);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const i = m * ldc + cOff + n;
        const v = Math.max(c0[i] + prod[m * N + n] + bias[n], 0);
        want[i] = gate[i] > 0 ? v : 0;
      }
    }
    expectClose(await gpu.read(cBuf), want, ATOL, RTOL, 'C');
  });
});

describe('matmul kernel choice', () => {
  it('falls back to the tiled kernel where a vec4 load would straddle rows (N, K, ld or offset not a multiple of 4) or M needs too many workgroups', async () => {
    const gpu = await acquireGpu();
    const buf = { a: gpu.dummy, b: gpu.dummy, c: gpu.dummyOut };
    const label = (o: Parameters<typeof matmul>[2]) => matmul(gpu, 'mm', { ...o, kernel: 'vec4' }, buf).pipeline.label.split('|')[0];
    expect(label({ M: 7, N: 8, K: 8 })).toBe('matmul_vec4');
    expect(label({ M: 7, N: 6, K: 8 })).toBe('matmul');
    expect(label({ M: 7, N: 8, K: 6 })).toBe('matmul');
    expect(label({ M: 7, N: 8, K: 8, lda: 10 })).toBe('matmul');
    expect(label({ M: 7, N: 8, K: 8, bOffset: 2 })).toBe('matmul');
    expect(label({ M: 7, N: 8, K: 8, ldc: 12, cOffset: 4 })).toBe('matmul_vec4');
    expect(label({ M: 4 * 65535, N: 8, K: 8 })).toBe('matmul_vec4');
    expect(label({ M: 4 * 65535 + 1, N: 8, K: 8 })).toBe('matmul'); // one workgroup row per 4 rows: 65535 at most
  });

  it('the subgroup kernel falls back as the vec4 one does where a vec4 load would straddle rows', async () => {
    const gpu = await acquireGpu();
    const buf = { a: gpu.dummy, b: gpu.dummy, c: gpu.dummyOut };
    const label = (o: Parameters<typeof matmul>[2]) => matmul(gpu, 'mm', { ...o, kernel: 'subgroup' }, buf).pipeline.label.split('|')[0];
    expect(label({ M: 7, N: 8, K: 8 })).toBe('matmul_subgroup_nn');
    expect(label({ M: 8, N: 8, K: 8, transA: true, transB: true })).toBe('matmul_subgroup_tt');
    expect(label({ M: 7, N: 6, K: 8 })).toBe('matmul');
    expect(label({ M: 7, N: 8, K: 8, bOffset: 2 })).toBe('matmul');
  });

  it('the 128-tile kernel loads vec4s only where every stored row, offset and K range is whole vec4s', async () => {
    const gpu = await acquireGpu();
    const buf = { a: gpu.dummy, b: gpu.dummy, c: gpu.dummyOut };
    const label = (o: Parameters<typeof matmul>[2]) => matmul(gpu, 'mm', { ...o, kernel: 'tiled128' }, buf).pipeline.label.split('|')[0];
    expect(label({ M: 7, N: 8, K: 8 })).toBe('matmul_tiled128_aligned'); // A [M, K]: M is not a row length
    expect(label({ M: 7, N: 8, K: 8, transA: true })).toBe('matmul_tiled128'); // Aᵀ stored [K, M]: rows of 7
    expect(label({ M: 8, N: 6, K: 8 })).toBe('matmul_tiled128');
    expect(label({ M: 8, N: 6, K: 8, transB: true })).toBe('matmul_tiled128_aligned'); // Bᵀ stored [N, K]
    expect(label({ M: 8, N: 8, K: 6 })).toBe('matmul_tiled128');
    expect(label({ M: 8, N: 8, K: 8, lda: 10 })).toBe('matmul_tiled128');
    expect(label({ M: 8, N: 8, K: 8, bOffset: 2 })).toBe('matmul_tiled128');
    expect(label({ M: 8, N: 8, K: 8, ldc: 10, cOffset: 3 })).toBe('matmul_tiled128_aligned'); // C is stored by scalars
  });

  it('the gpu shape takes the 128-tile kernel only for products with enough 128-tiles to fill a GPU', () => {
    // the base model (25k-token batches): activations [25000 × 512] and the logits take it; a
    // weight gradient [512 × 512] split 4 ways over the tokens and config B's [1024 × 256] do not.
    expect(gpuTile(25_000, 512, 1)).toBe('tiled128');
    expect(gpuTile(25_000, 37_000, 1)).toBe('tiled128');
    expect(gpuTile(512, 512, 4)).toBe('tiled');
    expect(gpuTile(1024, 256, 1)).toBe('tiled');
    expect(Math.ceil(2048 / 128) ** 2 >= TILED128_MIN_GROUPS).toBe(gpuTile(2048, 2048, 1) === 'tiled128');
  });

  // Each pair sums every output in one invocation in K order: bit-identical products. [130 × 136]
  // leaves both 128-tiles ragged; [100 × 72] the subgroup kernel's 32 × 32 blocks.
  // [132 × 136 × 40] is whole vec4s everywhere (the 128-tile kernel's vec4 loads in all four
  // transpose cases); [130 × 136] has them except for Aᵀ's rows of 130.
  for (const [ref, other, [M, N, K], seed] of [['tiled', 'tiled128', [130, 136, 40], 41], ['tiled', 'tiled128', [132, 136, 40], 43], ['vec4', 'subgroup', [100, 72, 48], 31]] as const) {
    it(`the ${ref} and ${other} kernels sum each output in the same order: bit-identical products`, async () => {
      const gpu = await acquireGpu();
      for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const a = gpu.upload('a', Float32Array.from(randn(M * K, seed)));
        const b = gpu.upload('b', Float32Array.from(randn(K * N, seed + 1)));
        const out = [gpu.createBuffer('c_ref', M * N * 4), gpu.createBuffer('c_other', M * N * 4)];
        await gpu.run([ref, other].map((kernel, i) => matmul(gpu, 'mm', { M, N, K, transA, transB, kernel }, { a, b, c: out[i] })));
        expect(Array.from(await gpu.read(out[1])), `transA ${transA}, transB ${transB}`).toEqual(Array.from(await gpu.read(out[0])));
      }
    });
  }
});

describe('matmul backward', () => {
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

  for (const [shape, cols, kernel] of [['gpu', 70, 'colsum'], ['cpu', 72, 'colsum_vec4'], ['cpu', 70, 'colsum']] as const) {
    it(`column sums are exact in fixed order and accumulate (${shape} shape, ${cols} columns: ${kernel})`, async () => {
      const gpu = await acquireGpu();
      const rows = 37;
      const x = randn(rows * cols, 12);
      const out0 = randn(cols, 13);
      const out = gpu.upload('out', out0);
      const d = columnSum(gpu, 'cs', { rows, cols, accumulate: true, shape }, gpu.upload('x', x), out);
      expect(d.pipeline.label.split('|')[0]).toBe(kernel);
      await gpu.run([d]);
      const want = Float64Array.from(out0);
      for (let m = 0; m < rows; m++) for (let n = 0; n < cols; n++) want[n] += x[m * cols + n];
      expectClose(await gpu.read(out), want, 1e-5, 1e-6, 'colsum');
    });
  }
});

describe.each([['tiled', 30, 3], ['tiled128', 30, 3], ['tiled128 aligned', 32, 4], ['vec4', 32, 4], ['subgroup', 32, 4]] as const)('split-K matmul (%s)', (name, ldb, bOffset) => {
  const kernel = kernelOf(name);
  it('weight-gradient shapes (few output tiles, long K) split over K and sum in fixed order, with accumulate and strided B', async () => {
    const gpu = await acquireGpu();
    const [M, N, K] = [20, 24, 5000]; // one output tile, K = 5000 rows (a large batch's tokens)
    expect(splitKFactor(M, N, K)).toBeGreaterThan(1);
    expect(splitKFactor(640, 640, 5000)).toBe(3); // 100 tiles: split in 3
    expect(splitKFactor(2048, 2048, 5000)).toBe(1); // 1024 tiles: enough parallelism already
    expect(splitKFactor(64, 64, 1000)).toBe(1); // short K
    const a = randn(K * M, 21); // Aᵀ: A stored [K, M]
    // B is columns bOffset..bOffset+N of a [K, ldb] matrix
    const bWide = randn(K * ldb, 22);
    const c0 = randn(M * N, 23);
    const c = gpu.upload('c', c0);
    const ds = matmulAuto(gpu, 'dw', { M, N, K, transA: true, ldb, bOffset, accumulate: true, kernel }, { a: gpu.upload('a', a), b: gpu.upload('b', bWide), c, scratch: gpu.createBuffer('scratch', splitKFactor(M, N, K) * M * N * 4) });
    expect(ds.length).toBe(2);
    expect(ds[0].pipeline.label.split('|')[0]).toMatch(PIPELINE[name]);
    await gpu.run(ds);
    const b = new Float64Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) b[k * N + n] = bWide[k * ldb + bOffset + n];
    const want = cpuMatmul(a, b, M, N, K, true).map((v, i) => v + c0[i]);
    // K = 5000 products of N(0,1): sums of size ~70; float32 rounding ~5000·2^-24·70 ≈ 2e-2 worst case,
    // ~1e-4 typical (random-walk): 2e-3 absolute + 1e-5 relative.
    expectClose(await gpu.read(c), want, 2e-3, 1e-5, 'C');
  });
});
