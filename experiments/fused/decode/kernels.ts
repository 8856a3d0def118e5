/// <reference types="@webgpu/types" />
/**
 * Kernels of incremental decoding on the fused engine (one target position per step for every
 * decoder row; rows are sentences × beam copies). The step's position t lives in a storage word
 * (`state[0]`) that the last dispatch of a step increments, so many steps can be recorded into one
 * command encoder with no host write between them.
 *
 *   decEmbed      x[r] = table[tokens[r]]·sqrt(d) + pos[t]                 (TransformerModel.embed, offset t)
 *   kvAppend      cache[r, t, :] = kv[r, :]                                  (the new position's K | V)
 *   queryAttention  one workgroup per (row, head): softmax(q·Kᵀ·scale + bias)·V over the self cache
 *                 (positions 0..t, no mask: layers.ts decodeStep) or the cross keys/values of the row's
 *                 sentence (r / copies; −1e9 at PAD source keys: layers.ts paddingBias)
 *   logSoftmax    one workgroup per row: (x − max) − log Σ exp(x − max) (tf.logSoftmax), then −∞ at
 *                 PAD/BOS/UNK and, for rows flagged in `force`, everywhere but EOS; greedy mode
 *                 takes the first maximum and writes it as the next input and into the history
 *   beamTopK      one workgroup per sentence: the best `take` of alive[r] + logp[r, v] over the
 *                 sentence's K rows × V, ordered by value then flat index (tf.topk's order)
 *   reorder       cache rows gathered by parent (positions < t) into scratch, then copied back
 *   stepEnd       t += 1
 *   transpose     out = aᵀ (the tied embedding as the logits' operand, from the current weights)
 */
import { type Binding, type Dispatch, type Gpu, type KernelShape, kernelShape, packUniform } from '../runtime/gpu';
import { groups1d, workgroupReduceWgsl } from '../kernels/common';

/** Longest self-attention cache / source a single-query attention workgroup holds. */
export const MAX_DECODE_LEN = 1024;
/** Widest head (d_k, d_v). */
export const MAX_HEAD = 256;
/** Largest `take` (2K) of beamTopK. */
export const MAX_TAKE = 32;
const WG = 64;

const DEC_EMBED_WGSL = /* wgsl */ `
struct U { R: u32, d: u32, has_pos: u32, sqrt_d: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> tokens: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read> pos: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= u.R * u.d) { return; }
  let r = i / u.d;
  let c = i % u.d;
  var x = table[u32(tokens[r]) * u.d + c] * u.sqrt_d;
  if (u.has_pos != 0u) { x = x + pos[state[0] * u.d + c]; }
  out[i] = x;
}
`;

export function decEmbed(gpu: Gpu, label: string, o: { R: number; d: number }, buf: { state: Binding; tokens: Binding; table: Binding; pos?: Binding; out: Binding }): Dispatch {
  const pipeline = gpu.pipeline('decode_embed', DEC_EMBED_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.R], ['u32', o.d], ['u32', buf.pos ? 1 : 0], ['f32', Math.sqrt(o.d)]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.state, buf.tokens, buf.table, buf.pos ?? gpu.dummy, buf.out]);
  return { label, pipeline, bindGroup, groups: groups1d(o.R * o.d, 256) };
}

const KV_APPEND_WGSL = /* wgsl */ `
struct U { R: u32, w: u32, maxT: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> kv: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= u.R * u.w) { return; }
  let r = i / u.w;
  let c = i % u.w;
  cache[(r * u.maxT + state[0]) * u.w + c] = kv[i];
}
`;

export function kvAppend(gpu: Gpu, label: string, o: { R: number; width: number; maxT: number }, buf: { state: Binding; kv: Binding; cache: Binding }): Dispatch {
  const pipeline = gpu.pipeline('decode_kv_append', KV_APPEND_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.R], ['u32', o.width], ['u32', o.maxT]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.state, buf.kv, buf.cache]);
  return { label, pipeline, bindGroup, groups: groups1d(o.R * o.width, 256) };
}

const REDUCE_WGSL = workgroupReduceWgsl(WG);

const QUERY_ATTENTION_UNIFORM = /* wgsl */ `
struct U { h: u32, dk: u32, dv: u32, ldq: u32, ldkv: u32, v_off: u32, stride: u32, S: u32, copies: u32, self_attn: u32, scale: f32, ldo: u32, probs_ld: u32, write_probs: u32, probs_rows: u32, probs_off: u32, R: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> state: array<u32>;
`;

