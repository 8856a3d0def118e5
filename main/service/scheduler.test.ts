/**
 * Scheduler and Workbench behaviour with real run processes: the toy run process
 * (test/fixtures/toy-run-process.ts) trains a linear regression over the real run protocol, so
 * queue order, slots, cancel, crash reasons, pause and resume are exercised in seconds. The same
 * behaviours with real Transformer training are in test/cli-*.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../db/store';
import { SpecError } from '../../contract/spec';
import { forkSpawner } from './run-host';
import { Workbench } from './workbench';
import { duplicateMetricKeys, snapshotTables, tempDir, TOY_ENTRY, ROOT, toySpec } from '../../test/support/workbench';

const open: Workbench[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((wb) => wb.close()));
});

async function openToy(dir: string, opts: { env?: Record<string, string>; autoStart?: boolean; slots?: number; stopDeadlineMs?: number; log?: (l: string) => void } = {}): Promise<Workbench> {
  const wb = await Workbench.open({
    dbPath: join(dir, 'wb.sqlite'),
    dataDir: join(dir, 'data'),
    autoStart: opts.autoStart ?? false,
    slots: opts.slots,
    stopDeadlineMs: opts.stopDeadlineMs,
    log: opts.log,
    spawner: forkSpawner({ entry: TOY_ENTRY, env: { ...process.env, TOY_STEP_MS: '5', ...opts.env } }),
  });
  open.push(wb);
  return wb;
}

const until = async (cond: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('Workbench queue', () => {
  it('trains queued runs one at a time, in queue order after a move', async () => {
    const wb = await openToy(tempDir());
    const res = await wb.enqueueSpec(toySpec({ steps: 20, variants: ['{ name: h1, heads: 1 }', '{ name: h4, heads: 4 }'] }));
    expect(res.queued).toHaveLength(3);
    await wb.moveRun(res.queued[2], 0);
    wb.start();
    await wb.waitForIdle();
    const runs = (await wb.listRuns()).slice().sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
    expect(runs.map((r) => r.variant)).toEqual(['h4', 'base', 'h1']);
    expect(runs.every((r) => r.state === 'done' && r.step === 20)).toBe(true);
    // One slot: each run finished before the next one started.
    for (let i = 1; i < runs.length; i++) expect(runs[i].startedAt!).toBeGreaterThanOrEqual(runs[i - 1].finishedAt!);
    // Final metrics recorded; the toy regression learned: valid MSE well below that of w = b = 0.
    const untrained = Array.from({ length: 20 }, (_, i) => (3 * (i / 10 - 1) + 1) ** 2).reduce((a, b) => a + b) / 20;
    expect(runs[0].metrics.valid_loss).toBeLessThan(untrained / 4);
    expect(runs[0].backend).toBe('toy');
  });

  it('trains as many runs at once as there are slots', async () => {
    const wb = await openToy(tempDir(), { slots: 2, env: { TOY_STEP_MS: '20' } });
    await wb.enqueueSpec(toySpec({ steps: 40, variants: ['{ name: h1, heads: 1 }', '{ name: h4, heads: 4 }'] }));
    let most = 0;
    wb.onEvents((batch) => batch.forEach((e) => {
      if (e.type === 'queue') most = Math.max(most, e.status.running.length);
    }));
    wb.start();
    expect((await wb.queueStatus()).running).toHaveLength(2);
    await wb.waitForIdle();
    const [a, b, c] = await wb.listRuns();
    // The first two overlapped; the third started when a slot freed up.
    expect(b.startedAt!).toBeLessThan(a.finishedAt!);
    expect(c.startedAt!).toBeGreaterThanOrEqual(Math.min(a.finishedAt!, b.finishedAt!));
    expect(most).toBe(2);
    expect([a, b, c].map((r) => r.state)).toEqual(['done', 'done', 'done']);
  });

  it('skips a config that is already queued or done, unless forced', async () => {
    const wb = await openToy(tempDir());
    const first = await wb.enqueueSpec(toySpec());
    const again = await wb.enqueueSpec(toySpec({ name: 'toy-renamed' }));
    expect(again.queued).toEqual([]);
    expect(again.skipped).toEqual([{ variant: 'base', seed: 1, existingRunId: first.queued[0] }]);
    const preview = await wb.previewSpec(toySpec());
    expect(preview.ok && preview.runs[0].duplicateOf).toBe(first.queued[0]);
    const forced = await wb.enqueueSpec(toySpec(), { force: true });
    expect(forced.queued).toHaveLength(1);
    expect(forced.skipped).toEqual([]);
  });

  it('queues nothing from an invalid spec and leaves the database unchanged', async () => {
    const dir = tempDir();
    const wb = await openToy(dir);
    await wb.enqueueSpec(toySpec({ steps: 10 }));
    wb.start();
    await wb.waitForIdle();
    await wb.close();
    const before = snapshotTables(join(dir, 'wb.sqlite'));
    const wb2 = await openToy(dir);
    const bad = toySpec({ name: 'toy2', variants: ['{ name: a, heads: 2 }', '{ name: b }', '{ name: c, heads: -1 }'] });
    await expect(wb2.enqueueSpec(bad)).rejects.toThrow(SpecError);
    await expect(wb2.enqueueSpec(bad)).rejects.toThrow('variants[2].heads: must be a positive integer');
    expect((await wb2.previewSpec(bad)).ok).toBe(false);
    await wb2.close();
    expect(snapshotTables(join(dir, 'wb.sqlite'))).toEqual(before);
  });
});

describe('events and metric queries', () => {
  it('pushes events in batches ~150 ms apart, with metric rows and run changes', async () => {
    const wb = await openToy(tempDir());
    const batches: { at: number; types: string[] }[] = [];
    let metricRows = 0;
    const finals: string[] = [];
    wb.onEvents((batch) => {
      batches.push({ at: Date.now(), types: batch.map((e) => e.type) });
      for (const e of batch)
        if (e.type === 'metrics') {
          metricRows += e.points.length;
          expect(e.points[0]).toHaveProperty('runId');
          finals.push(...e.points.filter((p) => p.split === 'final').map((p) => p.name));
        }
    });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 200 }));
    wb.start();
    await wb.waitForIdle();
    await new Promise((r) => setTimeout(r, 300));
    // 200 train losses + 20 valid losses + final metrics, in far fewer pushes.
    expect(metricRows).toBeGreaterThanOrEqual(220);
    expect(batches.length).toBeLessThan(metricRows / 5);
    for (let i = 1; i < batches.length; i++) expect(batches[i].at - batches[i - 1].at).toBeGreaterThanOrEqual(140);
    const types = new Set(batches.flatMap((b) => b.types));
    expect([...types].sort()).toEqual(['metrics', 'progress', 'queue', 'runs-changed']);
    // Each final metric reaches the fronts once.
    expect(finals.length).toBeGreaterThan(0);
    expect(new Set(finals).size).toBe(finals.length);
    const sampled = await wb.getMetrics({ runIds: queued, names: ['loss'], maxPoints: 50 });
    const train = sampled.find((s) => s.split === 'train')!;
    expect(train.steps).toHaveLength(50);
    expect([train.steps[0], train.steps.at(-1)]).toEqual([1, 200]);
    expect(sampled.find((s) => s.split === 'valid')!.steps).toHaveLength(20);
  });
});

describe('run failures', () => {
  it('fails a diverging run with "diverged at step N" while the other runs finish', async () => {
    const wb = await openToy(tempDir());
    await wb.enqueueSpec(toySpec({ steps: 30, variants: ['{ name: huge-lr, heads: 1, train: { lr_factor: 1.0e30 } }', '{ name: h4, heads: 4 }'] }));
    wb.start();
    await wb.waitForIdle();
    const runs = await wb.listRuns();
    const failed = runs.find((r) => r.variant === 'huge-lr')!;
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/^diverged at step \d+: loss is (NaN|inf)$/);
    expect(runs.filter((r) => r.variant !== 'huge-lr').map((r) => r.state)).toEqual(['done', 'done']);
    // The non-finite loss itself is stored, not dropped.
    const losses = await wb.getMetrics({ runIds: [failed.id], names: ['loss'] });
    expect(losses.some((s) => s.values.some((v) => !Number.isFinite(v)))).toBe(true);
  });

  it('fails a run whose process exits without a result, naming the exit code', async () => {
    const wb = await openToy(tempDir(), { env: { TOY_EXIT_AT: '7' } });
    await wb.enqueueSpec(toySpec({ steps: 20 }));
    wb.start();
    await wb.waitForIdle();
    const [run] = await wb.listRuns();
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(/exited with code 3/);
  });
});

describe('cancel, pause, retry', () => {
  it('cancels a running run gracefully and a queued run at once', async () => {
    const wb = await openToy(tempDir(), { env: { TOY_STEP_MS: '30' } });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 1000, variants: ['{ name: h1, heads: 1 }'] }));
    wb.start();
    await until(() => (wb.runRow(queued[0])?.step ?? 0) >= 10);
    await wb.cancelRun(queued[1]);
    expect(wb.runRow(queued[1])?.state).toBe('cancelled');
    const t0 = Date.now();
    await wb.cancelRun(queued[0]);
    await wb.waitForIdle();
    expect(Date.now() - t0).toBeLessThan(3000);
    const run = wb.runRow(queued[0])!;
    expect(run.state).toBe('cancelled');
    expect(run.step).toBeLessThan(1000);
  });

  it('kills a run that ignores stop once the deadline passes', async () => {
    const wb = await openToy(tempDir(), { env: { TOY_STEP_MS: '30', TOY_IGNORE_STOP: '1' }, stopDeadlineMs: 800 });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 1000 }));
    wb.start();
    await until(() => (wb.runRow(queued[0])?.step ?? 0) >= 5);
    const t0 = Date.now();
    await wb.cancelRun(queued[0]);
    await wb.waitForIdle();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(wb.runRow(queued[0])?.state).toBe('cancelled');
  });

  it('keeps the queue paused across a restart, and resume starts it', async () => {
    const dir = tempDir();
    const wb = await openToy(dir);
    await wb.pauseQueue();
    await wb.enqueueSpec(toySpec({ steps: 10 }));
    await wb.close();
    const wb2 = await openToy(dir, { autoStart: true });
    expect((await wb2.queueStatus()).paused).toBe(true);
    await wb2.waitForIdle();
    expect((await wb2.listRuns())[0].state).toBe('queued');
    await wb2.resumeQueue();
    await wb2.waitForIdle();
    expect((await wb2.listRuns())[0].state).toBe('done');
  });

  it('retries a failed run from scratch', async () => {
    const dir = tempDir();
    const wb = await openToy(dir, { env: { TOY_EXIT_AT: '15' } });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 12 }));
    // steps 12 < 15: this run finishes; force a failure with a second spec that reaches step 15.
    const { queued: q2 } = await wb.enqueueSpec(toySpec({ name: 'long', steps: 30 }));
    wb.start();
    await wb.waitForIdle();
    expect(wb.runRow(queued[0])?.state).toBe('done');
    expect(wb.runRow(q2[0])?.state).toBe('failed');
    await wb.close();
    const wb2 = await openToy(dir, { autoStart: true });
    await wb2.retryRun(q2[0]);
    await wb2.waitForIdle();
    const run = wb2.runRow(q2[0])!;
    expect(run.state).toBe('done');
    const steps = (await wb2.getMetrics({ runIds: [run.id], names: ['loss'] })).filter((s) => s.split === 'train').flatMap((s) => s.steps);
    expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

describe('crash recovery', () => {
  it('resumes a run from its last checkpoint after kill -9 of the worker, with no metric duplicated', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'wb.sqlite');
    const setup = await openToy(dir);
    const { queued } = await setup.enqueueSpec(toySpec({ steps: 400, checkpointEvery: 50, variants: ['{ name: h1, heads: 1 }'] }));
    await setup.close();
    open.length = 0;

    const worker = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/toy-worker.ts'), dbPath, join(dir, 'data')], {
      env: { ...process.env, TOY_STEP_MS: '10' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((r) => worker.on('exit', r));
    const probe = openStore(dbPath);
    await until(() => (probe.latestCheckpoint(queued[0])?.step ?? 0) >= 100 && (probe.getRun(queued[0])?.step ?? 0) >= 125, 60_000);
    worker.kill('SIGKILL');
    await exited;
    const crashedAt = probe.getRun(queued[0])!;
    const ckpt = probe.latestCheckpoint(queued[0])!;
    probe.close();
    expect(crashedAt.state).toBe('running');
    expect(crashedAt.step).toBeGreaterThan(ckpt.step);

    // The orphaned run process noticed its parent died: no checkpoint appears after the kill.
    const ckptDir = join(ckpt.path, '..');
    const files = readdirSync(ckptDir).sort();
    await new Promise((r) => setTimeout(r, 1500));
    expect(readdirSync(ckptDir).sort()).toEqual(files);

    const lines: string[] = [];
    const wb = await openToy(dir, { autoStart: true, log: (l) => lines.push(l) });
    await wb.waitForIdle();
    expect(lines).toContain(`run ${queued[0]} (base, seed 1) resumed from step ${ckpt.step}`);
    const runs = await wb.listRuns();
    expect(runs.map((r) => r.state)).toEqual(['done', 'done']);
    await wb.close();
    expect(duplicateMetricKeys(dbPath)).toEqual([]);
    const check = openStore(dbPath);
    expect(check.integrityCheck()).toBe('ok');
    const steps = check.getMetrics({ runIds: [queued[0]], names: ['loss'], splits: ['train'] }).map((m) => m.step);
    // The curve continues: every step once, 1..400, none lost and none twice around the resume point.
    expect(steps).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    check.close();
    // The worker lock went with the killed worker (the kernel released it): nothing to delete by hand.
    expect(existsSync(`${dbPath}.worker.pid`)).toBe(false);
  });

  it('refuses to run a queue another live worker is running', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'wb.sqlite');
    const setup = await openToy(dir);
    const { queued } = await setup.enqueueSpec(toySpec({ steps: 2000 }));
    await setup.close();
    open.length = 0;
    const worker = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/toy-worker.ts'), dbPath, join(dir, 'data')], { env: { ...process.env, TOY_STEP_MS: '10' }, stdio: 'ignore' });
    const exited = new Promise((r) => worker.on('exit', r));
    try {
      const probe = openStore(dbPath);
      await until(() => probe.getRun(queued[0])?.state === 'running');
      probe.close();
      await expect(openToy(dir, { autoStart: true })).rejects.toThrow(new RegExp(`another workbench process \\(pid ${worker.pid} on [^,]+, since [^)]+\\) is running this queue`));
      // The refused open changed nothing: the run is still the live worker's.
      const check = openStore(dbPath);
      expect(check.getRun(queued[0])?.state).toBe('running');
      check.close();
    } finally {
      worker.kill('SIGKILL');
      await exited;
    }
  });
});
