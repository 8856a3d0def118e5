/**
 * torch_beam.py's command line as the device check uses it (bench/portable/device-check.sh):
 * `--device` picks where the reference runs and refuses what it cannot do in one line, and `--label`
 * prints one {"kind":"decode"} line per search that bench/portable/summary.ts reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../experiments/model/transformer';
import { randomSources, sharpen, writeModelCheckpoint } from '../../test/support/decoding';
import { tinyConfig, useBackend } from '../../test/support/model';
import { PYTHON, torchMissing } from './torch-beam';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_beam.py');
const missing = torchMissing();
const cuda = !missing && spawnSync(PYTHON, ['-c', 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)']).status === 0;
const VOCAB = 12;

let dir = '';
let input = '';
const sources = randomSources(10, 5, VOCAB);
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'torch-beam-cli-'));
  if (missing) return;
  await useBackend('cpu');
  const model = createModel(tinyConfig(), VOCAB, VOCAB, 5);
  try {
    sharpen(model, 5);
    await writeModelCheckpoint(join(dir, 'm.ckpt'), model, VOCAB);
  } finally {
    model.dispose();
  }
  input = join(dir, 'in.json');
  const runs = [{ search: 'greedy', max_len_offset: 4 }, { search: 'beam', beam: 3, alpha: 0.6, max_len_offset: 4 }];
  writeFileSync(input, JSON.stringify({ checkpoint: join(dir, 'm.ckpt'), sources: sources.map((s) => Array.from(s)), runs, batch_sentences: 4 }));
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const run = (...args: string[]) => spawnSync(PYTHON, [SCRIPT, input, join(dir, 'out.json'), ...args], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });

describe.skipIf(Boolean(missing))('torch_beam.py command line', () => {
  it('--label prints one decode line per search, counting the tokens it wrote', () => {
    const r = run('--device', 'cpu', '--label', 'tiny');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { runs: { hypotheses: number[][] }[] };
    expect(lines.map((l) => [l.kind, l.engine, l.config, l.mode, l.sentences])).toEqual([
      ['decode', 'pytorch', 'tiny', 'greedy', sources.length],
      ['decode', 'pytorch', 'tiny', 'beam 3', sources.length],
    ]);
    lines.forEach((l, i) => expect(l.tokens).toBe(out.runs[i].hypotheses.flat().length));
    expect(lines[0].device).toMatch(/^cpu/);
  });

  it('without --label prints nothing on stdout (the tests\' and bench\'s use)', () => {
    const r = run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('refuses a device it does not know, naming the flag and value', () => {
    const r = run('--device', 'tpu');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toBe("--device: expected cpu or cuda, got 'tpu'");
  });

  it.skipIf(cuda)('refuses --device cuda where torch sees no CUDA device', () => {
    const r = run('--device', 'cuda');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^--device cuda: torch .* sees no CUDA device$/);
  });
});
