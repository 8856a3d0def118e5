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
 * Two kernels compute the same sums in the same order (each output summed by one invocation in K
 * order: deterministic, and the two agree bit for bit where both apply):
 *   `tiled`  64×64 output tile per workgroup of 16×16 threads staged through workgroup memory, 4×4
 *            outputs per thread, K in steps of 16: the GPU shape (shared-memory reuse).
 *   `tiled128` the same with a 128×128 tile and 8×8 outputs per thread (K in steps of 8, vec4 reads
 *            of workgroup memory): twice the FMAs per shared-memory read, for products with enough
 *            128-tiles to fill a GPU (`gpuTile`); not measured on a GPU yet (see its comment). Where
 *            the operands' rows and offsets are whole vec4s it stages them with 16-byte loads
 *            (`matmul_tiled128_aligned`, `tiled128Vec4Applies`), else with bounds-checked scalars.
 *   `vec4`   no workgroup memory, no barriers: each invocation loads 4×4 blocks of A and B as vec4s
 *            and keeps a 4×8 block of C in registers. On a CPU adapter (lavapipe) a load costs about
 *            as much whether it is one float or four and a barrier makes every invocation a
 *            coroutine, so this shape is 3–4× faster there (measured per product shape by
 *            a same-process probe; `npx tsx experiments/fused/bench.ts B --profile`
 *            prints the CPU time per kernel kind). Needs N, K, the leading dimensions
 *            and offsets in multiples of 4; other products fall back to `tiled`.
 *   `subgroup` the `cpu` shape where the adapter has WGSL subgroups (lavapipe: 8 lanes): the vec4
 *            kernel's loads and sums, but the 8 invocations of a workgroup share one 32-row block of A,
 *            each loading a quarter of it and taking the rest from the others by `subgroupBroadcast`.
 *            Why: lavapipe fetches a storage-buffer value inside a loop lane by lane (a branchy loop
 *            of ~25 instructions per lane per vec4, uniform address or not), while a broadcast is one
 *            instruction; so A, which every invocation of the workgroup needs, is fetched once instead
 *            of 8 times. Measured on lavapipe against `vec4` (CPU time, same process): 2.2–3.4× on the
 *            products of config B. Same multiples-of-4 conditions; falls back to `vec4` without subgroups.
 * `preferredMatmulKernel` picks subgroup (or vec4) for the `cpu` kernel shape, tiled for `gpu`.
 *
 * `columnSum` is the bias gradient: out[N] (+)= Σ_m x[m, N], a fixed-order reduction (no atomics).
 */
import { type Binding, type Dispatch, type Gpu, hasSubgroupsOf, type KernelShape, kernelShape, packUniform } from '../runtime/gpu';

/**
 * Uniform block and bindings of every matmul kernel; A and B read as `ab` (f32 or vec4<f32>), C, bias
 * and gate as `cbg`. Flags are uniform bits, not override constants: one pipeline serves every
 * product (pipeline compilation is seconds on lavapipe), and the branches are uniform so they cost
 * nothing per element. Split-K: workgroup z sums k in [z·k_chunk, (z+1)·k_chunk) and writes its
 * partial product at c_off + z·split_stride (k_chunk = K and one z without split).
 */
const matmulHeader = (ab: string, cbg: string): string => /* wgsl */ `
const F_TA = 1u; const F_TB = 2u; const F_BIAS = 4u; const F_RELU = 8u; const F_ACCUM = 16u; const F_GATE = 32u;
struct U { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, a_off: u32, b_off: u32, c_off: u32, flags: u32, k_chunk: u32, split_stride: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<${ab}>;
@group(0) @binding(2) var<storage, read> b: array<${ab}>;
@group(0) @binding(3) var<storage, read_write> c: array<${cbg}>;
@group(0) @binding(4) var<storage, read> bias: array<${cbg}>;
@group(0) @binding(5) var<storage, read> gate: array<${cbg}>;
`;

// Bindings and bounds-checked scalar loads of the tiled kernels (any leading dimension and offset).
const SCALAR_BINDINGS = /* wgsl */ `
${matmulHeader('f32', 'f32')}

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

`;