const QUERY_ATTENTION_WGSL_GPU = /* wgsl */ `
${QUERY_ATTENTION_UNIFORM}
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> kv: array<f32>;
@group(0) @binding(4) var<storage, read> kid: array<i32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> probs: array<f32>;
${REDUCE_WGSL}
var<workgroup> qs: array<f32, ${MAX_HEAD}>;
var<workgroup> ps: array<f32, ${MAX_DECODE_LEN}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wid.x; let hh = wid.y; let tid = lid.x;
  // Attention maps: one row per step (decoder, row t of [rows, ld]) or one row per query (encoder).
  var prow = 0u;
  if (u.probs_rows > 1u) { prow = state[0]; }
  var len = u.S;
  var base = 0u; // first key row of this query row
  if (u.self_attn != 0u) {
    len = state[0] + 1u;
    base = r * u.stride;
  } else {
    base = (r / u.copies) * u.S;
  }
  let q0 = r * u.ldq + hh * u.dk;
  for (var c = tid; c < u.dk; c += ${WG}u) { qs[c] = q[q0 + c]; }
  workgroupBarrier();
  var mx = -3.0e38;
  for (var j = tid; j < len; j += ${WG}u) {
    let k0 = (base + j) * u.ldkv + hh * u.dk;
    var sdot = 0.0;
    for (var c = 0u; c < u.dk; c++) { sdot = sdot + qs[c] * kv[k0 + c]; }
    var sc = sdot * u.scale;
    if (u.self_attn == 0u && kid[base + j] == 0) { sc = sc + -1e9; }
    ps[j] = sc;
    mx = max(mx, sc);
  }
  let m = wg_max(mx, tid);
  var sum = 0.0;
  for (var j = tid; j < len; j += ${WG}u) {
    let e = exp(ps[j] - m);
    ps[j] = e;
    sum = sum + e;
  }
  let l = wg_sum(sum, tid);
  for (var j = tid; j < len; j += ${WG}u) {
    ps[j] = ps[j] / l;
    if (u.write_probs != 0u) { probs[u.probs_off + ((r * u.h + hh) * u.probs_rows + prow) * u.probs_ld + j] = ps[j]; }
  }
  workgroupBarrier();
  let o0 = r * u.ldo + hh * u.dv;
  for (var c = tid; c < u.dv; c += ${WG}u) {
    var acc = 0.0;
    for (var j = 0u; j < len; j++) { acc = acc + ps[j] * kv[(base + j) * u.ldkv + u.v_off + hh * u.dv + c]; }
    o[o0 + c] = acc;
  }
}
`;

// The cpu shape (runtime/gpu.ts KernelShape): one invocation per (row, head), no workgroup memory and
// no barriers (on a CPU adapter a barrier makes every invocation a coroutine), vec4 loads over d_k and
// d_v. Scores are computed twice with the same code (max, then exp and the unnormalised V sum, divided
// by the sum at the end) instead of being held; a third pass writes the probabilities for maps.
const QUERY_ATTENTION_WGSL_CPU = /* wgsl */ `
${QUERY_ATTENTION_UNIFORM}
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> kv: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> kid: array<i32>;
@group(0) @binding(5) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> probs: array<f32>;
fn score(q0: u32, k0: u32, n4: u32, key: u32) -> f32 {
  var sdot = 0.0;
  for (var c = 0u; c < n4; c++) { sdot = sdot + dot(q[q0 + c], kv[k0 + c]); }
  var sc = sdot * u.scale;
  if (u.self_attn == 0u && kid[key] == 0) { sc = sc + -1e9; }
  return sc;
}
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= u.R * u.h) { return; }
  let r = i / u.h; let hh = i % u.h;
  var prow = 0u;
  if (u.probs_rows > 1u) { prow = state[0]; }
  var len = u.S;
  var base = 0u;
  if (u.self_attn != 0u) {
    len = state[0] + 1u;
    base = r * u.stride;
  } else {
    base = (r / u.copies) * u.S;
  }
  let n4 = u.dk / 4u; let v4 = u.dv / 4u; let ld4 = u.ldkv / 4u;
  let q0 = (r * u.ldq + hh * u.dk) / 4u;
  let kcol = hh * n4;
  let vcol = (u.v_off + hh * u.dv) / 4u;
  var m = -3.0e38;
  for (var j = 0u; j < len; j++) { m = max(m, score(q0, (base + j) * ld4 + kcol, n4, base + j)); }
  var acc: array<vec4<f32>, ${MAX_HEAD / 4}>;
  for (var c = 0u; c < v4; c++) { acc[c] = vec4<f32>(0.0); }
  var l = 0.0;
  for (var j = 0u; j < len; j++) {
    let e = exp(score(q0, (base + j) * ld4 + kcol, n4, base + j) - m);
    l = l + e;
    let v0 = (base + j) * ld4 + vcol;
    for (var c = 0u; c < v4; c++) { acc[c] = acc[c] + e * kv[v0 + c]; }
  }
  let o0 = (r * u.ldo + hh * u.dv) / 4u;
  for (var c = 0u; c < v4; c++) { o[o0 + c] = acc[c] / l; }
  if (u.write_probs != 0u) {
    for (var j = 0u; j < len; j++) {
      probs[u.probs_off + ((r * u.h + hh) * u.probs_rows + prow) * u.probs_ld + j] = exp(score(q0, (base + j) * ld4 + kcol, n4, base + j) - m) / l;
    }
  }
}
`;

