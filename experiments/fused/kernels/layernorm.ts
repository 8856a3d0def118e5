/// <reference types="@webgpu/types" />
/**
 * Fused residual + dropout + LayerNorm (§3.1 / §5.4 of Vaswani et al. 2017: "the output of each
 * sub-layer is LayerNorm(x + Sublayer(x))", with dropout "applied to the output of each sub-layer,
 * before it is added to the sub-layer input and normalized"); LayerNorm is Ba et al. 2016 with the
 * model's ε = 1e-6 (experiments/model/layers.ts): y = γ·(s − mean)/sqrt(var + ε) + β, var biased.
 *
 * Forward, one workgroup per row (llm.c fused_residual_forward):
 *   s[rows, d]     = x + dropout(f)        (written when `hasF`; else s is x itself)
 *   y[rows, d]     = LayerNorm(s; γ, β)
 *   stats[rows, 2] = (mean, rstd) per row, saved for the backward
 * Post-norm uses y as the next residual stream; pre-norm uses s as the stream and y as the next
 * sub-layer's input (the same kernel with the next LayerNorm's γ, β).
 *
 * Backward, one workgroup per block of `rowsPerBlock` rows (llm.c layernorm_backward, without atomics):
 *   ds[rows, d]  = LayerNorm'(dy) + dres   (dres: the gradient reaching s directly, pre-norm's stream)
 *   df[rows, d]  = ds ⊙ dropout mask       (only when `hasF` and p > 0; otherwise df is ds)
 *   partial[blocks, 2d] = per-block Σ dy⊙x̂ (dγ) and Σ dy (dβ)
 * then a fixed-order column sum of `partial` writes [dγ | dβ] (2d contiguous floats): deterministic.
 * γ and β live side by side as one [γ | β] block of 2d floats (the parameter slab keeps them so), so
 * one binding serves the forward and the gradient is one contiguous write.
 * The dropout mask is regenerated from (seed, step, site, element index), never stored.
 */
import { type Binding, type Dispatch, type Gpu, type KernelShape, kernelShape, packUniform } from '../runtime/gpu';
import { groups1d, RNG_WGSL, STEP_WGSL, workgroupReduceWgsl, workgroupVectorSumWgsl } from './common';
import { columnSum } from './matmul';

export const LAYER_NORM_EPS = 1e-6;
const WG = 64;

const REDUCE_WGSL = /* wgsl */ `
${workgroupReduceWgsl(WG)}
fn drop_scale(key: u32, idx: u32, p: f32) -> f32 {
  if (p <= 0.0) { return 1.0; }
  return select(0.0, 1.0 / (1.0 - p), uniform01(key, idx) >= p);
}
`;

// Bindings of the forward and backward, rows of d floats read as \`T\` (f32, or vec4<f32> in the cpu shape).
const fwdBindings = (T: string): string => /* wgsl */ `
struct U { rows: u32, d: u32, p: f32, site: u32, has_f: u32, eps: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> x: array<${T}>;
@group(0) @binding(3) var<storage, read> f: array<${T}>;
@group(0) @binding(4) var<storage, read_write> s: array<${T}>;
@group(0) @binding(5) var<storage, read_write> y: array<${T}>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(0) @binding(7) var<storage, read> gb: array<${T}>; // [γ (d) | β (d)]
`;
const bwdBindings = (T: string): string => /* wgsl */ `
struct U { rows: u32, d: u32, p: f32, site: u32, has_f: u32, has_dres: u32, rows_per_block: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> dy: array<${T}>;
@group(0) @binding(3) var<storage, read> s: array<${T}>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<${T}>; // [γ (d) | β (d)]: γ is read
@group(0) @binding(6) var<storage, read> dres: array<${T}>;
@group(0) @binding(7) var<storage, read_write> ds: array<${T}>;
@group(0) @binding(8) var<storage, read_write> df: array<${T}>;
@group(0) @binding(9) var<storage, read_write> partial: array<${T}>;
`;

