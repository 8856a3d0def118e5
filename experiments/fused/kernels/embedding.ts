/// <reference types="@webgpu/types" />
/**
 * Embeddings and positions, §3.4 and §3.5 (Vaswani et al. 2017): "we multiply those weights by
 * sqrt(d_model)", add the positional encodings, then dropout (§5.4 "to the sums of the embeddings
 * and the positional encodings"). Same arithmetic as TransformerModel.embed in
 * experiments/model/transformer.ts: x = table[id]·sqrt(d) (+ pos[position]), then dropout.
 *
 * Buffers:
 *   ids     [rows] i32          rows = B·len, sentence-major (position of row r is r mod len)
 *   table   [V, d]              token embedding (shared under share_embeddings)
 *   pos     [≥len, d]           sinusoidal table (a constant buffer) or learned positions; absent for 'none'
 *   out     [rows, d]
 * Backward without float atomics (deterministic):
 *   dtable[v, :] (+)= sqrt(d) · Σ_{r in order[offsets[v] .. offsets[v+1]]} dropout'(dout[r, :])
 *   a segmented reduction per vocabulary row over the token list sorted by id (`tokenIndex`, a
 *   counting sort the host does while it packs the batch: the ids come from the host anyway);
 *   dpos[p, :] (+)= Σ_b dropout'(dout[b·len + p, :]) for learned positions.
 */
import { type Binding, type Dispatch, type Gpu, packUniform } from '../runtime/gpu';
import { groups1d, RNG_WGSL, STEP_WGSL } from './common';

const WG = 256;

const DROP = /* wgsl */ `
fn drop_scale(key: u32, idx: u32, p: f32) -> f32 {
  if (p <= 0.0) { return 1.0; }
  return select(0.0, 1.0 / (1.0 - p), uniform01(key, idx) >= p);
}
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * ${WG}u + lid.x;
}
`;

const FWD_WGSL = /* wgsl */ `
${STEP_WGSL}
${RNG_WGSL}
struct U { rows: u32, d: u32, len: u32, p: f32, site: u32, has_pos: u32, sqrt_d: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read> pos: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
${DROP}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = flat_index(wid, nwg, lid);
  if (i >= u.rows * u.d) { return; }
  let r = i / u.d;
  let c = i % u.d;
  var x = table[u32(ids[r]) * u.d + c] * u.sqrt_d;
  if (u.has_pos != 0u) { x = x + pos[(r % u.len) * u.d + c]; }
  out[i] = x * drop_scale(site_key(step.seed, step.step, u.site), i, u.p);
}
`;

const BWD_TABLE_WGSL = /* wgsl */ `
${STEP_WGSL}
${RNG_WGSL}
struct U { V: u32, d: u32, p: f32, site: u32, sqrt_d: f32, accum: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> dtable: array<f32>;
${DROP}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = flat_index(wid, nwg, lid);
  if (i >= u.V * u.d) { return; }
  let v = i / u.d;
  let c = i % u.d;
  let key = site_key(step.seed, step.step, u.site);
  var acc = 0.0;
  for (var e = offsets[v]; e < offsets[v + 1u]; e++) {
    let j = order[e] * u.d + c;
    acc = acc + dout[j] * drop_scale(key, j, u.p);
  }
  var g = acc * u.sqrt_d;
  if (u.accum != 0u) { g = dtable[i] + g; }
  dtable[i] = g;
}
`;

const BWD_POS_WGSL = /* wgsl */ `
${STEP_WGSL}
${RNG_WGSL}
struct U { B: u32, len: u32, d: u32, p: f32, site: u32, accum: u32, table_rows: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> dpos: array<f32>;
${DROP}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = flat_index(wid, nwg, lid);
  if (i >= u.table_rows * u.d) { return; }
  let key = site_key(step.seed, step.step, u.site);
  var acc = 0.0;
  if (i < u.len * u.d) {
    for (var b = 0u; b < u.B; b++) {
      let j = b * u.len * u.d + i;
      acc = acc + dout[j] * drop_scale(key, j, u.p);
    }
  }
  if (u.accum != 0u) { acc = dpos[i] + acc; }
  dpos[i] = acc;
}
`;