export interface QueryAttentionOptions {
  readonly R: number;
  readonly heads: number;
  readonly dk: number;
  readonly dv: number;
  /** Multiply logits by 1/sqrt(d_k). */
  readonly scale: boolean;
  /** Self-attention over the cache (rows of `stride` positions, length t + 1) or cross-attention over S source positions. */
  readonly self: boolean;
  /** Cache positions per row (self). */
  readonly stride: number;
  /** Source positions per sentence (cross). */
  readonly S: number;
  /** Decoder rows per sentence (cross: row r reads sentence r / copies). */
  readonly copies: number;
  /**
   * Attention maps: probabilities written to probs[probsOffset + ((r·h + head)·probsRows + row)·probsLd + j],
   * row = the step t when probsRows > 1 (a decoder map filled one query row per step), else 0.
   */
  readonly probs?: { readonly ld: number; readonly rows: number; readonly offset: number };
  /** Kernel shape (default: the adapter's, runtime/gpu.ts kernelShape); cpu needs d_k and d_v in multiples of 4, else gpu. */
  readonly shape?: KernelShape;
}

export function queryAttention(gpu: Gpu, label: string, o: QueryAttentionOptions, buf: { state: Binding; q: Binding; kv: Binding; keyIds?: Binding; out: Binding; probs?: Binding }): Dispatch {
  if (o.dk > MAX_HEAD || o.dv > MAX_HEAD) throw new Error(`${label}: d_k, d_v ≤ ${MAX_HEAD}`);
  if ((o.self ? o.stride : o.S) > MAX_DECODE_LEN) throw new Error(`${label}: at most ${MAX_DECODE_LEN} positions`);
  const hk = o.heads * o.dk;
  const hv = o.heads * o.dv;
  const rows = (o.shape ?? kernelShape(gpu)) === 'cpu' && o.dk % 4 === 0 && o.dv % 4 === 0;
  const pipeline = rows ? gpu.pipeline('decode_query_attention_rows', QUERY_ATTENTION_WGSL_CPU) : gpu.pipeline('decode_query_attention', QUERY_ATTENTION_WGSL_GPU);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.heads], ['u32', o.dk], ['u32', o.dv], ['u32', hk], ['u32', hk + hv], ['u32', hk], ['u32', o.stride], ['u32', o.S], ['u32', o.copies],
    ['u32', o.self ? 1 : 0], ['f32', o.scale ? 1 / Math.sqrt(o.dk) : 1], ['u32', hv],
    ['u32', o.probs?.ld ?? 0], ['u32', buf.probs ? 1 : 0], ['u32', o.probs?.rows ?? 1], ['u32', o.probs?.offset ?? 0], ['u32', o.R],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.state, buf.q, buf.kv, buf.keyIds ?? gpu.dummy, buf.out, buf.probs ?? gpu.dummyOut]);
  return { label, pipeline, bindGroup, groups: rows ? [Math.ceil((o.R * o.heads) / 8), 1, 1] : [o.R, o.heads, 1] };
}

