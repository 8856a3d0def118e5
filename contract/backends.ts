/**
 * The `--backend` names a run can ask for. Stable: scripts and stored runs name them.
 * - auto: the best that loads on this machine (see experiments/backend.ts AUTO_ORDER)
 * - tensorflow: tfjs on libtensorflow (@tensorflow/tfjs-node-gpu; CUDA when present)
 * - webgpu: tfjs-webgpu on Dawn (the `webgpu` package): Vulkan, Metal or D3D12
 * - wasm: tfjs on WebAssembly with XNNPACK (the CPU path)
 * - cpu: tfjs's plain-JavaScript kernels (slow; a reference)
 * - fused: the fused WebGPU training engine (experiments/fused: hand-written WGSL forward, backward
 *   and Adam on Dawn, ~160 dispatches a step); validation loss and BLEU decoding on it (the fused
 *   decoder; tfjs wasm/cpu for a config it cannot decode). `auto` takes it first when a hardware WebGPU
 *   adapter exists.
 */
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu', 'fused'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Backends whose runs need Dawn (WebGPU), so a plain Node process rather than Electron's utility process. */
export const DAWN_BACKENDS: readonly BackendName[] = ['webgpu', 'fused', 'auto'];
