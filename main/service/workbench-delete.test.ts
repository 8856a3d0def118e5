/**
 * Deleting and archiving through the service: the process running the queue carries it out (an
 * observer's or a CLI's request travels through the commands table), checkpoint folders come off
 * the disk, and fronts hear of it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkbenchEvent } from '../../contract/api';
import { openStore } from '../../db/store';
import { snapshotTables, tempDir } from '../../test/support/workbench';
import { Workbench } from './workbench';
import { PAUSED_SETTING } from './scheduler';
import { UserError } from '../../contract/errors';
import { parseSshTarget } from './executors/slurm/access';
import { checkpointCopyName } from './executors/slurm/executor';
import type { Shell } from './executors/slurm/shell';
import { REMOTE_ROOT, standInSsh } from '../../test/support/stand-in-ssh';

const opened: Workbench[] = [];
afterEach(async () => {
  for (const wb of opened.splice(0).reverse()) await wb.close();
});

/** A database with two finished runs, each with a checkpoint file in its folder, and a queued one; the queue paused. */
function seed(): { dbPath: string; dataDir: string; done: number[]; queued: number; dirs: string[] } {
  const dir = tempDir('ablate-wb-delete-');
  const dbPath = join(dir, 'db.sqlite');
  const store = openStore(dbPath);
  const exp = store.upsertExperiment('exp', {}, null);
  const run = (variant: string, seed: number) => ({ variant, seed, config: { variant, seed, changes: {} }, configHash: `${variant}-${seed}`, backendRequested: 'cpu', totalSteps: 10 });
  const [a, b, queued] = store.insertRuns(exp.id, [run('base', 1), run('h=1', 1), run('h=4', 1)]);
  const dirs = [a, b].map((id) => {
    const ckpt = join(dir, 'data', 'checkpoints', `run-${id}`);
    mkdirSync(ckpt, { recursive: true });
    writeFileSync(join(ckpt, 'step-00000010.ckpt'), 'weights');
    store.updateRun(id, { state: 'done', step: 10, checkpointDir: ckpt });
    store.addCheckpoint(id, 10, join(ckpt, 'step-00000010.ckpt'));
    store.insertMetrics(id, [{ split: 'train', name: 'loss', step: 10, value: 1, time: 1 }]);
    return ckpt;
  });
  // Paused: the queued run stays queued (nothing trains in these tests).
  store.setSetting(PAUSED_SETTING, '1');
  store.close();
  return { dbPath, dataDir: join(dir, 'data'), done: [a, b], queued, dirs };
}

async function open(dbPath: string, dataDir: string, extra: { attach?: boolean; autoStart?: boolean; log?: (line: string) => void } = {}): Promise<Workbench> {
  const wb = await Workbench.open({ dbPath, dataDir, ...extra });
  opened.push(wb);
  return wb;
}

/** Resolves with the first event batch entry of `type` the workbench pushes. */
function nextEvent<T extends WorkbenchEvent['type']>(wb: Workbench, type: T): Promise<Extract<WorkbenchEvent, { type: T }>> {
  return new Promise((resolve) => {
    const off = wb.onEvents((events) => {
      const e = events.find((x) => x.type === type);
      if (e) {
        off();
        resolve(e as Extract<WorkbenchEvent, { type: T }>);
      }
    });
  });
}

