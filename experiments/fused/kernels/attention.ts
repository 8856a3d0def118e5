/// <reference types="@webgpu/types" />
/**
 * Fused masked multi-head attention, §3.2.1 eq. (1) and §3.2.2 (Vaswani et al. 2017):
 *   head_i = softmax(Q_i·K_iᵀ · scale + bias) · V_i,   scale = 1/sqrt(d_k) (or 1 without scaling)
 * for all heads and sentences at once, reading the per-head column blocks of the projected Q, K, V
 * directly and writing the concatenated heads ([rows, h·d_v], the input of W^O): no split/merge
 * transposes. bias is the model's additive mask (experiments/model/layers.ts): −1e9 on padded keys
 * (token id 0) plus −1e9 above the diagonal when causal (decoder self-attention, "masking out …
 * illegal connections", §3.2.3), added in fp32 to the scaled logits exactly as the tfjs model does.
 *
 * Buffers (row-major; ld* are row strides and *_off element offsets, so Q, K, V may be column
 * blocks of one fused projection buffer; a gradient buffer uses the layout of its input):
 *   q    [B·t, ·] head h at columns q_off + h·d_k … + d_k     (query rows of sentence b: b·t … b·t + t)
 *   k    [B·S, ·] head h at columns k_off + h·d_k
 *   v    [B·S, ·] head h at columns v_off + h·d_v
 *   kid  [B, S] i32 key token ids (0 = PAD)
 *   o    [B·t, ·] head h at columns o_off + h·d_v
 *   lse  [B, h, t] log-sum-exp of each softmax row (saved for the backward)
 *   D    [B, h, t] rowsum(dO ⊙ O) (backward scratch)
 * Forward: one workgroup per (4 query rows, head, sentence), the 4 rows' reductions in one vec4
 * tree. Backward (FlashAttention-2 style recomputation of P from lse, so probabilities are never
 * stored): kernel 1 gives dQ and D for 4 query rows per workgroup; kernel 2 gives dK, dV for 4 key
 * rows per workgroup by looping over the queries. Each output element is written
 * by one thread in a fixed order: deterministic, no atomics. Lengths t, S ≤ 256, d_k, d_v ≤ 256.
 */
import { type Binding, type Dispatch, type Gpu, hasSubgroupsOf, type KernelShape, kernelShape, packUniform } from '../runtime/gpu';
import { groups1d, workgroupReduceWgsl, workgroupVectorSumWgsl } from './common';

export const MAX_ATTENTION_LEN = 256;
export const MAX_HEAD_DIM = 256;
const WG = 64;

const COMMON = /* wgsl */ `
struct U {
  B: u32, t: u32, S: u32, h: u32, dk: u32, dv: u32,
  ldq: u32, ldk: u32, ldv: u32, ldo: u32, q_off: u32, k_off: u32, v_off: u32, o_off: u32,
  scale: f32, causal: u32,
}
@group(0) @binding(0) var<uniform> u: U;
${workgroupReduceWgsl(WG)}
// The additive mask of layers.ts: paddingBias (−1e9 at PAD keys) + the look-ahead band (−1e9).
fn mask_bias(b: u32, i: u32, j: u32) -> f32 {
  var bias = 0.0;
  if (kid[b * u.S + j] == 0) { bias = -1e9; }
  if (u.causal != 0u && j > i) { bias = bias + -1e9; }
  return bias;
}
fn qi(b: u32, i: u32, hh: u32) -> u32 { return u.q_off + (b * u.t + i) * u.ldq + hh * u.dk; }
fn ki(b: u32, j: u32, hh: u32) -> u32 { return u.k_off + (b * u.S + j) * u.ldk + hh * u.dk; }
fn vi(b: u32, j: u32, hh: u32) -> u32 { return u.v_off + (b * u.S + j) * u.ldv + hh * u.dv; }
fn oi(b: u32, i: u32, hh: u32) -> u32 { return u.o_off + (b * u.t + i) * u.ldo + hh * u.dv; }
fn row_id(b: u32, hh: u32, i: u32) -> u32 { return (b * u.h + hh) * u.t + i; }
`;

// Bindings of the three kernels, rows of q, k, v, o and their gradients read as `T` (f32, or
// vec4<f32> in the cpu shape).
const forwardBindings = (T: string): string => /* wgsl */ `
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> v: array<${T}>;
@group(0) @binding(4) var<storage, read> kid: array<i32>;
@group(0) @binding(5) var<storage, read_write> o: array<${T}>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
`;
const dqBindings = (T: string): string => /* wgsl */ `
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> v: array<${T}>;
@group(0) @binding(4) var<storage, read> kid: array<i32>;
@group(0) @binding(5) var<storage, read> o: array<${T}>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<${T}>;
@group(0) @binding(8) var<storage, read_write> dq: array<${T}>;
@group(0) @binding(9) var<storage, read_write> dd: array<f32>;
`;
const dkvBindings = (T: string): string => /* wgsl */ `
@group(0) @binding(1) var<storage, read> q: array<${T}>;
@group(0) @binding(2) var<storage, read> k: array<${T}>;
@group(0) @binding(3) var<storage, read> v: array<${T}>;
@group(0) @binding(4) var<storage, read> kid: array<i32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dd: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<${T}>;
@group(0) @binding(8) var<storage, read_write> dk: array<${T}>;
@group(0) @binding(9) var<storage, read_write> dv: array<${T}>;
`;

