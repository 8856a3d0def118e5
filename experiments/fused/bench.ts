/**
 * Quick probe of the fused engine on bench/engine.bench.ts's configs (A, B): dispatches per step,
 * host time to record + submit, wall time per step, and with --profile the wall time per kernel kind
 * (each dispatch submitted and awaited alone: on lavapipe that is its CPU time plus ~2 ms round trip).
 * Not a benchmark of record (those go through `npm run bench engine`).
 * Usage: npx tsx experiments/fused/bench.ts [A|B] [steps] [--profile]
 */
import type { ModelConfig } from '../spec';
import { acquireGpu } from './runtime/gpu';
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
  const byKind = new Map<string, number>();
  for (const d of engine.trainDispatches) {
    const t0 = performance.now();
    await gpu.run([d]);
    const kind = `${d.pipeline.label.split('|')[0]}${d.pipeline.label.startsWith('matmul') ? ` ${d.label.split('/').pop()}` : ''}`;
    byKind.set(kind, (byKind.get(kind) ?? 0) + performance.now() - t0);
  }
  for (const [k, ms] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`${k.padEnd(24)} ${ms.toFixed(1)} ms`);
}
process.exit(0);
