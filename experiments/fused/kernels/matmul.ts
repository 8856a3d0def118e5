/// <reference types="@webgpu/types" />
/**
 * Tiled fp32 matrix product with transpose flags and epilogues: every linear map of the model
 * (§3.2.2 projections W^Q, W^K, W^V, W^O; §3.3 eq. (2) FFN; §3.4 the pre-softmax linear map) and the
 * products of their backward passes.
 *
 *   C[M, N] (+)= op(A)[M, K] · op(B)[K, N]  (+ bias[N])  then ReLU, then gate
 *
 * Buffers (row-major, each with a leading dimension and an element offset, so a product can read or
 * write a column block of a wider matrix, e.g. Q/K/V inside one fused [rows, 3·h·d_k] buffer):
 *   a     op(A) = A [M, K] (lda ≥ K), or Aᵀ where A is [K, M] (lda ≥ M) with transA
 *   b     op(B) = B [K, N] (ldb ≥ N), or Bᵀ where B is [N, K] (ldb ≥ K) with transB
 *   c     [M, N] (ldc ≥ N); read too when `accumulate` (C += A·B: gradient accumulation)
 *   bias  [N]                      (epilogue `bias`)
 *   gate  [M, N] laid out like c   (epilogue `gate`: C = gate > 0 ? C : 0, ReLU's backward)
 * 64×64 output tile per workgroup of 16×16 threads, 4×4 outputs per thread, K in steps of 16.
 * Each output is summed in one thread in K order: deterministic.
 *
 * `columnSum` is the bias gradient: out[N] (+)= Σ_m x[m, N], a fixed-order reduction (no atomics).
 */
import { type Binding, type Dispatch, type Gpu, packUniform } from '../runtime/gpu';

const MATMUL_WGSL = /* wgsl */ `
// Flags are uniform bits, not override constants: one pipeline serves every product (pipeline
// compilation is seconds on lavapipe), and the branches are uniform so they cost nothing per element.
const F_TA = 1u; const F_TB = 2u; const F_BIAS = 4u; const F_RELU = 8u; const F_ACCUM = 16u; const F_GATE = 32u;
// Split-K: workgroup z sums k in [z·k_chunk, (z+1)·k_chunk) and writes its partial product at
// c_off + z·split_stride (k_chunk = K and one z without split).
struct U { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, a_off: u32, b_off: u32, c_off: u32, flags: u32, k_chunk: u32, split_stride: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> gate: array<f32>;
var<workgroup> As: array<array<f32, 17>, 64>; // [m][k], padded
var<workgroup> Bs: array<array<f32, 64>, 16>; // [k][n]

fn load_a(m: u32, k: u32, kend: u32) -> f32 {
  if (m >= u.M || k >= kend) { return 0.0; }
  if ((u.flags & F_TA) != 0u) { return a[u.a_off + k * u.lda + m]; }
  return a[u.a_off + m * u.lda + k];
}
fn load_b(k: u32, n: u32, kend: u32) -> f32 {
  if (k >= kend || n >= u.N) { return 0.0; }
  if ((u.flags & F_TB) != 0u) { return b[u.b_off + n * u.ldb + k]; }
  return b[u.b_off + k * u.ldb + n];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m0 = wid.y * 64u;
  let n0 = wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, 4>;
  for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { acc[i][j] = 0.0; } }
  let kbeg = wid.z * u.k_chunk;
  let kend = min(u.K, kbeg + u.k_chunk);
  for (var k0 = kbeg; k0 < kend; k0 += 16u) {
    for (var e = t; e < 1024u; e += 256u) {
      // A tile 64×16: e → (m, k); B tile 16×64: e → (k, n)
      As[e / 16u][e % 16u] = load_a(m0 + e / 16u, k0 + e % 16u, kend);
      Bs[e / 64u][e % 64u] = load_b(k0 + e / 64u, n0 + e % 64u, kend);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var bv: array<f32, 4>;
      for (var j = 0u; j < 4u; j++) { bv[j] = Bs[kk][lid.x + 16u * j]; }
      for (var i = 0u; i < 4u; i++) {
        let av = As[lid.y + 16u * i][kk];
        for (var j = 0u; j < 4u; j++) { acc[i][j] = acc[i][j] + av * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + lid.y + 16u * i;
      let n = n0 + lid.x + 16u * j;
      if (m < u.M && n < u.N) {
        let ci = u.c_off + wid.z * u.split_stride + m * u.ldc + n;
        var v = acc[i][j];
        if ((u.flags & F_BIAS) != 0u) { v = v + bias[n]; }
        if ((u.flags & F_ACCUM) != 0u) { v = c[ci] + v; }
        if ((u.flags & F_RELU) != 0u) { v = max(v, 0.0); }
        if ((u.flags & F_GATE) != 0u) { v = select(0.0, v, gate[ci] > 0.0); }
        c[ci] = v;
      }
    }
  }
}
`;

