/// <reference types="@webgpu/types" />
/**
 * A static memory plan: every named buffer of a run (weights, gradients, Adam moments, activations,
 * scratch, staging) is declared up front, allocated once by `allocate()`, and looked up by name
 * afterwards. Nothing is created or freed per step. Sub-tensors of a slab are 256-byte aligned slices
 * (WebGPU's minStorageBufferOffsetAlignment), so a kernel can bind one parameter of a flat slab.
 */
import { BufferUsage, type Gpu, type Slice } from './gpu';

/** Floats per alignment unit of a slab (256 bytes). */
export const SLAB_ALIGN_FLOATS = 64;

interface Decl {
  readonly bytes: number;
  readonly usage: number;
}

export class MemoryPlan {
  private readonly decls = new Map<string, Decl>();
  private readonly buffers = new Map<string, GPUBuffer>();
  private allocated = false;

  constructor(private readonly gpu: Gpu) {}

  /** Declares a storage buffer of `floats` 4-byte elements. */
  add(name: string, floats: number, usage: number = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST): this {
    if (this.allocated) throw new Error(`memory plan already allocated; cannot add ${name}`);
    if (this.decls.has(name)) throw new Error(`buffer ${name} declared twice`);
    this.decls.set(name, { bytes: Math.max(4, floats * 4), usage });
    return this;
  }

  /** Declares a staging buffer for asynchronous read-back of up to `floats` elements. */
  addStaging(name: string, floats: number): this {
    return this.add(name, floats, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
  }

  /** Declares and creates a buffer at once (plans built in one pass; call before `allocate()` seals it). */
  alloc(name: string, floats: number, usage?: number): GPUBuffer {
    this.add(name, floats, usage);
    const d = this.decls.get(name)!;
    const b = this.gpu.createBuffer(name, d.bytes, d.usage);
    this.buffers.set(name, b);
    return b;
  }

  allocate(): this {
    if (this.allocated) throw new Error('memory plan allocated twice');
    for (const [name, d] of this.decls) if (!this.buffers.has(name)) this.buffers.set(name, this.gpu.createBuffer(name, d.bytes, d.usage));
    this.allocated = true;
    return this;
  }

  get(name: string): GPUBuffer {
    const b = this.buffers.get(name);
    if (!b) throw new Error(this.allocated ? `no buffer ${name} in the memory plan` : 'memory plan not allocated yet');
    return b;
  }

  /** Bytes of all declared buffers. */
  get totalBytes(): number {
    let n = 0;
    for (const d of this.decls.values()) n += Math.ceil(d.bytes / 16) * 16;
    return n;
  }

  destroy(): void {
    for (const b of this.buffers.values()) this.gpu.destroyBuffer(b);
    this.buffers.clear();
  }
}

/** Offsets of named tensors in a flat slab, each 256-byte aligned. */
export class SlabLayout {
  readonly offsets = new Map<string, { offset: number; size: number }>();
  floats = 0;

  add(name: string, size: number): number {
    if (this.offsets.has(name)) throw new Error(`slab entry ${name} twice`);
    const offset = this.floats;
    this.offsets.set(name, { offset, size });
    this.floats = offset + Math.ceil(size / SLAB_ALIGN_FLOATS) * SLAB_ALIGN_FLOATS;
    return offset;
  }

  entry(name: string): { offset: number; size: number } {
    const e = this.offsets.get(name);
    if (!e) throw new Error(`no slab entry ${name}`);
    return e;
  }

  /** The slice of `buffer` holding `name` (for a binding). */
  slice(buffer: GPUBuffer, name: string): Slice {
    const { offset, size } = this.entry(name);
    return { buffer, offset: offset * 4, size: Math.max(16, Math.ceil(size / 4) * 16) };
  }
}