/** Query rows per workgroup of the forward (reductions of the 4 rows share one vec4 tree). */
const FWD_ROWS = 4;

const FWD_WGSL = /* wgsl */ `
${forwardBindings('f32')}
${COMMON}
var<workgroup> qs: array<f32, ${FWD_ROWS * MAX_HEAD_DIM}>;      // [row][c]
var<workgroup> ps: array<f32, ${FWD_ROWS * MAX_ATTENTION_LEN}>; // [row][j]
var<workgroup> red4: array<vec4<f32>, ${WG}>;
fn wg_reduce4(v: vec4<f32>, tid: u32, is_max: bool) -> vec4<f32> {
  red4[tid] = v;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (tid < o) { red4[tid] = select(red4[tid] + red4[tid + o], max(red4[tid], red4[tid + o]), is_max); }
    workgroupBarrier();
  }
  let r = red4[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i0 = wid.x * ${FWD_ROWS}u; let hh = wid.y; let b = wid.z; let tid = lid.x;
  for (var e = tid; e < ${FWD_ROWS}u * u.dk; e += ${WG}u) {
    let i = i0 + e / u.dk;
    qs[(e / u.dk) * ${MAX_HEAD_DIM}u + e % u.dk] = select(0.0, q[qi(b, min(i, u.t - 1u), hh) + e % u.dk], i < u.t);
  }
  workgroupBarrier();
  var mx = vec4<f32>(-3.0e38);
  for (var j = tid; j < u.S; j += ${WG}u) {
    let k0 = ki(b, j, hh);
    var sd = vec4<f32>(0.0);
    for (var c = 0u; c < u.dk; c++) {
      let kc = k[k0 + c];
      sd = sd + vec4<f32>(qs[c], qs[${MAX_HEAD_DIM}u + c], qs[${2 * MAX_HEAD_DIM}u + c], qs[${3 * MAX_HEAD_DIM}u + c]) * kc;
    }
    var sc: vec4<f32>;
    for (var r = 0u; r < ${FWD_ROWS}u; r++) {
      sc[r] = sd[r] * u.scale + mask_bias(b, i0 + r, j);
      ps[r * ${MAX_ATTENTION_LEN}u + j] = sc[r];
    }
    mx = max(mx, sc);
  }
  let m = wg_reduce4(mx, tid, true);
  var sum = vec4<f32>(0.0);
  for (var j = tid; j < u.S; j += ${WG}u) {
    for (var r = 0u; r < ${FWD_ROWS}u; r++) {
      let e = exp(ps[r * ${MAX_ATTENTION_LEN}u + j] - m[r]);
      ps[r * ${MAX_ATTENTION_LEN}u + j] = e;
      sum[r] = sum[r] + e;
    }
  }
  let l = wg_reduce4(sum, tid, false);
  for (var j = tid; j < u.S; j += ${WG}u) {
    for (var r = 0u; r < ${FWD_ROWS}u; r++) { ps[r * ${MAX_ATTENTION_LEN}u + j] = ps[r * ${MAX_ATTENTION_LEN}u + j] / l[r]; }
  }
  workgroupBarrier();
  for (var e = tid; e < ${FWD_ROWS}u * u.dv; e += ${WG}u) {
    let r = e / u.dv;
    let c = e % u.dv;
    let i = i0 + r;
    if (i < u.t) {
      var acc = 0.0;
      for (var j = 0u; j < u.S; j++) { acc = acc + ps[r * ${MAX_ATTENTION_LEN}u + j] * v[vi(b, j, hh) + c]; }
      o[oi(b, i, hh) + c] = acc;
    }
  }
  if (tid < ${FWD_ROWS}u && i0 + tid < u.t) { lse[row_id(b, hh, i0 + tid)] = m[tid] + log(l[tid]); }
}
`;

