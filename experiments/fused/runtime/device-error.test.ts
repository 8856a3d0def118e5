/**
 * A device error never becomes a recorded number: a buffer over the device's limits is refused with a
 * one-line reason when it is made, and an error Dawn reports asynchronously (validation, out of
 * memory) fails the next read-back, once, so a training step's loss rejects instead of arriving as
 * whatever an invalid command buffer left behind. Its own file: it leaves a validation error on the
 * process's device, and vitest gives each file its own process.
 */
import { describe, expect, it } from 'vitest';
import { tinyConfig } from '../../../test/support/model';
import { FusedTransformer } from '../model/engine';
import { acquireGpu } from './gpu';

describe('fused engine device errors', () => {
  it('refuses a buffer over the storage binding limit in one line naming it and the limit', async () => {
    const gpu = await acquireGpu();
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const created = gpu.buffersCreated;
    expect(() => gpu.createBuffer('logits', limit + 16)).toThrow(/^GPU buffer logits needs .* this device allows .* per buffer \(maxStorageBufferBindingSize\)$/);
    expect(gpu.buffersCreated).toBe(created);
    expect(gpu.failure).toBeNull();
  });

  it('an error the device reports asynchronously fails the next training step\'s loss, with the device\'s message, once', async () => {
    const gpu = await acquireGpu();
    const vocab = 11;
    const engine = new FusedTransformer(gpu, tinyConfig(), vocab, vocab, { batch: 2, srcLen: 3, tgtLen: 3 }, { labelSmoothing: 0.1, clipNorm: 0, seed: 1 });
    engine.setWeights((n) => Float32Array.from({ length: engine.params.get(n)!.size }, (_, i) => (n.endsWith('gamma') ? 1 : Math.sin(i + n.length) * 0.1)));
    const batch = { src: Int32Array.of(4, 5, 6, 7, 8, 9), tgtIn: Int32Array.of(1, 5, 6, 1, 8, 9), tgtOut: Int32Array.of(5, 6, 2, 8, 9, 2) };
    const before = await (await engine.trainStep(batch, 1e-3)).loss;
    expect(Number.isFinite(before)).toBe(true);
    // Straight to Dawn, past Gpu.createBuffer's check: a validation error, reported asynchronously.
    gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await expect((await engine.trainStep(batch, 1e-3)).loss).rejects.toThrow(/^WebGPU device error: .*usage/i);
    // Reported once: a process answering requests fails the one that met the error and serves the next.
    expect(gpu.failure).toBeNull();
    expect(Number.isFinite(await (await engine.trainStep(batch, 1e-3)).loss)).toBe(true);
    engine.destroy(true);
  });
});
