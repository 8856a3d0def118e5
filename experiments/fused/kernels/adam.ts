/// <reference types="@webgpu/types" />
/**
 * The optimizer, §5.3 (Vaswani et al. 2017): Adam with β1 = 0.9, β2 = 0.98, ε = 1e-9, over one flat
 * parameter slab in a single dispatch (llm.c adamw_kernel3), with the update of
 * experiments/train/optimizer.ts (tf.train.adam / torch.optim.Adam):
 *   g ← g · clip            (clip = min(maxNorm / (‖g‖ + 1e-6), 1) when clipping, torch's clip_grad_norm_)
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   θ ← θ − step_size · m / (sqrt(v)·inv_bias2 + ε)
 * with step_size = lr / (1 − β1^t) and inv_bias2 = 1 / sqrt(1 − β2^t) computed on the host in float64
 * each step (the Step uniform), so the learning-rate schedule costs no upload beyond that block.
 *
 * Global gradient norm (llm.c global_norm): stage 1, `parts` workgroups each sum squares over a
 * strided share of the slab into partial[parts]; stage 2, one workgroup sums the partials and writes
 * norm = (‖g‖, clip coefficient). Fixed reduction trees: deterministic.
 *
 * Buffers: params, grads, m, v [n] (the slab; alignment padding holds zeros and stays zero),
 * partial [parts], norm [2].
 */
import { type Binding, type Dispatch, type Gpu, packUniform } from '../runtime/gpu';
import { groups1d, STEP_WGSL, workgroupReduceWgsl } from './common';
import { PAPER_ADAM, type AdamOptions } from '../../train/optimizer';

const WG = 256;
/** Workgroups of the norm's first stage. */
export const NORM_PARTS = 256;

const REDUCE = workgroupReduceWgsl(WG);

const NORM1_WGSL = /* wgsl */ `
struct U { n: u32, parts: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
${REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  var acc = 0.0;
  for (var i = wid.x * ${WG}u + lid.x; i < u.n; i += u.parts * ${WG}u) { acc = acc + grads[i] * grads[i]; }
  let s = wg_sum(acc, lid.x);
  if (lid.x == 0u) { partial[wid.x] = s; }
}
`;

const NORM2_WGSL = /* wgsl */ `
struct U { parts: u32, max_norm: f32, clip: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm: array<f32>;
${REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var acc = 0.0;
  for (var i = lid.x; i < u.parts; i += ${WG}u) { acc = acc + partial[i]; }
  let s = wg_sum(acc, lid.x);
  if (lid.x == 0u) {
    let n = sqrt(s);
    norm[0] = n;
    norm[1] = select(1.0, min(u.max_norm / (n + 1e-6), 1.0), u.clip != 0u);
  }
}
`;

const ADAM_WGSL = /* wgsl */ `
${STEP_WGSL}
// one_minus_* are computed in float64 on the host, as optimizer.ts's tf.scalar(1 - beta) are.
struct U { n: u32, beta1: f32, beta2: f32, eps: f32, clip: u32, one_minus_beta1: f32, one_minus_beta2: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> params: array<f32>;
@group(0) @binding(3) var<storage, read> grads: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> norm: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
  if (i >= u.n) { return; }
  var g = grads[i];
  if (u.clip != 0u) { g = g * norm[1]; }
  let m1 = m[i] * u.beta1 + g * u.one_minus_beta1;
  let v1 = v[i] * u.beta2 + (g * g) * u.one_minus_beta2;
  m[i] = m1;
  v[i] = v1;
  let denom = sqrt(v1) * step.inv_bias2 + u.eps;
  params[i] = params[i] + (m1 / denom) * (-step.step_size);
}
`;

/** [stage 1, stage 2] of the global gradient norm; norm = (‖g‖, clip coefficient or 1). */
export function gradNorm(gpu: Gpu, label: string, o: { n: number; maxNorm: number }, buf: { grads: Binding; partial: Binding; norm: Binding }): Dispatch[] {
  const p1 = gpu.pipeline('grad_norm_1', NORM1_WGSL);
  const p2 = gpu.pipeline('grad_norm_2', NORM2_WGSL);
  const u1 = gpu.uniform(`${label}/u1`, packUniform([['u32', o.n], ['u32', NORM_PARTS]]));
  const u2 = gpu.uniform(`${label}/u2`, packUniform([['u32', NORM_PARTS], ['f32', o.maxNorm], ['u32', o.maxNorm > 0 ? 1 : 0]]));
  return [
    { label: `${label}/1`, pipeline: p1, bindGroup: gpu.bindGroup(`${label}/1`, p1, [{ buffer: u1 }, buf.grads, buf.partial]), groups: [NORM_PARTS, 1, 1] },
    { label: `${label}/2`, pipeline: p2, bindGroup: gpu.bindGroup(`${label}/2`, p2, [{ buffer: u2 }, buf.partial, buf.norm]), groups: [1, 1, 1] },
  ];
}

/** One Adam update over the slab; `clip` reads norm[1] from gradNorm. */
export function adamUpdate(
  gpu: Gpu, label: string, o: { n: number; clip: boolean; adam?: AdamOptions }, step: GPUBuffer,
  buf: { params: Binding; grads: Binding; m: Binding; v: Binding; norm?: Binding },
): Dispatch {
  const { beta1, beta2, epsilon } = o.adam ?? PAPER_ADAM;
  if (o.clip && !buf.norm) throw new Error(`${label}: clipping needs the norm buffer`);
  const pipeline = gpu.pipeline('adam', ADAM_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([['u32', o.n], ['f32', beta1], ['f32', beta2], ['f32', epsilon], ['u32', o.clip ? 1 : 0], ['f32', 1 - beta1], ['f32', 1 - beta2]]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, { buffer: step }, buf.params, buf.grads, buf.m, buf.v, buf.norm ?? gpu.dummy]);
  return { label, pipeline, bindGroup, groups: groups1d(o.n, WG) };
}

/** Host-side per-step Adam scalars in float64 (optimizer.ts): step_size and inv_bias2 for step t ≥ 1. */
export function adamStepScalars(lr: number, t: number, adam: AdamOptions = PAPER_ADAM): { stepSize: number; invBias2: number } {
  return { stepSize: lr / (1 - adam.beta1 ** t), invBias2: 1 / Math.sqrt(1 - adam.beta2 ** t) };
}