// The backward kernels take 4 rows per workgroup too (4 query rows for dQ, 4 key rows for dK/dV).
const BWD_Q_WGSL = /* wgsl */ `
${dqBindings('f32')}
${COMMON}
const R = ${FWD_ROWS}u;
var<workgroup> qs: array<f32, ${FWD_ROWS * MAX_HEAD_DIM}>;       // [row][c]
var<workgroup> dos: array<f32, ${FWD_ROWS * MAX_HEAD_DIM}>;      // [row][c]
var<workgroup> ds: array<f32, ${FWD_ROWS * MAX_ATTENTION_LEN}>;  // [row][j]
${workgroupVectorSumWgsl(WG, 'wg_sum4', 'vec4<f32>', 'red4')}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i0 = wid.x * R; let hh = wid.y; let b = wid.z; let tid = lid.x;
  for (var e = tid; e < R * u.dk; e += ${WG}u) {
    let i = i0 + e / u.dk;
    qs[(e / u.dk) * ${MAX_HEAD_DIM}u + e % u.dk] = select(0.0, q[qi(b, min(i, u.t - 1u), hh) + e % u.dk], i < u.t);
  }
  var dacc = vec4<f32>(0.0);
  for (var e = tid; e < R * u.dv; e += ${WG}u) {
    let r = e / u.dv;
    let c = e % u.dv;
    let i = i0 + r;
    let o0 = oi(b, min(i, u.t - 1u), hh);
    let g = select(0.0, dout[o0 + c], i < u.t);
    dos[r * ${MAX_HEAD_DIM}u + c] = g;
    dacc[r] = dacc[r] + g * o[o0 + c];
  }
  let D = wg_sum4(dacc, tid); // also a barrier: qs, dos are ready
  var L: vec4<f32>;
  for (var r = 0u; r < R; r++) { L[r] = lse[row_id(b, hh, min(i0 + r, u.t - 1u))]; }
  for (var j = tid; j < u.S; j += ${WG}u) {
    let k0 = ki(b, j, hh);
    var sd = vec4<f32>(0.0);
    for (var c = 0u; c < u.dk; c++) {
      sd = sd + vec4<f32>(qs[c], qs[${MAX_HEAD_DIM}u + c], qs[${2 * MAX_HEAD_DIM}u + c], qs[${3 * MAX_HEAD_DIM}u + c]) * k[k0 + c];
    }
    let v0 = vi(b, j, hh);
    var dp = vec4<f32>(0.0);
    for (var c = 0u; c < u.dv; c++) {
      dp = dp + vec4<f32>(dos[c], dos[${MAX_HEAD_DIM}u + c], dos[${2 * MAX_HEAD_DIM}u + c], dos[${3 * MAX_HEAD_DIM}u + c]) * v[v0 + c];
    }
    for (var r = 0u; r < R; r++) {
      let p = exp(sd[r] * u.scale + mask_bias(b, i0 + r, j) - L[r]);
      ds[r * ${MAX_ATTENTION_LEN}u + j] = p * (dp[r] - D[r]);
    }
  }
  workgroupBarrier();
  for (var e = tid; e < R * u.dk; e += ${WG}u) {
    let r = e / u.dk;
    let c = e % u.dk;
    let i = i0 + r;
    if (i < u.t) {
      var acc = 0.0;
      for (var j = 0u; j < u.S; j++) { acc = acc + ds[r * ${MAX_ATTENTION_LEN}u + j] * k[ki(b, j, hh) + c]; }
      dq[qi(b, i, hh) + c] = acc * u.scale;
    }
  }
  if (tid < R && i0 + tid < u.t) { dd[row_id(b, hh, i0 + tid)] = D[tid]; }
}
`;

const BWD_KV_WGSL = /* wgsl */ `
${dkvBindings('f32')}
${COMMON}
const R = ${FWD_ROWS}u;
var<workgroup> ps: array<f32, ${FWD_ROWS * MAX_ATTENTION_LEN}>; // [key row][i]
var<workgroup> ds: array<f32, ${FWD_ROWS * MAX_ATTENTION_LEN}>; // [key row][i]
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let j0 = wid.x * R; let hh = wid.y; let b = wid.z; let tid = lid.x;
  var k0: array<u32, ${FWD_ROWS}>;
  var v0: array<u32, ${FWD_ROWS}>;
  for (var r = 0u; r < R; r++) { k0[r] = ki(b, min(j0 + r, u.S - 1u), hh); v0[r] = vi(b, min(j0 + r, u.S - 1u), hh); }
  for (var i = tid; i < u.t; i += ${WG}u) {
    let q0 = qi(b, i, hh);
    var sd = vec4<f32>(0.0);
    for (var c = 0u; c < u.dk; c++) {
      sd = sd + q[q0 + c] * vec4<f32>(k[k0[0] + c], k[k0[1] + c], k[k0[2] + c], k[k0[3] + c]);
    }
    let o0 = oi(b, i, hh);
    var dp = vec4<f32>(0.0);
    for (var c = 0u; c < u.dv; c++) {
      dp = dp + dout[o0 + c] * vec4<f32>(v[v0[0] + c], v[v0[1] + c], v[v0[2] + c], v[v0[3] + c]);
    }
    let rid = row_id(b, hh, i);
    for (var r = 0u; r < R; r++) {
      let p = exp(sd[r] * u.scale + mask_bias(b, i, min(j0 + r, u.S - 1u)) - lse[rid]);
      ps[r * ${MAX_ATTENTION_LEN}u + i] = p;
      ds[r * ${MAX_ATTENTION_LEN}u + i] = p * (dp[r] - dd[rid]);
    }
  }
  workgroupBarrier();
  for (var e = tid; e < R * u.dv; e += ${WG}u) {
    let r = e / u.dv;
    let c = e % u.dv;
    if (j0 + r < u.S) {
      var acc = 0.0;
      for (var i = 0u; i < u.t; i++) { acc = acc + ps[r * ${MAX_ATTENTION_LEN}u + i] * dout[oi(b, i, hh) + c]; }
      dv[v0[r] + c] = acc;
    }
  }
  for (var e = tid; e < R * u.dk; e += ${WG}u) {
    let r = e / u.dk;
    let c = e % u.dk;
    if (j0 + r < u.S) {
      var acc = 0.0;
      for (var i = 0u; i < u.t; i++) { acc = acc + ds[r * ${MAX_ATTENTION_LEN}u + i] * q[qi(b, i, hh) + c]; }
      dk[k0[r] + c] = acc * u.scale;
    }
  }
}
`;

