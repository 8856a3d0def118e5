/// <reference types="@webgpu/types" />
/**
 * The fused engine's runtime: one Dawn device, a pipeline cache keyed by kernel + override constants,
 * counted buffer creation (so a test can assert that the steady state creates and destroys nothing),
 * bind groups built once, and one command encoder per training step with a dispatch counter and
 * host-time measurement. Read-back (mapAsync) is refused while a step is being recorded.
 *
 * Dawn comes from the `webgpu` npm package (dawn.node), created as experiments/backend.ts does.
 */

/** A binding: a whole buffer, or a byte range of one (offsets must be 256-byte aligned for storage). */
export interface Slice {
  readonly buffer: GPUBuffer;
  readonly offset?: number;
  readonly size?: number;
}
export type Binding = GPUBuffer | Slice;

/** One recorded compute dispatch: everything built once, reused every step. */
export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly groups: readonly [number, number, number];
}

export interface GpuFeatures {
  /** The adapter offers WGSL subgroup operations (requested on the device when present). */
  readonly subgroups: boolean;
  /** The fewest lanes a subgroup of this adapter has (adapter.info.subgroupMinSize; 0 when unknown). */
  readonly subgroupMinSize: number;
  readonly timestampQuery: boolean;
  /**
   * The adapter is a software rasteriser running on the CPU (lavapipe, SwiftShader): kernels whose
   * speed depends on the memory model pick a CPU-shaped variant there (see kernels/matmul.ts).
   */
  readonly softwareAdapter: boolean;
}

/**
 * The shape of kernel to build where a kernel has two: `gpu` (workgroups cooperating through
 * workgroup memory and barriers) or `cpu` (one invocation per row or output block, vec4 loads, no
 * barriers). A CPU adapter runs each workgroup on one thread, 8 invocations to a SIMD vector, makes
 * every invocation a coroutine when the shader has a barrier, and pays about the same for a vec4
 * load as for a float: the `cpu` shapes are 2–4× faster on lavapipe (`experiments/fused/bench.ts
 * --profile` prints the CPU time per kernel). Default: `cpu` on software adapters;
 * ABLATE_FUSED_KERNELS=gpu|cpu overrides (tests run both; the device check can time both).
 */
export type KernelShape = 'gpu' | 'cpu';

export function kernelShape(gpu: Gpu): KernelShape {
  const forced = process.env.ABLATE_FUSED_KERNELS;
  if (forced === 'gpu' || forced === 'cpu') return forced;
  return gpu.features.softwareAdapter ? 'cpu' : 'gpu';
}

/**
 * The adapter's subgroups (WGSL subgroup operations) have at least `lanes` lanes: the cpu-shaped
 * subgroup kernels run one subgroup per workgroup of `lanes` invocations and broadcast between them.
 */
export function hasSubgroupsOf(gpu: Gpu, lanes: number): boolean {
  return gpu.features.subgroups && gpu.features.subgroupMinSize >= lanes;
}

