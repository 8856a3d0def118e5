/**
 * The fused WebGPU engine through the real CLI and run processes (`--backend fused`), on whatever
 * adapter exists (Mesa lavapipe in CI): a run with dropout on, killed with `kill -9` after its first
 * checkpoint and resumed by a new worker, gives step for step the curve of the same config trained
 * without interruption (dropout masks are a hash of seed, step, site and element), and that run
 * records the engine and device. A config the engine cannot train is refused when queued. `ablate
 * translate` on a fused run decodes in an inference process started for the fused backend (the fused
 * decoder where an adapter exists): the tfjs decoder's translations from the same checkpoint.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../db/store';
import { openCheckpoint, translate } from '../experiments/run/inference';
import { acquireGpu } from '../experiments/fused/runtime/gpu';
import { ablate, duplicateMetricKeys, ROOT, tempDir, tinySpec } from './support/workbench';

const gpu = await acquireGpu().then(
  () => true,
  (err: Error) => (console.warn(`skipping the fused CLI runs: ${err.message}`), false),
);

const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for the worker');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('--backend fused', () => {
  it('refuses at queue time, in one line, a config the fused engine cannot train', async () => {
    const dir = tempDir();
    const spec = join(dir, 'long.yaml');
    writeFileSync(spec, tinySpec({ name: 'long' }).replace('max_len: 6', 'max_len: 300'));
    const r = await ablate(['queue', spec, '--db', join(dir, 'q.sqlite'), '--backend', 'fused']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('backend fused attends over at most 256 positions; data.max_len 300 needs 301');
    // The same spec on wasm queues.
    expect((await ablate(['queue', spec, '--db', join(dir, 'q.sqlite'), '--backend', 'wasm'])).code).toBe(0);
  }, 60_000);

  it.skipIf(!gpu)('with dropout on: kill -9 and resume gives the uninterrupted curve, recorded as trained on the fused engine', async () => {
    const dir = tempDir();
    const db = join(dir, 'fused.sqlite');
    const tiny = (name: string) => tinySpec({ name, steps: 60, eval: 20, checkpoint: 20, dropout: 0.1 });
    writeFileSync(join(dir, 'crash.yaml'), tiny('crash'));
    writeFileSync(join(dir, 'ref.yaml'), tiny('reference'));
    expect((await ablate(['queue', join(dir, 'crash.yaml'), '--db', db, '--backend', 'fused'])).code).toBe(0);
    expect((await ablate(['queue', join(dir, 'ref.yaml'), '--db', db, '--backend', 'fused', '--force'])).code).toBe(0);

    const worker = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), 'worker', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise((r) => worker.on('exit', r));
    const probe = openStore(db);
    await until(() => (probe.latestCheckpoint(1)?.step ?? 0) >= 20 && (probe.getRun(1)?.step ?? 0) >= 30, 180_000);
    worker.kill('SIGKILL');
    await exited;
    const ckpt = probe.latestCheckpoint(1)!;
    const atKill = probe.getRun(1)!;
    probe.close();
    expect(atKill.state).toBe('running');
    expect(atKill.step).toBeGreaterThan(ckpt.step);

    const second = await ablate(['worker', '--db', db]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`resumed from step ${ckpt.step}`);
    expect(duplicateMetricKeys(db)).toEqual([]);
    const store = openStore(db);
    try {
      expect(store.listRuns().map((r) => r.state)).toEqual(['done', 'done']);
      for (const id of [1, 2]) {
        const run = store.getRun(id)!;
        expect(run.backendRequested).toBe('fused');
        expect(run.backend).toBe('fused');
        expect(run.device).toMatch(/^WebGPU \(Dawn\): /);
      }
      const curve = (id: number) => store.getMetrics({ runIds: [id], names: ['loss'], splits: ['train'] });
      const resumed = curve(1);
      const reference = curve(2);
      expect(resumed.map((m) => m.step)).toEqual([10, 20, 30, 40, 50, 60]);
      expect(resumed.map((m) => m.step)).toEqual(reference.map((m) => m.step));
      // Same seed, same masks, same kernels: the same numbers, across a kill -9 and resume.
      resumed.forEach((m, i) => expect(m.value, `step ${m.step}`).toBeCloseTo(reference[i].value, 5));
      expect(store.getRun(1)!.metrics.valid_loss).toBeCloseTo(store.getRun(2)!.metrics.valid_loss, 5);
    } finally {
      store.close();
    }

    // ablate translate on the fused run's latest checkpoint, with the run's beam (2), against the tfjs decoder in this process.
    const lines = ['w1 w2 w3', 'w4 w5 w6 w7', 'w0 w3 w5 w2 w6 w1', 'w7 w2', ''];
    const translated = await ablate(['translate', '--db', db, '--run', '2'], { input: `${lines.join('\n')}\n` });
    expect(translated.code, translated.stderr).toBe(0);
    const probe2 = openStore(db);
    const ckptPath = probe2.latestCheckpoint(2)!.path;
    probe2.close();
    const tfjs = await openCheckpoint(ckptPath, { backend: 'cpu' });
    try {
      const want = await translate(tfjs, lines.slice(0, -1), { beam: 2, alpha: 0.6 });
      expect(translated.stdout.split('\n').slice(0, lines.length)).toEqual([...want, '']);
    } finally {
      tfjs.dispose();
    }
  }, 360_000);
});
