import { describe, expect, it } from 'vitest';
import { AUTO_ORDER, BackendUnavailableError, selectBackend } from './backend';

describe('selectBackend', () => {
  it('loads wasm and describes the device', async () => {
    const r = await selectBackend('wasm');
    expect(r.backend).toBe('wasm');
    expect(r.device).toMatch(/^CPU \(wasm( SIMD)?, \d+ threads?\)$/);
  });

  it('fails with a one-line BackendUnavailableError when an explicitly requested backend cannot load', async () => {
    // Neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node can load here (no libtensorflow);
    // on a machine where one does, this test has nothing to check.
    const err = await selectBackend('tensorflow').then(
      () => null,
      (e: unknown) => e,
    );
    if (err === null) return;
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).name).toBe('BackendUnavailableError');
    expect((err as Error).message).toMatch(/^backend tensorflow unavailable: @tensorflow\/tfjs-node-gpu: .+; @tensorflow\/tfjs-node: .+/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('picks, for auto, a backend in the documented order and never a software WebGPU adapter', async () => {
    const r = await selectBackend('auto');
    expect(AUTO_ORDER).toContain(r.backend);
    expect(r.device.length).toBeGreaterThan(0);
    if (r.backend === 'webgpu') expect(r.device).not.toMatch(/llvmpipe|lavapipe|swiftshader/i);
  });

  it('loads the pure-JavaScript cpu backend', async () => {
    expect(await selectBackend('cpu')).toEqual({ backend: 'cpu', device: 'CPU (JavaScript, 1 thread)' });
  });
});
