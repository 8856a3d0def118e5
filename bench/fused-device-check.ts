/**
 * @device-check-entry fused
 *
 * The fused engine's rows for the GPU device check (bench/portable/device-check.sh; contract in the
 * README's Benchmarks section): pack.sh bundles this file as fused.cjs, the check runs
 * `BENCH_JSON=1 node fused.cjs --configs=A,B,base` (SMALL: `--configs=A --small`) and reads one JSON
 * line per config: {"kind":"fused","config":…,"ms_per_step":…,"tokens_per_second":…,"target_tokens":…,
 * "dispatches_per_step":…,"host_ms_per_step":…,"gpu_ms_per_step":…,"peak_gpu_mb":…,"device":…}, plus
 * the GPU time per kernel kind under "kernels". A config that fails prints {"kind":"fused","config":…,
 * "error":…} and the others still run. Without BENCH_JSON the same numbers print as text.
 *
 * Flags: --configs=A,B,base  --steps=N (default 10 on A, 5 on B, 3 on base; --small: 3)  --small
 * (base shrinks to batch 32, for a quick pass on a software adapter).
 */
import { formatFusedProfile, measureFused, type FusedBenchConfig } from './fused-measure';

/** bench/engine.bench.ts's configs (the same shapes as bench/reference/torch_step.py's). */
export const DEVICE_CHECK_CONFIGS: Record<string, FusedBenchConfig> = {
  A: { name: 'A', vocab: 1000, dModel: 64, heads: 4, dFf: 256, layers: 2, batch: 32, srcLen: 20, tgtLen: 20 },
  B: { name: 'B', vocab: 8000, dModel: 256, heads: 8, dFf: 1024, layers: 3, batch: 32, srcLen: 32, tgtLen: 32 },
  base: { name: 'base', vocab: 37000, dModel: 512, heads: 8, dFf: 2048, layers: 6, batch: 390, srcLen: 64, tgtLen: 64 },
};

const args = process.argv.slice(2);
const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const small = args.includes('--small');
const json = process.env.BENCH_JSON === '1';
const names = (value('configs') ?? 'A,B').split(',').map((s) => s.trim()).filter(Boolean);

async function main(): Promise<void> {
  for (const name of names) {
    const base = DEVICE_CHECK_CONFIGS[name];
    if (!base) {
      console.log(JSON.stringify({ kind: 'fused', config: name, error: `unknown config (A, B or base)` }));
      continue;
    }
    const c = small && name === 'base' ? { ...base, batch: 32 } : base;
    const steps = Number(value('steps') ?? (small ? 3 : name === 'A' ? 10 : name === 'B' ? 5 : 3));
    // The base model at 25k tokens may not fit: halve the batch until it does, as the PyTorch reference does.
    for (let batch = c.batch; batch >= 1; batch = Math.floor(batch / 2)) {
      try {
        const m = await measureFused({ ...c, batch }, steps);
        // The kernel shape (runtime/gpu.ts): `gpu` by default on a hardware adapter; the check also
        // times the `cpu` shape there (ABLATE_FUSED_KERNELS=cpu) to see which suits the card, and the
        // base model with the 64-tile matmul only (ABLATE_FUSED_MATMUL=tiled; kernels/matmul.ts gpuTile).
        const forced = [process.env.ABLATE_FUSED_KERNELS && `${process.env.ABLATE_FUSED_KERNELS}-shaped kernels`, process.env.ABLATE_FUSED_MATMUL && `matmul ${process.env.ABLATE_FUSED_MATMUL} only`].filter(Boolean);
        if (json) console.log(JSON.stringify({ kind: 'fused', ...m, batch, ...(forced.length ? { engine: `webgpu, ${forced.join(', ')}` } : {}) }));
        else console.log(`${formatFusedProfile(m)}\n  ${m.tokens_per_second.toFixed(0)} target tokens/s, ${m.peak_gpu_mb.toFixed(1)} MB of GPU buffers at peak, ${m.device}`);
        break;
      } catch (err) {
        const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
        if (batch > 1 && /memory|allocat|exceeds|too large|limit|allows/i.test(message)) continue; // Dawn's out-of-memory, Gpu.createBuffer's limits
        console.log(JSON.stringify({ kind: 'fused', config: name, batch, error: message }));
        break;
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.log(JSON.stringify({ kind: 'fused', error: (err instanceof Error ? err.message : String(err)).split('\n')[0] }));
    process.exit(0);
  },
);