const MATMUL_WGSL = /* wgsl */ `
${SCALAR_BINDINGS}
var<workgroup> As: array<array<f32, 17>, 64>; // [m][k], padded
var<workgroup> Bs: array<array<f32, 64>, 16>; // [k][n]

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

// One k step of the 128-tile kernel: 16 vec4 FMAs of this invocation's 8 rows (a0: rows 4·ty..4·ty+3,
// a1: 64 + the same) by its 8 columns (b0: 4·tx..4·tx+3, b1: 64 + the same); acc[2r + h] is row r,
// column half h. Written out with constant indices: a dynamically indexed array would live in memory,
// not registers, on a GPU.
const tiled128Step = (): string => [0, 1].flatMap((half) => ['x', 'y', 'z', 'w'].flatMap((lane, i) =>
  [0, 1].map((h) => `acc[${2 * (4 * half + i) + h}] = acc[${2 * (4 * half + i) + h}] + a${half}.${lane} * b${h};`))).join('\n      ');

// Its epilogue, unrolled for the same reason.
const tiled128Store = (): string => Array.from({ length: 8 }, (_, r) => [0, 1].map((h) =>
  `store4(m0 + ${r < 4 ? `4u * lid.y + ${r}u` : `64u + 4u * lid.y + ${r - 4}u`}, n0 + ${64 * h}u + 4u * lid.x, wid.z, acc[${2 * r + h}]);`).join('\n  ')).join('\n  ');

// Bindings of the 128-tile kernel's vec4-load variant: A and B read as vec4s (16-byte loads).
const VEC_BINDINGS = matmulHeader('vec4<f32>', 'f32');

// Staging of one k step (8 values of k) of the A and B blocks into workgroup memory, 4 values of each
// per invocation, read along the stored rows. Scalar: any layout, each value bounds-checked. Vec4
// (`tiled128Vec4Applies`: rows, offsets and the K range in whole vec4s): one 16-byte load per block per
// invocation, checked once (a vec4 is wholly inside or wholly outside the matrix).
const TILED128_STAGE_SCALAR = /* wgsl */ `
    if (ta) {
      // A stored [K, M]: 4 consecutive m of row k0 + t / 32.
      let k = t / 32u; let m = m0 + 4u * (t % 32u);
      As[t] = vec4<f32>(load_a(m, k0 + k, kend), load_a(m + 1u, k0 + k, kend), load_a(m + 2u, k0 + k, kend), load_a(m + 3u, k0 + k, kend));
    } else {
      // A stored [M, K]: 4 consecutive k of row m0 + t / 2.
      let m = t / 2u; let k = 4u * (t % 2u);
      for (var j = 0u; j < 4u; j++) { As[(k + j) * 32u + m / 4u][m % 4u] = load_a(m0 + m, k0 + k + j, kend); }
    }
    if (tb) {
      // B stored [N, K]: 4 consecutive k of row n0 + t / 2.
      let n = t / 2u; let k = 4u * (t % 2u);
      for (var j = 0u; j < 4u; j++) { Bs[(k + j) * 32u + n / 4u][n % 4u] = load_b(k0 + k + j, n0 + n, kend); }
    } else {
      // B stored [K, N]: 4 consecutive n of row k0 + t / 32.
      let k = t / 32u; let n = n0 + 4u * (t % 32u);
      Bs[t] = vec4<f32>(load_b(k0 + k, n, kend), load_b(k0 + k, n + 1u, kend), load_b(k0 + k, n + 2u, kend), load_b(k0 + k, n + 3u, kend));
    }`;
const TILED128_STAGE_VEC4 = /* wgsl */ `
    // Loads behind an if, not select(): select reads both sides, and past the matrix's edge that
    // would be an out-of-range read, harmless only while Dawn's robustness clamps it.
    if (ta) {
      let k = t / 32u; let m = m0 + 4u * (t % 32u);
      var v = vec4<f32>(0.0);
      if (k0 + k < kend && m < u.M) { v = a[(u.a_off + (k0 + k) * u.lda + m) / 4u]; }
      As[t] = v;
    } else {
      let m = t / 2u; let k = 4u * (t % 2u);
      var v = vec4<f32>(0.0);
      if (m0 + m < u.M && k0 + k < kend) { v = a[(u.a_off + (m0 + m) * u.lda + k0 + k) / 4u]; }
      for (var j = 0u; j < 4u; j++) { As[(k + j) * 32u + m / 4u][m % 4u] = v[j]; }
    }
    if (tb) {
      let n = t / 2u; let k = 4u * (t % 2u);
      var v = vec4<f32>(0.0);
      if (n0 + n < u.N && k0 + k < kend) { v = b[(u.b_off + (n0 + n) * u.ldb + k0 + k) / 4u]; }
      for (var j = 0u; j < 4u; j++) { Bs[(k + j) * 32u + n / 4u][n % 4u] = v[j]; }
    } else {
      let k = t / 32u; let n = n0 + 4u * (t % 32u);
      var v = vec4<f32>(0.0);
      if (k0 + k < kend && n < u.N) { v = b[(u.b_off + (k0 + k) * u.ldb + n) / 4u]; }
      Bs[t] = v;
    }`;

/**
 * `tiled128`: the `tiled` kernel with a 128×128 output tile and 8×8 outputs per thread (16×16
 * threads; K in steps of 8), the register blocking of fast CUDA SGEMMs (siboehm's "How to Optimize a
 * CUDA Matmul Kernel", kernels 5–6: 2D block tiling with vectorised shared-memory reads). Why: with
 * 4×4 outputs a thread does 2 FMAs per workgroup-memory read, and an NVIDIA SM reads 32 floats of
 * shared memory a cycle against 128 FMAs, so `tiled` is shared-memory bound at half of the FMA peak;
 * here each k step reads 4 vec4s for 64 FMAs. The blocks sit in workgroup memory k-major as vec4s
 * (As[k][m/4], Bs[k][n/4]) so those reads are single 16-byte loads, broadcast across a warp for A.
 * Each output is still summed by one invocation in K order (bit-identical to `tiled` where the
 * compiler contracts the same way). Chosen only where the product has enough 128-tiles to fill a GPU
 * (TILED128_MIN_GROUPS): the base model's activations and logits, not config A/B's small products.
 */
const tiled128Wgsl = (vec4Loads: boolean): string => /* wgsl */ `
${vec4Loads ? VEC_BINDINGS : SCALAR_BINDINGS}
var<workgroup> As: array<vec4<f32>, 256>; // [k 0..7][m4 0..31]: op(A)[m0 + 4·m4 .. +3, k0 + k]
var<workgroup> Bs: array<vec4<f32>, 256>; // [k 0..7][n4 0..31]: op(B)[k0 + k, n0 + 4·n4 .. +3]