const FWD_WGSL = /* wgsl */ `
${STEP_WGSL}
${RNG_WGSL}
${fwdBindings('f32')}
${REDUCE_WGSL}
fn input(i: u32) -> f32 {
  if (u.has_f != 0u) { return s[i]; }
  return x[i];
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // One workgroup per row, over a 2-D grid past 65,535 rows (a dispatch dimension's limit).
  let row = wid.y * nwg.x + wid.x;
  if (row >= u.rows) { return; }
  let tid = lid.x;
  let base = row * u.d;
  let key = site_key(step.seed, step.step, u.site);
  var acc = 0.0;
  for (var c = tid; c < u.d; c += ${WG}u) {
    var v = x[base + c];
    if (u.has_f != 0u) {
      v = v + f[base + c] * drop_scale(key, base + c, u.p);
      s[base + c] = v;
    }
    acc = acc + v;
  }
  let mean = wg_sum(acc, tid) / f32(u.d);
  var acc2 = 0.0;
  for (var c = tid; c < u.d; c += ${WG}u) {
    let z = input(base + c) - mean;
    acc2 = acc2 + z * z;
  }
  let rstd = inverseSqrt(wg_sum(acc2, tid) / f32(u.d) + u.eps);
  for (var c = tid; c < u.d; c += ${WG}u) {
    y[base + c] = (input(base + c) - mean) * rstd * gb[c] + gb[u.d + c];
  }
  if (tid == 0u) {
    stats[2u * row] = mean;
    stats[2u * row + 1u] = rstd;
  }
}
`;

const BWD_WGSL = /* wgsl */ `
${STEP_WGSL}
${RNG_WGSL}
${bwdBindings('f32')}
${REDUCE_WGSL}
${workgroupVectorSumWgsl(WG, 'wg_sum2', 'vec2<f32>', 'red2')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.x;
  let d = u.d;
  let pbase = wid.x * 2u * d;
  let key = site_key(step.seed, step.step, u.site);
  let write_df = u.has_f != 0u && u.p > 0.0;
  for (var c = tid; c < d; c += ${WG}u) { partial[pbase + c] = 0.0; partial[pbase + d + c] = 0.0; }
  let r0 = wid.x * u.rows_per_block;
  let r1 = min(r0 + u.rows_per_block, u.rows);
  for (var row = r0; row < r1; row++) {
    let base = row * d;
    let mean = stats[2u * row];
    let rstd = stats[2u * row + 1u];
    var a1 = 0.0;
    var a2 = 0.0;
    for (var c = tid; c < d; c += ${WG}u) {
      let xh = (s[base + c] - mean) * rstd;
      let g = dy[base + c] * gamma[c];
      a1 = a1 + g;
      a2 = a2 + g * xh;
      partial[pbase + c] = partial[pbase + c] + dy[base + c] * xh;
      partial[pbase + d + c] = partial[pbase + d + c] + dy[base + c];
    }
    let m12 = wg_sum2(vec2<f32>(a1, a2), tid) / f32(d); // both row sums in one tree
    let m1 = m12.x;
    let m2 = m12.y;
    for (var c = tid; c < d; c += ${WG}u) {
      let xh = (s[base + c] - mean) * rstd;
      var v = rstd * (dy[base + c] * gamma[c] - m1 - xh * m2);
      if (u.has_dres != 0u) { v = v + dres[base + c]; }
      ds[base + c] = v;
      if (write_df) { df[base + c] = v * drop_scale(key, base + c, u.p); }
    }
  }
}
`;

// The \`cpu\` shapes (runtime/gpu.ts KernelShape): one invocation per row (forward) or per block of
// rows (backward) walks d in vec4s; no workgroup memory, no barriers. Row sums run in column order
// instead of the tree's order (a different rounding, same formula). Needs d a multiple of 4.
const ROWS_WG = 8;