/** Software rasterisers (Mesa lavapipe/llvmpipe, SwiftShader): a WebGPU adapter, but running on the CPU. */
export function isSoftwareAdapter(info: { architecture?: string; device?: string; description?: string }): boolean {
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device ?? ''} ${info.description ?? ''}`);
}

/** Scalar uniform field: every field is 4 bytes, so a WGSL struct of u32/i32/f32 matches this packing. */
export type UniformField = ['u32' | 'i32' | 'f32', number];

/** Packs 4-byte scalars in order, padded to 16 bytes (a WGSL uniform struct of scalars has this layout). */
export function packUniform(fields: readonly UniformField[]): ArrayBuffer {
  const bytes = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(bytes);
  const view = new DataView(buf);
  fields.forEach(([kind, value], i) => {
    if (kind === 'f32') view.setFloat32(i * 4, value, true);
    else if (kind === 'i32') view.setInt32(i * 4, value, true);
    else view.setUint32(i * 4, value >>> 0, true);
  });
  return buf;
}

const STORAGE = 0x0080; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;
const UNIFORM = 0x0040;
const MAP_READ = 0x0001;
const QUERY_RESOLVE = 0x0200;
export const BufferUsage = { STORAGE, COPY_SRC, COPY_DST, UNIFORM, MAP_READ, QUERY_RESOLVE } as const;

const gib = (bytes: number): string => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

export class Gpu {
  /** createBuffer calls made through this object (uniforms, plan buffers, staging, test buffers). */
  buffersCreated = 0;
  buffersDestroyed = 0;
  /** Bytes of the buffers created through this object and not destroyed (sizes as allocated). */
  liveBytes = 0;
  /** The most `liveBytes` has been since the device was opened or `resetPeakBytes()`: the engine's peak GPU memory. */
  peakBytes = 0;
  pipelinesCompiled = 0;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private recording: StepRecorder | null = null;
  /**
   * Every buffer created and not destroyed, kept reachable from JS as a precaution: a buffer used only
   * through a bind group (kernel uniforms) must not depend on how dawn.node ties wrapper lifetime to
   * the native object (a collected GPU instance did crash lavapipe, see `owners`).
   */
  private readonly live = new Map<GPUBuffer, number>();
  /**
   * 16-byte storage buffers bound where a kernel variant does not use a binding (auto layouts need
   * one): `dummy` for read-only bindings, `dummyOut` for writable ones (WebGPU rejects a dispatch that
   * binds one buffer both writable and read-only).
   */
  readonly dummy: GPUBuffer;
  readonly dummyOut: GPUBuffer;
  /**
   * Where the adapter has `timestamp-query`: a 2-entry query set (step begin, step end) and the buffer
   * it resolves into (two u64 nanosecond ticks), copied out by the caller with the step's other results.
   */
  readonly timestamps: { readonly querySet: GPUQuerySet; readonly resolve: GPUBuffer } | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly features: GpuFeatures,
    readonly adapterDescription: string,
    /** The Dawn instance and adapter: held so GC never frees the instance under a live device. */
    private readonly owners: readonly unknown[] = [],
  ) {
    this.dummy = this.createBuffer('dummy', 16, STORAGE);
    this.dummyOut = this.createBuffer('dummy-out', 16, STORAGE);
    if (features.timestampQuery) {
      this.timestamps = {
        querySet: device.createQuerySet({ type: 'timestamp', count: 2 }),
        resolve: this.createBuffer('timestamps/resolve', 16, QUERY_RESOLVE | COPY_SRC),
      };
    }
  }

  createBuffer(label: string, bytes: number, usage: number = STORAGE | COPY_SRC | COPY_DST): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    // Storage buffers are bound whole somewhere (the parameter slabs by Adam), so each must fit a binding.
    const limit = Math.min(this.device.limits.maxBufferSize, usage & STORAGE ? this.device.limits.maxStorageBufferBindingSize : Infinity);
    if (size > limit) {
      const which = size > this.device.limits.maxBufferSize ? 'maxBufferSize' : 'maxStorageBufferBindingSize';
      throw new Error(`GPU buffer ${label} needs ${gib(size)}; this device allows ${gib(limit)} per buffer (${which})`);
    }
    this.buffersCreated++;
    const buffer = this.device.createBuffer({ label, size, usage });
    this.live.set(buffer, size);
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return buffer;
  }

  destroyBuffer(buffer: GPUBuffer): void {
    this.buffersDestroyed++;
    this.liveBytes -= this.live.get(buffer) ?? 0;
    this.live.delete(buffer);
    buffer.destroy();
  }

  /**
   * Errors the device reported and no read-back has thrown yet (validation, out of memory), and a
   * lost device. Dawn reports such errors asynchronously and otherwise carries on: an invalid buffer
   * reads as zeros, a rejected command buffer does nothing, so a run would record made-up losses.
   * Every read-back calls `throwIfFailed` after its map: the first read after an error fails with the
   * device's message (a training step's loss, so the run fails there), once; a lost device fails
   * every read after it. Once, so that a process answering requests (translate, attention maps) fails
   * the request that met the error and serves the next.
   */
  private unreported: string | null = null;
  private lost: string | null = null;

  /** What the next read-back will throw, or null. */
  get failure(): string | null {
    return this.lost ?? this.unreported;
  }

  fail(message: string, lost = false): void {
    const line = message.split('\n')[0].trim();
    if (this.failure === null) console.error(`WebGPU error: ${line}`);
    if (lost) this.lost ??= line;
    else this.unreported ??= line;
  }

  throwIfFailed(): void {
    const failure = this.failure;
    if (failure === null) return;
    this.unreported = null;
    throw new Error(`WebGPU device error: ${failure}`);
  }

  /** Starts a new peak from the bytes live now (as torch.cuda.reset_peak_memory_stats does). */
  resetPeakBytes(): void {
    this.peakBytes = this.liveBytes;
  }

  /** A uniform buffer holding `data`, created once (a kernel instance's static parameters). */
  uniform(label: string, data: ArrayBuffer): GPUBuffer {
    const buf = this.createBuffer(label, data.byteLength, UNIFORM | COPY_DST);
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  /** Compiles (once per kernel name + constants) a compute pipeline with an automatic layout. */
  pipeline(kernel: string, code: string, constants: Readonly<Record<string, number | boolean>> = {}): GPUComputePipeline {
    const keys = Object.keys(constants).sort();
    const key = `${kernel}|${keys.map((k) => `${k}=${Number(constants[k])}`).join(',')}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: kernel, code });
      const numeric: Record<string, number> = {};
      for (const k of keys) numeric[k] = Number(constants[k]);
      p = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main', constants: numeric } });
      this.pipelines.set(key, p);
      this.pipelinesCompiled++;
    }
    return p;
  }

  /** Bind group for group 0 of `pipeline`; binding i gets bindings[i]. Built once per kernel instance. */
  bindGroup(label: string, pipeline: GPUComputePipeline, bindings: readonly Binding[]): GPUBindGroup {
    return this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      // dawn.node reads an explicit `size: undefined` as a size (crashes lavapipe): leave it out instead.
      entries: bindings.map((b, i) => ({
        binding: i,
        resource: 'buffer' in b ? (b.size === undefined ? { buffer: b.buffer, offset: b.offset ?? 0 } : { buffer: b.buffer, offset: b.offset ?? 0, size: b.size }) : { buffer: b },
      })),
    });
  }

  /** Uploads `data` into `buffer` at `byteOffset` (queue.writeBuffer: no buffer is created). */
  write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Starts recording a step: one command encoder, one compute pass. `timed` brackets the step with
   * timestamp writes (adapter permitting); `end()` then resolves them into `timestamps.resolve`.
   */
  beginStep(timed = false): StepRecorder {
    if (this.recording) throw new Error('a step is already being recorded');
    this.recording = new StepRecorder(this, () => (this.recording = null), timed && this.timestamps !== null);
    return this.recording;
  }

  get inStep(): boolean {
    return this.recording !== null;
  }

  /**
   * Copies `bytes` from `src` at `offset` into `staging` (a MAP_READ|COPY_DST buffer from the memory plan)
   * and maps it. Only between steps: a read-back inside a step would stall the pipeline.
   */
  async readInto(staging: GPUBuffer, src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    if (this.recording) throw new Error('read-back inside a step: finish the step first');
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(MAP_READ, 0, bytes);
    const out = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.throwIfFailed();
    return out;
  }

  /** Test/debug read-back: creates (and destroys) a staging buffer. Not for the steady state. */
  async read(src: GPUBuffer, offset = 0, bytes = src.size - offset): Promise<Float32Array> {
    const staging = this.createBuffer('readback', bytes, MAP_READ | COPY_DST);
    try {
      return new Float32Array(await this.readInto(staging, src, offset, Math.ceil(bytes / 4) * 4));
    } finally {
      this.destroyBuffer(staging);
    }
  }

  /** Test helper: a storage buffer with `data` in it. */
  upload(label: string, data: Float32Array | Int32Array | Uint32Array): GPUBuffer {
    const buf = this.createBuffer(label, data.byteLength);
    this.write(buf, data);
    return buf;
  }

  /** Test helper: records `dispatches` as one step, submits, waits for the queue; throws on a validation error. */
  async run(dispatches: readonly Dispatch[]): Promise<void> {
    this.device.pushErrorScope('validation');
    const step = this.beginStep();
    step.recordAll(dispatches);
    step.end();
    const error = await this.device.popErrorScope();
    if (error) throw new Error(`WebGPU validation: ${error.message}`);
    await this.device.queue.onSubmittedWorkDone();
  }
}