fn store4(m: u32, n: u32, z: u32, v4: vec4<f32>) {
  if (m >= u.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (n + j < u.N) {
      let ci = u.c_off + z * u.split_stride + m * u.ldc + n + j;
      var v = v4[j];
      if ((u.flags & F_BIAS) != 0u) { v = v + bias[n + j]; }
      if ((u.flags & F_ACCUM) != 0u) { v = c[ci] + v; }
      if ((u.flags & F_RELU) != 0u) { v = max(v, 0.0); }
      if ((u.flags & F_GATE) != 0u) { v = select(0.0, v, gate[ci] > 0.0); }
      c[ci] = v;
    }
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m0 = wid.y * 128u;
  let n0 = wid.x * 128u;
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 16>;
  let kbeg = wid.z * u.k_chunk;
  let kend = min(u.K, kbeg + u.k_chunk);
  let ta = (u.flags & F_TA) != 0u;
  let tb = (u.flags & F_TB) != 0u;
  for (var k0 = kbeg; k0 < kend; k0 += 8u) {
    ${vec4Loads ? TILED128_STAGE_VEC4 : TILED128_STAGE_SCALAR}
    workgroupBarrier();
    for (var kk = 0u; kk < 8u; kk++) {
      let a0 = As[kk * 32u + lid.y];
      let a1 = As[kk * 32u + 16u + lid.y];
      let b0 = Bs[kk * 32u + lid.x];
      let b1 = Bs[kk * 32u + 16u + lid.x];
      ${tiled128Step()}
    }
    workgroupBarrier();
  }
  ${tiled128Store()}
}
`;

/**
 * Workgroup of the vec4 kernel: 8 invocations in a row, each a 4-row × 8-column block of C (4 × 64
 * outputs). One row of blocks per workgroup makes A's row index a function of the workgroup id alone,
 * so a CPU adapter sees A's loads as uniform over the SIMD vector (one load, broadcast) and only B's
 * vary per invocation: in a same-process probe on lavapipe, ~1.3× less CPU time than an 8 × 8
 * workgroup on [1024 × 1024 × 256] and [1024 × 256 × 1024], no change on [1024 × 8000 × 256].
 */
const VEC4_ROWS = 4;
const VEC4_COLS = 8;
const VEC4_WG = 8;

/**
 * WGSL filling dst[r] = op(X)[row0 + r, col0 .. col0 + 3] for r < 4 (X read as vec4s from `base`
 * with row stride ld4). Stored transposed (`flag`), the block is four vec4s along the other dimension,
 * transposed in registers.
 */
const loadBlock = (dst: string, x: string, base: string, ld4: string, flag: string, row0: string, col0: string): string => /* wgsl */ `if (${flag}) {
      let tt = transpose(mat4x4<f32>(${[0, 1, 2, 3].map((j) => `${x}[${base} + (${col0} + ${j}u) * ${ld4} + ${row0} / 4u]`).join(', ')}));
      ${dst}[0] = tt[0]; ${dst}[1] = tt[1]; ${dst}[2] = tt[2]; ${dst}[3] = tt[3];
    } else {
      for (var r = 0u; r < 4u; r++) { ${dst}[r] = ${x}[${base} + (${row0} + r) * ${ld4} + ${col0} / 4u]; }
    }`;

// One 4×4 product step of the vec4 kernel for the column block n0 + 4·c: bb[j] = op(B)[k + j, n..n+3],
// then acc_c[i] += Σ_j ab[i][j]·bb[j] in j (= K) order.
const vec4ColumnStep = (c: number): string => /* wgsl */ `{
      let n = n0 + ${4 * c}u;
      var bb: array<vec4<f32>, 4>;
      ${loadBlock('bb', 'b', 'b0', 'ldb4', 'tb', 'k', 'n')}
      for (var i = 0u; i < 4u; i++) {
        var s = acc${c}[i];
        s = s + ab[i].x * bb[0]; s = s + ab[i].y * bb[1]; s = s + ab[i].z * bb[2]; s = s + ab[i].w * bb[3];
        acc${c}[i] = s;
      }
    }`;

const vec4Store = (c: number): string => /* wgsl */ `if (n0 + ${4 * c}u < u.N) {
      let ci = c0 + m * ldc4 + n0 / 4u + ${c}u;
      var v = acc${c}[i];
      if ((u.flags & F_BIAS) != 0u) { v = v + bias[n0 / 4u + ${c}u]; }
      if ((u.flags & F_ACCUM) != 0u) { v = c[ci] + v; }
      if ((u.flags & F_RELU) != 0u) { v = max(v, vec4<f32>(0.0)); }
      if ((u.flags & F_GATE) != 0u) { v = select(vec4<f32>(0.0), v, gate[ci] > vec4<f32>(0.0)); }
      c[ci] = v;
    }`;

// Uniform block and bindings of the vec4 and subgroup kernels: the tiled kernel's, with every matrix
// read as vec4s (offsets and leading dimensions are in floats and multiples of 4).
const VEC4_BINDINGS = matmulHeader('vec4<f32>', 'vec4<f32>');

const MATMUL_VEC4_WGSL = /* wgsl */ `
${VEC4_BINDINGS}

@compute @workgroup_size(${VEC4_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // This invocation's block of C: rows m0..m0+3, columns n0..n0+7.
  let n0 = (wid.x * ${VEC4_WG}u + lid.x) * ${VEC4_COLS}u;
  let m0 = wid.y * ${VEC4_ROWS}u;
  if (n0 >= u.N || m0 >= u.M) { return; }
  let kbeg = wid.z * u.k_chunk;
  let kend = min(u.K, kbeg + u.k_chunk);
  let ta = (u.flags & F_TA) != 0u;
  let tb = (u.flags & F_TB) != 0u;
  let lda4 = u.lda / 4u; let ldb4 = u.ldb / 4u;
  let a0 = u.a_off / 4u; let b0 = u.b_off / 4u;
  var acc0: array<vec4<f32>, 4>;
  var acc1: array<vec4<f32>, 4>;
  for (var k = kbeg; k < kend; k += 4u) {
    // ab[i] = op(A)[m0 + i, k..k+3]. Rows past M (read within the binding, or clamped by robust
    // buffer access) only reach outputs that are never stored.
    var ab: array<vec4<f32>, 4>;
    ${loadBlock('ab', 'a', 'a0', 'lda4', 'ta', 'm0', 'k')}
    ${vec4ColumnStep(0)}
    ${vec4ColumnStep(1)}
  }
  let c0 = u.c_off / 4u + wid.z * (u.split_stride / 4u);
  let ldc4 = u.ldc / 4u;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= u.M) { break; }
    ${vec4Store(0)}
    ${vec4Store(1)}
  }
}
`;

/**
 * The subgroup kernel: a workgroup of 8 invocations (one subgroup on an adapter whose subgroups have
 * ≥ 8 lanes; `subgroupKernelApplies`) computes a 32-row × 32-column block of C, each invocation the
 * 32 rows × 4 columns n0..n0+3 of it, so every invocation needs the same 32 × 4 block of A per step
 * of 4 in K. Invocation `lane` fetches the vec4s of A held in its quarter and the others get them
 * by broadcast; its B is its own (4 vec4s per step, as in the vec4 kernel).
 */
const SG_ROWS = 32;
const SG_LANES = 8;

// WGSL of one K-step's A fetch: at_j (j < 4) on invocation `lane` holds
//   op(A) = A  [M, K]:  A[m0 + 8j + lane, k..k+3]
//   op(A) = Aᵀ (A stored [K, M]): A_stored[k + (lane & 3), m0 + 8j + 4·(lane >> 2) .. +3]
// and row i = 8j + r of the block is rebuilt from them by broadcast (see `sgRow`).
const sgFetchA = (ta: boolean): string => [0, 1, 2, 3].map((j) => ta
  ? `let at${j} = a[a0 + (k + (lane & 3u)) * lda4 + (m0 + ${8 * j}u) / 4u + (lane >> 2u)];`
  : `let at${j} = a[a0 + (m0 + ${8 * j}u + lane) * lda4 + k / 4u];`).join('\n    ');

// op(A)[m0 + i, k..k+3] as a vec4, the same on every invocation.
const sgRow = (ta: boolean, i: number): string => {
  const j = Math.floor(i / 8);
  const r = i % 8;
  return ta
    ? `vec4<f32>(${[0, 1, 2, 3].map((q) => `subgroupBroadcast(at${j}.${'xyzw'[r & 3]}, ${4 * (r >> 2) + q}u)`).join(', ')})`
    : `subgroupBroadcast(at${j}, ${r}u)`;
};

// bb[q] = op(B)[k + q, n0..n0+3] (Bᵀ: four vec4s of B_stored's rows n0..n0+3, transposed in registers).
const sgFetchB = (tb: boolean): string => tb
  ? `let tt = transpose(mat4x4<f32>(${[0, 1, 2, 3].map((q) => `b[b0 + (n0 + ${q}u) * ldb4 + k / 4u]`).join(', ')}));
    let bb0 = tt[0]; let bb1 = tt[1]; let bb2 = tt[2]; let bb3 = tt[3];`
  : [0, 1, 2, 3].map((q) => `let bb${q} = b[b0 + (k + ${q}u) * ldb4 + n0 / 4u];`).join(' ');

/** The subgroup kernel's WGSL for one pair of transpose flags (specialised: no per-step branch on them). */
const matmulSubgroupWgsl = (ta: boolean, tb: boolean): string => /* wgsl */ `
enable subgroups;
${VEC4_BINDINGS}

