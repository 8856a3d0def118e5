/**
 * Picks and initialises the tfjs backend a run trains on.
 *
 * `auto` tries, in order: tensorflow (native libtensorflow through @tensorflow/tfjs-node-gpu, then
 * @tensorflow/tfjs-node), webgpu (the `webgpu` npm package's Dawn; needs an adapter), wasm, cpu.
 * In `auto` a backend that cannot load is skipped quietly; a backend named explicitly that cannot
 * load throws BackendUnavailableError with a one-line reason (the CLI prints it as is).
 *
 * Each run lives in its own process (see ARCHITECTURE.md), so setting the global tfjs backend here
 * is safe: nothing else in the process shares it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import type { BackendName } from '../contract/backends';
import { UserError } from '../contract/errors';
import { installWasmBatchMatMul, installWasmIdentity } from './wasm-kernels';
import { acquireGpu, isSoftwareAdapter, type Gpu } from './fused/runtime/gpu';

/** A requested backend could not be loaded; the message is one line meant for the user. */
export class BackendUnavailableError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

export interface SelectedBackend {
  /** tfjs backend name actually in use: tensorflow | webgpu | wasm | cpu. */
  readonly backend: string;
  /** Human-readable device: GPU adapter, 'CPU (N threads)', … */
  readonly device: string;
}

/** First line of an error's message, trimmed, for one-line reasons. */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n').find((l) => l.trim()) ?? text).trim().slice(0, 300);
}

/** Dynamic import that the bundler/TypeScript must not resolve statically (optional packages). */
async function optionalImport(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

async function loadTensorflow(): Promise<SelectedBackend> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      // tfjs-node registers the 'tensorflow' backend on import. It bundles its own copy of
      // tfjs-core only when versions differ; with 4.22 everywhere it shares ours.
      await optionalImport(pkg);
      if (!tf.findBackend('tensorflow')) throw new Error(`${pkg} loaded but registered no 'tensorflow' backend with this copy of tfjs-core`);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      await tf.ready();
      const gpu = pkg.endsWith('-gpu');
      return { backend: 'tensorflow', device: gpu ? `libtensorflow GPU (${pkg})` : `libtensorflow CPU (${cpus().length} threads)` };
    } catch (err) {
      reasons.push(`${pkg}: ${firstLine(err)}`);
    }
  }
  throw new BackendUnavailableError(`backend tensorflow unavailable: ${reasons.join('; ')}`);
}

interface GpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}


async function loadWebgpu(auto = false): Promise<SelectedBackend> {
  let adapterInfo = '';
  try {
    // Dawn's addon refuses to load inside Electron's V8 memory cage (utility processes included).
    if (process.versions.electron) throw new Error("Dawn cannot load inside Electron's memory cage; install Node >= 20 on PATH (or set ABLATE_NODE) and the app runs WebGPU runs in a plain Node process");
    const dawn = (await optionalImport('webgpu')) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
    const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
    if (!g.navigator?.gpu) {
      Object.assign(globalThis, dawn.globals);
      const gpu = dawn.create([]);
      // Node 21+ has a read-only global navigator; Node 20 has none.
      if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    }
    const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<GpuAdapterLike | null> } } }).navigator.gpu;
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error('no WebGPU adapter (no Vulkan/Metal/D3D12 device found)');
    const info = adapter.info ?? {};
    // In `auto`, a software adapter is no GPU: wasm is faster on the same cores (bench/engine.bench.ts
    // measures both), so auto moves on. Asking for webgpu explicitly still uses it.
    if (auto && isSoftwareAdapter(info)) throw new Error(`only a software adapter (${info.description || info.device})`);
    adapterInfo = [info.description || info.device, info.vendor && `vendor ${info.vendor}`, info.architecture].filter(Boolean).join(', ');
    await optionalImport('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
    await tf.ready();
  } catch (err) {
    throw new BackendUnavailableError(`backend webgpu unavailable: ${firstLine(err)}`);
  }
  return { backend: 'webgpu', device: `WebGPU (Dawn): ${adapterInfo || 'unknown adapter'}` };
}