export interface BufferCopy {
  readonly src: GPUBuffer;
  readonly srcOffset: number;
  readonly dst: GPUBuffer;
  readonly dstOffset: number;
  readonly bytes: number;
}

/** Records one step into a single encoder; `submit()` may split it into a few chunks. */
export class StepRecorder {
  dispatches = 0;
  submits = 0;
  private encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder;
  /** The pipeline set on `pass` (null: none yet, e.g. after a chunk's submit opened a new pass). */
  private pipeline: GPUComputePipeline | null = null;
  private readonly started = performance.now();
  private hostMs = 0;

  constructor(
    private readonly gpu: Gpu,
    private readonly onEnd: () => void,
    private readonly timed = false,
  ) {
    this.encoder = gpu.device.createCommandEncoder();
    if (timed) this.encoder.beginComputePass({ timestampWrites: { querySet: gpu.timestamps!.querySet, beginningOfPassWriteIndex: 0 } }).end();
    this.pass = this.encoder.beginComputePass();
  }

  record(d: Dispatch): void {
    // Consecutive dispatches often share a pipeline (every matmul of a layer): each call into Dawn costs
    // host time, and a pass keeps its pipeline until the next setPipeline.
    if (d.pipeline !== this.pipeline) {
      this.pass.setPipeline(d.pipeline);
      this.pipeline = d.pipeline;
    }
    this.pass.setBindGroup(0, d.bindGroup);
    this.pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
    this.dispatches++;
  }

