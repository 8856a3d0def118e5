/**
 * Quick probe of the fused engine on bench/engine.bench.ts's configs (A, B): dispatches per step,
 * host time to record + submit, GPU and wall time per step, and with --profile the GPU time per kernel
 * kind from per-pass timestamp queries (wall time per dispatch where the adapter has none).
 * Not a benchmark of record (those go through `npm run bench engine`).
 * Usage: npx tsx experiments/fused/bench.ts [A|B] [steps] [--profile]
 */
import type { ModelConfig } from '../../contract/spec';
import { acquireGpu, BufferUsage } from './runtime/gpu';
import { FusedTransformer } from './model/engine';

const CONFIGS = {
  A: { vocab: 1000, d: 64, heads: 4, dff: 256, layers: 2, batch: 32, s: 20, t: 20 },
  B: { vocab: 8000, d: 256, heads: 8, dff: 1024, layers: 3, batch: 32, s: 32, t: 32 },
} as const;

const args = process.argv.slice(2);
const name = (args.find((a) => a === 'A' || a === 'B') ?? 'A') as keyof typeof CONFIGS;
const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const c = CONFIGS[name];
const gpu = await acquireGpu();
const config: ModelConfig = {
  layers: c.layers, d_model: c.d, d_ff: c.dff, heads: c.heads, d_k: c.d / c.heads, d_v: c.d / c.heads, dropout: 0.1, label_smoothing: 0.1,
  positional: 'sinusoidal', share_embeddings: true, norm: 'post', attention_scale: true, share_qk: false,
};
const engine = new FusedTransformer(gpu, config, c.vocab, c.vocab, { batch: c.batch, srcLen: c.s, tgtLen: c.t }, { labelSmoothing: 0.1, clipNorm: 1, seed: 1 });
const w = new Map<string, Float32Array>();
for (const [n, p] of engine.params) w.set(n, Float32Array.from({ length: p.size }, (_, i) => (n.endsWith('gamma') ? 1 : Math.sin(i * 0.37 + n.length) * 0.05)));
engine.setWeights((n) => w.get(n)!);
const tok = (i: number) => 4 + ((i * 7919) % (c.vocab - 4));
const batch = {
  src: Int32Array.from({ length: c.batch * c.s }, (_, i) => tok(i)),
  tgtIn: Int32Array.from({ length: c.batch * c.t }, (_, i) => tok(i + 3)),
  tgtOut: Int32Array.from({ length: c.batch * c.t }, (_, i) => tok(i + 5)),
};
console.log(`${gpu.adapterDescription}; config ${name}; ${(engine.plan.totalBytes / 2 ** 20).toFixed(1)} MiB planned`);
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const st = await engine.trainStep(batch, 1e-3);
  const loss = await st.loss;
  const gpuMs = await st.gpuMs;
  console.log(`step ${i + 1}: ${st.dispatches} dispatches, ${st.submits} submit, GPU ${gpuMs === null ? 'n/a' : `${gpuMs.toFixed(1)} ms`}, host ${(st.hostMs * 1000).toFixed(0)} µs (record+submit ${(st.recordMs * 1000).toFixed(0)} µs, ${((st.recordMs * 1000) / st.dispatches).toFixed(1)} µs/dispatch), wall ${(performance.now() - t0).toFixed(0)} ms, loss ${loss.toFixed(4)}`);
}
if (args.includes('--profile')) {
  // Per-kernel GPU time: each dispatch in its own compute pass with timestamp writes (one step, one
  // submit); without timestamp-query, each dispatch is submitted and awaited alone (wall time).
  const byKind = new Map<string, number>();
  const kindOf = (d: (typeof engine.trainDispatches)[number]) => `${d.pipeline.label.split('|')[0]}${d.pipeline.label.startsWith('matmul') ? ` ${d.label.split('/').pop()}` : ''}`;
  const ds = engine.trainDispatches;
  if (gpu.features.softwareAdapter) {
    // On a CPU adapter the kernels run on this process's threads: CPU time (user + system) of each
    // dispatch submitted alone is the cost, and unlike timestamps it does not grow when other jobs
    // share the cores.
    for (const d of ds) {
      const t0 = process.cpuUsage();
      await gpu.run([d]);
      const used = process.cpuUsage(t0);
      byKind.set(kindOf(d), (byKind.get(kindOf(d)) ?? 0) + (used.user + used.system) / 1000);
    }
  } else if (gpu.features.timestampQuery) {
    const device = gpu.device;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * ds.length });
    const resolve = gpu.createBuffer('profile/resolve', 16 * ds.length, BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC);
    const staging = gpu.createBuffer('profile/staging', 16 * ds.length, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    const enc = device.createCommandEncoder();
    ds.forEach((d, i) => {
      const pass = enc.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.groups);
      pass.end();
    });
    enc.resolveQuerySet(querySet, 0, 2 * ds.length, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, 16 * ds.length);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const ticks = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    ds.forEach((d, i) => byKind.set(kindOf(d), (byKind.get(kindOf(d)) ?? 0) + Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6));
  } else {
    for (const d of ds) {
      const t0 = performance.now();
      await gpu.run([d]);
      byKind.set(kindOf(d), (byKind.get(kindOf(d)) ?? 0) + performance.now() - t0);
    }
  }
  const total = [...byKind.values()].reduce((a, b) => a + b, 0);
  const how = gpu.features.softwareAdapter ? 'CPU time of the adapter, one dispatch per submit' : gpu.features.timestampQuery ? 'GPU timestamps' : 'wall, one dispatch per submit';
  console.log(`per kernel kind (${how}), total ${total.toFixed(1)} ms:`);
  for (const [k, ms] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`${k.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %`);
}
process.exit(0);
