import { describe, expect, it } from 'vitest';
import { acquireGpu, type Dispatch, type KernelShape } from '../runtime/gpu';
import { dropoutScale, StepParams } from './common';
import { LAYER_NORM_EPS, normPartialBlocks, residualNormBackward, residualNormForward } from './layernorm';
import { dot, expectClose, finiteDiff, randn } from '../../../test/support/fused';

const SEED = 1234;
const STEP = 7;
const SITE = 3;

/** Float64 reference: s = x + dropout(f), y = LayerNorm(s). */
function cpuForward(x: ArrayLike<number>, f: ArrayLike<number> | null, gamma: ArrayLike<number>, beta: ArrayLike<number>, rows: number, d: number, p: number) {
  const s = new Float64Array(rows * d);
  const y = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let c = 0; c < d; c++) {
      const i = r * d + c;
      s[i] = x[i] + (f ? f[i] * dropoutScale(SEED, STEP, SITE, i, p) : 0);
      mean += s[i] / d;
    }
    let variance = 0;
    for (let c = 0; c < d; c++) variance += (s[r * d + c] - mean) ** 2 / d;
    const rstd = 1 / Math.sqrt(variance + LAYER_NORM_EPS);
    for (let c = 0; c < d; c++) y[r * d + c] = (s[r * d + c] - mean) * rstd * gamma[c] + beta[c];
  }
  return { s, y };
}

// Both kernel shapes (runtime/gpu.ts KernelShape): \`gpu\` with d = 70 (more than one workgroup of 64
// threads per row), \`cpu\` with d = 72 (its rows are whole vec4s); 19 rows are two backward blocks.
const D: Record<KernelShape, number> = { gpu: 70, cpu: 72 };
const kernelOf = (d: Dispatch) => d.pipeline.label.split('|')[0];