// The \`cpu\` shapes (runtime/gpu.ts KernelShape): one invocation per (sentence, head, query row) for
// the forward and dQ, per (sentence, head, key row) for dK/dV, walking d_k and d_v in vec4s with the
// rows it reuses in private arrays; no workgroup memory, no barriers. The same formulas and the same
// summation orders over keys/queries as the kernels above (row sums over d_k run in vec4 lanes, then
// across them). Needs d_k, d_v, the row strides and offsets in multiples of 4.
const ROWS_WG = 8;
const MAX_HEAD_VEC4 = MAX_HEAD_DIM / 4;

const CPU_COMMON = /* wgsl */ `
struct U {
  B: u32, t: u32, S: u32, h: u32, dk: u32, dv: u32,
  ldq: u32, ldk: u32, ldv: u32, ldo: u32, q_off: u32, k_off: u32, v_off: u32, o_off: u32,
  scale: f32, causal: u32,
}
@group(0) @binding(0) var<uniform> u: U;
fn mask_bias(b: u32, i: u32, j: u32) -> f32 {
  var bias = 0.0;
  if (kid[b * u.S + j] == 0) { bias = -1e9; }
  if (u.causal != 0u && j > i) { bias = bias + -1e9; }
  return bias;
}
// Row starts in vec4 units.
fn qi(b: u32, i: u32, hh: u32) -> u32 { return (u.q_off + (b * u.t + i) * u.ldq + hh * u.dk) / 4u; }
fn ki(b: u32, j: u32, hh: u32) -> u32 { return (u.k_off + (b * u.S + j) * u.ldk + hh * u.dk) / 4u; }
fn vi(b: u32, j: u32, hh: u32) -> u32 { return (u.v_off + (b * u.S + j) * u.ldv + hh * u.dv) / 4u; }
fn oi(b: u32, i: u32, hh: u32) -> u32 { return (u.o_off + (b * u.t + i) * u.ldo + hh * u.dv) / 4u; }
fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }
// The invocation's flat index over x (and y past 65535 workgroups): one per attention row.
fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.y * nwg.x * ${ROWS_WG}u + gid.x; }
`;

/** The entry point of a cpu-shaped kernel: invocation \`id\` = (b·h + hh)·len + pos, one per attention row. */
const rowMain = (id: string, len: 't' | 'S', pos: string): string => /* wgsl */ `@compute @workgroup_size(${ROWS_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ${id} = flat_id(gid, nwg);
  if (${id} >= u.B * u.h * u.${len}) { return; }
  let ${pos} = ${id} % u.${len}; let hh = (${id} / u.${len}) % u.h; let b = ${id} / (u.${len} * u.h);
  let nk = u.dk / 4u; let nv = u.dv / 4u;`;

const FWD_CPU_WGSL = /* wgsl */ `
${forwardBindings('vec4<f32>')}
${CPU_COMMON}
${rowMain('row', 't', 'i')}
  var qr: array<vec4<f32>, ${MAX_HEAD_VEC4}>;
  let q0 = qi(b, i, hh);
  for (var c = 0u; c < nk; c++) { qr[c] = q[q0 + c]; }
  var sc: array<f32, ${MAX_ATTENTION_LEN}>; // [j]: logits, then exp(logit − max)
  var m = -3.0e38;
  for (var j = 0u; j < u.S; j++) {
    let k0 = ki(b, j, hh);
    var sd = vec4<f32>(0.0);
    for (var c = 0u; c < nk; c++) { sd = sd + qr[c] * k[k0 + c]; }
    sc[j] = hsum(sd) * u.scale + mask_bias(b, i, j);
    m = max(m, sc[j]);
  }
  var l = 0.0;
  for (var j = 0u; j < u.S; j++) { sc[j] = exp(sc[j] - m); l = l + sc[j]; }
  var acc: array<vec4<f32>, ${MAX_HEAD_VEC4}>;
  for (var c = 0u; c < nv; c++) { acc[c] = vec4<f32>(0.0); }
  for (var j = 0u; j < u.S; j++) {
    let p = sc[j] / l;
    let v0 = vi(b, j, hh);
    for (var c = 0u; c < nv; c++) { acc[c] = acc[c] + p * v[v0 + c]; }
  }
  let o0 = oi(b, i, hh);
  for (var c = 0u; c < nv; c++) { o[o0 + c] = acc[c]; }
  lse[row] = m + log(l);
}
`;