export interface EmbeddingOptions {
  readonly B: number;
  readonly len: number;
  readonly d: number;
  readonly vocab: number;
  readonly p?: number;
  readonly site?: number;
}

/** out = dropout(table[ids]·sqrt(d) (+ pos)). */
export function embeddingForward(gpu: Gpu, label: string, o: EmbeddingOptions, step: GPUBuffer, buf: { ids: Binding; table: Binding; pos?: Binding; out: Binding }): Dispatch {
  const rows = o.B * o.len;
  const pipeline = gpu.pipeline('embedding_fwd', FWD_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', rows], ['u32', o.d], ['u32', o.len], ['f32', o.p ?? 0], ['u32', o.site ?? 0], ['u32', buf.pos ? 1 : 0], ['f32', Math.sqrt(o.d)],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, { buffer: step }, buf.ids, buf.table, buf.pos ?? gpu.dummy, buf.out]);
  return { label, pipeline, bindGroup, groups: groups1d(rows * o.d, WG) };
}

/** dtable (+)= the embedding gradient; `offsets`/`order` come from tokenIndex of the same ids. */
export function embeddingBackward(
  gpu: Gpu, label: string, o: EmbeddingOptions & { accumulate?: boolean }, step: GPUBuffer,
  buf: { dOut: Binding; offsets: Binding; order: Binding; dTable: Binding },
): Dispatch {
  const pipeline = gpu.pipeline('embedding_bwd_table', BWD_TABLE_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.vocab], ['u32', o.d], ['f32', o.p ?? 0], ['u32', o.site ?? 0], ['f32', Math.sqrt(o.d)], ['u32', o.accumulate ? 1 : 0],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, { buffer: step }, buf.dOut, buf.offsets, buf.order, buf.dTable]);
  return { label, pipeline, bindGroup, groups: groups1d(o.vocab * o.d, WG) };
}

/**
 * dpos[0..len) (+)= Σ over sentences of the (dropout-masked) output gradient: learned positions.
 * Rows [len, tableRows) get 0 (or are left as they are when accumulating), so a shorter bucket never
 * leaves a longer bucket's gradient behind in a shared gradient slab.
 */
export function positionsBackward(gpu: Gpu, label: string, o: EmbeddingOptions & { accumulate?: boolean; tableRows?: number }, step: GPUBuffer, buf: { dOut: Binding; dPos: Binding }): Dispatch {
  const pipeline = gpu.pipeline('embedding_bwd_pos', BWD_POS_WGSL);
  const uniform = gpu.uniform(`${label}/u`, packUniform([
    ['u32', o.B], ['u32', o.len], ['u32', o.d], ['f32', o.p ?? 0], ['u32', o.site ?? 0], ['u32', o.accumulate ? 1 : 0], ['u32', Math.max(o.tableRows ?? o.len, o.len)],
  ]));
  const bindGroup = gpu.bindGroup(label, pipeline, [{ buffer: uniform }, { buffer: step }, buf.dOut, buf.dPos]);
  return { label, pipeline, bindGroup, groups: groups1d(Math.max(o.tableRows ?? o.len, o.len) * o.d, WG) };
}

/**
 * Counting sort of token rows by id (stable: rows of one id stay in increasing order, so the GPU
 * sums them in a fixed order). offsets [V + 1], order [rows]. Writes into the given arrays (the
 * memory plan's upload staging), allocating nothing when they are passed.
 */
export function tokenIndex(ids: ArrayLike<number>, vocab: number, offsets: Uint32Array = new Uint32Array(vocab + 1), order: Uint32Array = new Uint32Array(ids.length)): { offsets: Uint32Array; order: Uint32Array } {
  offsets.fill(0);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (!(id >= 0 && id < vocab)) throw new RangeError(`token id ${id} outside the vocabulary of ${vocab}`);
    offsets[id + 1]++;
  }
  for (let v = 0; v < vocab; v++) offsets[v + 1] += offsets[v];
  const next = offsets.slice(0, vocab);
  for (let r = 0; r < ids.length; r++) order[next[ids[r]]++] = r;
  return { offsets, order };
}
