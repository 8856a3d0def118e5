/**
 * The device check's closing table (bench/portable/device-check.sh): reads the JSON lines every part
 * printed (results.jsonl) and prints one table of training steps — PyTorch eager / CUDA graph /
 * torch.compile, tfjs-webgpu, and the fused engine when its bench was packed — with each row's ratio
 * to PyTorch eager and to PyTorch's best on the same config, then the probes and the parts' times.
 *   node summary.cjs results.jsonl
 *
 * The fused engine's rows are read from JSON lines of this shape (the contract its bench entry
 * follows; see README "Benchmarks"): {"kind":"fused","config":"A","ms_per_step":…,
 * "tokens_per_second":…,"dispatches_per_step":…,"host_ms_per_step":…,"gpu_ms_per_step":…,
 * "peak_gpu_mb":…,"device":"…"}; missing fields print as —.
 *
 * Decoding (issue 10's goal: the fused decoder at ≥ 1.0× PyTorch's sentences/s on a lent GPU) is one
 * row per (config, mode) from {"kind":"decode","engine":"fused"|"pytorch","config":…,"mode":…,
 * "sentences_per_second":…,"tokens":…,"identical":…,"compared":…,"device":…} lines
 * (bench/fused-decode-device-check.ts and bench/reference/torch_beam.py --label).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatProbes, num, table, type Json } from '../probes/report';

export function readJsonLines(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"kind"')) continue;
    try {
      out.push(JSON.parse(line) as Json);
    } catch {
      // a line cut by a timeout
    }
  }
  return out;
}

interface StepRow {
  readonly config: string;
  readonly engine: string;
  readonly device: string;
  readonly ms?: number;
  readonly tokensPerSecond?: number;
  readonly tokens?: number;
  readonly launches?: number;
  readonly hostMs?: number;
  readonly gpuMs?: number;
  readonly memMb?: number;
  readonly note: string;
}

const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function stepRows(records: readonly Json[]): StepRow[] {
  const rows: StepRow[] = [];
  for (const r of records) {
    if (r.kind === 'torch') {
      rows.push({
        config: String(r.config), engine: `pytorch ${r.mode}`, device: String(r.device ?? ''), ms: n(r.ms_per_step), tokensPerSecond: n(r.tokens_per_second),
        tokens: n(r.target_tokens), launches: n(r.kernels_per_step), gpuMs: n(r.kernel_gpu_ms_per_step), memMb: n(r.cuda_peak_mb) ?? n(r.tensor_peak_mb),
        note: [r.skipped ? `skipped: ${r.skipped}` : '', r.batch_note ?? '', r.tf32 ? 'TF32' : '', n(r.cuda_peak_mb) === undefined && n(r.tensor_peak_mb) !== undefined ? 'peak MB: CPU tensor peak' : ''].filter(Boolean).join('; '),
      });
    } else if (r.kind === 'tfjs') {
      rows.push({ config: String(r.config), engine: `${r.engine}${r.variant ? ` (${r.variant})` : ''}`, device: String(r.device ?? ''), ms: n(r.ms_per_step), tokensPerSecond: n(r.tokens_per_second), note: String(r.note ?? '') });
    } else if (r.kind === 'fused') {
      rows.push({
        config: String(r.config), engine: `fused ${r.engine ?? 'webgpu'}`.trim(), device: String(r.device ?? ''), ms: n(r.ms_per_step), tokensPerSecond: n(r.tokens_per_second),
        tokens: n(r.target_tokens), launches: n(r.dispatches_per_step), hostMs: n(r.host_ms_per_step), gpuMs: n(r.gpu_ms_per_step), memMb: n(r.peak_gpu_mb),
        note: String(r.note ?? r.error ?? ''),
      });
    }
  }
  return rows;
}

export function formatSteps(rows: readonly StepRow[]): string {
  const eager = new Map<string, number>();
  const best = new Map<string, number>();
  for (const r of rows) {
    if (r.ms === undefined || !r.engine.startsWith('pytorch')) continue;
    if (r.engine === 'pytorch eager') eager.set(r.config, r.ms);
    best.set(r.config, Math.min(best.get(r.config) ?? Infinity, r.ms));
  }
  const ratio = (ms: number | undefined, ref: number | undefined) => (ms !== undefined && ref ? `${(ms / ref).toFixed(2)}×` : '—');
  const lines = [['config', 'engine', 'ms/step', 'tgt tok/s', '× torch eager', '× torch best', 'kernels/dispatches', 'host ms', 'GPU ms', 'peak MB', 'device / note']];
  for (const r of rows) {
    lines.push([
      r.config, r.engine, num(r.ms, 2), num(r.tokensPerSecond, 0), ratio(r.ms, eager.get(r.config)), ratio(r.ms, best.get(r.config)),
      num(r.launches, 0), num(r.hostMs, 2), num(r.gpuMs, 2), num(r.memMb, 0), [r.device.slice(0, 40), r.note].filter(Boolean).join('; '),
    ]);
  }
  return table(lines);
}

interface DecodeRow {
  readonly config: string;
  readonly mode: string;
  fused?: Json;
  torch?: Json;
}

/** Fused and PyTorch decode lines paired by (config, mode); lines with an error become a row's note. */
export function decodeRows(records: readonly Json[]): { rows: DecodeRow[]; errors: string[] } {
  const rows = new Map<string, DecodeRow>();
  const errors: string[] = [];
  for (const r of records) {
    if (r.kind !== 'decode') continue;
    if (r.error !== undefined || r.mode === undefined) {
      errors.push(`${r.engine ?? '?'} ${r.config ?? ''}: ${r.error ?? 'no mode'}`);
      continue;
    }
    const key = `${r.config} ${r.mode}`;
    const row = rows.get(key) ?? { config: String(r.config), mode: String(r.mode) };
    if (r.engine === 'fused') row.fused = r;
    else if (r.engine === 'pytorch') row.torch = r;
    rows.set(key, row);
  }
  return { rows: [...rows.values()], errors };
}

