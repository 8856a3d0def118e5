/**
 * Training-step speed of the Transformer on every tfjs backend that loads here, against PyTorch
 * measured in the same run (bench/reference/torch_step.py): ms/step, target tokens/s, ratio to
 * PyTorch's best, peak memory. Not a test: nothing here asserts a time.
 *
 * Config A: vocab 1000, d_model 64, 4 heads, d_ff 256, 2+2 layers, batch 32 × 20/20 tokens.
 * Config B: vocab 8000, d_model 256, 8 heads, d_ff 1024, 3+3 layers, batch 32 × 32/32 tokens.
 * Config base (GPU machines, --configs=base): the paper's base model, vocab 37000, d_model 512,
 * 8 heads, d_ff 2048, 6+6 layers, batch 390 × 64/64 tokens (~25k target tokens).
 *
 * Flags (env TORCH_PYTHON picks the python that has torch): --configs=A,B  --backends=fused,wasm,cpu,webgpu,tensorflow  --steps=N  --profile (per-kernel
 * time table of one step per backend/config)  --no-torch  --cpu-b (the pure-JS cpu backend on
 * config B: ~90 s a step, skipped unless asked).
 * On a CUDA machine the PyTorch reference runs on the GPU when torch.cuda.is_available().
 *
 * The fused engine (`fused`, bench/fused-measure.ts) prints, beside its row, the issue-9 goals against
 * tfjs-webgpu on the same device in this run (speed-up, dispatches, host ms) and its GPU time per
 * kernel kind from timestamp queries (one pass per dispatch). Measured on this VM's lavapipe, ratios
 * same-run (experiments/fused/README.md "Measured" has the history): with the subgroup kernels
 * (2026-12-01, load 5–8) A 7.70× and 16.87× (e.g. fused 318 ms vs tfjs-webgpu 2449 ms), B 13.60× and
 * 5.42× (7.2 s vs 98.2 s), 162 / 238 dispatches, one submit, host 2.3–2.5 ms a step on A at load ~5
 * (~1.5 ms with the cores free), 20 MB / 268 MB of GPU buffers vs 148 MB / 1.6 GB of tfjs tensors
 * and, same run (2026-12-02), PyTorch's tensor peak in a CUDA step's pattern 30.8 / 377.0 MB (0.66× /
 * 0.71×; the memory goal is ≤ 1.2× on B; printed under the table). Earlier:
 * vec4/rows cpu shape A 2.45–10.3× (median ~4.8×) and B 2.35–3.12× at load 9–18; the gpu shape alone
 * (60aace5) 1.29× / 1.14×. On a software GPU B is arithmetic-bound (~46 GFLOP a step).
 *
 * Where the time goes (measured 2026-11-22 on the 2-core dev machine, shared, so ±20%):
 * - wasm, A: 131 ms/step vs PyTorch 56 ms (2.3×; 4.2× before this work). Half is matMuls already
 *   on XNNPACK (~10 GMAC/s at these sizes), the rest is ~2300 small kernels per step (Adam alone is
 *   ~800: 13 per variable) at ~20–40 µs of tfjs dispatch each. Getting to 1.5× needs fewer kernels
 *   (fused layer norm / attention / optimizer), which tfjs 4.22 offers no way to write for wasm.
 * - wasm, B: 2.9 s vs 0.66 s (4.4×). 66% is dense matMuls on XNNPACK at ~12 GMAC/s; the step is
 *   ~23 GMAC, so a single wasm thread cannot go below ~1.9 s: 128-bit SIMD without FMA against
 *   OpenBLAS's AVX2+FMA (PyTorch reaches ~34 GMAC/s on the same core). Transposes for the weight
 *   gradients (6%) and Sum over rows for bias/LayerNorm gradients (5%) are next.
 * - Fixed here: batched matMuls (attention) went to tfjs-wasm's scalar loop (0.8 GMAC/s); they now
 *   run as XNNPACK slices (experiments/wasm-kernels.ts, 2–4.6× per product); Identity copied every
 *   tensor a custom gradient saves (~6% of A), now shared; the loss uses one fused softmax instead
 *   of log-softmax + exp (~8% of B). MODEL's explicit-transpose matMul gradient is what lets every
 *   backward product reach XNNPACK at all (the stock transposeA/B path is the scalar loop).
 * - webgpu on Mesa lavapipe (software Vulkan) is 25–40× PyTorch: `auto` skips software adapters.
 * - NVIDIA H100 (lent machine, shared host CPU; bench/portable/pack.sh, 4 runs on 2026-11-22):
 *   PyTorch 2.11 CUDA A 13.5–18.2 ms, B 18.3–23.6 ms (launch-bound); tfjs webgpu on Dawn/Vulkan
 *   A 224–543 ms (17–31×), B 545–978 ms (29–41×). The GPU is idle most of the step: --profile sums
 *   46 ms (A) / 102 ms (B) of kernel time, and a V8 CPU profile of A puts 36% of host time in
 *   tfjs-webgpu's submitQueue, 18% in GPUDevice.createBuffer (a uniform buffer per kernel) and 15%
 *   in recordAndSubmit: ~100–200 µs of host work per kernel × ~2300 kernels. Tried and measured no
 *   better: WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE 200, WEBGPU_CPU_FORWARD false, Dawn skip_validation
 *   + disable_robustness. Fewer, fused kernels (Adam, LayerNorm, attention) are the way down.
 *   Dawn needed the container's libGLdispatch/libXext (packed by pack.sh) to open the NVIDIA ICD.
 *   tfjs-node-gpu could not be installed there (no network for its libtensorflow).
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../experiments/backend';
import { BOS_ID, EOS_ID, type Batch } from '../experiments/data/types';
import { createModel } from '../experiments/model/transformer';
import type { ModelConfig } from '../contract/spec';
import { Trainer } from '../experiments/train/loop';
import { formatFusedProfile, measureFused, type FusedBenchConfig, type FusedMeasurement } from './fused-measure';

/** A config's shape (shared with the fused engine's measurement). */
type BenchConfig = FusedBenchConfig;

