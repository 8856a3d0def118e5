/// <reference types="@webgpu/types" />
/**
 * WebGPU ceiling probes (../shared/notes/gpu-engine.md §8.2), on Dawn from the `webgpu` npm
 * package, created as experiments/backend.ts creates it. What a fused engine can reach on this
 * adapter, before the engine exists:
 *   (a) dispatch  200/1,000/5,000 dependent trivial dispatches (ping-pong between two buffers,
 *       switching pipeline and pre-built bind group every dispatch) in one encoder and one compute
 *       pass: host µs per dispatch to encode, submit ms, wall µs per dispatch to completion, and GPU
 *       µs per dispatch from timestamps at pass begin/end (when the adapter has timestamp-query).
 *   (b) matmul    tiled fp32 WGSL matmul C[M,N] = A[M,K]·B[K,N] (16×16 threads, 4×4 or 8×8 outputs
 *       each, K-tiles of 16 in workgroup memory), R back-to-back dispatches: TFLOP/s, checked
 *       against a float64 CPU product at sampled entries.
 *   (c) adam      one flat Adam dispatch over P parameters (p, g, m, v in four buffers): ms and GB/s,
 *       checked against a CPU Adam step.
 *   (d) features  adapter info, features (subgroups, shader-f16, chromium-experimental-subgroup-matrix,
 *       timestamp-query), also with Dawn's allow_unsafe_apis (experimental features hide behind it),
 *       subgroup-matrix configs, and the compute limits.
 * Each measurement is one JSON line (bench/probes/report.ts), then a table.
 *
 * Sizes: the defaults are small enough for Mesa lavapipe (software Vulkan on this VM's 2 cores);
 * --full uses the note's sizes (matmul 1024×256×256 and 1024×256×8000, Adam over config B's
 * 7,568,384 parameters, more repetitions) for a real GPU.
 *   npx tsx bench/probes/webgpu-ceiling.ts [--full] [--only=dispatch,matmul,adam,features]
 *     [--dispatches=200,1000,5000] [--matmul=MxKxN,…] [--adam=P] [--reps=R]
 *     [--toggles=skip_validation,disable_robustness] (Dawn toggles to enable, as a row label too)
 * Dawn's timestamp_quantization toggle is disabled so GPU times are not rounded.
 */
import { pathToFileURL } from 'node:url';
import { emit, formatProbes, median, type Json } from './report';

interface Options {
  readonly full: boolean;
  readonly only: ReadonlySet<string>;
  readonly dispatches: readonly number[];
  readonly matmuls: readonly (readonly [number, number, number])[];
  readonly adamParams: number;
  readonly reps: number;
  readonly toggles: readonly string[];
}

/** Config B's trainable parameters (bench/engine.bench.ts): the note's "7.6 M". */
export const CONFIG_B_PARAMS = 7_568_384;

function flag(args: readonly string[], name: string): string | undefined {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!hit) return undefined;
  return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : '';
}

