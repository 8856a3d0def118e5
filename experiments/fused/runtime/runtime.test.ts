import { describe, expect, it } from 'vitest';
import { acquireGpu, BufferUsage, packUniform } from './gpu';
import { MemoryPlan, SlabLayout } from './memory';

describe('fused runtime', () => {
  it('acquires one shared Dawn device and reports features', async () => {
    const gpu = await acquireGpu();
    expect(await acquireGpu()).toBe(gpu);
    expect(typeof gpu.features.subgroups).toBe('boolean');
    expect(gpu.adapterDescription.length).toBeGreaterThan(0);
  });

  it('caches pipelines by kernel and constants', async () => {
    const gpu = await acquireGpu();
    const code = 'override K: u32 = 1u; @group(0) @binding(0) var<storage, read_write> x: array<u32>; @compute @workgroup_size(1) fn main() { x[0] = K; }';
    const before = gpu.pipelinesCompiled;
    const p1 = gpu.pipeline('probe', code, { K: 3 });
    const p2 = gpu.pipeline('probe', code, { K: 3 });
    const p3 = gpu.pipeline('probe', code, { K: 4 });
    expect(p1).toBe(p2);
    expect(p3).not.toBe(p1);
    expect(gpu.pipelinesCompiled - before).toBe(2);
  });

  it('runs steps from a static plan without creating or destroying buffers, and counts dispatches', async () => {
    const gpu = await acquireGpu();
    const code = `struct U { add: u32, n: u32, p0: u32, p1: u32 }
      @group(0) @binding(0) var<uniform> u: U;
      @group(0) @binding(1) var<storage, read_write> x: array<u32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < u.n) { x[g.x] = x[g.x] + u.add + g.x; } }`;
    const plan = new MemoryPlan(gpu).add('x', 100).addStaging('x/staging', 100).allocate();
    const pipeline = gpu.pipeline('counter', code);
    const dispatches = [1, 2, 3].map((add) => ({
      label: `add${add}`, pipeline, groups: [2, 1, 1] as [number, number, number],
      bindGroup: gpu.bindGroup(`add${add}`, pipeline, [{ buffer: gpu.uniform(`u${add}`, packUniform([['u32', add], ['u32', 100]])) }, plan.get('x')]),
    }));
    const created = gpu.buffersCreated;
    const destroyed = gpu.buffersDestroyed;
    const stats = [];
    for (let s = 0; s < 3; s++) {
      const step = gpu.beginStep();
      step.record(dispatches[0]);
      step.submit();
      step.record(dispatches[1]);
      step.record(dispatches[2]);
      await expect(gpu.readInto(plan.get('x/staging'), plan.get('x'), 0, 400)).rejects.toThrow(/inside a step/);
      stats.push(step.end());
    }
    const out = new Uint32Array(await gpu.readInto(plan.get('x/staging'), plan.get('x'), 0, 400));
    // Each step adds 1+2+3 and three times the index: three steps.
    for (let i = 0; i < 100; i++) expect(out[i]).toBe(3 * (6 + 3 * i));
    expect(gpu.buffersCreated).toBe(created);
    expect(gpu.buffersDestroyed).toBe(destroyed);
    expect(stats.map((s) => [s.dispatches, s.submits])).toEqual([[3, 2], [3, 2], [3, 2]]);
    expect(stats.every((s) => s.hostMs >= 0)).toBe(true);
    expect(() => plan.get('nope')).toThrow(/no buffer nope/);
  });

  it('counts the bytes of live buffers and their peak, sizes rounded up to 16 bytes as allocated', async () => {
    const gpu = await acquireGpu();
    gpu.resetPeakBytes();
    const base = gpu.liveBytes;
    expect(gpu.peakBytes).toBe(base);
    const a = gpu.createBuffer('peak/a', 1000); // 1000 bytes: allocated as 1008
    const b = gpu.createBuffer('peak/b', 4096);
    expect(gpu.liveBytes - base).toBe(1008 + 4096);
    gpu.destroyBuffer(a);
    const c = gpu.createBuffer('peak/c', 1); // the 16-byte minimum
    expect(gpu.liveBytes - base).toBe(4096 + 16);
    expect(gpu.peakBytes - base).toBe(1008 + 4096);
    gpu.destroyBuffer(b);
    gpu.destroyBuffer(c);
    expect(gpu.liveBytes).toBe(base);
    gpu.resetPeakBytes();
    expect(gpu.peakBytes).toBe(base);
  });

  it('brackets a timed step with timestamp queries where the adapter has them', async () => {
    const gpu = await acquireGpu();
    if (!gpu.timestamps) {
      expect(gpu.features.timestampQuery).toBe(false);
      return;
    }
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { for (var i = 0u; i < 200u; i++) { x[g.x] = x[g.x] + 1.0; } }`;
    const buf = gpu.createBuffer('x', 4096 * 4);
    const pipeline = gpu.pipeline('timed', code);
    const d = { label: 'timed', pipeline, groups: [64, 1, 1] as [number, number, number], bindGroup: gpu.bindGroup('timed', pipeline, [buf]) };
    const staging = gpu.createBuffer('ts-staging', 16, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    const step = gpu.beginStep(true);
    step.recordAll([d, d, d]);
    step.end([{ src: gpu.timestamps.resolve, srcOffset: 0, dst: staging, dstOffset: 0, bytes: 16 }]);
    await staging.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    expect(begin).toBeGreaterThan(0n);
    expect(end).toBeGreaterThan(begin);
  });

  it('lays out slabs with 256-byte aligned entries', () => {
    const slab = new SlabLayout();
    expect(slab.add('a', 10)).toBe(0);
    expect(slab.add('b', 64)).toBe(64);
    expect(slab.add('c', 65)).toBe(128);
    expect(slab.floats).toBe(256);
    expect(() => slab.add('a', 1)).toThrow();
  });
});