const FWD_ROW_WGSL = /* wgsl */ `
${STEP_WGSL}
${RNG_WGSL}
${fwdBindings('vec4<f32>')}
fn input(i: u32) -> vec4<f32> {
  if (u.has_f != 0u) { return s[i]; }
  return x[i];
}
fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }
@compute @workgroup_size(${ROWS_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= u.rows) { return; }
  let n4 = u.d / 4u;
  let base = row * n4;
  let key = site_key(step.seed, step.step, u.site);
  var acc = vec4<f32>(0.0);
  for (var c = 0u; c < n4; c++) {
    var v = x[base + c];
    if (u.has_f != 0u) {
      v = v + f[base + c] * drop_scale4(key, 4u * (base + c), u.p);
      s[base + c] = v;
    }
    acc = acc + v;
  }
  let mean = hsum(acc) / f32(u.d);
  var acc2 = vec4<f32>(0.0);
  for (var c = 0u; c < n4; c++) {
    let z = input(base + c) - mean;
    acc2 = acc2 + z * z;
  }
  let rstd = inverseSqrt(hsum(acc2) / f32(u.d) + u.eps);
  for (var c = 0u; c < n4; c++) {
    y[base + c] = (input(base + c) - mean) * rstd * gb[c] + gb[n4 + c];
  }
  stats[2u * row] = mean;
  stats[2u * row + 1u] = rstd;
}
`;

const BWD_ROW_WGSL = /* wgsl */ `
${STEP_WGSL}
${RNG_WGSL}
${bwdBindings('vec4<f32>')}
fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }
@compute @workgroup_size(${ROWS_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = gid.x;
  let r0 = blk * u.rows_per_block;
  if (r0 >= u.rows) { return; }
  let r1 = min(r0 + u.rows_per_block, u.rows);
  let n4 = u.d / 4u;
  let pbase = blk * 2u * n4;
  let key = site_key(step.seed, step.step, u.site);
  let write_df = u.has_f != 0u && u.p > 0.0;
  for (var c = 0u; c < 2u * n4; c++) { partial[pbase + c] = vec4<f32>(0.0); }
  for (var row = r0; row < r1; row++) {
    let base = row * n4;
    let mean = stats[2u * row];
    let rstd = stats[2u * row + 1u];
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    for (var c = 0u; c < n4; c++) {
      let xh = (s[base + c] - mean) * rstd;
      let g = dy[base + c] * gamma[c];
      a1 = a1 + g;
      a2 = a2 + g * xh;
      partial[pbase + c] = partial[pbase + c] + dy[base + c] * xh;
      partial[pbase + n4 + c] = partial[pbase + n4 + c] + dy[base + c];
    }
    let m1 = hsum(a1) / f32(u.d);
    let m2 = hsum(a2) / f32(u.d);
    for (var c = 0u; c < n4; c++) {
      let xh = (s[base + c] - mean) * rstd;
      var v = rstd * (dy[base + c] * gamma[c] - m1 - xh * m2);
      if (u.has_dres != 0u) { v = v + dres[base + c]; }
      ds[base + c] = v;
      if (write_df) { df[base + c] = v * drop_scale4(key, 4u * (base + c), u.p); }
    }
  }
}
`;

/** The \`cpu\` shape applies when rows of d floats are whole vec4s. */
function rowShaped(gpu: Gpu, o: { d: number; shape?: KernelShape }): boolean {
  return (o.shape ?? kernelShape(gpu)) === 'cpu' && o.d % 4 === 0;
}

export interface ResidualNormOptions {
  readonly rows: number;
  readonly d: number;
  /** Dropout rate on f (0: none). */
  readonly p?: number;
  /** Dropout site id (distinct per dropout call within a step). */
  readonly site?: number;
  /** Force a kernel shape (tests); default runtime/gpu.ts `kernelShape`. */
  readonly shape?: KernelShape;
}