describe('deleting through the service', () => {
  it('deletes in the process running the queue when asked by an observer, removes the checkpoint folder, and both hear of it', async () => {
    const { dbPath, dataDir, done, queued, dirs } = seed();
    const holderLog: string[] = [];
    const holder = await open(dbPath, dataDir, { log: (l) => holderLog.push(l) });
    const observer = await open(dbPath, dataDir, { attach: true });
    expect(observer.isObserver).toBe(true);
    const heardByHolder = nextEvent(holder, 'runs-removed');
    const heardByObserver = nextEvent(observer, 'runs-removed');
    await observer.deleteRuns({ runIds: [done[0]] });
    expect(holderLog).toContainEqual(expect.stringMatching(new RegExp(`^deleted run\\(s\\) ${done[0]}: 1 metric points, 0 hypotheses, 1 checkpoint folder\\(s\\)$`)));
    expect((await heardByHolder).runIds).toEqual([done[0]]);
    expect((await heardByObserver).runIds).toEqual([done[0]]);
    expect(existsSync(dirs[0])).toBe(false);
    expect(existsSync(dirs[1])).toBe(true);
    expect((await observer.listRuns()).map((r) => r.id)).toEqual([done[1], queued]);
  });

  it('refuses a queued run with the holder\'s one line, deleting nothing', async () => {
    const { dbPath, dataDir, queued } = seed();
    const holder = await open(dbPath, dataDir);
    const observer = await open(dbPath, dataDir, { attach: true });
    await expect(observer.deleteRuns({ runIds: [queued] })).rejects.toThrow(`cannot delete: run ${queued} (h=4, seed 1) is queued; cancel it first`);
    expect((await holder.listRuns()).length).toBe(3);
  });

  it('a CLI-style reader sends the delete to the worker when one runs the queue, and deletes itself under the lock when none does', async () => {
    const { dbPath, dataDir, done, dirs } = seed();
    const holderLog: string[] = [];
    const holder = await open(dbPath, dataDir, { log: (l) => holderLog.push(l) });
    const reader = await open(dbPath, dataDir, { autoStart: false });
    await reader.deleteRuns({ runIds: [done[0]] });
    expect(holderLog.some((l) => l.startsWith(`deleted run(s) ${done[0]}`))).toBe(true);
    await holder.close();
    // Nobody runs the queue now: the reader deletes, and a folder already gone is no error.
    writeFileSync(join(dirs[1], 'extra.tmp-1'), 'half a checkpoint');
    await reader.deleteRuns({ runIds: [done[1]] });
    expect(existsSync(dirs[1])).toBe(false);
    expect((await reader.listRuns()).map((r) => r.id)).not.toContain(done[1]);
  });

  it('a CLI-style reader\'s cancel is carried out by the worker running the queue (the commands table), then the run deletes', async () => {
    const { dbPath, dataDir, queued } = seed();
    const holder = await open(dbPath, dataDir);
    const reader = await open(dbPath, dataDir, { autoStart: false });
    await reader.cancelRun(queued);
    expect((await holder.getRun(queued))?.state).toBe('cancelled');
    const commands = snapshotTables(dbPath).commands.map((r) => JSON.parse(r as string) as { kind: string; run_id: number; done_at: number | null; error: string | null });
    expect(commands.map((c) => [c.kind, c.run_id, c.done_at !== null, c.error])).toEqual([['cancel', queued, true, null]]);
    await reader.deleteRuns({ runIds: [queued] });
    expect(await holder.getRun(queued)).toBeNull();
  });

  it('a run whose checkpoint folder is already gone deletes without an error', async () => {
    const { dbPath, dataDir, done } = seed();
    const wb = await open(dbPath, dataDir, { autoStart: false });
    const plan = await wb.planDeletion({ runIds: [done[0]] });
    expect(plan.checkpointDirs.length).toBe(1);
    const { rmSync } = await import('node:fs');
    rmSync(plan.checkpointDirs[0], { recursive: true });
    await wb.deleteRuns({ runIds: [done[0]] });
    expect(await wb.getRun(done[0])).toBeNull();
  });
});

describe('archiving through the service', () => {
  it('hides archived runs and experiments from default lists, shows them on request, and unarchives', async () => {
    const { dbPath, dataDir, done } = seed();
    await open(dbPath, dataDir); // runs the queue
    const observer = await open(dbPath, dataDir, { attach: true });
    const changed = nextEvent(observer, 'runs-changed');
    await observer.setArchived({ runIds: [done[0]] }, true);
    expect((await changed).runs.find((r) => r.id === done[0])?.archivedAt).toBeGreaterThan(0);
    expect((await observer.listRuns()).map((r) => r.id)).not.toContain(done[0]);
    expect((await observer.listRuns({ includeArchived: true })).map((r) => r.id)).toContain(done[0]);
    await observer.setArchived({ runIds: [done[0]] }, false);
    expect((await observer.listRuns()).map((r) => r.id)).toContain(done[0]);
  });

  it('archives a whole experiment: hidden from the experiment list until unarchived', async () => {
    const { dbPath, dataDir, queued } = seed();
    const wb = await open(dbPath, dataDir, { autoStart: false });
    const exp = (await wb.listExperiments())[0];
    await expect(wb.setArchived({ experimentId: exp.id }, true)).rejects.toThrow(`cannot archive: run ${queued} (h=4, seed 1) is queued; cancel it first`);
    await wb.cancelRun(queued);
    await wb.setArchived({ experimentId: exp.id }, true);
    expect(await wb.listExperiments()).toEqual([]);
    expect(await wb.listRuns()).toEqual([]);
    expect((await wb.listExperiments({ includeArchived: true })).map((e) => e.name)).toEqual(['exp']);
    await wb.setArchived({ experimentId: exp.id }, false);
    expect((await wb.listRuns()).length).toBe(3);
  });
});