const LOG_SOFTMAX_WGSL = /* wgsl */ `
struct U { V: u32, greedy: u32, maxT: u32, pad: u32, bos: u32, unk: u32, eos: u32, ninf: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> force: array<u32>;
@group(0) @binding(4) var<storage, read_write> logp: array<f32>;
@group(0) @binding(5) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(6) var<storage, read_write> hist: array<i32>;
${REDUCE_WGSL}
var<workgroup> besti: array<u32, ${WG}>;
// −∞ from a uniform's bits (a constant −∞ is not a valid WGSL value).
fn neg_inf() -> f32 { return bitcast<f32>(u.ninf); }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wid.x; let tid = lid.x;
  let base = r * u.V;
  var mx = neg_inf();
  for (var v = tid; v < u.V; v += ${WG}u) { mx = max(mx, logits[base + v]); }
  let m = wg_max(mx, tid);
  var sum = 0.0;
  for (var v = tid; v < u.V; v += ${WG}u) { sum = sum + exp(logits[base + v] - m); }
  let lse = log(wg_sum(sum, tid));
  let forced = force[r] != 0u;
  var bv = neg_inf();
  var bi = 0xffffffffu;
  for (var v = tid; v < u.V; v += ${WG}u) {
    var lp = (logits[base + v] - m) - lse;
    if (v == u.pad || v == u.bos || v == u.unk || (forced && v != u.eos)) { lp = neg_inf(); }
    if (u.greedy != 0u) {
      if (lp > bv || bi == 0xffffffffu) { bv = lp; bi = v; }
    } else {
      logp[base + v] = lp;
    }
  }
  if (u.greedy == 0u) { return; }
  // First maximum (tf.argMax): larger value, then smaller index.
  red[tid] = bv;
  besti[tid] = bi;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (tid < o) {
      let ov = red[tid + o];
      let oi = besti[tid + o];
      if (oi != 0xffffffffu && (besti[tid] == 0xffffffffu || ov > red[tid] || (ov == red[tid] && oi < besti[tid]))) {
        red[tid] = ov;
        besti[tid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    let tok = i32(besti[0]);
    tokens[r] = tok;
    hist[r * u.maxT + state[0]] = tok;
  }
}
`;

// The cpu shape: one invocation per row, no barriers, vec4 loads over the vocabulary (V a multiple
// of 4). The argmax scans in vocabulary order and keeps the first maximum, as the gpu shape's tree does.
const LOG_SOFTMAX_WGSL_CPU = /* wgsl */ `
struct U { V: u32, greedy: u32, maxT: u32, pad: u32, bos: u32, unk: u32, eos: u32, ninf: u32, R: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> force: array<u32>;
@group(0) @binding(4) var<storage, read_write> logp: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(6) var<storage, read_write> hist: array<i32>;
fn neg_inf() -> f32 { return bitcast<f32>(u.ninf); }
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= u.R) { return; }
  let n4 = u.V / 4u;
  let base = r * n4;
  var mx4 = vec4<f32>(neg_inf());
  for (var i = 0u; i < n4; i++) { mx4 = max(mx4, logits[base + i]); }
  let m = max(max(mx4.x, mx4.y), max(mx4.z, mx4.w));
  var s4 = vec4<f32>(0.0);
  for (var i = 0u; i < n4; i++) { s4 = s4 + exp(logits[base + i] - m); }
  let lse = log((s4.x + s4.y) + (s4.z + s4.w));
  let forced = force[r] != 0u;
  if (u.greedy == 0u) {
    for (var i = 0u; i < n4; i++) {
      if (forced) { logp[base + i] = vec4<f32>(neg_inf()); } else { logp[base + i] = (logits[base + i] - m) - lse; }
    }
    // PAD, BOS, UNK never; a forced row only EOS (written after the row, so the ids may share a vec4).
    var cut = array<u32, 3>(u.pad, u.bos, u.unk);
    for (var k = 0u; k < 3u; k++) {
      var w = logp[base + cut[k] / 4u];
      w[cut[k] % 4u] = neg_inf();
      logp[base + cut[k] / 4u] = w;
    }
    if (forced && u.eos != u.pad && u.eos != u.bos && u.eos != u.unk) {
      var w = logp[base + u.eos / 4u];
      w[u.eos % 4u] = (logits[base + u.eos / 4u][u.eos % 4u] - m) - lse;
      logp[base + u.eos / 4u] = w;
    }
    return;
  }
  var bv = neg_inf();
  var bi = 0xffffffffu;
  for (var i = 0u; i < n4; i++) {
    let lp4 = (logits[base + i] - m) - lse;
    for (var k = 0u; k < 4u; k++) {
      let v = 4u * i + k;
      var lp = lp4[k];
      if (v == u.pad || v == u.bos || v == u.unk || (forced && v != u.eos)) { lp = neg_inf(); }
      if (lp > bv || bi == 0xffffffffu) { bv = lp; bi = v; }
    }
  }
  tokens[r] = i32(bi);
  hist[r * u.maxT + state[0]] = i32(bi);
}
`;