@compute @workgroup_size(${SG_LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  // This invocation's block of C: rows m0..m0+31, columns n0..n0+3. No early return: every
  // invocation must reach the broadcasts (subgroup operations need uniform control flow); rows or
  // columns past the edge read within the binding (or are clamped by robust buffer access) and only
  // reach outputs that are never stored.
  let n0 = (wid.x * ${SG_LANES}u + lane) * 4u;
  let m0 = wid.y * ${SG_ROWS}u;
  let kbeg = wid.z * u.k_chunk;
  let kend = min(u.K, kbeg + u.k_chunk);
  let lda4 = u.lda / 4u; let ldb4 = u.ldb / 4u;
  let a0 = u.a_off / 4u; let b0 = u.b_off / 4u;
  var acc: array<vec4<f32>, ${SG_ROWS}>;
  for (var k = kbeg; k < kend; k += 4u) {
    ${sgFetchA(ta)}
    ${sgFetchB(tb)}
    ${Array.from({ length: SG_ROWS }, (_, i) => `{ let ar = ${sgRow(ta, i)}; acc[${i}] = acc[${i}] + ar.x * bb0 + ar.y * bb1 + ar.z * bb2 + ar.w * bb3; }`).join('\n    ')}
  }
  if (n0 >= u.N) { return; }
  let c0 = u.c_off / 4u + wid.z * (u.split_stride / 4u);
  let ldc4 = u.ldc / 4u;
  for (var i = 0u; i < ${SG_ROWS}u; i++) {
    let m = m0 + i;
    if (m >= u.M) { break; }
    let ci = c0 + m * ldc4 + n0 / 4u;
    var v = acc[i];
    if ((u.flags & F_BIAS) != 0u) { v = v + bias[n0 / 4u]; }
    if ((u.flags & F_ACCUM) != 0u) { v = c[ci] + v; }
    if ((u.flags & F_RELU) != 0u) { v = max(v, vec4<f32>(0.0)); }
    if ((u.flags & F_GATE) != 0u) { v = select(vec4<f32>(0.0), v, gate[ci] > vec4<f32>(0.0)); }
    c[ci] = v;
  }
}
`;

export type MatmulKernel = 'tiled' | 'tiled128' | 'vec4' | 'subgroup';

/**
 * `tiled128` needs this many workgroups (128-tiles × K-chunks) before it replaces `tiled`: two per SM
 * on a ~130-SM GPU (H100: 132). With fewer, its 4× larger tiles leave SMs idle that `tiled`'s 64-tiles
 * would fill. A guess from the SM count, not a measurement: the device check times both
 * (ABLATE_FUSED_MATMUL=tiled on the base model) so a lent GPU can settle it.
 */
export const TILED128_MIN_GROUPS = 256;

/**
 * The gpu shape's tile for a product of M × N outputs in `parts` K-chunks: `tiled128` where it fills
 * the GPU (TILED128_MIN_GROUPS), else `tiled`. ABLATE_FUSED_MATMUL=tiled|tiled128 forces one.
 */
export function gpuTile(M: number, N: number, parts: number): 'tiled' | 'tiled128' {
  const forced = process.env.ABLATE_FUSED_MATMUL;
  if (forced === 'tiled' || forced === 'tiled128') return forced;
  return Math.ceil(M / 128) * Math.ceil(N / 128) * parts >= TILED128_MIN_GROUPS ? 'tiled128' : 'tiled';
}

/** The subgroup kernel needs subgroups of at least its 8 invocations (one subgroup per workgroup). */
export function subgroupKernelApplies(gpu: Gpu): boolean {
  return hasSubgroupsOf(gpu, SG_LANES);
}

/**
 * The kernel this adapter prefers: for the `cpu` kernel shape subgroup where the adapter has
 * subgroups of ≥ 8 lanes, else vec4; tiled for `gpu` (runtime/gpu.ts `kernelShape`), which becomes
 * tiled128 for products large enough (`gpuTile`).
 */
export function preferredMatmulKernel(gpu: Gpu): MatmulKernel {
  if (kernelShape(gpu) !== 'cpu') return 'tiled';
  return subgroupKernelApplies(gpu) ? 'subgroup' : 'vec4';
}

/** vec4 needs every row of every operand to start on a 4-float boundary and K, N in whole vec4s. */
function vec4Applies(o: MatmulOptions, lda: number, ldb: number, ldc: number, kChunk: number): boolean {
  // One workgroup row per 4 rows of C: WebGPU allows 65535 workgroups along y.
  return [o.N, o.K, lda, ldb, ldc, o.aOffset ?? 0, o.bOffset ?? 0, o.cOffset ?? 0, kChunk].every((v) => v % 4 === 0) && Math.ceil(o.M / VEC4_ROWS) <= 65535;
}

/**
 * The 128-tile kernel loads A and B as vec4s where every vec4 it reads lies inside one stored row
 * and wholly inside or outside the matrix: leading dimensions, offsets, the K range of a split and
 * the stored row length (K where the operand is [·, K], M or N where it is [K, ·]) in multiples of 4.
 * Why: a 16-byte load per block and invocation instead of 4 bounds-checked scalar ones (the
 * vectorised loads of siboehm's kernel 6); the sums and their order are unchanged (bit-identical).
 */
function tiled128Vec4Applies(o: MatmulOptions, lda: number, ldb: number, kChunk: number): boolean {
  return [o.K, lda, ldb, o.aOffset ?? 0, o.bOffset ?? 0, kChunk, o.transA ? o.M : 0, o.transB ? 0 : o.N].every((v) => v % 4 === 0);
}

interface MatmulPipeline {
  readonly kernel: MatmulKernel;
  readonly pipeline: GPUComputePipeline;
  /** Workgroups for an M × N output and `parts` K-chunks. */
  groups(M: number, N: number, parts: number): [number, number, number];
}

function matmulPipeline(gpu: Gpu, o: MatmulOptions, lda: number, ldb: number, ldc: number, kChunk: number): MatmulPipeline {
  let kernel = o.kernel ?? preferredMatmulKernel(gpu);
  if (kernel === 'subgroup' && !subgroupKernelApplies(gpu)) kernel = 'vec4';
  if (kernel === 'subgroup' && vec4Applies(o, lda, ldb, ldc, kChunk)) {
    const ta = o.transA ?? false;
    const tb = o.transB ?? false;
    const pipeline = gpu.pipeline(`matmul_subgroup_${ta ? 't' : 'n'}${tb ? 't' : 'n'}`, matmulSubgroupWgsl(ta, tb));
    return { kernel, pipeline, groups: (M, N, parts) => [Math.ceil(N / (4 * SG_LANES)), Math.ceil(M / SG_ROWS), parts] };
  }
  if ((kernel === 'vec4' || kernel === 'subgroup') && vec4Applies(o, lda, ldb, ldc, kChunk)) {
    kernel = 'vec4';
    const rows = VEC4_ROWS;
    const cols = VEC4_COLS * VEC4_WG;
    return { kernel, pipeline: gpu.pipeline('matmul_vec4', MATMUL_VEC4_WGSL), groups: (M, N, parts) => [Math.ceil(N / cols), Math.ceil(M / rows), parts] };
  }
  // The gpu shape's default (preferred 'tiled', not forced) takes the 128-tile where the product fills the GPU.
  if (kernel === 'tiled128' || (o.kernel === undefined && kernel === 'tiled' && gpuTile(o.M, o.N, Math.ceil(o.K / kChunk)) === 'tiled128')) {
    const vec = tiled128Vec4Applies(o, lda, ldb, kChunk);
    return {
      kernel: 'tiled128', pipeline: vec ? gpu.pipeline('matmul_tiled128_aligned', tiled128Wgsl(true)) : gpu.pipeline('matmul_tiled128', tiled128Wgsl(false)),
      groups: (M, N, parts) => [Math.ceil(N / 128), Math.ceil(M / 128), parts],
    };
  }
  return { kernel: 'tiled', pipeline: gpu.pipeline('matmul', MATMUL_WGSL), groups: (M, N, parts) => [Math.ceil(N / 64), Math.ceil(M / 64), parts] };
}

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
  /** Force a kernel (tests, benchmarks); default `preferredMatmulKernel` (and `gpuTile`). subgroup falls back to vec4 without subgroups, vec4 to tiled where it does not apply. */
  readonly kernel?: MatmulKernel;
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
  const { pipeline, groups } = matmulPipeline(gpu, o, lda, ldb, ldc, o.K);
  const flags = (o.transA ? 1 : 0) | (o.transB ? 2 : 0) | (buf.bias ? 4 : 0) | (o.relu ? 8 : 0) | (o.accumulate ? 16 : 0) | (buf.gate ? 32 : 0);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.M], ['u32', o.N], ['u32', o.K], ['u32', lda], ['u32', ldb], ['u32', ldc],
    ['u32', o.aOffset ?? 0], ['u32', o.bOffset ?? 0], ['u32', o.cOffset ?? 0], ['u32', flags], ['u32', o.K], ['u32', 0],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.a, buf.b, buf.c, buf.bias ?? gpu.dummy, buf.gate ?? gpu.dummy]);
  return { label, pipeline, bindGroup, groups: groups(o.M, o.N, 1) };
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
  const { pipeline, groups } = matmulPipeline(gpu, o, lda, ldb, o.N, chunk);
  const flags = (o.transA ? 1 : 0) | (o.transB ? 2 : 0);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.M], ['u32', o.N], ['u32', o.K], ['u32', lda], ['u32', ldb], ['u32', o.N],
    ['u32', o.aOffset ?? 0], ['u32', o.bOffset ?? 0], ['u32', 0], ['u32', flags], ['u32', chunk], ['u32', o.M * o.N],
  ]));
  const bindGroup = gpu.bindGroup(`${label}/split`, pipeline, [{ buffer: uniform }, buf.a, buf.b, buf.scratch!, gpu.dummy, gpu.dummy]);
  const parts = Math.ceil(o.K / chunk);
  return [
    { label: `${label}/split`, pipeline, bindGroup, groups: groups(o.M, o.N, parts) },
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

// \`cpu\` shape of the column sum: one invocation per 4 columns walks the rows in order (no barrier).
const COLSUM_VEC4_WGSL = /* wgsl */ `
struct U { rows: u32, cols: u32, ld: u32, off: u32, accum: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n4 = gid.x;
  if (4u * n4 >= u.cols) { return; }
  let ld4 = u.ld / 4u;
  let base = u.off / 4u + n4;
  var s = vec4<f32>(0.0);
  for (var m = 0u; m < u.rows; m++) { s = s + x[base + m * ld4]; }
  if (u.accum != 0u) { s = out[n4] + s; }
  out[n4] = s;
}
`;

/**
 * out[cols] (+)= Σ_m x[off + m·ld + n]: bias gradients (dbias = Σ_rows dY) and the second stage of
 * two-stage reductions (LayerNorm dγ/dβ partials, per-row losses). Fixed summation order.
 */
export function columnSum(gpu: Gpu, label: string, o: { rows: number; cols: number; ld?: number; offset?: number; accumulate?: boolean; shape?: KernelShape }, x: Binding, out: Binding): Dispatch {
  const vec4 = (o.shape ?? kernelShape(gpu)) === 'cpu' && [o.cols, o.ld ?? o.cols, o.offset ?? 0].every((v) => v % 4 === 0);
  const pipeline = vec4 ? gpu.pipeline('colsum_vec4', COLSUM_VEC4_WGSL) : gpu.pipeline('colsum', COLSUM_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.rows], ['u32', o.cols], ['u32', o.ld ?? o.cols], ['u32', o.offset ?? 0], ['u32', o.accumulate ? 1 : 0]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, x, out]);
  return { label, pipeline, bindGroup, groups: vec4 ? [Math.ceil(o.cols / 32), 1, 1] : [Math.ceil(o.cols / 64), 1, 1] };
}
