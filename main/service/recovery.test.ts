/**
 * What happens after a fault, with real (toy) run processes: a run process killed by a signal is
 * resumed from its last checkpoint a bounded number of times; a deleted latest checkpoint falls
 * back to the previous one; retry resumes unless from scratch; an observer beside the lock holder
 * sees live rows and has its commands carried out; a database that cannot be written stops the
 * scheduler cleanly and the next start resumes.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../db/store';
import { acquireWorkerLock } from '../../db/worker-lock';
import type { WorkbenchEvent } from '../../contract/api';
import { forkSpawner } from './run-host';
import { MAX_AUTO_RESUMES } from './scheduler';
import { Workbench } from './workbench';
import { duplicateMetricKeys, tempDir, TOY_ENTRY, toySpec } from '../../test/support/workbench';
import { canMountTmpfs, fillDisk, withTmpfs } from '../../test/support/tmpfs';

const open: Workbench[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((wb) => wb.close()));
});

async function openToy(dir: string, opts: { env?: Record<string, string>; autoStart?: boolean; attach?: boolean; dbPath?: string; log?: (l: string) => void } = {}): Promise<Workbench> {
  const wb = await Workbench.open({
    dbPath: opts.dbPath ?? join(dir, 'wb.sqlite'),
    dataDir: join(dir, 'data'),
    autoStart: opts.autoStart ?? false,
    attach: opts.attach,
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

const trainSteps = async (wb: Workbench, id: number) => (await wb.getMetrics({ runIds: [id], names: ['loss'] })).filter((s) => s.split === 'train').flatMap((s) => s.steps);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('a run process killed by a signal', () => {
  it('is interrupted and resumed from its last checkpoint, the curve complete and nothing duplicated', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const wb = await openToy(dir, { env: { TOY_SIGKILL_AT: '25', TOY_SIGKILL_ONCE: join(dir, 'killed') }, log: (l) => lines.push(l) });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 40 }));
    wb.start();
    await wb.waitForIdle();
    const run = wb.runRow(queued[0])!;
    expect(run.state).toBe('done');
    expect(existsSync(join(dir, 'killed'))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(/run 1 \(base, seed 1\) interrupted: run process killed by SIGKILL.*resuming from the last checkpoint \(automatic attempt 1 of 3\)/));
    expect(lines).toContain('run 1 (base, seed 1) resumed from step 20');
    expect(await trainSteps(wb, run.id)).toEqual(range(40));
    await wb.close();
    expect(duplicateMetricKeys(join(dir, 'wb.sqlite'))).toEqual([]);
    const store = openStore(join(dir, 'wb.sqlite'));
    expect(store.attempts(run.id)).toBe(0);
    store.close();
  });

  it('is failed with the reason after MAX_AUTO_RESUMES automatic resumes; retry resumes it from its checkpoint', async () => {
    const dir = tempDir();
    const wb = await openToy(dir, { env: { TOY_SIGKILL_AT: '25' } });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 40 }));
    wb.start();
    await wb.waitForIdle();
    const run = wb.runRow(queued[0])!;
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(new RegExp(`run process killed by SIGKILL.*gave up after ${MAX_AUTO_RESUMES} automatic resumes`));
    const logs = (await wb.getLogs(run.id)).map((l) => l.text);
    expect(logs.filter((t) => /automatic attempt \d of 3/.test(t))).toHaveLength(MAX_AUTO_RESUMES);
    await wb.close();

    const lines: string[] = [];
    const wb2 = await openToy(dir, { autoStart: true, log: (l) => lines.push(l) });
    await wb2.retryRun(run.id);
    await wb2.waitForIdle();
    expect(wb2.runRow(run.id)!.state).toBe('done');
    expect(lines).toContain('run 1 (base, seed 1) resumed from step 20');
    expect(await trainSteps(wb2, run.id)).toEqual(range(40));
  });

  it('treats an out-of-memory report like a kill: resumed, then failed after the bound (divergence stays failed: scheduler.test.ts)', async () => {
    const dir = tempDir();
    const wb = await openToy(dir, { env: { TOY_OOM_AT: '15' } });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 30 }));
    wb.start();
    await wb.waitForIdle();
    const run = wb.runRow(queued[0])!;
    // The toy reports out of memory at step 15 every attempt: resumed from 10 three times, then failed.
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(/out of memory: toy allocation failed at step 15 \(gave up after 3 automatic resumes/);
  });
});

describe('retry and checkpoints', () => {
  it('resumes from the previous checkpoint when the latest file was deleted, and says so in the log', async () => {
    const dir = tempDir();
    const wb = await openToy(dir, { env: { TOY_STEP_MS: '20' } });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 200 }));
    wb.start();
    await until(() => (wb.runRow(queued[0])?.step ?? 0) >= 35);
    await wb.close();
    const store = openStore(join(dir, 'wb.sqlite'));
    const [latest, previous] = store.listCheckpoints(queued[0]);
    store.close();
    rmSync(latest.path);
    const lines: string[] = [];
    const wb2 = await openToy(dir, { autoStart: true, log: (l) => lines.push(l) });
    await until(() => lines.some((l) => l.includes('resumed from step')));
    expect(lines).toContain(`run 1 (base, seed 1) resumed from step ${previous.step}`);
    expect(lines).toContainEqual(expect.stringContaining(`checkpoint file missing: ${latest.path}; resuming from the previous one (${previous.path}, step ${previous.step})`));
    expect((await wb2.getLogs(queued[0])).map((l) => l.text)).toContainEqual(expect.stringContaining(`checkpoint file missing: ${latest.path}`));
    await wb2.cancelRun(queued[0]);
  });

  it('retry --from-scratch starts over at step 0 in a fresh folder', async () => {
    const dir = tempDir();
    const wb = await openToy(dir, { env: { TOY_EXIT_AT: '15' } });
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 30 }));
    wb.start();
    await wb.waitForIdle();
    expect(wb.runRow(queued[0])!.state).toBe('failed');
    await wb.close();
    const lines: string[] = [];
    const wb2 = await openToy(dir, { autoStart: true, log: (l) => lines.push(l) });
    await wb2.retryRun(queued[0], { fromScratch: true });
    await wb2.waitForIdle();
    expect(wb2.runRow(queued[0])!.state).toBe('done');
    expect(lines.some((l) => l.includes('resumed from step'))).toBe(false);
    expect(await trainSteps(wb2, queued[0])).toEqual(range(30));
  });
});

describe('one scheduler, many observers', () => {
  it('an observer reads live, its commands are carried out by the holder, and it takes over when the holder goes', async () => {
    const dir = tempDir();
    const holder = await openToy(dir, { autoStart: true, env: { TOY_STEP_MS: '15' } });
    const lines: string[] = [];
    const observer = await openToy(dir, { autoStart: true, attach: true, log: (l) => lines.push(l), env: { TOY_STEP_MS: '5' } });
    expect(holder.isScheduler).toBe(true);
    expect(observer.isObserver).toBe(true);
    expect(lines[0]).toMatch(new RegExp(`attached to .*wb.sqlite as an observer: pid ${process.pid} on `));
    const events: WorkbenchEvent[] = [];
    observer.onEvents((b) => events.push(...b));

    const { queued } = await observer.enqueueSpec(toySpec({ steps: 400, variants: ['{ name: h1, heads: 1 }', '{ name: h4, heads: 4 }'] }));
    // The holder picks up the observer's runs and trains them; the observer sees rows and points live.
    await until(() => events.some((e) => e.type === 'metrics' && e.points.some((p) => p.runId === queued[0])), 10_000);
    expect(events.some((e) => e.type === 'runs-changed' && e.runs.some((r) => r.id === queued[0] && r.state === 'running'))).toBe(true);
    expect((await observer.queueStatus()).running).toEqual([queued[0]]);

    await observer.moveRun(queued[2], 0);
    await observer.cancelRun(queued[0]);
    await until(() => holder.runRow(queued[0])?.state === 'cancelled');
    await until(() => holder.runRow(queued[2])?.state === 'running');
    await observer.pauseQueue();
    expect((await holder.queueStatus()).paused).toBe(true);
    await expect(observer.retryRun(queued[1])).rejects.toThrow('run 2 is queued; only failed, cancelled or interrupted runs can be retried');
    await observer.resumeQueue();

    // The holder goes away: the observer takes the lock over and schedules.
    await holder.close();
    open.splice(open.indexOf(holder), 1);
    await until(() => observer.isScheduler, 10_000);
    expect(lines).toContainEqual(expect.stringContaining('this one runs the queue now'));
    await observer.waitForIdle();
    expect((await observer.listRuns()).map((r) => r.state)).toEqual(['cancelled', 'done', 'done']);
  }, 60_000);
});

/** A run's state, error and last log line, as another process opening the database reads them. */
function rowOf(dbPath: string, id: number): { state: string; error: string | null; logged: string | null } {
  const store = openStore(dbPath);
  try {
    const run = store.getRun(id)!;
    return { state: run.state, error: run.error, logged: store.getLogs(id).at(-1)?.text ?? null };
  } finally {
    store.close();
  }
}

