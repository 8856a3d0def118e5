/// <reference types="@webgpu/types" />
/**
 * Fused log-softmax + label-smoothed cross-entropy + its gradient (§5.4 "label smoothing of value
 * ε_ls = 0.1"; llm.c fused_classifier): one workgroup per target token reads its logits row, writes
 * the per-token loss, and overwrites the logits with dloss/dlogits. Probabilities are never stored.
 *
 * Conventions are those of experiments/train/loss.ts exactly:
 *   q(k) = (1 − ε)·[k = y] + ε/K·[k ∈ S],  S = all V classes ('all', K = V, PyTorch's convention)
 *                                          or every class but PAD = 0 ('non-pad', K = V − 1);
 *   loss_token = −Σ_k q(k)·log p(k) = Σ_k q(k)·(lse − z_k);  PAD targets (id 0) contribute nothing;
 *   batch loss = Σ loss_token / max(#non-pad targets, 1)  (the host knows the count: step.token_scale);
 *   dz_k = token_scale·(p_k − q(k)) for non-pad targets, 0 for PAD targets.
 * Also the unsmoothed NLL (lse − z_y) per token, for perplexity.
 *
 * Buffers: logits [N, V] (in: logits; out: gradient when `writeGrad`), targets [row0 + N] i32,
 * rowLoss [row0 + N, 2] = (smoothed loss, NLL), 0 at PAD targets. Sum rowLoss with columnSum (2
 * columns). `row0` lets the logits of a large batch come in row chunks, each its own buffer (one
 * storage binding holds at most 2–4 GiB: the base model's 25k × 37k logits are 3.4 GiB), while the
 * targets and per-token losses stay whole.
 */
import { type Binding, type Dispatch, type Gpu, type KernelShape, kernelShape, packUniform } from '../runtime/gpu';
import { groups1d, STEP_WGSL } from './common';
import type { SmoothingSupport } from '../../train/loss';

const WG = 256;

// Uniforms and bindings of both shapes, the logits read as `T` (f32, or vec4<f32> in the cpu shape).
const bindings = (T: string): string => /* wgsl */ `
${STEP_WGSL}
struct U { N: u32, V: u32, eps: f32, K: f32, all_classes: u32, write_grad: u32, row0: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> logits: array<${T}>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read_write> row_loss: array<f32>;
// loss_token = Σ_k q(k)·(lse − z_k) = (1 − ε)·(lse − z_y) + ε/K·(K·lse − Σ_{k∈S} z_k); NLL = lse − z_y.
fn write_row_loss(row: u32, lse: f32, zy: f32, sum_s: f32, valid: bool) {
  let nll = lse - zy;
  let loss = (1.0 - u.eps) * nll + (u.eps / u.K) * (u.K * lse - sum_s);
  row_loss[2u * (u.row0 + row)] = select(0.0, loss, valid);
  row_loss[2u * (u.row0 + row) + 1u] = select(0.0, nll, valid);
}
`;

const WGSL = /* wgsl */ `
${bindings('f32')}
var<workgroup> red: array<f32, ${WG}>;
var<workgroup> red2: array<vec2<f32>, ${WG}>;
fn wg_reduce(v: f32, tid: u32, is_max: bool) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (tid < o) { red[tid] = select(red[tid] + red[tid + o], max(red[tid], red[tid + o]), is_max); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u.N) { return; }
  let tid = lid.x;
  let base = row * u.V;
  let y = targets[u.row0 + row];
  let valid = y != 0;
  let zy = logits[base + u32(y)];
  var mx = -3.0e38;
  var zs = 0.0;
  for (var k = tid; k < u.V; k += ${WG}u) {
    let z = logits[base + k];
    mx = max(mx, z);
    if (u.all_classes != 0u || k != 0u) { zs = zs + z; }
  }
  // max and the support sum in one tree: (max, +) on (x, y)
  red2[tid] = vec2<f32>(mx, zs);
  workgroupBarrier();
  for (var o = ${WG / 2}u; o > 0u; o >>= 1u) {
    if (tid < o) { red2[tid] = vec2<f32>(max(red2[tid].x, red2[tid + o].x), red2[tid].y + red2[tid + o].y); }
    workgroupBarrier();
  }
  let m = red2[0].x;
  let sum_s = red2[0].y;
  var se = 0.0;
  for (var k = tid; k < u.V; k += ${WG}u) { se = se + exp(logits[base + k] - m); }
  let lse = m + log(wg_reduce(se, tid, false));
  let sm = u.eps / u.K;
  if (tid == 0u) { write_row_loss(row, lse, zy, sum_s, valid); }
  if (u.write_grad != 0u) {
    let w = select(0.0, step.token_scale, valid);
    for (var k = tid; k < u.V; k += ${WG}u) {
      var q = 0.0;
      if (u.all_classes != 0u || k != 0u) { q = sm; }
      if (k == u32(y)) { q = q + (1.0 - u.eps); }
      logits[base + k] = w * (exp(logits[base + k] - lse) - q);
    }
  }
}
`;