const CONFIGS: readonly BenchConfig[] = [
  { name: 'A', vocab: 1000, dModel: 64, heads: 4, dFf: 256, layers: 2, batch: 32, srcLen: 20, tgtLen: 20 },
  { name: 'B', vocab: 8000, dModel: 256, heads: 8, dFf: 1024, layers: 3, batch: 32, srcLen: 32, tgtLen: 32 },
  // The paper's base model at ~25k target tokens a batch (390 × 64 = 24,960), for GPU machines only
  // (--configs=base); bench/reference/torch_step.py has the same three configs.
  { name: 'base', vocab: 37000, dModel: 512, heads: 8, dFf: 2048, layers: 6, batch: 390, srcLen: 64, tgtLen: 64 },
];

interface Row {
  readonly config: string;
  readonly engine: string;
  readonly device: string;
  readonly msPerStep: number;
  readonly tokensPerSecond: number;
  readonly memory: string;
  readonly note?: string;
}

function flag(args: string[], name: string): string | undefined {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!hit) return undefined;
  return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : '';
}

function modelConfig(c: BenchConfig): ModelConfig {
  return {
    layers: c.layers, d_model: c.dModel, d_ff: c.dFf, heads: c.heads, d_k: c.dModel / c.heads, d_v: c.dModel / c.heads,
    dropout: 0.1, label_smoothing: 0.1, positional: 'sinusoidal', share_embeddings: true, norm: 'post', attention_scale: true, share_qk: false,
  };
}