async function loadWasm(): Promise<SelectedBackend> {
  try {
    await optionalImport('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
  } catch (err) {
    throw new BackendUnavailableError(`backend wasm unavailable: ${firstLine(err)}`);
  }
  // Batched products (attention) on XNNPACK instead of the stock scalar loop, and Identity without
  // a copy: see wasm-kernels.ts. ABLATE_WASM_STOCK_KERNELS=1 keeps tfjs's own (for comparisons).
  if (process.env.ABLATE_WASM_STOCK_KERNELS !== '1') {
    installWasmBatchMatMul();
    installWasmIdentity();
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  let threads = 1;
  try {
    const wasm = (await optionalImport('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount(): number };
    threads = wasm.getThreadsCount();
  } catch {
    // getThreadsCount throws before init; we are after init, so this is only a safety net.
  }
  return { backend: 'wasm', device: `CPU (wasm${simd ? ' SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'})` };
}

async function loadCpu(): Promise<SelectedBackend> {
  try {
    await optionalImport('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
    await tf.ready();
  } catch (err) {
    throw new BackendUnavailableError(`backend cpu unavailable: ${firstLine(err)}`);
  }
  return { backend: 'cpu', device: 'CPU (JavaScript, 1 thread)' };
}

/** tfjs side of a fused run (decoding, inference from its checkpoints): wasm, else cpu. */
async function loadFusedDecoder(): Promise<SelectedBackend> {
  try {
    return await loadWasm();
  } catch {
    return loadCpu();
  }
}

const LOADERS: Record<Exclude<BackendName, 'auto'>, () => Promise<SelectedBackend>> = {
  tensorflow: loadTensorflow,
  webgpu: () => loadWebgpu(false),
  wasm: loadWasm,
  cpu: loadCpu,
  fused: loadFusedDecoder,
};

/** Order `auto` tries. */
export const AUTO_ORDER = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
// (`auto` tries the fused engine before these: selectEngine.)

/**
 * Loads `requested` (or the best available for `auto`) and makes it tfjs's active backend. `fused`
 * here means the tfjs side of a fused run (wasm, else cpu: decoding from its weights); the engine
 * itself is chosen by selectEngine.
 * @example const { backend, device } = await selectBackend('auto'); // { backend: 'wasm', device: 'CPU (wasm SIMD, 1 thread)' }
 */
export async function selectBackend(requested: BackendName): Promise<SelectedBackend> {
  if (requested !== 'auto') {
    const load = LOADERS[requested];
    if (!load) throw new BackendUnavailableError(`unknown backend "${String(requested)}"; one of auto, ${AUTO_ORDER.join(', ')}`);
    return load();
  }
  const reasons: string[] = [];
  for (const name of AUTO_ORDER) {
    try {
      return await (name === 'webgpu' ? loadWebgpu(true) : LOADERS[name]());
    } catch (err) {
      reasons.push(firstLine(err));
    }
  }
  throw new BackendUnavailableError(`no backend could be loaded: ${reasons.join('; ')}`);
}

/** The engine a run trains on: tfjs on a tfjs backend, or the fused WebGPU engine (its tfjs side decodes). */
export interface SelectedEngine extends SelectedBackend {
  readonly engine: 'tfjs' | 'fused';
  /** The process's Dawn device (fused only). */
  readonly gpu?: Gpu;
  /** The tfjs backend beside the fused engine (initial weights, checkpoint averaging, decoding what the fused decoder cannot). */
  readonly tfjs?: SelectedBackend;
}

/**
 * The fused engine's device: Dawn's adapter (lavapipe included when asked for by name; `auto` takes
 * hardware adapters only), and the tfjs backend beside it (wasm, else cpu).
 */
async function loadFused(auto: boolean): Promise<SelectedEngine> {
  let gpu: Gpu;
  try {
    if (process.versions.electron) throw new Error("Dawn cannot load inside Electron's memory cage; install Node >= 20 on PATH (or set ABLATE_NODE) and the app runs fused runs in a plain Node process");
    gpu = await acquireGpu();
  } catch (err) {
    throw new BackendUnavailableError(`backend fused unavailable: ${firstLine(err)}`);
  }
  if (auto && gpu.features.softwareAdapter) throw new BackendUnavailableError(`backend fused skipped: only a software adapter (${gpu.adapterDescription})`);
  const decode = await loadFusedDecoder();
  const features = [gpu.features.subgroups && 'subgroups', gpu.features.timestampQuery && 'timestamps'].filter(Boolean).join(', ');
  // Which decoder a run's BLEU comes from is added by the run (run-job.ts): the fused one, or tfjs for a config it cannot decode.
  return { engine: 'fused', backend: 'fused', gpu, tfjs: decode, device: `WebGPU (Dawn): ${gpu.adapterDescription}${features ? ` [${features}]` : ''}` };
}

/**
 * Picks the engine and backend of a run. `fused` names the fused engine; `auto` takes it first when a
 * hardware WebGPU adapter exists and `unsupported` (the config's fused-engine problems) is empty,
 * else falls back to selectBackend('auto'); every other name is a tfjs backend.
 * @example const sel = await selectEngine('auto'); // { engine: 'tfjs', backend: 'wasm', … } on a CPU-only machine
 */
export async function selectEngine(requested: BackendName, unsupported: () => readonly string[] = () => []): Promise<SelectedEngine & { skipped?: string }> {
  if (requested === 'fused') {
    const problems = unsupported();
    if (problems.length) throw new BackendUnavailableError(problems[0]);
    return loadFused(false);
  }
  let skipped: string | undefined;
  if (requested === 'auto') {
    try {
      const fused = await loadFused(true);
      const problems = unsupported();
      if (problems.length) throw new BackendUnavailableError(`backend fused skipped: ${problems[0]}`);
      return fused;
    } catch (err) {
      skipped = firstLine(err);
    }
  }
  return { engine: 'tfjs', ...(await selectBackend(requested)), skipped };
}