// The \`cpu\` shape (runtime/gpu.ts KernelShape): one invocation per target token walks its logits row
// in vec4s (no workgroup memory, no barriers); the same formulas, row sums in column order. Needs V a
// multiple of 4.
const ROWS_WG = 8;
const ROWS_WGSL = /* wgsl */ `
${bindings('vec4<f32>')}
fn hsum(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }
@compute @workgroup_size(${ROWS_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.y * nwg.x * ${ROWS_WG}u + gid.x;
  if (row >= u.N) { return; }
  let n4 = u.V / 4u;
  let base = row * n4;
  let y = targets[u.row0 + row];
  let valid = y != 0;
  let zy = logits[base + u32(y) / 4u][u32(y) % 4u];
  // PAD (class 0, lane x of the first vec4) is outside the support in the 'non-pad' convention.
  let drop_pad = u.all_classes == 0u;
  var mx = vec4<f32>(-3.0e38);
  var zs = vec4<f32>(0.0);
  for (var c = 0u; c < n4; c++) {
    let z = logits[base + c];
    mx = max(mx, z);
    zs = zs + select(z, vec4<f32>(0.0, z.yzw), c == 0u && drop_pad);
  }
  let m = max(max(mx.x, mx.y), max(mx.z, mx.w));
  let sum_s = hsum(zs);
  var se = vec4<f32>(0.0);
  for (var c = 0u; c < n4; c++) { se = se + exp(logits[base + c] - m); }
  let lse = m + log(hsum(se));
  let sm = u.eps / u.K;
  write_row_loss(row, lse, zy, sum_s, valid);
  if (u.write_grad != 0u) {
    let w = select(0.0, step.token_scale, valid);
    let lanes = vec4<u32>(0u, 1u, 2u, 3u);
    for (var c = 0u; c < n4; c++) {
      var q = vec4<f32>(sm);
      if (c == 0u && drop_pad) { q.x = 0.0; }
      q = q + select(vec4<f32>(0.0), vec4<f32>(1.0 - u.eps), vec4<u32>(4u * c) + lanes == vec4<u32>(u32(y)));
      logits[base + c] = w * (exp(logits[base + c] - lse) - q);
    }
  }
}
`;

export interface ClassifierOptions {
  readonly N: number;
  readonly vocab: number;
  readonly labelSmoothing: number;
  readonly smoothing?: SmoothingSupport;
  /** Overwrite the logits with the gradient (training); false for evaluation. */
  readonly writeGrad: boolean;
  /** Row of targets and rowLoss that the first logits row belongs to (a chunk of a larger batch); default 0. */
  readonly row0?: number;
  /** Force a kernel shape (tests); default runtime/gpu.ts `kernelShape`. */
  readonly shape?: KernelShape;
}

export function fusedClassifier(gpu: Gpu, label: string, o: ClassifierOptions, step: GPUBuffer, buf: { logits: Binding; targets: Binding; rowLoss: Binding }): Dispatch {
  const eps = o.labelSmoothing;
  if (!(eps >= 0 && eps < 1)) throw new RangeError(`label_smoothing must be in [0, 1), got ${eps}`);
  const all = (o.smoothing ?? 'non-pad') === 'all';
  const rows = (o.shape ?? kernelShape(gpu)) === 'cpu' && o.vocab % 4 === 0;
  const pipeline = rows ? gpu.pipeline('classifier_rows', ROWS_WGSL) : gpu.pipeline('classifier', WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.N], ['u32', o.vocab], ['f32', eps], ['f32', all ? o.vocab : o.vocab - 1], ['u32', all ? 1 : 0], ['u32', o.writeGrad ? 1 : 0], ['u32', o.row0 ?? 0],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, { buffer: step }, buf.logits, buf.targets, buf.rowLoss]);
  if (rows) return { label, pipeline, bindGroup, groups: groups1d(o.N, ROWS_WG) };
  const gx = Math.min(o.N, 65535);
  return { label, pipeline, bindGroup, groups: [gx, Math.ceil(o.N / gx), 1] };
}