describe.each(['gpu', 'cpu'] as const)('fused residual + dropout + LayerNorm (%s shape)', (shape) => {
  for (const p of [0, 0.3]) {
    it(`forward matches a float64 reference and the backward matches finite differences (dropout ${p}, d = ${D[shape]})`, async () => {
      const gpu = await acquireGpu();
      const [rows, d] = [19, D[shape]];
      const x = randn(rows * d, 1);
      const f = randn(rows * d, 2);
      const gamma = randn(d, 3, 0.5).map((v) => v + 1);
      const beta = randn(d, 4, 0.5);
      const ry = randn(rows * d, 5); // loss = Σ ry ⊙ y + Σ rs ⊙ s (s continues as a residual stream: dres = rs)
      const rs = randn(rows * d, 6);
      const stepParams = new StepParams(gpu);
      stepParams.set({ step: STEP, seed: SEED, stepSize: 0, invBias2: 0, tokenScale: 0 });
      const B = (name: string, n: number) => gpu.createBuffer(name, n * 4);
      const [sB, yB, stats, ds, df] = [B('s', rows * d), B('y', rows * d), B('stats', rows * 2), B('ds', rows * d), B('df', rows * d)];
      const partial = B('partial', normPartialBlocks(rows) * 2 * d);
      const dgb = B('dgb', 2 * d);
      const gammaB = gpu.upload('gamma', Float32Array.from([...gamma, ...beta]));
      const dispatches = [
        residualNormForward(gpu, 'fwd', { rows, d, p, site: SITE, shape }, stepParams.buffer, { x: gpu.upload('x', x), f: gpu.upload('f', f), s: sB, y: yB, stats, gammaBeta: gammaB }),
        ...residualNormBackward(gpu, 'bwd', { rows, d, p, site: SITE, hasF: true, shape }, stepParams.buffer, {
          dy: gpu.upload('dy', ry), s: sB, stats, gammaBeta: gammaB, dres: gpu.upload('dres', rs), ds, df: p > 0 ? df : undefined, partial, dGammaBeta: dgb,
        }),
      ];
      expect(dispatches.map(kernelOf)).toEqual(shape === 'cpu' ? ['residual_ln_fwd_rows', 'residual_ln_bwd_rows', 'colsum_vec4'] : ['residual_ln_fwd', 'residual_ln_bwd', 'colsum']);
      await gpu.run(dispatches);
      const want = cpuForward(x, f, gamma, beta, rows, d, p);
      // fp32 sums over d ≈ 70 of O(1) values: ~1e-6 relative; LayerNorm divides by σ ≈ 1.4.
      expectClose(await gpu.read(sB), want.s, 1e-6, 1e-6, 's');
      expectClose(await gpu.read(yB), want.y, 2e-5, 1e-5, 'y');
      const loss = (xv: ArrayLike<number>, fv: ArrayLike<number>, gv: ArrayLike<number>, bv: ArrayLike<number>) => {
        const o = cpuForward(xv, fv, gv, bv, rows, d, p);
        return dot(ry, o.y) + dot(rs, o.s);
      };
      // Central differences in float64 (h = 1e-5): truncation ~h²·|f'''| ≈ 1e-10; fp32 GPU gradients
      // carry ~1e-6 relative error, so 1e-4 absolute + 1e-4 relative leaves a wide margin yet catches
      // any wrong term (each is O(0.1–1)).
      const coords = Array.from({ length: 120 }, (_, i) => (i * 11) % (rows * d)); // a spread of elements
      const dx = finiteDiff((v) => loss(v, f, gamma, beta), x, 1e-5, coords);
      const gotDs = await gpu.read(ds);
      expectClose(coords.map((i) => gotDs[i]), coords.map((i) => dx[i]), 1e-4, 1e-4, 'ds (= dx)');
      const dfWant = finiteDiff((v) => loss(x, v, gamma, beta), f, 1e-5, coords);
      const gotDf = p > 0 ? await gpu.read(df) : gotDs;
      expectClose(coords.map((i) => gotDf[i]), coords.map((i) => dfWant[i]), 1e-4, 1e-4, 'df');
      const dg = finiteDiff((v) => loss(x, f, v, beta), gamma);
      const db = finiteDiff((v) => loss(x, f, gamma, v), beta);
      const gotGb = await gpu.read(dgb);
      expectClose(gotGb.subarray(0, d), dg, 1e-4, 1e-4, 'dgamma');
      expectClose(gotGb.subarray(d, 2 * d), db, 1e-4, 1e-4, 'dbeta');
    });
  }

  it('normalizes more rows than one dispatch dimension holds (65,535 workgroups), the last ones too', async () => {
    // The gpu shape runs a workgroup per row: past 65,535 rows (a batch of ~65k tokens) its grid is 2-D.
    const gpu = await acquireGpu();
    const [rows, d] = [65_600, 4];
    const x = randn(rows * d, 21, 2);
    const gamma = Float32Array.from([1.5, 0.5, 1, 2]);
    const beta = Float32Array.from([0.1, -0.2, 0, 0.3]);
    const stepParams = new StepParams(gpu);
    stepParams.set({ step: STEP, seed: SEED, stepSize: 0, invBias2: 0, tokenScale: 0 });
    const yB = gpu.createBuffer('y', rows * d * 4);
    const fwd = residualNormForward(gpu, 'fwd', { rows, d, shape }, stepParams.buffer, { x: gpu.upload('x', x), y: yB, stats: gpu.createBuffer('stats', rows * 8), gammaBeta: gpu.upload('g', Float32Array.from([...gamma, ...beta])) });
    expect(Math.max(...fwd.groups)).toBeLessThanOrEqual(65_535);
    await gpu.run([fwd]);
    expectClose(await gpu.read(yB), cpuForward(x, null, gamma, beta, rows, d, 0).y, 2e-5, 1e-5, 'y');
  });

  it('normalizes x alone (no f: the pre-norm first sub-layer) and its backward without dres', async () => {
    const gpu = await acquireGpu();
    const [rows, d] = [5, 16]; // whole vec4s: both shapes apply
    const x = randn(rows * d, 11, 3);
    const gamma = randn(d, 12).map((v) => v + 1);
    const beta = randn(d, 13);
    const ry = randn(rows * d, 14);
    const stepParams = new StepParams(gpu);
    stepParams.set({ step: STEP, seed: SEED, stepSize: 0, invBias2: 0, tokenScale: 0 });
    const xB = gpu.upload('x', x);
    const yB = gpu.createBuffer('y', rows * d * 4);
    const stats = gpu.createBuffer('stats', rows * 8);
    const ds = gpu.createBuffer('ds', rows * d * 4);
    const dgb = gpu.createBuffer('dgb', 2 * d * 4);
    const gammaB = gpu.upload('g', Float32Array.from([...gamma, ...beta]));
    await gpu.run([
      residualNormForward(gpu, 'fwd', { rows, d, shape }, stepParams.buffer, { x: xB, y: yB, stats, gammaBeta: gammaB }),
      ...residualNormBackward(gpu, 'bwd', { rows, d, hasF: false, shape }, stepParams.buffer, {
        dy: gpu.upload('dy', ry), s: xB, stats, gammaBeta: gammaB, ds, partial: gpu.createBuffer('p', normPartialBlocks(rows) * 2 * d * 4), dGammaBeta: dgb,
      }),
    ]);
    expectClose(await gpu.read(yB), cpuForward(x, null, gamma, beta, rows, d, 0).y, 2e-5, 1e-5, 'y');
    const loss = (xv: ArrayLike<number>) => dot(ry, cpuForward(xv, null, gamma, beta, rows, d, 0).y);
    expectClose(await gpu.read(ds), finiteDiff(loss, x), 1e-4, 1e-4, 'dx');
  });

  it('GPU dropout masks equal the JS mirror of the hash RNG, keep about 1 − p, and change with step and site', async () => {
    const gpu = await acquireGpu();
    const [rows, d, p] = [64, 64, 0.25];
    const ones = new Float32Array(rows * d).fill(1);
    const stepParams = new StepParams(gpu);
    const masks: Float32Array[] = [];
    for (const [step, site] of [[7, 3], [8, 3], [7, 4]]) {
      stepParams.set({ step, seed: SEED, stepSize: 0, invBias2: 0, tokenScale: 0 });
      const s = gpu.createBuffer('s', rows * d * 4);
      const g = gpu.upload('g', Float32Array.from({ length: 2 * d }, (_, i) => (i < d ? 1 : 0)));
      await gpu.run([residualNormForward(gpu, 'drop', { rows, d, p, site, shape }, stepParams.buffer, {
        x: gpu.upload('x', new Float32Array(rows * d)), f: gpu.upload('f', ones), s, y: gpu.createBuffer('y', rows * d * 4), stats: gpu.createBuffer('st', rows * 8), gammaBeta: g,
      })]);
      const got = await gpu.read(s);
      const want = Array.from({ length: rows * d }, (_, i) => Math.fround(dropoutScale(SEED, step, site, i, p)));
      expect(Array.from(got.subarray(0, rows * d))).toEqual(want);
      masks.push(got);
    }
    const kept = masks[0].reduce((n, v) => n + (v > 0 ? 1 : 0), 0) / (rows * d);
    // 4096 Bernoulli(0.75) draws: standard deviation 0.0068; 0.03 is > 4σ.
    expect(Math.abs(kept - (1 - p))).toBeLessThan(0.03);
    const differ = (a: Float32Array, b: Float32Array) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);
    expect(differ(masks[0], masks[1])).toBeGreaterThan(rows * d * 0.2);
    expect(differ(masks[0], masks[2])).toBeGreaterThan(rows * d * 0.2);
  });
});