export function formatDecode(rows: readonly DecodeRow[]): string {
  const lines = [['config', 'mode', 'fused sent/s', 'torch sent/s', 'fused/torch', 'goal ≥ 1.0', 'identical', 'out tokens', 'fused device', 'torch device']];
  for (const { config, mode, fused, torch } of rows) {
    const f = n(fused?.sentences_per_second);
    const t = n(torch?.sentences_per_second);
    const ratio = f !== undefined && t ? f / t : undefined;
    const same = n(fused?.identical);
    lines.push([
      config, mode, num(f, 2), num(t, 2), ratio === undefined ? '—' : `${ratio.toFixed(2)}×`, ratio === undefined ? '—' : ratio >= 1 ? 'met' : 'not met',
      same === undefined ? '—' : `${same}/${n(fused?.compared) ?? '?'}`, num(n(fused?.tokens) ?? n(torch?.tokens), 0),
      String(fused?.device ?? '—').slice(0, 40), String(torch?.device ?? '—').slice(0, 40),
    ]);
  }
  return table(lines);
}

function main(path: string): void {
  const records = readJsonLines(readFileSync(path, 'utf8'));
  const steps = stepRows(records);
  console.log('\n== training step (median ms; "GPU ms": torch = summed kernel time of one profiled step, fused = timestamps) ==');
  console.log(steps.length ? formatSteps(steps) : '(no step measurements)');
  const decode = decodeRows(records);
  if (decode.rows.length || decode.errors.length) {
    console.log('\n== decoding (issue 10: fused decoder vs the PyTorch reference, same checkpoint and sources; sentences/s) ==');
    if (decode.rows.length) console.log(formatDecode(decode.rows));
    for (const e of decode.errors) console.log(`decode error: ${e}`);
  }
  const probes = records.filter((r) => r.kind === 'probe' && r.probe !== 'device');
  const dev = records.find((r) => r.kind === 'probe' && r.probe === 'device');
  if (probes.length) {
    console.log(`\n== WebGPU ceiling probes${dev ? ` on ${dev.adapter}${dev.software ? ' (software adapter)' : ''}` : ''} ==`);
    console.log(formatProbes(probes));
  }
  for (const r of records.filter((x) => x.kind === 'torch' && Array.isArray(x.top_kernels))) {
    const top = (r.top_kernels as { name: string; count: number; ms: number }[]).slice(0, 5).map((k) => `${k.ms.toFixed(2)} ms ×${k.count} ${k.name}`);
    console.log(`\ntop CUDA kernels, ${r.config} pytorch ${r.mode}: ${top.join(' | ')}`);
  }
  const parts = records.filter((r) => r.kind === 'part');
  if (parts.length) {
    console.log('\n== parts ==');
    console.log(table([['part', 'seconds', 'box s', 'exit', 'note'], ...parts.map((p) => [String(p.part), num(p.seconds, 0), num(p.box_s, 0), p.rc === undefined ? '—' : String(p.rc), p.timed_out ? 'TIMED OUT (rows printed before it are kept)' : String(p.note ?? '')])]));
  }
}

// Only as the program (summary.cjs or tsx), not when a test imports the module.
const file = process.argv[2];
if (file && process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main(file);