  recordAll(ds: readonly Dispatch[]): void {
    for (const d of ds) this.record(d);
  }

  /** Submits what was recorded so far and opens a fresh encoder (for overlapping host and GPU). */
  submit(): void {
    this.pass.end();
    this.gpu.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.encoder = this.gpu.device.createCommandEncoder();
    this.pass = this.encoder.beginComputePass();
    this.pipeline = null;
  }

  /**
   * Ends the step: submits the last chunk, with `copies` (e.g. the loss into a read-back staging
   * buffer) recorded after the compute pass in the same encoder. Returns counts and host milliseconds.
   */
  end(copies: readonly BufferCopy[] = []): { dispatches: number; submits: number; hostMs: number } {
    this.pass.end();
    if (this.timed) {
      const { querySet, resolve } = this.gpu.timestamps!;
      this.encoder.beginComputePass({ timestampWrites: { querySet, endOfPassWriteIndex: 1 } }).end();
      this.encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    }
    for (const c of copies) this.encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
    this.gpu.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.hostMs = performance.now() - this.started;
    this.onEnd();
    return { dispatches: this.dispatches, submits: this.submits, hostMs: this.hostMs };
  }
}

let shared: Promise<Gpu> | null = null;

/**
 * The process's Dawn device (created on first use), with the adapter's storage limits and `subgroups`
 * when the adapter has it. Throws a one-line reason when no adapter exists.
 */
export function acquireGpu(): Promise<Gpu> {
  shared ??= (async () => {
    const dawn = (await import('webgpu')) as unknown as { create(flags: string[]): GPU; globals: Record<string, unknown> };
    const g = globalThis as unknown as Record<string, unknown>;
    if (!g.GPUBufferUsage) Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter (no Vulkan/Metal/D3D12 device found)');
    const has = (f: string) => adapter.features.has(f);
    const requiredFeatures = (['subgroups', 'timestamp-query'] as const).filter(has) as GPUFeatureName[];
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: {
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
      },
    });
    const info = adapter.info;
    const description = [info.description || info.device, info.vendor].filter(Boolean).join(', ');
    const features = {
      subgroups: has('subgroups'),
      subgroupMinSize: (info as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize ?? 0,
      timestampQuery: has('timestamp-query'),
      softwareAdapter: isSoftwareAdapter(info),
    };
    const made = new Gpu(device, features, description, [gpu, adapter]);
    device.addEventListener('uncapturederror', (e) => made.fail((e as GPUUncapturedErrorEvent).error.message));
    void device.lost.then((l) => made.fail(`device lost (${l.reason}): ${l.message}`, true));
    return made;
  })();
  return shared;
}