const BWD_Q_CPU_WGSL = /* wgsl */ `
${dqBindings('vec4<f32>')}
${CPU_COMMON}
${rowMain('row', 't', 'i')}
  var qr: array<vec4<f32>, ${MAX_HEAD_VEC4}>;
  var gr: array<vec4<f32>, ${MAX_HEAD_VEC4}>; // dO row
  var acc: array<vec4<f32>, ${MAX_HEAD_VEC4}>; // dQ row (unscaled)
  let q0 = qi(b, i, hh);
  let o0 = oi(b, i, hh);
  for (var c = 0u; c < nk; c++) { qr[c] = q[q0 + c]; acc[c] = vec4<f32>(0.0); }
  var dsum = vec4<f32>(0.0);
  for (var c = 0u; c < nv; c++) { gr[c] = dout[o0 + c]; dsum = dsum + gr[c] * o[o0 + c]; }
  let D = hsum(dsum); // rowsum(dO ⊙ O)
  let L = lse[row];
  for (var j = 0u; j < u.S; j++) {
    let k0 = ki(b, j, hh);
    let v0 = vi(b, j, hh);
    var sd = vec4<f32>(0.0);
    for (var c = 0u; c < nk; c++) { sd = sd + qr[c] * k[k0 + c]; }
    var dp = vec4<f32>(0.0);
    for (var c = 0u; c < nv; c++) { dp = dp + gr[c] * v[v0 + c]; }
    let p = exp(hsum(sd) * u.scale + mask_bias(b, i, j) - L);
    let dsc = p * (hsum(dp) - D);
    for (var c = 0u; c < nk; c++) { acc[c] = acc[c] + dsc * k[k0 + c]; }
  }
  for (var c = 0u; c < nk; c++) { dq[q0 + c] = acc[c] * u.scale; }
  dd[row] = D;
}
`;

const BWD_KV_CPU_WGSL = /* wgsl */ `
${dkvBindings('vec4<f32>')}
${CPU_COMMON}
${rowMain('krow', 'S', 'j')}
  var kr: array<vec4<f32>, ${MAX_HEAD_VEC4}>;
  var vr: array<vec4<f32>, ${MAX_HEAD_VEC4}>;
  var dka: array<vec4<f32>, ${MAX_HEAD_VEC4}>;
  var dva: array<vec4<f32>, ${MAX_HEAD_VEC4}>;
  let k0 = ki(b, j, hh);
  let v0 = vi(b, j, hh);
  for (var c = 0u; c < nk; c++) { kr[c] = k[k0 + c]; dka[c] = vec4<f32>(0.0); }
  for (var c = 0u; c < nv; c++) { vr[c] = v[v0 + c]; dva[c] = vec4<f32>(0.0); }
  for (var i = 0u; i < u.t; i++) {
    let q0 = qi(b, i, hh);
    let o0 = oi(b, i, hh);
    var sd = vec4<f32>(0.0);
    for (var c = 0u; c < nk; c++) { sd = sd + q[q0 + c] * kr[c]; }
    var dp = vec4<f32>(0.0);
    for (var c = 0u; c < nv; c++) { dp = dp + dout[o0 + c] * vr[c]; }
    let rid = (b * u.h + hh) * u.t + i;
    let p = exp(hsum(sd) * u.scale + mask_bias(b, i, j) - lse[rid]);
    let dsc = p * (hsum(dp) - dd[rid]);
    for (var c = 0u; c < nv; c++) { dva[c] = dva[c] + p * dout[o0 + c]; }
    for (var c = 0u; c < nk; c++) { dka[c] = dka[c] + dsc * q[q0 + c]; }
  }
  for (var c = 0u; c < nv; c++) { dv[v0 + c] = dva[c]; }
  for (var c = 0u; c < nk; c++) { dk[k0 + c] = dka[c] * u.scale; }
}
`;

// The `cpu` shape with subgroups (adapters whose subgroups have ≥ 8 lanes, kernels/matmul.ts
// `subgroupKernelApplies`): a workgroup of 8 invocations takes 8 consecutive rows of one (sentence,
// head), so the rows every invocation walks (keys and values in the forward and dQ, queries and dO in
// dK·dV) are the same for all 8: each invocation fetches a share of them and the others take it by
// `subgroupBroadcast` (lavapipe fetches a storage value lane by lane inside a loop, a broadcast is one
// instruction). Same formulas and summation orders as the `rows` kernels. The head sizes are compiled
// in (one pipeline per d_k/4, d_v/4): broadcast lanes must be constants.
const SG = 8;

/**
 * WGSL fetching rows j0 .. j0+R−1 (rows past `count` clamped to the last) of `buf`, NC vec4s each at
 * `start(j)`, into private arrays `${dst}0 .. ${dst}{R−1}` (array<vec4<f32>, NC>): vec4 number
 * f = r·NC + c of the R·NC is fetched by invocation f % 8 in round ⌊f / 8⌋, then broadcast.
 */
function fetchSharedRows(buf: string, start: (j: string) => string, NC: number, R: number, dst: string, j0: string, count: string): string {
  const rounds = Math.ceil((R * NC) / SG);
  const lines: string[] = [];
  for (let rr = 0; rr < rounds; rr++) {
    const f = `(${rr * SG}u + lane)`;
    lines.push(`let ${dst}_x${rr} = ${buf}[${start(`min(${j0} + ${f} / ${NC}u, ${count} - 1u)`)} + ${f} % ${NC}u];`);
  }
  for (let r = 0; r < R; r++) {
    lines.push(`var ${dst}${r}: array<vec4<f32>, ${NC}>;`);
    for (let c = 0; c < NC; c++) {
      const f = r * NC + c;
      lines.push(`${dst}${r}[${c}] = subgroupBroadcast(${dst}_x${Math.floor(f / SG)}, ${f % SG}u);`);
    }
  }
  return lines.join('\n    ');
}