export function logSoftmax(
  gpu: Gpu, label: string, o: { R: number; V: number; greedy: boolean; maxT: number; ids: { pad: number; bos: number; unk: number; eos: number }; shape?: KernelShape },
  buf: { state: Binding; logits: Binding; force: Binding; logp?: Binding; tokens?: Binding; hist?: Binding },
): Dispatch {
  const rows = (o.shape ?? kernelShape(gpu)) === 'cpu' && o.V % 4 === 0;
  const pipeline = rows ? gpu.pipeline('decode_log_softmax_rows', LOG_SOFTMAX_WGSL_CPU) : gpu.pipeline('decode_log_softmax', LOG_SOFTMAX_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.V], ['u32', o.greedy ? 1 : 0], ['u32', o.maxT], ['u32', o.ids.pad], ['u32', o.ids.bos], ['u32', o.ids.unk], ['u32', o.ids.eos], ['u32', 0xff800000], ['u32', o.R],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [
    { buffer: uniform }, buf.state, buf.logits, buf.force, buf.logp ?? gpu.dummyOut, buf.tokens ?? gpu.dummyOut, buf.hist ?? gpu.dummyOut,
  ]);
  return { label, pipeline, bindGroup, groups: rows ? [Math.ceil(o.R / 8), 1, 1] : [o.R, 1, 1] };
}

// One invocation's sorted candidate list (value desc, then flat index asc) and its insertion step.
const TOPK_LIST_WGSL = /* wgsl */ `
const NONE = 0xffffffffu;
var<private> lv: array<f32, ${MAX_TAKE}>;
var<private> li: array<u32, ${MAX_TAKE}>;
fn better(v1: f32, i1: u32, v2: f32, i2: u32) -> bool {
  if (i1 == NONE) { return false; }
  if (i2 == NONE) { return true; }
  return v1 > v2 || (v1 == v2 && i1 < i2);
}
fn clear_list(take: u32) { for (var j = 0u; j < take; j++) { lv[j] = 0.0; li[j] = NONE; } }
// Inserts (s, f); candidates come in increasing f, so an equal value stays behind.
fn insert(s: f32, f: u32, take: u32) {
  if (!better(s, f, lv[take - 1u], li[take - 1u])) { return; }
  var j = take - 1u;
  loop {
    if (j == 0u || !better(s, f, lv[j - 1u], li[j - 1u])) { break; }
    lv[j] = lv[j - 1u];
    li[j] = li[j - 1u];
    j--;
  }
  lv[j] = s;
  li[j] = f;
}
`;

const TOPK_WGSL = /* wgsl */ `
struct U { K: u32, V: u32, take: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> alive: array<f32>;
@group(0) @binding(2) var<storage, read> logp: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>; // [B, take, 2]: value bits, flat index
var<workgroup> wv: array<f32, ${WG * MAX_TAKE}>;
var<workgroup> wi: array<u32, ${WG * MAX_TAKE}>;
${TOPK_LIST_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = wid.x; let tid = lid.x;
  clear_list(u.take);
  let n = u.K * u.V;
  for (var f = tid; f < n; f += ${WG}u) {
    let row = b * u.K + f / u.V;
    insert(alive[row] + logp[row * u.V + (f % u.V)], f, u.take);
  }
  for (var j = 0u; j < u.take; j++) { wv[tid * u.take + j] = lv[j]; wi[tid * u.take + j] = li[j]; }
  workgroupBarrier();
  // Tree merge of sorted lists: pairs of lists of take entries.
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (tid < o) {
      var a = 0u; var c = 0u;
      let pa = tid * u.take;
      let pc = (tid + o) * u.take;
      var mv: array<f32, ${MAX_TAKE}>;
      var mi: array<u32, ${MAX_TAKE}>;
      for (var j = 0u; j < u.take; j++) {
        if (better(wv[pc + c], wi[pc + c], wv[pa + a], wi[pa + a])) { mv[j] = wv[pc + c]; mi[j] = wi[pc + c]; c++; }
        else { mv[j] = wv[pa + a]; mi[j] = wi[pa + a]; a++; }
      }
      for (var j = 0u; j < u.take; j++) { lv[j] = mv[j]; li[j] = mi[j]; }
    }
    workgroupBarrier();
    if (tid < o) {
      for (var j = 0u; j < u.take; j++) { wv[tid * u.take + j] = lv[j]; wi[tid * u.take + j] = li[j]; }
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    for (var j = 0u; j < u.take; j++) {
      out[(b * u.take + j) * 2u] = bitcast<u32>(wv[j]);
      out[(b * u.take + j) * 2u + 1u] = wi[j];
    }
  }
}
`;

