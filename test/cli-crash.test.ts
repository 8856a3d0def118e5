/**
 * Crash recovery with real training: `kill -9` of an `ablate worker` in the middle of a run, then
 * a new worker. The run resumes from its last checkpoint, every run finishes, the database passes
 * PRAGMA integrity_check, no metric row is duplicated, and the resumed loss curve continues the
 * interrupted one — step for step the same as the same config trained without interruption.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../db/store';
import { ablate, duplicateMetricKeys, ROOT, tempDir, tinySpec } from './support/workbench';

const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for the worker');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('kill -9 of a worker', () => {
  it('resumes the run from its last checkpoint and finishes every run without duplicated metrics', async () => {
    const dir = tempDir();
    const db = join(dir, 'crash.sqlite');
    const spec = join(dir, 'crash.yaml');
    // dropout 0: the comparison below is exact only when no dropout mask depends on process history
    // (the model's dropout seeds count calls since the process started, not optimizer steps).
    const tiny = (name: string) => tinySpec({ name, steps: 120, eval: 40, checkpoint: 40, dropout: 0, variants: ['{ name: h1, heads: 1 }'] });
    writeFileSync(spec, tiny('crash'));
    expect((await ablate(['queue', spec, '--db', db, '--backend', 'wasm'])).code).toBe(0);
    // The same configs again under another name: trained without interruption, as the reference curve.
    writeFileSync(join(dir, 'ref.yaml'), tiny('reference'));
    expect((await ablate(['queue', join(dir, 'ref.yaml'), '--db', db, '--backend', 'wasm', '--force'])).code).toBe(0);

    const worker = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), 'worker', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise((r) => worker.on('exit', r));
    const probe = openStore(db);
    await until(() => (probe.latestCheckpoint(1)?.step ?? 0) >= 40 && (probe.getRun(1)?.step ?? 0) >= 50, 240_000);
    worker.kill('SIGKILL');
    await exited;
    const ckpt = probe.latestCheckpoint(1)!;
    const atKill = probe.getRun(1)!;
    probe.close();
    expect(atKill.state).toBe('running');
    expect(atKill.step).toBeGreaterThan(ckpt.step);

    const second = await ablate(['worker', '--db', db]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`run 1 (base, seed 1) resumed from step ${ckpt.step}`);

    expect(duplicateMetricKeys(db)).toEqual([]);
    const store = openStore(db);
    try {
      expect(store.integrityCheck()).toBe('ok');
      expect(store.listRuns().map((r) => r.state)).toEqual(['done', 'done', 'done', 'done']);
      const curve = (id: number) => store.getMetrics({ runIds: [id], names: ['loss'], splits: ['train'] });
      const resumed = curve(1);
      const reference = curve(3);
      // Every progress point once, none missing around the resume point.
      expect(resumed.map((m) => m.step)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
      expect(resumed.map((m) => m.step)).toEqual(reference.map((m) => m.step));
      // The curve continues where the checkpoint left it: the same values as the uninterrupted run.
      resumed.forEach((m, i) => expect(m.value, `step ${m.step}`).toBeCloseTo(reference[i].value, 5));
      expect(store.getRun(1)!.metrics.valid_loss).toBeCloseTo(store.getRun(3)!.metrics.valid_loss, 5);
      const valid = store.getMetrics({ runIds: [1], names: ['valid_loss'], splits: ['valid'] }).map((m) => m.step);
      expect(valid).toEqual([40, 80, 120]);
      // Sample translations too: each (step, sentence) once, at the same steps as the uninterrupted run.
      const samples = (id: number) => store.getSamples(id).map((r) => `${r.step}:${r.source}`);
      expect(new Set(samples(1)).size).toBe(samples(1).length);
      expect(samples(1)).toEqual(samples(3));
    } finally {
      store.close();
    }
  });
});