/** A fixed random batch without padding (ids 4…vocab-1), BOS/EOS placed as the data pipeline does. */
function randomBatch(c: BenchConfig, seed = 1): Batch {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const tok = () => 4 + Math.floor(rand() * (c.vocab - 4));
  const src = Int32Array.from({ length: c.batch * c.srcLen }, tok);
  const body = Array.from({ length: c.batch }, () => Array.from({ length: c.tgtLen - 1 }, tok));
  const tgtIn = Int32Array.from(body.flatMap((r) => [BOS_ID, ...r]));
  const tgtOut = Int32Array.from(body.flatMap((r) => [...r, EOS_ID]));
  return { size: c.batch, srcLen: c.srcLen, tgtLen: c.tgtLen, src, tgtIn, tgtOut, targetTokens: c.batch * c.tgtLen };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/** Times `steps` training steps after warm-up; optionally profiles one step per kernel. */
async function benchTfjs(c: BenchConfig, steps: number, profile: boolean): Promise<{ ms: number; peakBytes: number; kernels?: Map<string, { ms: number; count: number }>; params: number }> {
  const model = createModel(modelConfig(c), c.vocab, c.vocab, 1);
  const trainer = new Trainer(model, { warmup: 4000, lrFactor: 1, clipNorm: 0, labelSmoothing: 0.1, seed: 1 });
  const batch = randomBatch(c);
  try {
    await trainer.trainStepAsync(batch); // warm-up: kernel compilation (webgpu), XNNPACK operator caches, allocator growth
    await trainer.trainStepAsync(batch);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) times.push((await trainer.trainStepAsync(batch)).seconds * 1000);
    const info = await tf.profile(async () => {
      await trainer.trainStepAsync(batch);
    });
    let kernels: Map<string, { ms: number; count: number }> | undefined;
    if (profile) {
      kernels = new Map();
      for (const k of info.kernels) {
        const key = k.name;
        const e = kernels.get(key) ?? { ms: 0, count: 0 };
        e.ms += Number(k.kernelTimeMs) || 0;
        e.count += 1;
        kernels.set(key, e);
      }
    }
    return { ms: median(times), peakBytes: info.peakBytes, kernels, params: model.paramCount };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

interface TorchResult {
  readonly ms: number;
  readonly device: string;
  readonly rss: number;
  /** torch.cuda.max_memory_allocated (CUDA runs). */
  readonly cudaMb?: number;
  /** CPU runs: the peak of live tensors in an eager CUDA step's allocation pattern (torch_step.py tensor_peak). */
  readonly tensorPeakMb?: number;
}

function runTorch(c: BenchConfig, threads: number, steps: number, device: string): TorchResult | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'reference', 'torch_step.py');
  const python = torchPython();
  try {
    const out = execFileSync(
      python,
      [script, '--vocab', String(c.vocab), '--d-model', String(c.dModel), '--heads', String(c.heads), '--d-ff', String(c.dFf), '--layers', String(c.layers),
        '--batch', String(c.batch), '--src-len', String(c.srcLen), '--tgt-len', String(c.tgtLen), '--steps', String(steps), '--threads', String(threads), '--device', device],
      { env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 },
    );
    const j = JSON.parse(out.trim().split('\n').pop()!) as { ms_per_step: number; device: string; max_rss_mb: number; cuda_peak_mb?: number; tensor_peak_mb?: number };
    return { ms: j.ms_per_step, device: j.device, rss: j.max_rss_mb, cudaMb: j.cuda_peak_mb, tensorPeakMb: j.tensor_peak_mb };
  } catch (err) {
    return `PyTorch unavailable: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
  }
}

/** $TORCH_PYTHON, else Debian's python3 (where apt's python3-torch lives), else python3 on PATH. */
function torchPython(): string {
  return process.env.TORCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

function torchHasCuda(): boolean {
  try {
    return execFileSync(torchPython(), ['-c', 'import torch; print(torch.cuda.is_available())'], { encoding: 'utf8' }).trim() === 'True';
  } catch {
    return false;
  }
}

export async function run(args: string[]): Promise<void> {
  const configs = (flag(args, 'configs') ?? 'A,B').split(',').map((n) => {
    const c = CONFIGS.find((x) => x.name.toLowerCase() === n.trim().toLowerCase());
    if (!c) throw new Error(`--configs: unknown config "${n}" (A, B or base)`);
    return c;
  });
  const backends = (flag(args, 'backends') ?? 'tensorflow,webgpu,fused,wasm,cpu').split(',').map((b) => b.trim());
  const stepsFlag = flag(args, 'steps');
  const profile = flag(args, 'profile') !== undefined;
  const rows: Row[] = [];
  const profiles: string[] = [];
  const fused: FusedMeasurement[] = [];
  const torchMemory = new Map<string, TorchMemory>();
  const cuda = torchHasCuda();

  for (const c of configs) {
    const tokens = c.batch * c.tgtLen;
    if (flag(args, 'no-torch') === undefined) {
      for (const [device, threads] of cuda ? ([['cuda', 1]] as const) : ([['cpu', 1], ['cpu', 2]] as const)) {
        const steps = Number(stepsFlag ?? (c.name === 'A' ? 20 : 6));
        const r = runTorch(c, threads, steps, device);
        if (typeof r === 'string') rows.push({ config: c.name, engine: 'pytorch', device, msPerStep: NaN, tokensPerSecond: NaN, memory: '', note: r });
        else {
          const memory = r.cudaMb !== undefined ? `${r.cudaMb.toFixed(0)} MB (CUDA peak)`
            : r.tensorPeakMb !== undefined ? `${r.tensorPeakMb.toFixed(0)} MB (tensor peak, CUDA pattern), RSS ${r.rss.toFixed(0)} MB` : `${r.rss.toFixed(0)} MB (RSS peak)`;
          rows.push({ config: c.name, engine: 'pytorch', device: r.device, msPerStep: r.ms, tokensPerSecond: (tokens / r.ms) * 1000, memory });
          if (r.cudaMb !== undefined) torchMemory.set(c.name, { mb: r.cudaMb, what: 'torch.cuda.max_memory_allocated' });
          else if (r.tensorPeakMb !== undefined && !torchMemory.has(c.name)) torchMemory.set(c.name, { mb: r.tensorPeakMb, what: "PyTorch's live-tensor peak on the CPU in an eager CUDA step's allocation pattern (no cuBLAS workspace: a lower bound of max_memory_allocated)" });
        }
      }
    }
    for (const name of backends) {
      if (name === 'cpu' && c.name === 'B' && flag(args, 'cpu-b') === undefined) {
        rows.push({ config: c.name, engine: 'tfjs cpu', device: '', msPerStep: NaN, tokensPerSecond: NaN, memory: '', note: 'skipped (~90 s/step; --cpu-b to run)' });
        continue;
      }
      if (name === 'fused') {
        // The fused WebGPU engine (experiments/fused): its own Dawn device, the same adapter tfjs-webgpu uses.
        const steps = Number(stepsFlag ?? (c.name === 'A' ? 6 : 3));
        try {
          const m = await measureFused(c, steps);
          fused.push(m);
          rows.push({ config: c.name, engine: 'fused', device: m.device, msPerStep: m.ms_per_step, tokensPerSecond: m.tokens_per_second, memory: `${m.peak_gpu_mb.toFixed(1)} MB (all GPU buffers); ${m.dispatches_per_step} dispatches, host ${m.host_ms_per_step.toFixed(2)} ms, GPU ${m.gpu_ms_per_step === null ? '—' : `${m.gpu_ms_per_step.toFixed(1)} ms`}` });
          profiles.push(formatFusedProfile(m));
          console.error(`[engine] ${c.name} fused: ${m.ms_per_step.toFixed(1)} ms/step, ${m.dispatches_per_step} dispatches, host ${m.host_ms_per_step.toFixed(2)} ms, GPU ${m.gpu_ms_per_step?.toFixed(1) ?? '—'} ms, ${m.peak_gpu_mb.toFixed(1)} MB`);
        } catch (err) {
          rows.push({ config: c.name, engine: 'fused', device: '', msPerStep: NaN, tokensPerSecond: NaN, memory: '', note: `unavailable: ${(err as Error).message.split('\n')[0]}` });
        }
        continue;
      }
      let device: string;
      try {
        ({ device } = await selectBackend(name as 'wasm'));
      } catch (err) {
        rows.push({ config: c.name, engine: `tfjs ${name}`, device: '', msPerStep: NaN, tokensPerSecond: NaN, memory: '', note: (err as Error).message });
        continue;
      }
      const steps = Number(stepsFlag ?? (name === 'cpu' ? 2 : c.name === 'A' ? 10 : 4));
      try {
        const r = await benchTfjs(c, steps, profile);
        rows.push({ config: c.name, engine: `tfjs ${name}`, device, msPerStep: r.ms, tokensPerSecond: (tokens / r.ms) * 1000, memory: `${mb(r.peakBytes)} (tensor peak), RSS ${mb(process.memoryUsage().rss)}` });
        if (r.kernels) profiles.push(formatProfile(`${c.name} on tfjs ${name}`, r.kernels));
        console.error(`[engine] ${c.name} tfjs ${name}: ${r.ms.toFixed(1)} ms/step`); // progress: a slow backend's row is not lost to a timeout
      } catch (err) {
        rows.push({ config: c.name, engine: `tfjs ${name}`, device, msPerStep: NaN, tokensPerSecond: NaN, memory: '', note: `failed: ${(err as Error).message.split('\n')[0]}` });
      }
    }
  }
  printTable(rows);
  printFusedGoals(rows, fused, torchMemory);
  for (const p of profiles) console.log(p);
  console.log(`process peak RSS (whole bench): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

function printTable(rows: readonly Row[]): void {
  const best = new Map<string, number>();
  for (const r of rows) if (r.engine === 'pytorch' && Number.isFinite(r.msPerStep)) best.set(r.config, Math.min(best.get(r.config) ?? Infinity, r.msPerStep));
  const lines = [['config', 'engine', 'device', 'ms/step', 'tgt tok/s', '× PyTorch best', 'memory / note']];
  for (const r of rows) {
    const ref = best.get(r.config);
    lines.push([
      r.config, r.engine, r.device.slice(0, 60),
      Number.isFinite(r.msPerStep) ? r.msPerStep.toFixed(1) : '—',
      Number.isFinite(r.tokensPerSecond) ? r.tokensPerSecond.toFixed(0) : '—',
      Number.isFinite(r.msPerStep) && ref ? `${(r.msPerStep / ref).toFixed(2)}×` : '—',
      r.note ?? r.memory,
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) console.log(l.map((cell, i) => cell.padEnd(widths[i])).join('  '));
}

function formatProfile(title: string, kernels: Map<string, { ms: number; count: number }>): string {
  const total = [...kernels.values()].reduce((s, k) => s + k.ms, 0);
  const top = [...kernels.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15);
  const out = [`\nper-kernel time of one step, ${title} (sum ${total.toFixed(1)} ms; profiler syncs each kernel):`];
  for (const [name, k] of top) out.push(`  ${name.padEnd(22)} ${k.ms.toFixed(1).padStart(8)} ms  ${((100 * k.ms) / total).toFixed(1).padStart(5)}%  ×${k.count}`);
  return out.join('\n');
}

/**
 * Issue 9's goals for the fused engine, each against its reference measured in this run: the speed-up
 * over tfjs-webgpu on the same device (≥ 5× on lavapipe), dispatches per step (≤ 200 on A, ≤ 260 on B),
 * host ms per step (≤ 2 ms on A).
 */
/** PyTorch's peak memory for a config, and what the number is. */
interface TorchMemory {
  readonly mb: number;
  readonly what: string;
}

function printFusedGoals(rows: readonly Row[], fused: readonly FusedMeasurement[], torchMemory: ReadonlyMap<string, TorchMemory>): void {
  if (!fused.length) return;
  console.log('\nfused engine vs tfjs-webgpu on the same device, this run (goals: ≥ 5× faster; dispatches ≤ 200 on A, ≤ 260 on B; host ≤ 2 ms on A):');
  for (const m of fused) {
    const ref = rows.find((r) => r.config === m.config && r.engine === 'tfjs webgpu' && Number.isFinite(r.msPerStep));
    const speedup = ref ? `${(ref.msPerStep / m.ms_per_step).toFixed(2)}× (tfjs-webgpu ${ref.msPerStep.toFixed(0)} ms vs fused ${m.ms_per_step.toFixed(0)} ms)` : 'no tfjs-webgpu row in this run';
    const dispatchGoal = m.config === 'A' ? 200 : m.config === 'B' ? 260 : undefined;
    console.log(
      `  ${m.config}: speed-up ${speedup}; ${m.dispatches_per_step} dispatches${dispatchGoal ? ` (goal ≤ ${dispatchGoal})` : ''}; host ${m.host_ms_per_step.toFixed(2)} ms wall / ${m.host_cpu_ms_per_step.toFixed(2)} ms CPU${m.config === 'A' ? ' (goal ≤ 2)' : ''}; GPU ${m.gpu_ms_per_step === null ? '— (no timestamp queries)' : `${m.gpu_ms_per_step.toFixed(1)} ms`}`,
    );
  }
  const memoryLines = fused.flatMap((m) => {
    const t = torchMemory.get(m.config);
    return t ? [`  ${m.config}: fused ${m.peak_gpu_mb.toFixed(1)} MB vs PyTorch ${t.mb.toFixed(1)} MB = ${(m.peak_gpu_mb / t.mb).toFixed(2)}×${m.config === 'B' ? ' (goal ≤ 1.2)' : ''}; PyTorch's figure: ${t.what}`] : [];
  });
  if (memoryLines.length) console.log(`\npeak memory, fused engine (every GPU buffer it made) vs PyTorch eager, this run:\n${memoryLines.join('\n')}`);
}