/** Rows fetched together: as many as fill the 8 invocations' fetches of the wider of the two matrices. */
const sharedRowsPerRound = (NK: number, NV: number): number => Math.max(1, Math.floor(SG / Math.max(NK, NV)));

/**
 * WGSL looping j over [0, count) in groups of R, fetching each group's rows of the listed matrices
 * cooperatively (`fetchSharedRows`, into `${name}0..` arrays) and running `body(j, r)` for each row
 * j = j0 + r < count (a uniform branch), where the row is `${name}${r}`.
 */
function sharedRowsLoop(count: string, R: number, mats: readonly { buf: string; start: (j: string) => string; NC: number; name: string }[], body: (j: string, r: number) => string): string {
  const fetch = mats.map((m) => fetchSharedRows(m.buf, m.start, m.NC, R, m.name, 'j0', count)).join('\n    ');
  const rows = Array.from({ length: R }, (_, r) => `if (j0 + ${r}u < ${count}) {
      let j = j0 + ${r}u;
      ${body('j', r)}
    }`).join('\n    ');
  return `for (var j0 = 0u; j0 < ${count}; j0 += ${R}u) {
    ${fetch}
    ${rows}
  }`;
}

/**
 * Entry point of a subgroup kernel: workgroup = 8 consecutive rows `pos` of one (b, hh) of a length-`len`
 * axis; `live` says whether this invocation's row exists (the others fetch and broadcast, never store),
 * and its own loads use the row clamped into range.
 */
const sgMain = (len: 't' | 'S', pos: string): string => /* wgsl */ `@compute @workgroup_size(${SG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let nblk = (u.${len} + ${SG - 1}u) / ${SG}u;
  let g = wid.y * nwg.x + wid.x;
  if (g >= u.B * u.h * nblk) { return; }
  let hh = (g / nblk) % u.h; let b = g / (nblk * u.h);
  let ${pos}_raw = (g % nblk) * ${SG}u + lane;
  let live = ${pos}_raw < u.${len};
  let ${pos} = min(${pos}_raw, u.${len} - 1u);`;

const fwdSubgroupWgsl = (NK: number, NV: number): string => {
  const R = sharedRowsPerRound(NK, NV);
  return /* wgsl */ `enable subgroups;
${forwardBindings('vec4<f32>')}
${CPU_COMMON}
${sgMain('t', 'i')}
  let row = (b * u.h + hh) * u.t + i;
  var qr: array<vec4<f32>, ${NK}>;
  let q0 = qi(b, i, hh);
  for (var c = 0u; c < ${NK}u; c++) { qr[c] = q[q0 + c]; }
  var sc: array<f32, ${MAX_ATTENTION_LEN}>; // [j]: logits, then exp(logit − max)
  var m = -3.0e38;
  ${sharedRowsLoop('u.S', R, [{ buf: 'k', start: (j) => `ki(b, ${j}, hh)`, NC: NK, name: 'kr' }], (j, r) => `var sd = vec4<f32>(0.0);
      for (var c = 0u; c < ${NK}u; c++) { sd = sd + qr[c] * kr${r}[c]; }
      sc[${j}] = hsum(sd) * u.scale + mask_bias(b, i, ${j});
      m = max(m, sc[${j}]);`)}
  var l = 0.0;
  for (var j = 0u; j < u.S; j++) { sc[j] = exp(sc[j] - m); l = l + sc[j]; }
  var acc: array<vec4<f32>, ${NV}>;
  ${sharedRowsLoop('u.S', R, [{ buf: 'v', start: (j) => `vi(b, ${j}, hh)`, NC: NV, name: 'vr' }], (j, r) => `let p = sc[${j}] / l;
      for (var c = 0u; c < ${NV}u; c++) { acc[c] = acc[c] + p * vr${r}[c]; }`)}
  if (!live) { return; }
  let o0 = oi(b, i, hh);
  for (var c = 0u; c < ${NV}u; c++) { o[o0 + c] = acc[c]; }
  lse[row] = m + log(l);
}
`;
};

const bwdQSubgroupWgsl = (NK: number, NV: number): string => /* wgsl */ `enable subgroups;
${dqBindings('vec4<f32>')}
${CPU_COMMON}
${sgMain('t', 'i')}
  let row = (b * u.h + hh) * u.t + i;
  var qr: array<vec4<f32>, ${NK}>;
  var gr: array<vec4<f32>, ${NV}>; // dO row
  var acc: array<vec4<f32>, ${NK}>; // dQ row (unscaled)
  let q0 = qi(b, i, hh);
  let o0 = oi(b, i, hh);
  for (var c = 0u; c < ${NK}u; c++) { qr[c] = q[q0 + c]; }
  var dsum = vec4<f32>(0.0);
  for (var c = 0u; c < ${NV}u; c++) { gr[c] = dout[o0 + c]; dsum = dsum + gr[c] * o[o0 + c]; }
  let D = hsum(dsum); // rowsum(dO ⊙ O)
  let L = lse[row];
  ${sharedRowsLoop('u.S', sharedRowsPerRound(NK, NV), [
    { buf: 'k', start: (j) => `ki(b, ${j}, hh)`, NC: NK, name: 'kr' },
    { buf: 'v', start: (j) => `vi(b, ${j}, hh)`, NC: NV, name: 'vr' },
  ], (j, r) => `var sd = vec4<f32>(0.0);
      for (var c = 0u; c < ${NK}u; c++) { sd = sd + qr[c] * kr${r}[c]; }
      var dp = vec4<f32>(0.0);
      for (var c = 0u; c < ${NV}u; c++) { dp = dp + gr[c] * vr${r}[c]; }
      let p = exp(hsum(sd) * u.scale + mask_bias(b, i, ${j}) - L);
      let dsc = p * (hsum(dp) - D);
      for (var c = 0u; c < ${NK}u; c++) { acc[c] = acc[c] + dsc * kr${r}[c]; }`)}
  if (!live) { return; }
  for (var c = 0u; c < ${NK}u; c++) { dq[q0 + c] = acc[c] * u.scale; }
  dd[row] = D;
}
`;

