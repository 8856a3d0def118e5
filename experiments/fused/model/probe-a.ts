import type { ModelConfig } from '../../spec';
import { acquireGpu } from '../runtime/gpu';
import { FusedTransformer } from './engine';
const gpu = await acquireGpu();
const config: ModelConfig = { layers: 2, d_model: 64, d_ff: 256, heads: 4, d_k: 16, d_v: 16, dropout: 0.1, label_smoothing: 0.1, positional: 'sinusoidal', share_embeddings: true, norm: 'post', attention_scale: true, share_qk: false };
const [B, s, t, V] = [32, 20, 20, 1000];
const e = new FusedTransformer(gpu, config, V, V, { batch: B, srcLen: s, tgtLen: t }, { labelSmoothing: 0.1, clipNorm: 1, seed: 1 });
const w = new Map<string, Float32Array>();
for (const [n, p] of e.params) w.set(n, Float32Array.from({ length: p.size }, (_, i) => (n.endsWith('gamma') ? 1 : Math.sin(i * 0.37 + n.length) * 0.05)));
e.setWeights((n) => w.get(n)!);
const tok = (i: number) => 4 + ((i * 7919) % (V - 4));
const batch = { src: Int32Array.from({ length: B * s }, (_, i) => tok(i)), tgtIn: Int32Array.from({ length: B * t }, (_, i) => tok(i + 3)), tgtOut: Int32Array.from({ length: B * t }, (_, i) => tok(i + 5)) };
for (let i = 0; i < 6; i++) {
  const t0 = performance.now();
  const st = e.trainStep(batch, 1e-3);
  const loss = await st.loss;
  console.log(`step ${i + 1}: dispatches ${st.dispatches}, submits ${st.submits}, host ${(st.hostMs * 1000).toFixed(0)} µs (${(st.hostMs * 1000 / st.dispatches).toFixed(1)} µs/dispatch), wall ${(performance.now() - t0).toFixed(0)} ms, loss ${loss.toFixed(4)}`);
}
console.log('buffers', gpu.buffersCreated, 'plan MB', (e.plan.totalBytes / 1e6).toFixed(1));
process.exit(0);