export function parseOptions(args: readonly string[]): Options {
  const full = flag(args, 'full') !== undefined;
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const matmuls = list(flag(args, 'matmul') ?? (full ? '1024x256x256,1024x256x8000' : '256x256x256,256x256x1000')).map((s) => {
    const d = s.split('x').map(Number);
    if (d.length !== 3 || d.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--matmul: "${s}" is not MxKxN`);
    return [d[0], d[1], d[2]] as const;
  });
  return {
    full,
    only: new Set(list(flag(args, 'only') ?? 'features,dispatch,matmul,adam')),
    dispatches: list(flag(args, 'dispatches') ?? '200,1000,5000').map(Number),
    matmuls,
    adamParams: Number(flag(args, 'adam') ?? (full ? CONFIG_B_PARAMS : 1_000_000)),
    reps: Number(flag(args, 'reps') ?? (full ? 20 : 3)),
    toggles: list(flag(args, 'toggles')),
  };
}

const U = { STORAGE: 0x80, COPY_SRC: 0x04, COPY_DST: 0x08, UNIFORM: 0x40, MAP_READ: 0x01, QUERY_RESOLVE: 0x200 } as const;

interface Ctx {
  readonly device: GPUDevice;
  readonly timestamps: boolean;
  readonly software: boolean;
  readonly label: string;
}

/** Creates Dawn's device with timestamp-query, subgroups and shader-f16 when offered, and the adapter's compute limits. */
interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function openDevice(toggles: readonly string[]): Promise<{ ctx: Ctx; adapter: GPUAdapter; dawn: Dawn }> {
  const name = 'webgpu'; // a runtime import, as experiments/backend.ts does (packed: node_modules/webgpu)
  const dawn = (await import(/* @vite-ignore */ name)) as Dawn;
  if (!(globalThis as Record<string, unknown>).GPUBufferUsage) Object.assign(globalThis, dawn.globals);
  const flags = ['disable-dawn-features=timestamp_quantization'];
  if (toggles.length) flags.push(`enable-dawn-features=${toggles.join(',')}`);
  const gpu = dawn.create(flags);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter (no Vulkan/Metal/D3D12 device found)');
  const wanted = ['timestamp-query', 'subgroups', 'shader-f16'].filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: wanted,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    },
  });
  device.addEventListener('uncapturederror', (e) => console.error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
  const info = adapter.info;
  const software = info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`);
  const label = [info.description || info.device, info.vendor].filter(Boolean).join(', ');
  // Keep the GPU object alive as long as the device (dawn.node frees the instance with it).
  (device as unknown as { __gpu: unknown }).__gpu = gpu;
  return { ctx: { device, timestamps: device.features.has('timestamp-query'), software, label }, adapter, dawn };
}

type Info = GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; subgroupMatrixConfigs?: unknown };
const KEY_FEATURES = ['subgroups', 'shader-f16', 'chromium-experimental-subgroup-matrix', 'timestamp-query'];

/**
 * Features, limits and subgroup sizes; also what the adapter offers with Dawn's allow_unsafe_apis
 * (experimental features such as chromium-experimental-subgroup-matrix hide behind it).
 */
async function featuresRecord(adapter: GPUAdapter, dawn: Dawn): Promise<Json> {
  const info = adapter.info as Info;
  const unsafe = await dawn.create(['enable-dawn-features=allow_unsafe_apis']).requestAdapter({ powerPreference: 'high-performance' });
  const l = adapter.limits;
  const limits: Json = {};
  for (const k of ['maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage'] as const) limits[k] = l[k];
  const features = [...adapter.features].sort();
  const unsafeFeatures = unsafe ? [...unsafe.features].sort() : [];
  return {
    kind: 'probe', probe: 'features',
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, subgroupMinSize: info.subgroupMinSize, subgroupMaxSize: info.subgroupMaxSize },
    has: Object.fromEntries(KEY_FEATURES.map((f) => [f, adapter.features.has(f)])),
    has_with_unsafe_apis: Object.fromEntries(KEY_FEATURES.map((f) => [f, unsafeFeatures.includes(f)])),
    subgroup_matrix_configs: (unsafe?.info as Info | undefined)?.subgroupMatrixConfigs ?? info.subgroupMatrixConfigs ?? null,
    features, only_with_unsafe_apis: unsafeFeatures.filter((f) => !features.includes(f)), limits,
  };
}

/** Timestamps at pass begin and end, resolved and copied into a mappable buffer; null without timestamp-query. */
class PassTimer {
  private readonly qs: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly read: GPUBuffer;
  constructor(private readonly device: GPUDevice) {
    this.qs = device.createQuerySet({ type: 'timestamp', count: 2 });
    this.resolve = device.createBuffer({ size: 16, usage: U.QUERY_RESOLVE | U.COPY_SRC });
    this.read = device.createBuffer({ size: 16, usage: U.MAP_READ | U.COPY_DST });
  }
  passDescriptor(): GPUComputePassDescriptor {
    return { timestampWrites: { querySet: this.qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } };
  }
  afterPass(enc: GPUCommandEncoder): void {
    enc.resolveQuerySet(this.qs, 0, 2, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.read, 0, 16);
  }
  /** Nanoseconds between the two timestamps (after the submission finished). */
  async ns(): Promise<number> {
    await this.read.mapAsync(U.MAP_READ);
    const t = new BigUint64Array(this.read.getMappedRange().slice(0));
    this.read.unmap();
    return Number(t[1] - t[0]);
  }
}

interface Timed {
  readonly encodeMs: number;
  readonly submitMs: number;
  readonly wallMs: number;
  readonly gpuMs?: number;
}

/** Encodes `record` into one compute pass of one encoder, submits it, waits; host and GPU times. */
async function timePass(ctx: Ctx, timer: PassTimer | null, record: (pass: GPUComputePassEncoder) => void): Promise<Timed> {
  const { device } = ctx;
  const t0 = performance.now();
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass(timer?.passDescriptor());
  record(pass);
  pass.end();
  timer?.afterPass(enc);
  const cb = enc.finish();
  const t1 = performance.now();
  device.queue.submit([cb]);
  const t2 = performance.now();
  await device.queue.onSubmittedWorkDone();
  const t3 = performance.now();
  const gpuMs = timer ? (await timer.ns()) / 1e6 : undefined;
  return { encodeMs: t1 - t0, submitMs: t2 - t1, wallMs: t3 - t0, gpuMs };
}

