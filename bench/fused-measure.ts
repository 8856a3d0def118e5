/// <reference types="@webgpu/types" />
/**
 * One training step of the fused WebGPU engine (experiments/fused) measured on bench/engine.bench.ts's
 * configs: ms/step (back-to-back steps, losses read back asynchronously as a run does), target
 * tokens/s, dispatches per step, host ms per step (upload + record + submit), GPU ms per step and per
 * kernel kind (timestamp queries, one compute pass per dispatch, when the adapter has them), peak
 * GPU memory (the static memory plan: every buffer of the run, allocated once).
 *
 * Used by `npm run bench engine` (rows beside tfjs-webgpu on the same device, same run) and by the
 * device check's entry (bench/fused-device-check.ts).
 */
import type { ModelConfig } from '../contract/spec';
import { BOS_ID, EOS_ID } from '../experiments/data/types';
import { FusedTransformer } from '../experiments/fused/model/engine';
import { acquireGpu, type Dispatch, type Gpu } from '../experiments/fused/runtime/gpu';

/** Pause before each idle-adapter host sample (see `host_ms_per_step`). */
const IDLE_PAUSE_MS = 20;

export interface FusedBenchConfig {
  readonly name: string;
  readonly vocab: number;
  readonly dModel: number;
  readonly heads: number;
  readonly dFf: number;
  readonly layers: number;
  readonly batch: number;
  readonly srcLen: number;
  readonly tgtLen: number;
}

export interface FusedMeasurement {
  readonly config: string;
  readonly device: string;
  readonly ms_per_step: number;
  readonly tokens_per_second: number;
  readonly target_tokens: number;
  readonly dispatches_per_step: number;
  readonly submits_per_step: number;
  /**
   * Median host time of a step (upload + record + submit) recorded while the adapter is idle (each step
   * awaited, then 20 ms left for the adapter's threads to park, before the next): on a CPU adapter the
   * adapter's own threads otherwise run (or wind down from) the previous step's kernels on the same
   * cores the recording needs, which a real GPU does not. Measured on A at load ~7: median 7.5 ms
   * straight after the loss arrives against 2.3 ms after a 50 ms pause, same process.
   */
  readonly host_ms_per_step: number;
  /** Median CPU time of the process over the same spans (the host's own cost on a loaded machine). */
  readonly host_cpu_ms_per_step: number;
  /** Median host time of the back-to-back steps (the adapter busy with earlier steps meanwhile). */
  readonly host_ms_pipelined: number;
  /** First dispatch start to last dispatch end of one step, per-dispatch passes (null: no timestamp queries). */
  readonly gpu_ms_per_step: number | null;
  /** Bytes of every GPU buffer the engine held at its most (plan, parameter slabs, uniforms, staging; Gpu.peakBytes). */
  readonly peak_gpu_mb: number;
  readonly params: number;
  /** GPU ms per kernel kind in one step, largest first (timestamps), else null. */
  readonly kernels: readonly { kind: string; ms: number; count: number }[] | null;
}

function modelConfig(c: FusedBenchConfig): ModelConfig {
  return {
    layers: c.layers, d_model: c.dModel, d_ff: c.dFf, heads: c.heads, d_k: c.dModel / c.heads, d_v: c.dModel / c.heads,
    dropout: 0.1, label_smoothing: 0.1, positional: 'sinusoidal', share_embeddings: true, norm: 'post', attention_scale: true, share_qk: false,
  };
}