const bwdKvSubgroupWgsl = (NK: number, NV: number): string => /* wgsl */ `enable subgroups;
${dkvBindings('vec4<f32>')}
${CPU_COMMON}
${sgMain('S', 'jk')}
  var kr: array<vec4<f32>, ${NK}>;
  var vr: array<vec4<f32>, ${NV}>;
  var dka: array<vec4<f32>, ${NK}>;
  var dva: array<vec4<f32>, ${NV}>;
  let k0 = ki(b, jk, hh);
  let v0 = vi(b, jk, hh);
  for (var c = 0u; c < ${NK}u; c++) { kr[c] = k[k0 + c]; }
  for (var c = 0u; c < ${NV}u; c++) { vr[c] = v[v0 + c]; }
  ${sharedRowsLoop('u.t', sharedRowsPerRound(NK, NV), [
    { buf: 'q', start: (i) => `qi(b, ${i}, hh)`, NC: NK, name: 'qq' },
    { buf: 'dout', start: (i) => `oi(b, ${i}, hh)`, NC: NV, name: 'gg' },
  ], (i, r) => `var sd = vec4<f32>(0.0);
      for (var c = 0u; c < ${NK}u; c++) { sd = sd + qq${r}[c] * kr[c]; }
      var dp = vec4<f32>(0.0);
      for (var c = 0u; c < ${NV}u; c++) { dp = dp + gg${r}[c] * vr[c]; }
      let rid = (b * u.h + hh) * u.t + ${i};
      let p = exp(hsum(sd) * u.scale + mask_bias(b, ${i}, jk) - lse[rid]);
      let dsc = p * (hsum(dp) - dd[rid]);
      for (var c = 0u; c < ${NV}u; c++) { dva[c] = dva[c] + p * gg${r}[c]; }
      for (var c = 0u; c < ${NK}u; c++) { dka[c] = dka[c] + dsc * qq${r}[c]; }`)}
  if (!live) { return; }
  for (var c = 0u; c < ${NV}u; c++) { dv[v0 + c] = dva[c]; }
  for (var c = 0u; c < ${NK}u; c++) { dk[k0 + c] = dka[c] * u.scale; }
}
`;

/** The \`cpu\` shape applies when every head's rows are whole vec4s. */
function vec4Rows(gpu: Gpu, o: AttentionShapeOptions): boolean {
  const hk = o.heads * o.dk;
  const hv = o.heads * o.dv;
  return (o.shape ?? kernelShape(gpu)) === 'cpu'
    && [o.dk, o.dv, o.ldq ?? hk, o.ldk ?? hk, o.ldv ?? hv, o.ldo ?? hv, o.qOffset ?? 0, o.kOffset ?? 0, o.vOffset ?? 0, o.oOffset ?? 0].every((x) => x % 4 === 0);
}

export interface AttentionShapeOptions {
  /** Sentences, query length, key length. */
  readonly B: number;
  readonly t: number;
  readonly S: number;
  readonly heads: number;
  readonly dk: number;
  readonly dv: number;
  /** Multiply logits by 1/sqrt(d_k) (eq. 1); false is the ablation without it. */
  readonly scale: boolean;
  /** Look-ahead mask (decoder self-attention). */
  readonly causal: boolean;
  /** Row strides and element offsets of q, k, v, o (defaults: dense [rows, h·d] at offset 0). */
  readonly ldq?: number;
  readonly ldk?: number;
  readonly ldv?: number;
  readonly ldo?: number;
  readonly qOffset?: number;
  readonly kOffset?: number;
  readonly vOffset?: number;
  readonly oOffset?: number;
  /** Force a kernel shape (tests); default runtime/gpu.ts `kernelShape`. */
  readonly shape?: KernelShape;
  /** In the cpu shape, use the subgroup kernels (default: where the adapter has subgroups of ≥ 8 lanes); false: the rows kernels (tests). */
  readonly subgroups?: boolean;
}

type AttentionKernels = 'gpu' | 'rows' | 'subgroup';

function attentionKernels(gpu: Gpu, o: AttentionShapeOptions): AttentionKernels {
  if (!vec4Rows(gpu, o)) return 'gpu';
  return (o.subgroups ?? true) && hasSubgroupsOf(gpu, SG) ? 'subgroup' : 'rows';
}