function storage(device: GPUDevice, data: Float32Array): GPUBuffer {
  const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage: U.STORAGE | U.COPY_SRC | U.COPY_DST });
  device.queue.writeBuffer(b, 0, data);
  return b;
}

async function readBack(device: GPUDevice, src: GPUBuffer, bytes: number): Promise<Float32Array> {
  const read = device.createBuffer({ size: bytes, usage: U.MAP_READ | U.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, read, 0, bytes);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(U.MAP_READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

// ---- (a) dependent trivial dispatches ------------------------------------------------------------

const PING_PONG = (c: string) => `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { dst[g.x] = src[g.x] * 0.5 + ${c}; }`;

async function dispatchProbe(ctx: Ctx, counts: readonly number[], reps: number, toggles: readonly string[]): Promise<Json[]> {
  const { device } = ctx;
  const layout = device.createBindGroupLayout({
    entries: [
      { binding: 0, visibility: 4, buffer: { type: 'read-only-storage' } },
      { binding: 1, visibility: 4, buffer: { type: 'storage' } },
    ],
  });
  const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
  const pipelines = ['1.0', '2.0'].map((c) => device.createComputePipeline({ layout: pipelineLayout, compute: { module: device.createShaderModule({ code: PING_PONG(c) }), entryPoint: 'main' } }));
  const a = storage(device, new Float32Array(64));
  const b = storage(device, new Float32Array(64));
  const groups = [
    device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: b } }] }),
    device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: b } }, { binding: 1, resource: { buffer: a } }] }),
  ];
  const timer = ctx.timestamps ? new PassTimer(device) : null;
  const out: Json[] = [];
  for (const n of counts) {
    const record = (pass: GPUComputePassEncoder) => {
      for (let i = 0; i < n; i++) {
        pass.setPipeline(pipelines[i & 1]);
        pass.setBindGroup(0, groups[i & 1]);
        pass.dispatchWorkgroups(1);
      }
    };
    for (let w = 0; w < 2; w++) await timePass(ctx, timer, record); // warm-up (V8 compiles the encode loop)
    const runs: Timed[] = [];
    for (let r = 0; r < Math.max(5, reps); r++) runs.push(await timePass(ctx, timer, record));
    const med = (f: (t: Timed) => number | undefined) => {
      const xs = runs.map(f).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    const gpu = med((t) => t.gpuMs);
    out.push({
      kind: 'probe', probe: 'dispatch', toggles: toggles.join(',') || 'default', dispatches: n, reps: runs.length,
      host_encode_us_per_dispatch: (med((t) => t.encodeMs)! * 1000) / n,
      host_us_per_dispatch: (med((t) => t.encodeMs + t.submitMs)! * 1000) / n,
      submit_ms: med((t) => t.submitMs),
      wall_us_per_dispatch: (med((t) => t.wallMs)! * 1000) / n,
      gpu_us_per_dispatch: gpu === undefined ? null : (gpu * 1000) / n,
    });
  }
  return out;
}

// ---- (b) tiled matmul ----------------------------------------------------------------------------