describe('a database that cannot be written', () => {
  it.skipIf(!canMountTmpfs())('full disk: one line naming the file, the run process stopped, the lock released; the next start resumes', async () => {
    const dir = tempDir();
    const dbDir = join(dir, 'db');
    await withTmpfs(dbDir, '1m', async () => {
      const dbPath = join(dbDir, 'wb.sqlite');
      const lines: string[] = [];
      const wb = await openToy(dir, { dbPath, env: { TOY_STEP_MS: '5' }, log: (l) => lines.push(l) });
      const { queued } = await wb.enqueueSpec(toySpec({ steps: 100_000, checkpointEvery: 50 }));
      wb.start();
      await until(() => (wb.runRow(queued[0])?.step ?? 0) >= 60);
      // Fill the filesystem: the next metric write gets SQLITE_FULL.
      const filler = fillDisk(dbDir);
      await until(() => wb.fatalError !== null, 20_000);
      await wb.waitForIdle();
      // `ablate run` waits for its runs this way: it returns instead of polling a closed database.
      await wb.waitForRuns(queued);
      expect(lines.filter((l) => l.includes('cannot write the database'))).toHaveLength(1);
      expect(wb.fatalError).toMatch(new RegExp(`^${dbPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write the database \\(SQLITE_FULL`));
      await until(() => wb.isClosing && wb.scheduler.runningIds.length === 0);
      await wb.close();
      // Still full: the row says interrupted, with the line (the reserve's room took the write), not `running`.
      expect(rowOf(dbPath, queued[0])).toEqual({ state: 'interrupted', error: wb.fatalError, logged: wb.fatalError });
      expect(existsSync(`${dbPath}.reserve`)).toBe(false);
      rmSync(filler);
      // The lock went with it.
      acquireWorkerLock(dbPath).release();
      const lines2: string[] = [];
      const wb2 = await openToy(dir, { dbPath, autoStart: true, log: (l) => lines2.push(l) });
      await until(() => lines2.some((l) => /resumed from step \d+/.test(l)));
      await wb2.cancelRun(queued[0]);
      await wb2.waitForIdle();
      await wb2.close();
      const store = openStore(dbPath);
      expect(store.integrityCheck()).toBe('ok');
      store.close();
    });
  }, 60_000);
  it.skipIf(!canMountTmpfs())('full disk beside an observer: the observer sees the run interrupted, keeps watching while the disk is full, and takes the queue over once space is back', async () => {
    const dir = tempDir();
    const dbDir = join(dir, 'db');
    await withTmpfs(dbDir, '1m', async () => {
      const dbPath = join(dbDir, 'wb.sqlite');
      const holder = await openToy(dir, { dbPath, autoStart: true, log: () => {} });
      const lines: string[] = [];
      const observer = await openToy(dir, { dbPath, autoStart: true, attach: true, log: (l) => lines.push(l) });
      expect(observer.isObserver).toBe(true);
      const events: WorkbenchEvent[] = [];
      observer.onEvents((b) => events.push(...b));
      const { queued } = await observer.enqueueSpec(toySpec({ steps: 100_000, checkpointEvery: 50 }));
      await until(() => (holder.runRow(queued[0])?.step ?? 0) >= 60);
      const filler = fillDisk(dbDir);
      await until(() => holder.fatalError !== null, 20_000);
      await holder.close();
      await until(() => events.some((e) => e.type === 'runs-changed' && e.runs.some((r) => r.id === queued[0] && r.state === 'interrupted')), 10_000);
      // Several takeover attempts (one per 2 s) while the disk stays full: it keeps observing.
      await new Promise((r) => setTimeout(r, 4500));
      expect([observer.isObserver, observer.isScheduler, observer.isClosing]).toEqual([true, false, false]);
      expect(lines.filter((l) => l.includes('full'))).toHaveLength(1);
      rmSync(filler);
      await until(() => observer.isScheduler, 10_000);
      await until(() => lines.some((l) => /run 1 \(base, seed 1\) resumed from step \d+/.test(l)), 10_000);
      await observer.cancelRun(queued[0]);
      await observer.waitForIdle();
      expect(observer.runRow(queued[0])?.state).toBe('cancelled');
    });
  }, 90_000);
});
