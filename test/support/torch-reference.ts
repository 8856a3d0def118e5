/**
 * The PyTorch reference of the model (experiments/model/reference/torch_transformer.py, plain torch
 * ops written from the paper) run on given weights and one batch: logits, the label-smoothed loss in
 * both conventions and the gradient of every weight. Used by the tfjs engine's parity test and the
 * fused engine's (experiments/model/parity.test.ts, experiments/fused/model/torch-parity.test.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import type { ModelConfig } from '../../contract/spec';
import type { randomBatch } from './model';

export const TORCH_PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(__dirname, '../../experiments/model/reference/torch_transformer.py');

/** Why the reference cannot run here ('' when it can), for describe.skipIf. */
export function torchReferenceMissing(): string {
  const check = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return check.status !== 0 ? `PyTorch parity skipped: ${TORCH_PYTHON} cannot import torch (${(check.stderr || String(check.error)).trim().split('\n').pop()})` : '';
}

export interface TorchReferenceOut {
  logits: number[];
  loss_non_pad: number;
  loss_all: number;
  grads: Record<string, number[] | null>;
}

/** Runs the reference in `dir` (files named by `tag`) on `weights` (name → shape, flat data) and `batch`. */
export function runTorchReference(
  dir: string, tag: string, config: ModelConfig, vocab: number, labelSmoothing: number,
  weights: Record<string, { shape: number[]; data: number[] }>, batch: ReturnType<typeof randomBatch>,
): TorchReferenceOut {
  const input = join(dir, `${tag}.in.json`);
  const output = join(dir, `${tag}.out.json`);
  writeFileSync(input, JSON.stringify({ config, src_vocab: vocab, tgt_vocab: vocab, weights, src: batch.src, tgt_in: batch.tgtIn, tgt_out: batch.tgtOut, label_smoothing: labelSmoothing }));
  execFileSync(TORCH_PYTHON, [SCRIPT, input, output], { env: { ...process.env, OMP_NUM_THREADS: '1' } });
  return JSON.parse(readFileSync(output, 'utf8')) as TorchReferenceOut;
}

/** Every |a−b| ≤ rel·(|b| + rms(b)): relative, with the tensor's scale guarding entries near zero. */
export function parityError(actual: ArrayLike<number>, expected: ArrayLike<number>): { worst: number; at: number } {
  let sq = 0;
  for (let i = 0; i < expected.length; i++) sq += expected[i] * expected[i];
  const rms = Math.sqrt(sq / Math.max(1, expected.length));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) / (Math.abs(expected[i]) + rms);
    if (!(excess <= worst)) { worst = excess; at = i; }
  }
  return { worst, at };
}

/** Asserts parityError(actual, expected).worst ≤ rel, naming the worst entry. */
export function expectParity(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const { worst, at } = parityError(actual, expected);
  expect(worst, `${what}: worst relative error at ${at} (${actual[at]} vs ${expected[at]})`).toBeLessThanOrEqual(rel);
}