/** C = A·B, row-major; 16×16 threads, each TM×TN outputs (rows ty+16i, columns tx+16j), K-tiles of 16. */
export function matmulWgsl(tm: number, tn: number): string {
  const bm = 16 * tm, bn = 16 * tn, bk = 16;
  return `
struct Dims { M: u32, K: u32, N: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
var<workgroup> As: array<f32, ${bk * bm}>;
var<workgroup> Bs: array<f32, ${bk * bn}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * ${bm}u;
  let col0 = wg.x * ${bn}u;
  var acc: array<f32, ${tm * tn}>;
  var a: array<f32, ${tm}>;
  var b: array<f32, ${tn}>;
  for (var k0 = 0u; k0 < d.K; k0 += ${bk}u) {
    for (var i = 0u; i < ${tm}u; i++) {
      let e = li + i * 256u;
      let r = e / ${bk}u; let c = e % ${bk}u;
      var v = 0.0;
      if (row0 + r < d.M && k0 + c < d.K) { v = A[(row0 + r) * d.K + k0 + c]; }
      As[c * ${bm}u + r] = v;
    }
    for (var j = 0u; j < ${tn}u; j++) {
      let e = li + j * 256u;
      let r = e / ${bn}u; let c = e % ${bn}u;
      var v = 0.0;
      if (k0 + r < d.K && col0 + c < d.N) { v = B[(k0 + r) * d.N + col0 + c]; }
      Bs[r * ${bn}u + c] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${bk}u; k++) {
      for (var i = 0u; i < ${tm}u; i++) { a[i] = As[k * ${bm}u + lid.y + 16u * i]; }
      for (var j = 0u; j < ${tn}u; j++) { b[j] = Bs[k * ${bn}u + lid.x + 16u * j]; }
      for (var i = 0u; i < ${tm}u; i++) {
        for (var j = 0u; j < ${tn}u; j++) { acc[i * ${tn}u + j] = fma(a[i], b[j], acc[i * ${tn}u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${tm}u; i++) {
    let r = row0 + lid.y + 16u * i;
    for (var j = 0u; j < ${tn}u; j++) {
      let c = col0 + lid.x + 16u * j;
      if (r < d.M && c < d.N) { C[r * d.N + c] = acc[i * ${tn}u + j]; }
    }
  }
}`;
}

async function matmulProbe(ctx: Ctx, shapes: readonly (readonly [number, number, number])[], reps: number): Promise<Json[]> {
  const { device } = ctx;
  const out: Json[] = [];
  const variants = [[4, 4], [8, 8]] as const;
  const pipelines = variants.map(([tm, tn]) => device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: matmulWgsl(tm, tn) }), entryPoint: 'main' } }));
  const timer = ctx.timestamps ? new PassTimer(device) : null;
  for (const [M, K, N] of shapes) {
    const r = rng(M * 31 + K * 7 + N);
    const A = Float32Array.from({ length: M * K }, r);
    const B = Float32Array.from({ length: K * N }, r);
    const bufA = storage(device, A), bufB = storage(device, B), bufC = storage(device, new Float32Array(M * N));
    const dims = device.createBuffer({ size: 16, usage: U.UNIFORM | U.COPY_DST });
    device.queue.writeBuffer(dims, 0, new Uint32Array([M, K, N, 0]));
    for (let v = 0; v < variants.length; v++) {
      const [tm, tn] = variants[v];
      const bg = device.createBindGroup({ layout: pipelines[v].getBindGroupLayout(0), entries: [bufA, bufB, bufC, dims].map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const groups = [Math.ceil(N / (16 * tn)), Math.ceil(M / (16 * tm))] as const;
      const record = (times: number) => (pass: GPUComputePassEncoder) => {
        pass.setPipeline(pipelines[v]);
        pass.setBindGroup(0, bg);
        for (let i = 0; i < times; i++) pass.dispatchWorkgroups(groups[0], groups[1]);
      };
      await timePass(ctx, timer, record(1)); // warm-up (and the result checked below)
      const C = await readBack(device, bufC, M * N * 4);
      let maxRel = 0;
      const pick = rng(7);
      for (let s = 0; s < 64; s++) {
        const i = Math.floor(((pick() + 1) / 2) * M), j = Math.floor(((pick() + 1) / 2) * N);
        let ref = 0, mag = 0;
        for (let k = 0; k < K; k++) {
          ref += A[i * K + k] * B[k * N + j];
          mag += Math.abs(A[i * K + k] * B[k * N + j]);
        }
        maxRel = Math.max(maxRel, Math.abs(C[i * N + j] - ref) / Math.max(mag, 1e-6));
      }
      const t = await timePass(ctx, timer, record(reps));
      const ms = (t.gpuMs ?? t.wallMs) / reps;
      out.push({
        kind: 'probe', probe: 'matmul', M, K, N, tile: `${16 * tm}x${16 * tn} (${tm}x${tn}/thread)`, reps,
        ms_per_matmul: ms, timed_by: t.gpuMs !== undefined ? 'timestamps' : 'wall',
        tflops: (2 * M * N * K) / (ms / 1000) / 1e12, max_rel_error: maxRel, ok: maxRel < 1e-4,
      });
    }
    for (const b of [bufA, bufB, bufC, dims]) b.destroy();
  }
  return out;
}

// ---- (c) flat Adam -------------------------------------------------------------------------------

const ADAM = `
struct H { lr: f32, b1: f32, b2: f32, eps: f32, c1: f32, c2: f32, n: u32, stride: u32 }
@group(0) @binding(0) var<storage, read_write> P: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Mo: array<f32>;
@group(0) @binding(3) var<storage, read_write> Vo: array<f32>;
@group(0) @binding(4) var<uniform> h: H;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  for (var i = gid.x; i < h.n; i += h.stride) {
    let g = G[i];
    let m = h.b1 * Mo[i] + (1.0 - h.b1) * g;
    let v = h.b2 * Vo[i] + (1.0 - h.b2) * g * g;
    Mo[i] = m;
    Vo[i] = v;
    P[i] = P[i] - h.lr * (m * h.c1) / (sqrt(v * h.c2) + h.eps);
  }
}`;

async function adamProbe(ctx: Ctx, n: number, reps: number): Promise<Json> {
  const { device } = ctx;
  const r = rng(n);
  const p0 = Float32Array.from({ length: n }, r), g = Float32Array.from({ length: n }, r);
  const bufs = [p0, g, new Float32Array(n), new Float32Array(n)].map((x) => storage(device, x));
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: ADAM }), entryPoint: 'main' } });
  const groups = Math.min(Math.ceil(n / 256), 65535);
  const [lr, b1, b2, eps] = [1e-3, 0.9, 0.98, 1e-9];
  const uni = device.createBuffer({ size: 32, usage: U.UNIFORM | U.COPY_DST });
  const hb = new ArrayBuffer(32);
  new Float32Array(hb, 0, 6).set([lr, b1, b2, eps, 1 / (1 - b1), 1 / (1 - b2)]); // step 1's bias corrections
  new Uint32Array(hb, 24, 2).set([n, groups * 256]);
  device.queue.writeBuffer(uni, 0, hb);
  const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [...bufs, uni].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const timer = ctx.timestamps ? new PassTimer(device) : null;
  const record = (times: number) => (pass: GPUComputePassEncoder) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    for (let i = 0; i < times; i++) pass.dispatchWorkgroups(groups);
  };
  await timePass(ctx, timer, record(1)); // one step from m = v = 0, checked against the CPU
  const p1 = await readBack(device, bufs[0], n * 4);
  let maxRel = 0;
  for (let s = 0; s < 1000; s++) {
    const i = Math.floor((s / 1000) * n);
    const m = (1 - b1) * g[i], v = (1 - b2) * g[i] * g[i];
    const want = p0[i] - (lr * (m / (1 - b1))) / (Math.sqrt(v / (1 - b2)) + eps);
    maxRel = Math.max(maxRel, Math.abs(p1[i] - want) / Math.max(Math.abs(want), 1e-3));
  }
  const t = await timePass(ctx, timer, record(reps));
  const ms = (t.gpuMs ?? t.wallMs) / reps;
  for (const b of [...bufs, uni]) b.destroy();
  return { kind: 'probe', probe: 'adam', params: n, reps, ms_per_step: ms, timed_by: t.gpuMs !== undefined ? 'timestamps' : 'wall', gb_per_s: (28 * n) / (ms / 1000) / 1e9, max_rel_error: maxRel, ok: maxRel < 1e-5 };
}

