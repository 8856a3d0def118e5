/// <reference types="@webgpu/types" />
/**
 * Shared pieces of the fused kernels: the per-step uniform block every kernel that needs the step
 * reads, and the counter-based dropout RNG (WGSL, with a bit-identical JS mirror for tests).
 */
import { BufferUsage, type Gpu, packUniform } from '../runtime/gpu';

/**
 * Per-step parameters, written once per step with queue.writeBuffer (no buffer created):
 *   step        the optimizer step t (dropout masks and Adam's bias correction depend on it)
 *   seed        the run's dropout seed
 *   step_size   lr / (1 − β1^t)              (Adam, computed in float64 on the host)
 *   inv_bias2   1 / sqrt(1 − β2^t)           (Adam)
 *   token_scale 1 / max(non-pad targets, 1)  (the loss is a mean over non-pad targets)
 */
export const STEP_WGSL = /* wgsl */ `
struct Step { step: u32, seed: u32, step_size: f32, inv_bias2: f32, token_scale: f32, p0: u32, p1: u32, p2: u32 }
`;

export interface StepValues {
  readonly step: number;
  readonly seed: number;
  readonly stepSize: number;
  readonly invBias2: number;
  readonly tokenScale: number;
}

export class StepParams {
  readonly buffer: GPUBuffer;
  constructor(private readonly gpu: Gpu) {
    this.buffer = gpu.createBuffer('step-params', 32, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
  }
  set(v: StepValues): void {
    const data = packUniform([['u32', v.step], ['u32', v.seed], ['f32', v.stepSize], ['f32', v.invBias2], ['f32', v.tokenScale], ['u32', 0], ['u32', 0], ['u32', 0]]);
    this.gpu.device.queue.writeBuffer(this.buffer, 0, data);
  }
}

/**
 * Dropout RNG: a counter-based hash of (seed, step, site, element index), so any kernel can
 * regenerate any mask element (the backward recomputes the forward's mask instead of storing it) and
 * a resumed run repeats its masks. The mixer is lowbias32 (Chris Wellons' hash-prospector), a
 * bijection on u32. keep(…) = uniform in [0, 1) from the top 24 bits ≥ p (tf.dropout keeps with
 * probability 1 − p and scales kept values by 1 / (1 − p)).
 */
export const RNG_WGSL = /* wgsl */ `
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u;
  return x;
}
fn site_key(seed: u32, step: u32, site: u32) -> u32 {
  return mix32(mix32(mix32(seed) ^ step) ^ (site * 0x9e3779b9u));
}
fn uniform01(key: u32, idx: u32) -> f32 {
  return f32(mix32(key ^ mix32(idx)) >> 8u) * (1.0 / 16777216.0);
}
// The same hash on four element indices at once (the \`cpu\`-shaped kernels work on vec4s).
fn mix32v(x0: vec4<u32>) -> vec4<u32> {
  var x = x0;
  x ^= x >> vec4<u32>(16u); x *= vec4<u32>(0x7feb352du); x ^= x >> vec4<u32>(15u); x *= vec4<u32>(0x846ca68bu); x ^= x >> vec4<u32>(16u);
  return x;
}
fn uniform01v(key: u32, idx: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(mix32v(vec4<u32>(key) ^ mix32v(idx)) >> vec4<u32>(8u)) * (1.0 / 16777216.0);
}
/** Dropout multipliers (0 or 1 / (1 − p)) of elements i0 .. i0 + 3. */
fn drop_scale4(key: u32, i0: u32, p: f32) -> vec4<f32> {
  if (p <= 0.0) { return vec4<f32>(1.0); }
  return select(vec4<f32>(0.0), vec4<f32>(1.0 / (1.0 - p)), uniform01v(key, vec4<u32>(i0) + vec4<u32>(0u, 1u, 2u, 3u)) >= vec4<f32>(p));
}
`;

export function mix32(x0: number): number {
  let x = x0 >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}
export function siteKey(seed: number, step: number, site: number): number {
  return mix32((mix32((mix32(seed) ^ step) >>> 0) ^ Math.imul(site, 0x9e3779b9)) >>> 0);
}
export function uniform01(key: number, idx: number): number {
  return (mix32((key ^ mix32(idx)) >>> 0) >>> 8) / 16777216;
}
/** The dropout multiplier of element `idx`: 0, or 1 / (1 − p). */
export function dropoutScale(seed: number, step: number, site: number, idx: number, p: number): number {
  if (p <= 0) return 1;
  return uniform01(siteKey(seed, step, site), idx) >= p ? 1 / (1 - p) : 0;
}

/** Workgroups for `n` threads of `wg` per group, split over x and y when x would pass 65535. */
export function groups1d(n: number, wg: number): [number, number, number] {
  const g = Math.max(1, Math.ceil(n / wg));
  if (g <= 65535) return [g, 1, 1];
  const y = Math.ceil(g / 65535);
  return [Math.ceil(g / y), y, 1];
}

/**
 * WGSL for a fixed-shape tree reduction over one workgroup of `wg` threads (a power of two):
 * `fn name(v: type, tid: u32) -> type` over the workgroup array `store`. The same order every run
 * (deterministic, no float atomics); every thread of the workgroup must call it (it holds barriers),
 * and it may be called again at once (the last barrier frees `store`).
 */
function treeReduceWgsl(name: string, type: string, store: string, wg: number, combine: (a: string, b: string) => string): string {
  return /* wgsl */ `fn ${name}(v: ${type}, tid: u32) -> ${type} {
  ${store}[tid] = v;
  workgroupBarrier();
  for (var o = ${wg / 2}u; o > 0u; o >>= 1u) {
    if (tid < o) { ${store}[tid] = ${combine(`${store}[tid]`, `${store}[tid + o]`)}; }
    workgroupBarrier();
  }
  let r = ${store}[0];
  workgroupBarrier();
  return r;
}`;
}

/** `wg_sum` and `wg_max` of one f32 per thread over the workgroup array `red`. */
export function workgroupReduceWgsl(wg: number): string {
  return /* wgsl */ `
var<workgroup> red: array<f32, ${wg}>;
${treeReduceWgsl('wg_sum', 'f32', 'red', wg, (a, b) => `${a} + ${b}`)}
${treeReduceWgsl('wg_max', 'f32', 'red', wg, (a, b) => `max(${a}, ${b})`)}
`;
}

/** A sum of one vector per thread (`vec2<f32>`, `vec4<f32>`), `name`, over its own workgroup array `store`. */
export function workgroupVectorSumWgsl(wg: number, name: string, type: string, store: string): string {
  return /* wgsl */ `
var<workgroup> ${store}: array<${type}, ${wg}>;
${treeReduceWgsl(name, type, store, wg, (a, b) => `${a} + ${b}`)}
`;
}
