import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunJob, RunToParent } from '../../contract/run-protocol';
import { expandSpec, parseSpec, type SpecInput } from '../../contract/spec';
import { runJob } from './run-job';
import { canMountTmpfs, withTmpfs } from '../../test/support/tmpfs';

const dir = mkdtempSync(join(tmpdir(), 'ablate-runjob-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let jobCount = 0;
function job(spec: Omit<SpecInput, 'name'>, extra: Partial<RunJob> = {}): RunJob {
  const config = expandSpec(parseSpec({ name: 'run-job-test', ...spec }))[0].config;
  const id = ++jobCount;
  return { runId: id, config, backend: 'wasm', checkpointDir: join(dir, `run-${id}`), cacheDir: join(dir, 'cache'), ...extra };
}

async function collect(j: RunJob, stopWhen?: (m: RunToParent) => boolean): Promise<RunToParent[]> {
  const messages: RunToParent[] = [];
  let stop = false;
  await runJob(j, {
    emit: (m) => {
      messages.push(m);
      if (stopWhen?.(m)) stop = true;
    },
    shouldStop: () => stop,
  });
  return messages;
}

const last = (ms: RunToParent[]) => ms[ms.length - 1];

const small = {
  data: { task: 'synthetic-copy' as const, vocab: 10, min_len: 3, max_len: 6, train_size: 200, valid_size: 12, test_size: 6, seed: 2, tokenizer: { kind: 'word' as const } },
  base: { layers: 1, d_model: 32, d_ff: 64, heads: 4, dropout: 0 },
  train: { steps: 12, batch_tokens: 160, warmup: 4, eval_every: 6, checkpoint_every: 6, eval_bleu_sentences: 8, samples: 2, decode: { beam: 2, alpha: 0.6 } },
};

describe('runJob', () => {
  it('emits ready, progress, metrics, samples, checkpoints and done with every final metric', async () => {
    const ms = await collect(job(small));
    const ready = ms.find((m) => m.type === 'ready');
    expect(ready).toMatchObject({ type: 'ready', backend: 'wasm', startStep: 0 });
    expect(ready && ready.type === 'ready' && ready.params).toBeGreaterThan(0);
    expect(ms.filter((m) => m.type === 'checkpoint').map((m) => m.type === 'checkpoint' && m.step)).toEqual([6, 12]);
    const valid = ms.flatMap((m) => (m.type === 'metrics' ? m.points : [])).filter((p) => p.split === 'valid');
    expect(new Set(valid.map((p) => `${p.name}@${p.step}`))).toEqual(new Set(['valid_loss@6', 'valid_ppl@6', 'valid_bleu@6', 'valid_loss@12', 'valid_ppl@12', 'valid_bleu@12']));
    for (const p of valid.filter((q) => q.name === 'valid_ppl')) {
      const loss = valid.find((q) => q.name === 'valid_loss' && q.step === p.step)!;
      expect(p.value).toBeCloseTo(Math.exp(loss.value), 6); // perplexity = exp(mean NLL)
    }
    expect(ms.filter((m) => m.type === 'samples')).toHaveLength(2);
    // Final metrics travel once, in 'done' (never also as metric points), so they are written and pushed once.
    expect(ms.flatMap((m) => (m.type === 'metrics' ? m.points : [])).filter((p) => p.split === 'final')).toEqual([]);
    // Tokens seen is recorded with every train point and never decreases.
    const seen = ms.flatMap((m) => (m.type === 'metrics' ? m.points : [])).filter((p) => p.split === 'train' && p.name === 'tokens_seen');
    expect(seen.length).toBeGreaterThan(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i].value).toBeGreaterThanOrEqual(seen[i - 1].value);
    const done = last(ms);
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    expect(done.step).toBe(12);
    for (const name of ['train_loss', 'valid_loss', 'valid_ppl', 'valid_bleu', 'test_bleu', 'params', 'train_seconds', 'tokens_per_second'] as const) {
      expect(Number.isFinite(done.metrics[name]), name).toBe(true);
    }
  });

  it('sends every dev and test hypothesis with its reference at the final evaluation', async () => {
    const ms = await collect(job(small));
    const hyps = ms.filter((m) => m.type === 'hypotheses');
    expect(hyps.map((m) => m.type === 'hypotheses' && [m.split, m.step, m.hypotheses.length, m.references.length])).toEqual([
      ['valid', 12, 12, 12],
      ['test', 12, 6, 6],
    ]);
    // Before 'done', so the recorder stores them with the run.
    expect(ms.findIndex((m) => m.type === 'hypotheses')).toBeLessThan(ms.findIndex((m) => m.type === 'done'));
  });

  it('average_last: averages the last K checkpoints before the final evaluation, keeps them, and records the last weights\' scores too', async () => {
    const j = job({ ...small, train: { ...small.train, steps: 18, average_last: 3 } });
    const ms = await collect(j);
    const done = last(ms);
    expect(done.type).toBe('done');
    // The K checkpoints averaged stay on disk (2 are kept otherwise).
    expect(readdirSync(j.checkpointDir).filter((f) => !f.includes('.tmp')).length).toBe(3);
    const finals = Object.fromEntries(ms.flatMap((m) => (m.type === 'metrics' ? m.points : [])).filter((p) => p.split === 'final').map((p) => [p.name, p.value]));
    expect(Object.keys(finals).sort()).toEqual(['averaged_checkpoints', 'test_bleu_last', 'valid_bleu_last', 'valid_loss_last', 'valid_ppl_last']);
    expect(finals.averaged_checkpoints).toBe(3);
    if (done.type !== 'done') return;
    // The reported scores are the averaged weights', not the last ones'.
    expect(done.metrics.valid_ppl).not.toBe(finals.valid_ppl_last);
    expect(ms.some((m) => m.type === 'log' && /averaged the last 3 checkpoints \(steps 6, 12, 18\)/.test(m.text))).toBe(true);
  });

  it('saves a checkpoint and reports stopped when asked to stop, and a resumed job finishes from there', async () => {
    const j = job(small);
    const ms = await collect(j, (m) => m.type === 'progress' && m.step >= 3);
    const stopped = last(ms);
    expect(stopped.type).toBe('stopped');
    const ckpt = ms.filter((m) => m.type === 'checkpoint').pop();
    expect(ckpt && ckpt.type === 'checkpoint' && stopped.type === 'stopped' && ckpt.step === stopped.step).toBe(true);
    if (!ckpt || ckpt.type !== 'checkpoint') return;
    const resumed = await collect({ ...j, resumeFrom: { path: ckpt.path, step: ckpt.step } });
    expect(resumed.find((m) => m.type === 'ready')).toMatchObject({ startStep: ckpt.step });
    expect(last(resumed)).toMatchObject({ type: 'done', step: 12 });
    // No step before the checkpoint is trained again.
    const progress = resumed.filter((m) => m.type === 'progress');
    expect(Math.min(...progress.map((m) => (m.type === 'progress' ? m.step : Infinity)))).toBeGreaterThan(ckpt.step);
  });

  it('fails as diverged with the step when the loss becomes NaN or infinite', async () => {
    // A learning rate of ~1e30 throws the weights to ~1e30 after one Adam step; the next forward pass overflows.
    const ms = await collect(job({ ...small, train: { ...small.train, lr_factor: 1e32 } }));
    const failed = last(ms);
    expect(failed).toMatchObject({ type: 'failed', kind: 'diverged' });
    if (failed.type === 'failed') {
      expect(failed.reason).toMatch(new RegExp(`^diverged at step ${failed.step}: loss is (NaN|inf|-inf)$`));
      expect(failed.step).toBeLessThan(12);
    }
  });

  it('fails with kind data on a missing corpus file and kind backend on a backend that cannot load', async () => {
    const missing = await collect(
      job({ ...small, data: { corpus: { train: ['/nonexistent/train.en', '/nonexistent/train.de'], valid: ['/nonexistent/v.en', '/nonexistent/v.de'] } } }),
    );
    expect(last(missing)).toMatchObject({ type: 'failed', kind: 'data' });
    const backend = await collect(job(small, { backend: 'tensorflow' }));
    expect(last(backend)).toMatchObject({ type: 'failed', kind: 'backend' });
    expect((last(backend) as { reason: string }).reason).toMatch(/^backend tensorflow unavailable: /);
  });

  it('records the same curve when stopped between logging steps and resumed: no point at the stop step, the same averages', async () => {
    const spec = { ...small, train: { ...small.train, steps: 24, eval_every: 12, checkpoint_every: 12 } };
    const trainPoints = (ms: RunToParent[]) => ms.flatMap((m) => (m.type === 'metrics' ? m.points : [])).filter((p) => p.split === 'train' && p.name === 'loss');
    const straight = trainPoints(await collect(job(spec)));
    const j = job(spec);
    const first = await collect(j, (m) => m.type === 'checkpoint' && m.step === 12);
    const stopped = last(first);
    expect(stopped.type).toBe('stopped');
    const stopStep = (stopped as { step: number }).step;
    expect(stopStep % 10).not.toBe(0);
    const ckpt = first.filter((m) => m.type === 'checkpoint').pop() as { path: string; step: number };
    expect(ckpt.step).toBe(stopStep);
    const second = await collect({ ...j, resumeFrom: { path: ckpt.path, step: ckpt.step } });
    const recorded = [...trainPoints(first), ...trainPoints(second)];
    expect(recorded.map((p) => p.step)).toEqual(straight.map((p) => p.step));
    recorded.forEach((p, i) => expect(p.value, `step ${p.step}`).toBeCloseTo(straight[i].value, 5));
  });

  it('resumes from the previous checkpoint when the latest does not verify, and says which in the log', async () => {
    const j = job(small);
    const ms = await collect(j);
    const ckpts = ms.filter((m) => m.type === 'checkpoint') as { path: string; step: number }[];
    expect(ckpts.map((c) => c.step)).toEqual([6, 12]);
    const [older, latest] = ckpts;
    const bytes = readFileSync(latest.path);
    bytes[40] ^= 0x10;
    writeFileSync(latest.path, bytes);
    writeFileSync(`${latest.path}.tmp-99999`, 'half a checkpoint');
    const resumed = await collect({ ...j, resumeFrom: latest });
    expect(resumed.find((m) => m.type === 'ready')).toMatchObject({ startStep: older.step });
    const logs = resumed.filter((m) => m.type === 'log').map((m) => (m as { text: string }).text);
    expect(logs).toContainEqual(expect.stringContaining(`checkpoint ${latest.path} not used: checksum mismatch`));
    expect(logs).toContainEqual(expect.stringContaining(`resumed from ${older.path} at step ${older.step}`));
    expect(logs).toContainEqual(expect.stringContaining('removed 1 unfinished checkpoint file(s)'));
    expect(readdirSync(j.checkpointDir).some((f) => f.includes('.tmp-'))).toBe(false);
    expect(last(resumed)).toMatchObject({ type: 'done', step: 12 });
  });

  it.skipIf(!canMountTmpfs())('fails as disk-full, naming the checkpoint file, when the checkpoint folder has no space', async () => {
    const full = join(dir, 'full-disk');
    await withTmpfs(full, '64k', async () => {
      const j = job(small, { checkpointDir: join(full, 'run') });
      const ms = await collect(j);
      const failed = last(ms);
      expect(failed).toMatchObject({ type: 'failed', kind: 'disk-full' });
      expect((failed as { reason: string }).reason).toMatch(new RegExp(`^no space left on device: cannot write checkpoint ${join(full, 'run', 'step-00000006.ckpt')}`));
      expect(readdirSync(join(full, 'run'))).toEqual([]);
    });
  });
});