// ---- driver --------------------------------------------------------------------------------------

export async function run(args: readonly string[]): Promise<Json[]> {
  const o = parseOptions(args);
  const { ctx, adapter, dawn } = await openDevice(o.toggles);
  const head = { kind: 'probe', probe: 'device', adapter: ctx.label, software: ctx.software, timestamps: ctx.timestamps, full: o.full, toggles: o.toggles.join(',') || 'default' };
  emit(head);
  const rows: Json[] = [];
  const step = async (name: string, f: () => Promise<Json | Json[]>) => {
    if (!o.only.has(name)) return;
    try {
      for (const r of [await f()].flat()) {
        emit(r);
        rows.push(r);
      }
    } catch (err) {
      const r = { kind: 'probe', probe: name, error: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
      emit(r);
      rows.push(r);
    }
  };
  await step('features', () => featuresRecord(adapter, dawn));
  await step('dispatch', () => dispatchProbe(ctx, o.dispatches, o.reps, o.toggles));
  await step('matmul', () => matmulProbe(ctx, o.matmuls, o.reps));
  await step('adam', () => adamProbe(ctx, o.adamParams, o.reps));
  console.log(`\nWebGPU ceiling probes on ${ctx.label}${ctx.software ? ' (software adapter: these are CPU numbers)' : ''}; GPU times ${ctx.timestamps ? 'from timestamp queries' : 'unavailable (no timestamp-query): wall times'}`);
  console.log(formatProbes(rows));
  ctx.device.destroy();
  return rows;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  run(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