export interface MatmulOptions {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA?: boolean;
  readonly transB?: boolean;
  /** Leading dimensions (default: the dense width of the stored matrix). */
  readonly lda?: number;
  readonly ldb?: number;
  readonly ldc?: number;
  /** Element offsets into a, b, c (and gate, which shares c's layout). */
  readonly aOffset?: number;
  readonly bOffset?: number;
  readonly cOffset?: number;
  readonly accumulate?: boolean;
  readonly relu?: boolean;
}

export interface MatmulBuffers {
  readonly a: Binding;
  readonly b: Binding;
  readonly c: Binding;
  readonly bias?: Binding;
  readonly gate?: Binding;
}

/** Builds (once) the dispatch for C (+)= op(A)·op(B) (+ bias) (ReLU) (gate). */
export function matmul(gpu: Gpu, label: string, o: MatmulOptions, buf: MatmulBuffers): Dispatch {
  const lda = o.lda ?? (o.transA ? o.M : o.K);
  const ldb = o.ldb ?? (o.transB ? o.K : o.N);
  const ldc = o.ldc ?? o.N;
  const pipeline = gpu.pipeline('matmul', MATMUL_WGSL);
  const flags = (o.transA ? 1 : 0) | (o.transB ? 2 : 0) | (buf.bias ? 4 : 0) | (o.relu ? 8 : 0) | (o.accumulate ? 16 : 0) | (buf.gate ? 32 : 0);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.M], ['u32', o.N], ['u32', o.K], ['u32', lda], ['u32', ldb], ['u32', ldc],
    ['u32', o.aOffset ?? 0], ['u32', o.bOffset ?? 0], ['u32', o.cOffset ?? 0], ['u32', flags], ['u32', o.K], ['u32', 0],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.a, buf.b, buf.c, buf.bias ?? gpu.dummy, buf.gate ?? gpu.dummy]);
  return { label, pipeline, bindGroup, groups: [Math.ceil(o.N / 64), Math.ceil(o.M / 64), 1] };
}

/**
 * Split-K policy. A weight gradient Xᵀ·dY has K = tokens in the batch: with few 64×64 output tiles
 * and a long K (the paper's base model: 512×512 outputs, 64 tiles, over K = 25,000 tokens) each
 * workgroup would loop over all of K while most of a GPU's ~100+ SMs idle. Split only then: on the
 * bench configs A and B (K ≤ 1024) one workgroup's K loop is ~10 µs of GPU time, less than the extra
 * dispatch of the split's sum.
 */
export const SPLIT_K_MAX_TILES = 128;
export const SPLIT_K_MIN_K = 4096;
export const SPLIT_K_MIN_CHUNK = 1024;

/** How many K-chunks `matmulAuto` uses for this shape (1: no split). */
export function splitKFactor(M: number, N: number, K: number, minK = SPLIT_K_MIN_K): number {
  const tiles = Math.ceil(M / 64) * Math.ceil(N / 64);
  if (tiles >= SPLIT_K_MAX_TILES || K < minK) return 1;
  const minChunk = Math.min(SPLIT_K_MIN_CHUNK, Math.max(4, Math.floor(minK / 4)));
  return Math.max(1, Math.min(Math.ceil((2 * SPLIT_K_MAX_TILES) / tiles), Math.floor(K / minChunk)));
}