// The cpu shape: one invocation per sentence inserts every candidate into its sorted list in flat
// index order (no workgroup memory, no merge, no barriers); the same order as the gpu shape.
const TOPK_WGSL_CPU = /* wgsl */ `
struct U { K: u32, V: u32, take: u32, B: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> alive: array<f32>;
@group(0) @binding(2) var<storage, read> logp: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
${TOPK_LIST_WGSL}
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= u.B) { return; }
  clear_list(u.take);
  for (var k = 0u; k < u.K; k++) {
    let row = b * u.K + k;
    let a = alive[row];
    for (var v = 0u; v < u.V; v++) { insert(a + logp[row * u.V + v], k * u.V + v, u.take); }
  }
  for (var j = 0u; j < u.take; j++) {
    out[(b * u.take + j) * 2u] = bitcast<u32>(lv[j]);
    out[(b * u.take + j) * 2u + 1u] = li[j];
  }
}
`;

export function beamTopK(gpu: Gpu, label: string, o: { B: number; K: number; V: number; take: number; shape?: KernelShape }, buf: { alive: Binding; logp: Binding; out: Binding }): Dispatch {
  if (o.take > MAX_TAKE) throw new Error(`${label}: at most ${MAX_TAKE} candidates (beam ≤ ${MAX_TAKE / 2})`);
  const rows = (o.shape ?? kernelShape(gpu)) === 'cpu';
  const pipeline = rows ? gpu.pipeline('decode_beam_topk_rows', TOPK_WGSL_CPU) : gpu.pipeline('decode_beam_topk', TOPK_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.K], ['u32', o.V], ['u32', o.take], ['u32', o.B]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.alive, buf.logp, buf.out]);
  return { label, pipeline, bindGroup, groups: rows ? [Math.ceil(o.B / 8), 1, 1] : [o.B, 1, 1] };
}

const REORDER_WGSL = /* wgsl */ `
struct U { R: u32, w: u32, maxT: u32, gather: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read> parents: array<i32>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let j = wid.y; // cache position
  if (j >= state[0]) { return; }
  let i = wid.x * 256u + lid.x;
  if (i >= u.R * u.w) { return; }
  let r = i / u.w;
  let c = i % u.w;
  var from_row = r;
  if (u.gather != 0u) { from_row = u32(parents[r]); }
  dst[(r * u.maxT + j) * u.w + c] = src[(from_row * u.maxT + j) * u.w + c];
}
`;

// The cpu shape: the same copy in vec4s (a CPU adapter pays about as much for a vec4 load as for a float).
const REORDER_WGSL_CPU = REORDER_WGSL.replace(/array<f32>/g, 'array<vec4<f32>>');

/**
 * [gather cache rows by parent into scratch, copy scratch back]: positions < t only. The cpu shape
 * copies vec4s (width a multiple of 4; the kernel is the same with w counted in vec4s).
 */