/** The same fixed random batch as engine.bench.ts's (ids 4…vocab-1, BOS/EOS placed as the data pipeline does). */
function batchFor(c: FusedBenchConfig, seed = 1): { src: Int32Array; tgtIn: Int32Array; tgtOut: Int32Array } {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const tok = () => 4 + Math.floor(rand() * (c.vocab - 4));
  const src = Int32Array.from({ length: c.batch * c.srcLen }, tok);
  const body = Array.from({ length: c.batch }, () => Array.from({ length: c.tgtLen - 1 }, tok));
  return { src, tgtIn: Int32Array.from(body.flatMap((r) => [BOS_ID, ...r])), tgtOut: Int32Array.from(body.flatMap((r) => [...r, EOS_ID])) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Kernel kind of a dispatch: its pipeline's kernel name (matmuls by their role: …/w1, …/dx_q). */
function kindOf(d: Dispatch): string {
  const kernel = d.pipeline.label.split('|')[0];
  return kernel.startsWith('matmul') ? `matmul ${d.label.split('/').pop()}` : kernel;
}

/** GPU time of every dispatch of `ds`, each in its own timestamped compute pass (one submit). */
async function timestamps(gpu: Gpu, ds: readonly Dispatch[]): Promise<{ total: number; each: number[] }> {
  const device = gpu.device;
  const n = ds.length * 2;
  const querySet = device.createQuerySet({ type: 'timestamp', count: n });
  const resolve = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: n * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    ds.forEach((d, i) => {
      const pass = enc.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
      pass.end();
    });
    enc.resolveQuerySet(querySet, 0, n, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, n * 8);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const t = new BigInt64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    const each = ds.map((_, i) => Number(t[2 * i + 1] - t[2 * i]) / 1e6);
    return { total: Number(t[n - 1] - t[0]) / 1e6, each };
  } finally {
    querySet.destroy();
    resolve.destroy();
    staging.destroy();
  }
}

/**
 * Measures `steps` training steps of config `c` on the fused engine after two warm-up steps (pipeline
 * compilation). Losses come back through the engine's ring as in a run: step i's loss is awaited
 * after step i+2 is submitted.
 */
export async function measureFused(c: FusedBenchConfig, steps: number): Promise<FusedMeasurement> {
  const gpu = await acquireGpu();
  gpu.resetPeakBytes();
  const before = gpu.liveBytes; // the device's own 16-byte dummies, or a previous config's leftovers
  const config = modelConfig(c);
  const engine = new FusedTransformer(gpu, config, c.vocab, c.vocab, { batch: c.batch, srcLen: c.srcLen, tgtLen: c.tgtLen }, { labelSmoothing: 0.1, clipNorm: 0, seed: 1 });
  try {
    // Small deterministic weights (γ = 1): the time of a step does not depend on their values, and the
    // device check's bundle carries no tfjs backend to run the tfjs initialiser.
    engine.setWeights((n) => {
      const p = engine.params.get(n)!;
      return Float32Array.from({ length: p.size }, (_, i) => (n.endsWith('gamma') ? 1 : Math.sin(i * 0.37 + n.length) * 0.05));
    });
    const batch = batchFor(c);
    const lr = 1e-4;
    for (let i = 0; i < 2; i++) await (await engine.trainStep(batch, lr)).loss;
    const host: number[] = [];
    let dispatches = 0;
    let submits = 0;
    const pending: Promise<number>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const st = await engine.trainStep(batch, lr);
      host.push(st.hostMs);
      dispatches = st.dispatches;
      submits = st.submits;
      pending.push(st.loss);
      if (pending.length > 2) await pending.shift();
    }
    await Promise.all(pending);
    const ms = (performance.now() - t0) / steps;
    const hostIdle: number[] = [];
    const hostCpu: number[] = [];
    // 5–15 samples (about 3 s of steps): one host sample is 1–2 ms of N-API calls, so a loaded
    // machine's scheduling shows in single samples; the median is reported.
    for (let i = 0; i < Math.max(5, Math.min(15, Math.round(3000 / ms))); i++) {
      await new Promise((r) => setTimeout(r, IDLE_PAUSE_MS));
      const st = await engine.trainStep(batch, lr);
      hostIdle.push(st.hostMs);
      hostCpu.push(st.hostCpuMs);
      await st.loss;
    }
    // Every buffer the engine made (plan, parameter slabs, kernel uniforms, read-back staging), at its
    // most; read before the timestamp profile, whose buffers are the bench's, not the engine's.
    const peakBytes = gpu.peakBytes - before;
    let gpuMs: number | null = null;
    let kernels: FusedMeasurement['kernels'] = null;
    if (gpu.features.timestampQuery) {
      const t = await timestamps(gpu, engine.trainDispatches);
      gpuMs = t.total;
      const byKind = new Map<string, { ms: number; count: number }>();
      engine.trainDispatches.forEach((d, i) => {
        const e = byKind.get(kindOf(d)) ?? { ms: 0, count: 0 };
        e.ms += t.each[i];
        e.count++;
        byKind.set(kindOf(d), e);
      });
      kernels = [...byKind].map(([kind, e]) => ({ kind, ...e })).sort((a, b) => b.ms - a.ms);
    }
    const tokens = c.batch * c.tgtLen;
    return {
      config: c.name,
      device: `WebGPU (Dawn): ${gpu.adapterDescription}`,
      ms_per_step: ms,
      tokens_per_second: (tokens / ms) * 1000,
      target_tokens: tokens,
      dispatches_per_step: dispatches,
      submits_per_step: submits,
      host_ms_per_step: median(hostIdle),
      host_cpu_ms_per_step: median(hostCpu),
      host_ms_pipelined: median(host),
      gpu_ms_per_step: gpuMs,
      peak_gpu_mb: peakBytes / 2 ** 20,
      params: engine.slab.floats,
      kernels,
    };
  } finally {
    engine.destroy(true);
  }
}

/** "where the time goes" lines: GPU ms per kernel kind (top 12) and host time. */
export function formatFusedProfile(m: FusedMeasurement): string {
  const out = [`\nfused engine, config ${m.config}: host ${m.host_ms_per_step.toFixed(2)} ms/step (upload + record ${m.dispatches_per_step} dispatches + ${m.submits_per_step} submit, adapter idle; ${m.host_cpu_ms_per_step.toFixed(2)} ms of CPU; ${m.host_ms_pipelined.toFixed(2)} ms back to back), wall ${m.ms_per_step.toFixed(1)} ms/step`];
  if (!m.kernels) out.push('  (no timestamp queries on this adapter: no GPU time per kernel)');
  else {
    const sum = m.kernels.reduce((s, k) => s + k.ms, 0);
    out.push(`  GPU time of one step, one timestamped pass per dispatch: ${m.gpu_ms_per_step!.toFixed(1)} ms first-to-last, ${sum.toFixed(1)} ms summed over dispatches`);
    for (const k of m.kernels.slice(0, 12)) out.push(`  ${k.kind.padEnd(26)} ${k.ms.toFixed(2).padStart(9)} ms  ${((100 * k.ms) / sum).toFixed(1).padStart(5)}%  ×${k.count}`);
  }
  return out.join('\n');
}