/**
 * s = x + dropout(f) (when `f` is given), y = LayerNorm(s), stats = (mean, rstd).
 * Without `f`, pass s = undefined: the LayerNorm reads x.
 */
export function residualNormForward(
  gpu: Gpu, label: string, o: ResidualNormOptions, step: GPUBuffer,
  buf: { x: Binding; f?: Binding; s?: Binding; y: Binding; stats: Binding; gammaBeta: Binding },
): Dispatch {
  if (!!buf.f !== !!buf.s) throw new Error(`${label}: f and s go together`);
  const rowwise = rowShaped(gpu, o);
  const pipeline = rowwise ? gpu.pipeline('residual_ln_fwd_rows', FWD_ROW_WGSL) : gpu.pipeline('residual_ln_fwd', FWD_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.rows], ['u32', o.d], ['f32', o.p ?? 0], ['u32', o.site ?? 0], ['u32', buf.f ? 1 : 0], ['f32', LAYER_NORM_EPS]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [
    { buffer: uniform }, { buffer: step }, buf.x, buf.f ?? gpu.dummy, buf.s ?? gpu.dummyOut, buf.y, buf.stats, buf.gammaBeta,
  ]);
  return { label, pipeline, bindGroup, groups: rowwise ? [Math.ceil(o.rows / ROWS_WG), 1, 1] : groups1d(o.rows, 1) };
}

/** Rows per workgroup of the backward (and so the number of dγ/dβ partial rows: ceil(rows / this)). */
export const LN_BWD_ROWS_PER_BLOCK = 16;

export function normPartialBlocks(rows: number): number {
  return Math.ceil(rows / LN_BWD_ROWS_PER_BLOCK);
}

/**
 * The backward of residualNormForward: [the LayerNorm/residual/dropout kernel, the dγ/dβ column sum].
 * `s` is the forward's s (or x when it had no f). `df` only when f had dropout (p > 0); otherwise
 * the gradient of f is ds itself. `partial` holds normPartialBlocks(rows)·2d floats of scratch;
 * `dGammaBeta` receives dγ then dβ (2d floats).
 */
export function residualNormBackward(
  gpu: Gpu, label: string, o: ResidualNormOptions & { hasF: boolean }, step: GPUBuffer,
  buf: { dy: Binding; s: Binding; stats: Binding; gammaBeta: Binding; dres?: Binding; ds: Binding; df?: Binding; partial: Binding; dGammaBeta: Binding },
): Dispatch[] {
  const p = o.hasF ? o.p ?? 0 : 0;
  if ((p > 0) !== !!buf.df) throw new Error(`${label}: df is needed exactly when f had dropout`);
  const rowwise = rowShaped(gpu, o);
  const pipeline = rowwise ? gpu.pipeline('residual_ln_bwd_rows', BWD_ROW_WGSL) : gpu.pipeline('residual_ln_bwd', BWD_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.rows], ['u32', o.d], ['f32', p], ['u32', o.site ?? 0], ['u32', o.hasF ? 1 : 0], ['u32', buf.dres ? 1 : 0], ['u32', LN_BWD_ROWS_PER_BLOCK],
  ]));
  const blocks = normPartialBlocks(o.rows);
  const bindGroup = gpu.bindGroup(label, pipeline, [
    { buffer: uniform }, { buffer: step }, buf.dy, buf.s, buf.stats, buf.gammaBeta, buf.dres ?? gpu.dummy, buf.ds, buf.df ?? gpu.dummyOut, buf.partial,
  ]);
  return [
    { label, pipeline, bindGroup, groups: rowwise ? [Math.ceil(blocks / ROWS_WG), 1, 1] : [blocks, 1, 1] },
    columnSum(gpu, `${label}/dgamma_dbeta`, { rows: blocks, cols: 2 * o.d, shape: o.shape }, buf.partial, buf.dGammaBeta),
  ];
}
