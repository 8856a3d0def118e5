/**
 * Runs bench/reference/torch_beam.py, the plain PyTorch greedy and beam search (fairseq's rules,
 * GNMT length penalty), on a workbench checkpoint: the independent reference for the tfjs and
 * fused decoders (issue 10).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_beam.py');

/** A search, or `score`: the beam objective of given hypotheses (teacher-forced, EOS appended). */
export type TorchSearch =
  | { readonly search: 'greedy'; readonly max_len_offset: number }
  | { readonly search: 'beam'; readonly beam: number; readonly alpha: number; readonly max_len_offset: number }
  | { readonly search: 'score'; readonly hypotheses: readonly (readonly number[])[]; readonly alpha: number };

export type TorchResult = Omit<TorchSearch, 'hypotheses'> & {
  readonly hypotheses: number[][];
  /** Beam and score: logP / lp(len) of each hypothesis, len and logP counting EOS; greedy: null. */
  readonly scores: (number | null)[];
  readonly seconds: number;
  readonly sentences_per_second: number | null;
};

/** Why the reference cannot run here ('' when it can): PyTorch missing from PYTHON. */
export function torchMissing(): string {
  const check = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return check.status === 0 ? '' : `${PYTHON} cannot import torch (${(check.stderr || String(check.error)).trim().split('\n').pop()})`;
}

/**
 * Decodes `sources` (ids without BOS/EOS) with each search in `runs` on the checkpoint's weights.
 * @example await torchDecode('run/step-00000800.ckpt', [[5, 9, 7]], [{ search: 'beam', beam: 4, alpha: 0.6, max_len_offset: 50 }])
 */
export function torchDecode(
  checkpoint: string, sources: readonly ArrayLike<number>[], runs: readonly TorchSearch[],
  opts: { batchSentences?: number; threads?: number; device?: 'cpu' | 'cuda' } = {},
): { torch: string; runs: TorchResult[] } {
  const dir = mkdtempSync(join(tmpdir(), 'torch-beam-'));
  try {
    const input = join(dir, 'in.json');
    const output = join(dir, 'out.json');
    writeFileSync(input, JSON.stringify({ checkpoint, sources: sources.map((s) => Array.from(s)), runs, batch_sentences: opts.batchSentences ?? 32, threads: opts.threads ?? 1 }));
    execFileSync(PYTHON, [SCRIPT, input, output, '--device', opts.device ?? 'cpu'], { env: { ...process.env, OMP_NUM_THREADS: String(opts.threads ?? 1), OMP_WAIT_POLICY: 'PASSIVE' }, stdio: ['ignore', 'inherit', 'inherit'] });
    return JSON.parse(readFileSync(output, 'utf8')) as { torch: string; runs: TorchResult[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
