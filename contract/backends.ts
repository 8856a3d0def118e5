/**
 * The `--backend` names a run can ask for. Stable: scripts and stored runs name them.
 * - auto: the best that loads on this machine (see experiments/backend.ts AUTO_ORDER)
 * - tensorflow: tfjs on libtensorflow (@tensorflow/tfjs-node-gpu; CUDA when present)
 * - webgpu: tfjs-webgpu on Dawn (the `webgpu` package): Vulkan, Metal or D3D12
 * - wasm: tfjs on WebAssembly with XNNPACK (the CPU path)
 * - cpu: tfjs's plain-JavaScript kernels (slow; a reference)
 */
export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
