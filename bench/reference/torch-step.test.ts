/**
 * The benchmark's PyTorch step (torch_step.py), checked by its own --self-check: its forward with
 * dropout 0 equals the parity reference (experiments/model/reference) on a padded batch, its loss
 * equals the reference's label-smoothed loss, and its peak-memory accounting (torch.profiler's
 * allocation records, sizes rounded to the CUDA allocator's 512-byte blocks) gives the peak a known
 * allocation pattern has by arithmetic: 4 MiB + 8 MiB live, then 4 MiB freed and 4 MiB + 1 byte made.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PYTHON, torchMissing } from './torch-beam';

const missing = torchMissing();
if (missing) console.warn(`torch_step.py self-check skipped: ${missing}`);

describe.skipIf(Boolean(missing))('torch_step.py, the engine benchmark PyTorch reference', () => {
  it('matches the parity reference and measures a known tensor peak exactly', () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_step.py');
    const run = spawnSync(PYTHON, [script, '--self-check'], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, timeout: 120_000 });
    const line = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { ok: boolean; max_abs_logits_diff: number; tensor_peak_bytes: number };
    expect(line.max_abs_logits_diff, run.stderr).toBe(0);
    expect(line.tensor_peak_bytes).toBe(2 ** 23 + 2 ** 22 + 512);
    expect(line.ok).toBe(true);
    expect(run.status).toBe(0);
  }, 150_000);
});