export function reorderCache(gpu: Gpu, label: string, o: { R: number; width: number; maxT: number; shape?: KernelShape }, buf: { state: Binding; parents: Binding; cache: Binding; scratch: Binding }): Dispatch[] {
  const vec4 = (o.shape ?? kernelShape(gpu)) === 'cpu' && o.width % 4 === 0;
  const pipeline = vec4 ? gpu.pipeline('decode_reorder_vec4', REORDER_WGSL_CPU) : gpu.pipeline('decode_reorder', REORDER_WGSL);
  const w = vec4 ? o.width / 4 : o.width;
  const groups: [number, number, number] = [Math.ceil((o.R * w) / 256), o.maxT, 1];
  const u = (gather: boolean) => gpu.uniform(`${label}/u${gather ? 'g' : 'c'}`, packUniform([['u32', o.R], ['u32', w], ['u32', o.maxT], ['u32', gather ? 1 : 0]]));
  return [
    { label: `${label}/gather`, pipeline, groups, bindGroup: gpu.bindGroup(`${label}/gather`, pipeline, [{ buffer: u(true) }, buf.state, buf.parents, buf.cache, buf.scratch]) },
    { label: `${label}/copy`, pipeline, groups, bindGroup: gpu.bindGroup(`${label}/copy`, pipeline, [{ buffer: u(false) }, buf.state, buf.parents, buf.scratch, buf.cache]) },
  ];
}

const STEP_END_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> state: array<u32>;
@compute @workgroup_size(1)
fn main() { state[0] = state[0] + 1u; }
`;

export function stepEnd(gpu: Gpu, label: string, state: Binding): Dispatch {
  const pipeline = gpu.pipeline('decode_step_end', STEP_END_WGSL);
  return { label, pipeline, bindGroup: gpu.bindGroup(label, pipeline, [state]), groups: [1, 1, 1] };
}

const ROWS_MATMUL_WGSL = /* wgsl */ `
struct U { M: u32, N: u32, K: u32, ldc: u32, c_off: u32, flags: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wid.x * 64u + lid.x;
  let m0 = wid.y * 8u;
  if (n >= u.N) { return; }
  var r: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { r[i] = min(m0 + i, u.M - 1u) * u.K; }
  var acc: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) { acc[i] = 0.0; }
  for (var k = 0u; k < u.K; k++) {
    let bv = b[k * u.N + n];
    for (var i = 0u; i < 8u; i++) { acc[i] = acc[i] + a[r[i] + k] * bv; }
  }
  for (var i = 0u; i < 8u; i++) {
    let m = m0 + i;
    if (m < u.M) {
      var v = acc[i];
      if ((u.flags & 1u) != 0u) { v = v + bias[n]; }
      if ((u.flags & 2u) != 0u) { v = max(v, 0.0); }
      c[u.c_off + m * u.ldc + n] = v;
    }
  }
}
`;

/**
 * C[M, N] = A[M, K]·B[K, N] (+ bias) (ReLU) for the few rows of a decoder step: one invocation per
 * output column and 8 rows, no shared memory or barriers (lanes read consecutive columns of B; the
 * row of A is the same for every lane). Each output is summed in k order in one invocation, as the
 * tiled matmul does. A and B dense; C with a row stride and an element offset (a column block).
 */
export function rowsMatmul(gpu: Gpu, label: string, o: { M: number; N: number; K: number; ldc?: number; cOffset?: number; relu?: boolean }, buf: { a: Binding; b: Binding; c: Binding; bias?: Binding }): Dispatch {
  const pipeline = gpu.pipeline('decode_rows_matmul', ROWS_MATMUL_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.M], ['u32', o.N], ['u32', o.K], ['u32', o.ldc ?? o.N], ['u32', o.cOffset ?? 0], ['u32', (buf.bias ? 1 : 0) | (o.relu ? 2 : 0)]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.a, buf.b, buf.c, buf.bias ?? gpu.dummy]);
  return { label, pipeline, bindGroup, groups: [Math.ceil(o.N / 64), Math.ceil(o.M / 8), 1] };
}

const TRANSPOSE_WGSL = /* wgsl */ `
struct U { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
  if (i >= u.rows * u.cols) { return; }
  o[(i % u.cols) * u.rows + i / u.cols] = a[i];
}
`;

/** out[cols, rows] = a[rows, cols]ᵀ (the tied embedding as the logits' [d, V] operand). */
export function transpose(gpu: Gpu, label: string, o: { rows: number; cols: number }, buf: { a: Binding; out: Binding }): Dispatch {
  const pipeline = gpu.pipeline('decode_transpose', TRANSPOSE_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.rows], ['u32', o.cols]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, buf.a, buf.out]);
  return { label, pipeline, bindGroup, groups: groups1d(o.rows * o.cols, 256) };
}