/** Workgroups of the subgroup kernels: one per 8 rows of each (sentence, head) along an axis of `len`. */
const sgGroups = (o: AttentionShapeOptions, len: number): [number, number, number] => groups1d(o.B * o.heads * Math.ceil(len / SG), 1);

function attentionUniform(gpu: Gpu, label: string, o: AttentionShapeOptions): GPUBuffer {
  if (o.t > MAX_ATTENTION_LEN || o.S > MAX_ATTENTION_LEN) throw new Error(`${label}: lengths ${o.t}, ${o.S} exceed ${MAX_ATTENTION_LEN}`);
  if (o.dk > MAX_HEAD_DIM || o.dv > MAX_HEAD_DIM) throw new Error(`${label}: d_k ${o.dk} / d_v ${o.dv} exceed ${MAX_HEAD_DIM}`);
  const hk = o.heads * o.dk;
  const hv = o.heads * o.dv;
  return gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.B], ['u32', o.t], ['u32', o.S], ['u32', o.heads], ['u32', o.dk], ['u32', o.dv],
    ['u32', o.ldq ?? hk], ['u32', o.ldk ?? hk], ['u32', o.ldv ?? hv], ['u32', o.ldo ?? hv],
    ['u32', o.qOffset ?? 0], ['u32', o.kOffset ?? 0], ['u32', o.vOffset ?? 0], ['u32', o.oOffset ?? 0],
    ['f32', o.scale ? 1 / Math.sqrt(o.dk) : 1], ['u32', o.causal ? 1 : 0],
  ]));
}

/** Forward: o = MultiHead attention context (before W^O), lse saved. One dispatch. */
export function attentionForward(
  gpu: Gpu, label: string, o: AttentionShapeOptions,
  buf: { q: Binding; k: Binding; v: Binding; keyIds: Binding; out: Binding; lse: Binding },
): Dispatch {
  const kernels = attentionKernels(gpu, o);
  const [NK, NV] = [o.dk / 4, o.dv / 4];
  const pipeline = kernels === 'subgroup' ? gpu.pipeline(`attention_fwd_sg_${NK}_${NV}`, fwdSubgroupWgsl(NK, NV))
    : kernels === 'rows' ? gpu.pipeline('attention_fwd_rows', FWD_CPU_WGSL) : gpu.pipeline('attention_fwd', FWD_WGSL);
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: attentionUniform(gpu, label, o) }, buf.q, buf.k, buf.v, buf.keyIds, buf.out, buf.lse]);
  const groups = kernels === 'subgroup' ? sgGroups(o, o.t) : kernels === 'rows' ? groups1d(o.B * o.heads * o.t, ROWS_WG) : [Math.ceil(o.t / FWD_ROWS), o.heads, o.B] as const;
  return { label, pipeline, bindGroup, groups };
}

/**
 * Backward: [dQ and D per query row, dK and dV per key row]. dq/dk/dv use the layouts of q/k/v,
 * dOut that of out. `D` is [B, h, t] scratch.
 */
export function attentionBackward(
  gpu: Gpu, label: string, o: AttentionShapeOptions,
  buf: { q: Binding; k: Binding; v: Binding; keyIds: Binding; out: Binding; lse: Binding; dOut: Binding; D: Binding; dq: Binding; dk: Binding; dv: Binding },
): Dispatch[] {
  const uniform = { buffer: attentionUniform(gpu, label, o) };
  const kernels = attentionKernels(gpu, o);
  const [NK, NV] = [o.dk / 4, o.dv / 4];
  const pq = kernels === 'subgroup' ? gpu.pipeline(`attention_bwd_q_sg_${NK}_${NV}`, bwdQSubgroupWgsl(NK, NV))
    : kernels === 'rows' ? gpu.pipeline('attention_bwd_q_rows', BWD_Q_CPU_WGSL) : gpu.pipeline('attention_bwd_q', BWD_Q_WGSL);
  const pkv = kernels === 'subgroup' ? gpu.pipeline(`attention_bwd_kv_sg_${NK}_${NV}`, bwdKvSubgroupWgsl(NK, NV))
    : kernels === 'rows' ? gpu.pipeline('attention_bwd_kv_rows', BWD_KV_CPU_WGSL) : gpu.pipeline('attention_bwd_kv', BWD_KV_WGSL);
  const byKernels = (len: number) => kernels === 'subgroup' ? sgGroups(o, len) : kernels === 'rows' ? groups1d(o.B * o.heads * len, ROWS_WG) : [Math.ceil(len / FWD_ROWS), o.heads, o.B] as const;
  const qGroups = byKernels(o.t);
  const kvGroups = byKernels(o.S);
  return [
    { label: `${label}/dq`, pipeline: pq, groups: qGroups, bindGroup: gpu.bindGroup(`${label}/dq`, pq, [uniform, buf.q, buf.k, buf.v, buf.keyIds, buf.out, buf.lse, buf.dOut, buf.dq, buf.D]) },
    { label: `${label}/dkv`, pipeline: pkv, groups: kvGroups, bindGroup: gpu.bindGroup(`${label}/dkv`, pkv, [uniform, buf.q, buf.k, buf.v, buf.keyIds, buf.lse, buf.D, buf.dOut, buf.dk, buf.dv]) },
  ];
}