/**
 * C (+)= op(A)·op(B) with split-K when the output has few tiles: [partial products into `scratch`
 * ([split, M, N]), their fixed-order sum into C]. Epilogues (bias, ReLU, gate) and a strided C are
 * not supported on the split path (weight gradients need none). Falls back to one `matmul` dispatch.
 * `scratch` needs splitKFactor(M, N, K, splitMinK)·M·N floats. `splitMinK` lowers the K threshold (tests).
 */
export function matmulAuto(gpu: Gpu, label: string, o: MatmulOptions & { splitMinK?: number }, buf: MatmulBuffers & { scratch?: Binding }): Dispatch[] {
  const split = buf.scratch ? splitKFactor(o.M, o.N, o.K, o.splitMinK) : 1;
  if (split === 1 || buf.bias || buf.gate || o.relu || (o.ldc !== undefined && o.ldc !== o.N) || o.cOffset) return [matmul(gpu, label, o, buf)];
  const lda = o.lda ?? (o.transA ? o.M : o.K);
  const ldb = o.ldb ?? (o.transB ? o.K : o.N);
  const chunk = Math.ceil(o.K / split / 16) * 16;
  const pipeline = gpu.pipeline('matmul', MATMUL_WGSL);
  const flags = (o.transA ? 1 : 0) | (o.transB ? 2 : 0);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.M], ['u32', o.N], ['u32', o.K], ['u32', lda], ['u32', ldb], ['u32', o.N],
    ['u32', o.aOffset ?? 0], ['u32', o.bOffset ?? 0], ['u32', 0], ['u32', flags], ['u32', chunk], ['u32', o.M * o.N],
  ]));
  const bindGroup = gpu.bindGroup(`${label}/split`, pipeline, [{ buffer: uniform }, buf.a, buf.b, buf.scratch!, gpu.dummy, gpu.dummy]);
  const parts = Math.ceil(o.K / chunk);
  return [
    { label: `${label}/split`, pipeline, bindGroup, groups: [Math.ceil(o.N / 64), Math.ceil(o.M / 64), parts] },
    columnSum(gpu, `${label}/split_sum`, { rows: parts, cols: o.M * o.N, accumulate: o.accumulate }, buf.scratch!, buf.c),
  ];
}

const COLSUM_WGSL = /* wgsl */ `
struct U { rows: u32, cols: u32, ld: u32, off: u32, accum: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> part: array<array<f32, 64>, 4>;
@compute @workgroup_size(64, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wid.x * 64u + lid.x;
  var s = 0.0;
  if (n < u.cols) {
    for (var m = lid.y; m < u.rows; m += 4u) { s = s + x[u.off + m * u.ld + n]; }
  }
  part[lid.y][lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && n < u.cols) {
    var v = ((part[0][lid.x] + part[1][lid.x]) + part[2][lid.x]) + part[3][lid.x];
    if (u.accum != 0u) { v = out[n] + v; }
    out[n] = v;
  }
}
`;

/**
 * out[cols] (+)= Σ_m x[off + m·ld + n]: bias gradients (dbias = Σ_rows dY) and the second stage of
 * two-stage reductions (LayerNorm dγ/dβ partials, per-row losses). Fixed summation order.
 */
export function columnSum(gpu: Gpu, label: string, o: { rows: number; cols: number; ld?: number; offset?: number; accumulate?: boolean }, x: Binding, out: Binding): Dispatch {
  const pipeline = gpu.pipeline('colsum', COLSUM_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.rows], ['u32', o.cols], ['u32', o.ld ?? o.cols], ['u32', o.offset ?? 0], ['u32', o.accumulate ? 1 : 0]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, x, out]);
  return { label, pipeline, bindGroup, groups: [Math.ceil(o.cols / 64), 1, 1] };
}