describe('deleting cluster runs', () => {
  /** Files of a cluster run under a root only the stand-in ssh can see: run folder, a retry's folder, Slurm's output. */
  function clusterSeed() {
    const ssh = standInSsh('ablate-wb-delete-ssh-');
    const root = ssh.remote(join(ssh.base, 'cluster'));
    const put = (path: string, text = 'x') => {
      mkdirSync(dirname(ssh.local(path)), { recursive: true });
      writeFileSync(ssh.local(path), text);
    };
    const dir = tempDir('ablate-wb-delete-');
    const dbPath = join(dir, 'db.sqlite');
    const store = openStore(dbPath);
    const exp = store.upsertExperiment('exp', {}, null);
    const run = (variant: string) => ({ variant, seed: 1, config: { variant, seed: 1, changes: {} }, configHash: variant, backendRequested: 'cpu', totalSteps: 10 });
    const [gone, kept, unreachable] = store.insertRuns(exp.id, [run('base'), run('h=1'), run('h=2')]);
    const keys = { [gone]: 'run-1-k', [kept]: 'run-1-k2', [unreachable]: 'run-3-k' };
    for (const id of [gone, kept, unreachable]) {
      store.setRunExecutor(id, 'slurm', { clusterRoot: root, ssh: id === unreachable ? 'down.hpc' : 'ana@login.hpc' }, keys[id]);
      store.updateClusterFacts(id, { submissionId: `s${id}`, jobId: `${1000 + id}_0`, node: 'n1', attempt: 0, slurmState: 'COMPLETED', reason: null });
      store.updateRun(id, { state: 'done', step: 10, checkpointDir: `${root}/runs/${keys[id]}/checkpoints` });
      store.addCheckpoint(id, 10, `${root}/runs/${keys[id]}/checkpoints/step-00000010.ckpt`);
      store.insertMetrics(id, [{ split: 'train', name: 'loss', step: 10, value: 1, time: 1 }]);
      put(`${root}/runs/${keys[id]}/job.json`, '{}');
      put(`${root}/runs/${keys[id]}/checkpoints/step-00000010.ckpt`, 'weights');
      put(`${root}/runs/${keys[id]}/events/s${id}.${1000 + id}_0.r0.jsonl`);
      put(`${root}/submissions/s${id}/${1000 + id}_0.out`);
    }
    // The deleted run was retried from scratch once: a second run folder and submission.
    put(`${root}/runs/run-1-k.checkpoints-retry5/events/s9.1009_0.r0.jsonl`);
    put(`${root}/submissions/s9/1009_0.out`);
    store.setSetting(PAUSED_SETTING, '1');
    store.close();
    const down: Shell = { where: 'ssh down.hpc', run: async () => { throw new UserError('ssh down.hpc failed: ssh: connect to host down.hpc port 22: Connection refused'); } };
    const sshShell = (target: string) => (target === 'down.hpc' ? down : ssh.shell(parseSshTarget(target)));
    return { ssh, root, dbPath, dataDir: join(dir, 'data'), gone, kept, unreachable, sshShell, exists: (path: string) => existsSync(ssh.local(path)) };
  }

  it('removes a deleted run’s folders under its cluster root over ssh (retries and Slurm output too), and nothing of another run', async () => {
    const t = clusterSeed();
    const log: string[] = [];
    const wb = await Workbench.open({ dbPath: t.dbPath, dataDir: t.dataDir, autoStart: false, log: (l) => log.push(l), slurm: { sshShell: t.sshShell } });
    opened.push(wb);
    // A copy of its checkpoint made for translation (and one of the kept run's) in the data folder.
    const copy = (id: number, key: string) => join(t.dataDir, 'cluster-checkpoints', checkpointCopyName('ana@login.hpc', `${t.root}/runs/${key}/checkpoints/step-00000010.ckpt`));
    mkdirSync(join(t.dataDir, 'cluster-checkpoints'), { recursive: true });
    for (const [id, key] of [[t.gone, 'run-1-k'], [t.kept, 'run-1-k2']] as const) writeFileSync(copy(id, key), 'weights');
    await wb.deleteRuns({ runIds: [t.gone] });
    expect(await wb.getRun(t.gone)).toBeNull();
    expect(existsSync(copy(t.gone, 'run-1-k'))).toBe(false);
    expect(existsSync(copy(t.kept, 'run-1-k2'))).toBe(true);
    for (const path of [`${t.root}/runs/run-1-k`, `${t.root}/runs/run-1-k.checkpoints-retry5`, `${t.root}/submissions/s${t.gone}`, `${t.root}/submissions/s9`]) expect(t.exists(path), path).toBe(false);
    for (const path of [`${t.root}/runs/run-1-k2/job.json`, `${t.root}/runs/run-1-k2/checkpoints/step-00000010.ckpt`, `${t.root}/submissions/s${t.kept}`]) expect(t.exists(path), path).toBe(true);
    expect(log.at(-1)).toMatch(/^deleted run\(s\) \d+: 1 metric points, 0 hypotheses, 0 checkpoint folder\(s\), 4 folder\(s\) under cluster roots$/);
    expect(existsSync(REMOTE_ROOT)).toBe(false);
  });

  it('a cluster that cannot be reached leaves its folders, said in one line each; the rows are deleted all the same', async () => {
    const t = clusterSeed();
    const log: string[] = [];
    const wb = await Workbench.open({ dbPath: t.dbPath, dataDir: t.dataDir, autoStart: false, log: (l) => log.push(l), slurm: { sshShell: t.sshShell } });
    opened.push(wb);
    await wb.deleteRuns({ runIds: [t.unreachable] });
    expect(await wb.getRun(t.unreachable)).toBeNull();
    expect(t.exists(`${t.root}/runs/run-3-k/job.json`)).toBe(true);
    expect(log).toContain(`cluster folder left: ${t.root}/runs/run-3-k (ssh down.hpc failed: ssh: connect to host down.hpc port 22: Connection refused)`);
  });
});
