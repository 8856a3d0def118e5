/**
 * The Slurm executor inside a real Workbench, with Slurm's clients stood in (test/support/fake-slurm.ts)
 * and the job's events file written by the test: the run goes through submit → live ingest →
 * desktop close (the job keeps running) → restart (re-attach, no second sbatch) → done, with every
 * line recorded once; a job cancelled outside becomes a cancelled run; local runs are untouched;
 * a job aged out of squeue without a result ends as accounting (sacct) says, or, on a cluster
 * without accounting, as a job without a result.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../../db/store';
import { encodeEventLine } from '../../../../contract/events-line';
import type { RunJob, RunToParent } from '../../../../contract/run-protocol';
import type { RunExit } from '../../run-host';
import { Workbench } from '../../workbench';
import { forkSpawner } from '../../run-host';
import { shellEventsSource } from './events-source';
import { SlurmExecutor, checkJobHost, checkSlurmChoice, checkpointCopyProblem, hostCommandFor } from './executor';
import { JOB_SIGNALS, PROJECT_ROOT, nodeHostCommand } from './job-host';
import { UserError } from '../../../../contract/errors';
import { shellClusterFs } from './cluster-fs';
import { parseSshTarget } from './access';
import { localShell, type Shell } from './shell';
import { fakeSlurm, fakeSlurmBehind } from '../../../../test/support/fake-slurm';
import { REMOTE_ROOT, standInSsh } from '../../../../test/support/stand-in-ssh';
import { countMetricWrites } from '../../../../test/support/metric-writes';
import { TOY_ENTRY, tempDir, toySpec } from '../../../../test/support/workbench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function jobFile(probe: Store, root: string, runId: number): { write: (m: RunToParent) => void } {
  const rx = probe.getRunExecutor(runId)!;
  const dir = join(root, 'runs', rx.runKey, 'events');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${rx.submissionId}.${rx.jobId!.split('_')[0]}_0.r0.jsonl`);
  let seq = 0;
  return { write: (msg) => appendFileSync(path, encodeEventLine({ v: 1, seq: seq++, time: 1_000 + seq, msg })) };
}

const metric = (step: number): RunToParent => ({ type: 'metrics', points: [{ split: 'train', name: 'loss', step, value: 1 / step, time: 5_000 + step }] });

describe('Slurm executor in a Workbench (fake Slurm clients)', () => {
  it('ingests live, survives a desktop restart by re-attaching, and ends done with every point once', async () => {
    const dir = tempDir('ablate-exec-');
    const root = join(dir, 'cluster');
    const dbPath = join(dir, 'x.sqlite');
    const shell = fakeSlurm();
    const open = () => Workbench.open({ dbPath, dataDir: join(dir, 'data'), slurm: { shell, pollMs: 50, hostCommand: ['true'] } });
    let wb = await open();
    const probe = openStore(dbPath);
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 20 }), { executor: { name: 'slurm', clusterRoot: root } });
    const id = queued[0];
    await until('submitted', () => probe.getRunExecutor(id)?.jobId);
    expect(probe.getRun(id)!.checkpointDir).toBe(join(root, 'runs', probe.getRunExecutor(id)!.runKey, 'checkpoints'));
    const job = jobFile(probe, root, id);
    job.write({ type: 'ready', backend: 'cpu', device: 'fake', params: 2, data: {}, startStep: 0 });
    for (let s = 1; s <= 10; s++) job.write(metric(s));
    job.write({ type: 'checkpoint', step: 10, path: join(root, 'ck-10') });
    await until('10 points and the node', () => probe.getMetrics({ runIds: [id] }).length === 10 && probe.getRun(id)!.cluster?.node === 'fake-node');
    expect(probe.getRun(id)).toMatchObject({ state: 'running', cluster: { executor: 'slurm', jobId: '1000_0', attempt: 0, slurmState: 'RUNNING' } });

    // The desktop closes: the job is not cancelled; it writes on while nobody reads.
    await wb.close();
    expect(shell.calls.some((c) => c[0] === 'scancel')).toBe(false);
    for (let s = 11; s <= 20; s++) job.write(metric(s));
    // Restart: the run is resumed by re-attaching to the same job, not by a second submission.
    wb = await open();
    await until('20 points', () => probe.getMetrics({ runIds: [id] }).length === 20);
    job.write({ type: 'done', step: 20, metrics: { valid_loss: 0.5 } as never });
    shell.jobs[0].state = 'COMPLETED';
    await until('done', () => probe.getRun(id)!.state === 'done');
    expect(shell.calls.filter((c) => c[0] === 'sbatch' && !c.includes('--test-only'))).toHaveLength(1);
    const rows = probe.getMetrics({ runIds: [id] });
    expect(rows.filter((m) => m.split === 'train').map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(rows.filter((m) => m.split === 'final')).toMatchObject([{ name: 'valid_loss', value: 0.5, step: 20 }]);
    expect(probe.getLogs(id).some((l) => /attached to Slurm job 1000_0 again/.test(l.text))).toBe(true);
    await wb.close();
    probe.close();
  }, 60_000);

  it('writes each ingested point to SQLite once and pushes it to the fronts once', async () => {
    const dir = tempDir('ablate-exec-');
    const root = join(dir, 'cluster');
    const dbPath = join(dir, 'x.sqlite');
    const shell = fakeSlurm();
    const wb = await Workbench.open({ dbPath, dataDir: join(dir, 'data'), slurm: { shell, pollMs: 50, hostCommand: ['true'] } });
    const writes = countMetricWrites(dbPath);
    const pushed: number[] = [];
    wb.onEvents((events) => {
      for (const e of events) if (e.type === 'metrics') for (const m of e.points) pushed.push(m.step);
    });
    const probe = openStore(dbPath);
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 20 }), { executor: { name: 'slurm', clusterRoot: root } });
    const id = queued[0];
    await until('submitted', () => probe.getRunExecutor(id)?.jobId);
    const job = jobFile(probe, root, id);
    job.write({ type: 'ready', backend: 'cpu', device: 'fake', params: 2, data: {}, startStep: 0 });
    for (let s = 1; s <= 10; s++) job.write(metric(s));
    await until('10 points pushed', () => pushed.length >= 10);
    await sleep(400); // a few more polls and event ticks: nothing is written or pushed again
    expect(probe.getMetrics({ runIds: [id] })).toHaveLength(10);
    expect(pushed.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(writes.count()).toBe(10);
    writes.close();
    await wb.close();
    probe.close();
  }, 60_000);

  it('a job cancelled outside the workbench (scancel) cancels the run; cancelling the run scancels its job', async () => {
    const dir = tempDir('ablate-exec-');
    const root = join(dir, 'cluster');
    const dbPath = join(dir, 'x.sqlite');
    const shell = fakeSlurm();
    const wb = await Workbench.open({ dbPath, dataDir: join(dir, 'data'), slurm: { shell, pollMs: 50, hostCommand: ['true'] } });
    const probe = openStore(dbPath);
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 20 }), { executor: { name: 'slurm', clusterRoot: root } });
    await until('submitted', () => probe.getRunExecutor(queued[0])?.jobId);
    shell.jobs[0].state = 'CANCELLED';
    await until('cancelled', () => probe.getRun(queued[0])!.state === 'cancelled');
    expect(probe.getLogs(queued[0]).some((l) => /cancelled outside the workbench/.test(l.text))).toBe(true);
    // Cancel from the workbench: scancel of the run's job, then the run is cancelled.
    const { queued: second } = await wb.enqueueSpec(toySpec({ name: 'two', steps: 20 }), { executor: { name: 'slurm', clusterRoot: root } });
    await until('second submitted', () => probe.getRunExecutor(second[0])?.jobId);
    await wb.cancelRun(second[0]);
    await until('second cancelled', () => probe.getRun(second[0])!.state === 'cancelled');
    expect(shell.calls).toContainEqual(['scancel', probe.getRunExecutor(second[0])!.jobId!]);
    await wb.close();
    probe.close();
  }, 60_000);

  describe('cluster runs have slots of their own (a choice\'s maxParallel), apart from the local slot', () => {
    /** A Workbench with one local slot (the toy run process) and fake Slurm; cluster jobs finish when the test says. */
    async function bench(opts: { clusterSlots?: number } = {}) {
      const dir = tempDir('ablate-exec-pool-');
      const root = join(dir, 'cluster');
      const dbPath = join(dir, 'x.sqlite');
      const shell = fakeSlurm();
      // The most jobs alive on the cluster at once: counted as each one more is submitted.
      let most = 0;
      const counting: typeof shell = Object.assign(Object.create(shell) as typeof shell, {
        run: async (argv: readonly string[], o?: Parameters<Shell['run']>[1]) => {
          if (argv[0] === 'sbatch' && !argv.includes('--test-only')) most = Math.max(most, 1 + shell.jobs.filter((j) => j.state === 'RUNNING').length);
          return shell.run(argv, o);
        },
      });
      const open = () =>
        Workbench.open({
          dbPath,
          dataDir: join(dir, 'data'),
          ...(opts.clusterSlots ? { clusterSlots: opts.clusterSlots } : {}),
          spawner: forkSpawner({ entry: TOY_ENTRY, env: { ...process.env, TOY_STEP_MS: '10' } }),
          slurm: { shell: counting, pollMs: 50, hostCommand: ['true'] },
        });
      const probe = openStore(dbPath);
      /** Runs submitted so far, each in order of its sbatch (two launched together may race: compare those as a set). */
      const submitted = () => shell.calls.filter((c) => c[0] === 'sbatch' && !c.includes('--test-only')).map((c) => Number(/:run-(\d+)-/.exec(c.find((a) => a.startsWith('--comment='))!)![1]));
      /** The cluster run `id` says done and its job completes; resolves once the workbench has seen it end. */
      const finish = async (id: number) => {
        const job = jobFile(probe, root, id);
        job.write({ type: 'ready', backend: 'cpu', device: 'fake', params: 2, data: {}, startStep: 0 });
        job.write({ type: 'done', step: 20, metrics: { valid_loss: 0.5 } as never });
        shell.jobs.find((j) => `${j.id}_0` === probe.getRunExecutor(id)!.jobId)!.state = 'COMPLETED';
        await until(`run ${id} done`, () => probe.getRun(id)!.state === 'done');
      };
      return { dir, root, shell, probe, open, submitted, finish, most: () => most };
    }
    const grid = toySpec({ name: 'grid', steps: 20, variants: ['{ name: h1, heads: 1 }', '{ name: h4, heads: 4 }', '{ name: h8, heads: 8 }'] });

    it('a choice with maxParallel 2 keeps at most 2 of its 4 runs on the cluster, while a local run trains in the one local slot; cancel, restart and queue order as before', async () => {
      const b = await bench();
      let wb = await b.open();
      const { queued: ids } = await wb.enqueueSpec(grid, { executor: { name: 'slurm', clusterRoot: b.root, maxParallel: 2 } });
      const { queued: [local] } = await wb.enqueueSpec(toySpec({ name: 'local', steps: 400 }));
      expect(ids).toHaveLength(4);
      // Queued after the four cluster runs, the local run still starts: they take no local slot.
      await until('two submitted and the local run training', () => b.submitted().length === 2 && b.probe.getRun(local)!.state === 'running');
      await sleep(300); // a few polls and pumps: no third submission while two are in flight
      expect(b.submitted().sort((x, y) => x - y)).toEqual([ids[0], ids[1]]);
      expect([...(await wb.queueStatus()).running].sort((x, y) => x - y)).toEqual([ids[0], ids[1], local].sort((x, y) => x - y));
      // A restart re-attaches the two in flight (no new sbatch) and submits no third.
      await wb.close();
      wb = await b.open();
      await until('re-attached', () => ids.slice(0, 2).every((id) => b.probe.getLogs(id).some((l) => /attached to Slurm job .* again/.test(l.text))));
      await sleep(300);
      expect(b.submitted().sort((x, y) => x - y)).toEqual([ids[0], ids[1]]);
      // Cancelling one in flight frees its slot: the next in queue order goes.
      await wb.cancelRun(ids[1]);
      await until('cancelled', () => b.probe.getRun(ids[1])!.state === 'cancelled');
      await until('third submitted', () => b.submitted().length === 3);
      expect(b.submitted()[2]).toBe(ids[2]);
      await b.finish(ids[0]);
      await until('fourth submitted', () => b.submitted().length === 4);
      expect(b.submitted()[3]).toBe(ids[3]);
      await b.finish(ids[2]);
      await b.finish(ids[3]);
      await until('local done', () => b.probe.getRun(local)!.state === 'done');
      expect(b.most()).toBe(2);
      expect(ids.map((id) => b.probe.getRun(id)!.state)).toEqual(['done', 'cancelled', 'done', 'done']);
      await wb.close();
      b.probe.close();
    }, 90_000);

    it('a choice without maxParallel is bounded as before: by the workbench\'s cluster slots (worker --max-parallel), else its slots (1)', async () => {
      for (const clusterSlots of [undefined, 2]) {
        const b = await bench({ clusterSlots });
        const wb = await b.open();
        const { queued: ids } = await wb.enqueueSpec(grid, { executor: { name: 'slurm', clusterRoot: b.root } });
        const limit = clusterSlots ?? 1;
        await until(`${limit} submitted`, () => b.submitted().length === limit);
        await sleep(300);
        expect(b.submitted().sort((x, y) => x - y)).toEqual(ids.slice(0, limit));
        for (const id of ids) {
          await until(`run ${id} submitted`, () => b.submitted().includes(id));
          await b.finish(id);
        }
        expect(b.most()).toBe(limit);
        await wb.close();
        b.probe.close();
      }
    }, 90_000);
  });

  it('reads the events files through the shell seam when given one (here the local shell, as on a login node)', async () => {
    const dir = tempDir('ablate-exec-');
    const root = join(dir, 'cluster');
    const store = openStore(join(dir, 'x.sqlite'));
    const exp = store.upsertExperiment('e', {}, null);
    const [id] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 20 }]);
    store.setRunExecutor(id, 'slurm', { clusterRoot: root }, 'run-a');
    const local = localShell();
    const reads: string[] = [];
    const recording: Shell = { where: local.where, run: (argv, o) => (reads.push(argv.join(' ')), local.run(argv, o)) };
    const slurm = fakeSlurm();
    const executor = new SlurmExecutor({ store, shell: slurm, events: shellEventsSource(recording), pollMs: 50, hostCommand: ['true'], requestCancel: () => undefined });
    const job = { runId: id, config: {}, backend: 'cpu', checkpointDir: join(root, 'runs', 'run-a', 'checkpoints'), cacheDir: dir } as unknown as RunJob;
    const proc = executor.route(() => {
      throw new Error('not a local run');
    })(job);
    const messages: RunToParent[] = [];
    proc.onMessage((m) => messages.push(m));
    const exited = new Promise<RunExit>((r) => proc.onExit(r));
    proc.send({ type: 'start', job });
    await until('submitted', () => store.getRunExecutor(id)?.jobId);
    const file = jobFile(store, root, id);
    file.write({ type: 'ready', backend: 'cpu', device: 'fake', params: 2, data: {}, startStep: 0 });
    for (let s = 1; s <= 20; s++) file.write(metric(s));
    file.write({ type: 'done', step: 20, metrics: { valid_loss: 0.5 } as never });
    slurm.jobs[0].state = 'COMPLETED';
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(messages.at(-1)).toMatchObject({ type: 'done', step: 20 });
    expect(store.getMetrics({ runIds: [id] }).filter((m) => m.split === 'train').map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(reads.some((r) => r.startsWith('sh -c test -d "$1" || exit 0; ls -1A'))).toBe(true);
    expect(reads.some((r) => r.includes('tail -c +"$1"'))).toBe(true);
    store.close();
  }, 60_000);

  it('writes the run folders and job.json through the cluster filesystem seam: a root that exists only behind ssh', async () => {
    const ssh = standInSsh('ablate-exec-ssh-');
    const login = ssh.shell();
    const root = ssh.remote(join(ssh.base, 'cluster'));
    const store = openStore(join(tempDir('ablate-exec-'), 'x.sqlite'));
    const exp = store.upsertExperiment('e', {}, null);
    const [id] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 5 }]);
    store.setRunExecutor(id, 'slurm', { clusterRoot: root }, 'run-a');
    const slurm = fakeSlurm({ files: login });
    const fs = shellClusterFs(login);
    // The queue-time check makes and tests the root over ssh, and refuses one it cannot make there.
    await checkSlurmChoice({ clusterRoot: root }, { shell: slurm, fs });
    expect(existsSync(ssh.local(`${root}/runs`))).toBe(true);
    writeFileSync(ssh.local(`${root}/file`), 'x');
    await expect(checkSlurmChoice({ clusterRoot: `${root}/file/sub` }, { shell: slurm, fs })).rejects.toThrow(new RegExp(`^the cluster root ${root}/file/sub is not reachable from ssh ana@login\\.hpc: mkdir: .*Not a directory$`));

    const executor = new SlurmExecutor({ store, shell: slurm, fs, events: shellEventsSource(login), pollMs: 50, hostCommand: ['true'], requestCancel: () => undefined });
    const job = { runId: id, config: { variant: 'base' }, backend: 'cpu', checkpointDir: `${root}/runs/run-a/checkpoints`, cacheDir: '/desktop/cache' } as unknown as RunJob;
    const proc = executor.route(() => {
      throw new Error('not a local run');
    })(job);
    const exited = new Promise<RunExit>((r) => proc.onExit(r));
    proc.send({ type: 'start', job });
    await until('submitted', () => store.getRunExecutor(id)?.jobId);
    expect(JSON.parse(readFileSync(ssh.local(`${root}/runs/run-a/job.json`), 'utf8'))).toMatchObject({ runId: id, checkpointDir: `${root}/runs/run-a/checkpoints`, cacheDir: `${root}/cache` });
    expect(existsSync(ssh.local(`${root}/runs/run-a/checkpoints`))).toBe(true);
    const file = jobFile(store, ssh.local(root), id);
    file.write({ type: 'ready', backend: 'cpu', device: 'fake', params: 2, data: {}, startStep: 0 });
    for (let s = 1; s <= 5; s++) file.write(metric(s));
    file.write({ type: 'done', step: 5, metrics: { valid_loss: 0.5 } as never });
    slurm.jobs[0].state = 'COMPLETED';
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(store.getMetrics({ runIds: [id] }).filter((m) => m.split === 'train').map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    expect(existsSync(REMOTE_ROOT)).toBe(false); // nothing was written to the "cluster" path on this machine
    store.close();
  }, 60_000);

  it('a run queued with an ssh target goes from check to done through the login node only (stand-in ssh), one command per poll, every point once', async () => {
    const ssh = standInSsh('ablate-exec-ssh-');
    const root = ssh.remote(join(ssh.base, 'cluster'));
    const dir = tempDir('ablate-exec-');
    const dbPath = join(dir, 'x.sqlite');
    const targets: string[] = [];
    let slurm: ReturnType<typeof fakeSlurm> | undefined;
    // Slurm's clients are faked; everything else the executor runs (mkdir, the ClusterFs and EventsSource scripts) goes through the stand-in ssh.
    const sshShell = (target: string) => {
      targets.push(target);
      slurm ??= fakeSlurmBehind(ssh, parseSshTarget(target));
      return slurm;
    };
    // No hostCommand override: the queue-time check runs this checkout's job entry --version over the stand-in.
    const open = () => Workbench.open({ dbPath, dataDir: join(dir, 'data'), slurm: { sshShell, pollMs: 50 } });
    let wb = await open();
    const probe = openStore(dbPath);
    const executor = { name: 'slurm', clusterRoot: root, ssh: 'ana@login.hpc' } as const;
    await expect(wb.enqueueSpec(toySpec({ steps: 20 }), { executor: { ...executor, clusterRoot: `${root}/x`, ssh: '-oProxyCommand=x' } })).rejects.toThrow(/^--ssh: expected host or user@host/);
    const { queued } = await wb.enqueueSpec(toySpec({ steps: 20 }), { executor });
    const id = queued[0];
    await until('submitted', () => probe.getRunExecutor(id)?.jobId);
    const rx = probe.getRunExecutor(id)!;
    expect(rx.options).toEqual({ clusterRoot: root, ssh: 'ana@login.hpc' });
    expect(JSON.parse(readFileSync(ssh.local(`${root}/runs/${rx.runKey}/job.json`), 'utf8'))).toMatchObject({ runId: id, checkpointDir: `${root}/runs/${rx.runKey}/checkpoints` });
    const job = jobFile(probe, ssh.local(root), id);
    job.write({ type: 'ready', backend: 'cpu', device: 'fake', params: 2, data: {}, startStep: 0 });
    for (let s = 1; s <= 10; s++) job.write(metric(s));
    job.write({ type: 'checkpoint', step: 10, path: `${root}/runs/${rx.runKey}/checkpoints/step-00000010.ckpt` });
    await until('10 points', () => probe.getMetrics({ runIds: [id] }).length === 10);
    // One round trip per poll: squeue and the events bytes in one ssh command, nothing else while the run trains.
    const before = ssh.calls().length;
    job.write(metric(11));
    await until('11 points', () => probe.getMetrics({ runIds: [id] }).length === 11);
    await sleep(300);
    const window = ssh.calls().slice(before);
    expect(window.length).toBeGreaterThan(2);
    expect(window.filter((c) => !c.includes('squeue --json'))).toEqual([]);
    // Desktop restart: re-attached over ssh (the target is stored with the run), no second sbatch.
    await wb.close();
    for (let s = 12; s <= 20; s++) job.write(metric(s));
    wb = await open();
    await until('20 points', () => probe.getMetrics({ runIds: [id] }).length === 20);
    const beforeEnd = ssh.calls().length;
    job.write({ type: 'done', step: 20, metrics: { valid_loss: 0.5 } as never });
    slurm!.jobs[0].state = 'COMPLETED';
    await until('done', () => probe.getRun(id)!.state === 'done');
    // The end too: the result line came with a poll and was remembered by ingest, the file not read again.
    expect(ssh.calls().slice(beforeEnd).filter((c) => !c.includes('squeue --json'))).toEqual([]);
    expect(slurm!.calls.filter((c) => c[0] === 'sbatch' && !c.includes('--test-only'))).toHaveLength(1);
    expect(probe.getMetrics({ runIds: [id] }).filter((m) => m.split === 'train').map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(probe.getMetrics({ runIds: [id] }).filter((m) => m.split === 'final')).toMatchObject([{ name: 'valid_loss', value: 0.5, step: 20 }]);
    expect(new Set(targets)).toEqual(new Set(['ana@login.hpc']));
    expect(ssh.calls().some((c) => c.includes('exec "$@" --version') && c.includes('/main/service/executors/slurm/job-entry.ts'))).toBe(true);
    expect(ssh.calls().every((c) => c.includes('-- ana@login.hpc sh -c ') || c.includes('-- ana@login.hpc mkdir '))).toBe(true);
    // Translation and attention need the checkpoint here: copied from the login node (this one was never written there).
    await expect(wb.translate(id, ['a b'])).rejects.toThrow(new RegExp(`^cannot read ${root}/runs/${rx.runKey}/checkpoints/step-00000010\\.ckpt on ssh ana@login\\.hpc`));
    expect(existsSync(REMOTE_ROOT)).toBe(false); // nothing was read or written on this machine's "cluster" path
    await wb.close();
    probe.close();
  }, 60_000);

  describe('the job host on the cluster, checked at queue time over ssh (stand-in ssh, real node)', () => {
    const ssh = standInSsh('ablate-host-check-');
    const login = ssh.shell();
    /** A checkout on the "cluster" (behind the stand-in) whose job entry says `version`; node_modules shared with this one. */
    function checkout(version: object): string {
      const dir = join(ssh.base, `checkout-${Math.random().toString(36).slice(2)}`);
      mkdirSync(join(dir, 'main/service/executors/slurm'), { recursive: true });
      writeFileSync(join(dir, 'main/service/executors/slurm/job-signals.mjs'), readFileSync(JOB_SIGNALS));
      writeFileSync(join(dir, 'main/service/executors/slurm/job-entry.ts'), `process.stdout.write(${JSON.stringify(JSON.stringify(version))} + '\\n');\n`);
      symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'));
      return ssh.remote(dir);
    }

    it('passes for this checkout, and names what differs for another version in one line', async () => {
      await checkJobHost({ clusterRoot: '/r', ssh: 'ana@login.hpc' }, login);
      const old = checkout({ ablateJobEntry: 1, events: 1, protocol: 99 });
      const err = (await checkJobHost({ clusterRoot: '/r', ssh: 'ana@login.hpc', clusterCheckout: old }, login).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toBe(`the job host on ssh ana@login.hpc (--cluster-node ${process.execPath}, --cluster-checkout ${old}) differs from this workbench: run protocol v99 there, v1 here (bring the checkout on the cluster to this version)`);
      const mute = checkout({ hello: 1 });
      await expect(checkJobHost({ clusterRoot: '/r', clusterCheckout: mute }, login)).rejects.toThrow(/^the job host on ssh ana@login\.hpc \(.*\) did not say its version: got "\{\\"hello\\":1\}"$/);
    }, 60_000);

    it('a node or checkout missing on the cluster is one line naming the flags and the path', async () => {
      await expect(checkJobHost({ clusterRoot: '/r', clusterNode: '/opt/none/bin/node' }, login)).rejects.toThrow(
        new RegExp(`^the job host does not start on ssh ana@login\\.hpc \\(--cluster-node /opt/none/bin/node, --cluster-checkout ${PROJECT_ROOT}\\): no executable at /opt/none/bin/node$`),
      );
      await expect(checkJobHost({ clusterRoot: '/r', clusterCheckout: '/srv/none' }, login)).rejects.toThrow(/: no job entry at \/srv\/none\/main\/service\/executors\/slurm\/job-entry\.ts$/);
    }, 60_000);

    it('the jobs exec node, tsx and the entry at the configured paths', () => {
      const argv = hostCommandFor({ clusterNode: '/opt/node20/bin/node', clusterCheckout: '/home/ana/ablate' });
      expect(argv[0]).toBe('/opt/node20/bin/node');
      expect(argv.at(-1)).toBe('/home/ana/ablate/main/service/executors/slurm/job-entry.ts');
      expect(argv).toContain('file:///home/ana/ablate/main/service/executors/slurm/job-signals.mjs');
      expect(argv.find((a) => a.includes('/tsx/'))).toMatch(/^file:\/\/\/home\/ana\/ablate\/node_modules\/tsx\//);
      expect(hostCommandFor({})).toEqual(nodeHostCommand());
    });
  });

  it('copies a run’s checkpoint from the login node for the desktop’s own use once, kept only when its SHA-256 verifies', async () => {
    const ssh = standInSsh('ablate-ckpt-copy-');
    const root = ssh.remote(join(ssh.base, 'cluster'));
    const store = openStore(join(tempDir('ablate-exec-'), 'x.sqlite'));
    const exp = store.upsertExperiment('e', {}, null);
    const [id, mounted] = store.insertRuns(exp.id, ['a', 'b'].map((v) => ({ variant: v, seed: 1, config: {}, configHash: v, backendRequested: 'cpu', totalSteps: 5 })));
    store.setRunExecutor(id, 'slurm', { clusterRoot: root, ssh: 'ana@login.hpc' }, 'run-a');
    store.setRunExecutor(mounted, 'slurm', { clusterRoot: '/mnt/cluster' }, 'run-b');
    const executor = new SlurmExecutor({ store, sshShell: (t) => ssh.shell(parseSshTarget(t)), hostCommand: ['true'], requestCancel: () => undefined });
    const body = Buffer.concat([Buffer.from('ABLCKPT2'), Buffer.alloc(5000, 3)]);
    const ckpt = Buffer.concat([body, createHash('sha256').update(body).digest()]);
    const path = `${root}/runs/run-a/checkpoints/step-00000010.ckpt`;
    mkdirSync(ssh.local(`${root}/runs/run-a/checkpoints`), { recursive: true });
    writeFileSync(ssh.local(path), ckpt);
    const cache = join(tempDir('ablate-exec-'), 'cache');
    const local = await executor.localCheckpoint(id, path, cache);
    expect(local.startsWith(`${cache}/`) && local.endsWith('-step-00000010.ckpt')).toBe(true);
    expect(readFileSync(local).equals(ckpt)).toBe(true);
    const calls = ssh.calls().length;
    expect(await executor.localCheckpoint(id, path, cache)).toBe(local); // cached: no second copy
    expect(ssh.calls().length).toBe(calls);
    // A file changed on the way (here: on disk) is refused, and nothing is kept.
    const bad = `${root}/runs/run-a/checkpoints/step-00000020.ckpt`;
    writeFileSync(ssh.local(bad), Buffer.concat([ckpt.subarray(0, 100), Buffer.from([ckpt[100] ^ 1]), ckpt.subarray(101)]));
    await expect(executor.localCheckpoint(id, bad, cache)).rejects.toThrow(`run ${id}: the copy of ${bad} from ana@login.hpc does not match its SHA-256 (${ckpt.length} bytes); nothing was kept`);
    await expect(executor.localCheckpoint(id, `${root}/runs/run-a/checkpoints/none.ckpt`, cache)).rejects.toThrow(/^cannot read .*none\.ckpt on ssh ana@login\.hpc: no readable file/);
    expect(readdirSync(cache)).toHaveLength(1);
    // A run whose root is mounted here: its own path.
    expect(await executor.localCheckpoint(mounted, '/mnt/cluster/runs/run-b/checkpoints/step-1.ckpt', cache)).toBe('/mnt/cluster/runs/run-b/checkpoints/step-1.ckpt');
    expect(checkpointCopyProblem(ckpt.subarray(0, 30))).toBe('is truncated (30 bytes)');
    expect(checkpointCopyProblem(Buffer.from('not a checkpoint'))).toBe('is not an ablate checkpoint (16 bytes)');
    store.close();
  });

  it('a run over ssh names its corpus by the copies staged under the cluster root in job.json', async () => {
    const ssh = standInSsh('ablate-exec-corpus-');
    const root = ssh.remote(join(ssh.base, 'cluster'));
    const here = tempDir('ablate-exec-');
    writeFileSync(join(here, 'train.tsv'), 'a b\tx y\n');
    writeFileSync(join(here, 'valid.tsv'), 'c\tz\n');
    const store = openStore(join(here, 'x.sqlite'));
    const exp = store.upsertExperiment('e', {}, null);
    const [id] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 5 }]);
    store.setRunExecutor(id, 'slurm', { clusterRoot: root, ssh: 'ana@login.hpc' }, 'run-a');
    const slurm = fakeSlurmBehind(ssh, { host: 'login.hpc', user: 'ana' });
    const executor = new SlurmExecutor({ store, sshShell: () => slurm, pollMs: 50, hostCommand: ['true'], requestCancel: () => undefined });
    const job = { runId: id, config: { data: { corpus: { train: join(here, 'train.tsv'), valid: join(here, 'valid.tsv') } } }, backend: 'cpu', checkpointDir: `${root}/runs/run-a/checkpoints`, cacheDir: '/desktop/cache' } as unknown as RunJob;
    const proc = executor.route(() => {
      throw new Error('not a local run');
    })(job);
    proc.send({ type: 'start', job });
    await until('submitted', () => store.getRunExecutor(id)?.jobId);
    const written = JSON.parse(readFileSync(ssh.local(`${root}/runs/run-a/job.json`), 'utf8')) as RunJob;
    const train = written.config.data.corpus!.train as string;
    expect(train).toMatch(new RegExp(`^${root}/data/[0-9a-f]{32}/train\\.tsv$`));
    expect(readFileSync(ssh.local(train), 'utf8')).toBe('a b\tx y\n');
    proc.kill();
    store.close();
  });

  describe('a job gone from squeue without a result, past the grace period', () => {
    /** A cluster run that trained to step 10 (checkpoint), then vanished from squeue having ended `state`. */
    async function lost(accounting: boolean, state: string, exitCode = '0:0') {
      const dir = tempDir('ablate-exec-');
      const root = join(dir, 'cluster');
      const dbPath = join(dir, 'x.sqlite');
      const shell = fakeSlurm({ accounting });
      const wb = await Workbench.open({ dbPath, dataDir: join(dir, 'data'), slurm: { shell, pollMs: 50, goneGraceMs: 300, hostCommand: ['true'] } });
      const probe = openStore(dbPath);
      const { queued } = await wb.enqueueSpec(toySpec({ steps: 20 }), { executor: { name: 'slurm', clusterRoot: root } });
      const id = queued[0];
      await until('submitted', () => probe.getRunExecutor(id)?.jobId);
      const job = jobFile(probe, root, id);
      job.write({ type: 'ready', backend: 'cpu', device: 'fake', params: 2, data: {}, startStep: 0 });
      for (let s = 1; s <= 10; s++) job.write(metric(s));
      await until('10 points on a node', () => probe.getMetrics({ runIds: [id] }).length === 10 && probe.getRun(id)!.cluster?.node === 'fake-node');
      Object.assign(shell.jobs[0], { state, exitCode, listed: false });
      const submissions = () => shell.calls.filter((c) => c[0] === 'sbatch' && !c.includes('--test-only')).length;
      const sacctCalls = () => shell.calls.filter((c) => c[0] === 'sacct').length;
      const said = (re: RegExp) => probe.getLogs(id).some((l) => re.test(l.text));
      return { wb, probe, id, shell, job, submissions, sacctCalls, said, close: async () => (await wb.close(), probe.close()) };
    }

    it('with accounting, a node failure is a lost attempt: the run goes on as a fresh submission, not failed', async () => {
      const t = await lost(true, 'NODE_FAIL');
      await until('a second submission', () => t.submissions() === 2);
      expect(t.probe.getRun(t.id)!.state).not.toBe('failed');
      expect(t.said(/ended NODE_FAIL \(says accounting: sacct\)/)).toBe(true);
      expect(t.shell.calls.find((c) => c[0] === 'sacct')).toEqual(['sacct', '-D', '-X', '--noheader', '--parsable2', '--format=JobID,JobIDRaw,State,ExitCode,NodeList,Reason,Partition,Comment', '--jobs=1000_0']);
      await t.close();
    }, 60_000);

    it('with accounting, a job cancelled on the cluster cancels the run', async () => {
      const t = await lost(true, 'CANCELLED');
      await until('cancelled', () => t.probe.getRun(t.id)!.state === 'cancelled');
      expect(t.said(/cancelled outside the workbench/)).toBe(true);
      expect(t.submissions()).toBe(1);
      await t.close();
    }, 60_000);

    it('with accounting saying it still runs, the run waits (no guess) until squeue lists the job again', async () => {
      const t = await lost(true, 'RUNNING');
      await until('accounting asked', () => t.sacctCalls() >= 1);
      await sleep(600); // past the grace period twice
      expect(t.probe.getRun(t.id)!.state).toBe('running');
      expect(t.submissions()).toBe(1);
      t.job.write({ type: 'done', step: 20, metrics: { valid_loss: 0.5 } as never });
      Object.assign(t.shell.jobs[0], { state: 'COMPLETED', listed: true });
      await until('done', () => t.probe.getRun(t.id)!.state === 'done');
      await t.close();
    }, 60_000);

    it('without accounting, it is judged by its events alone (as before): no result fails the run, and sacct is asked once', async () => {
      const t = await lost(false, 'COMPLETED');
      await until('failed', () => t.probe.getRun(t.id)!.state === 'failed');
      expect(t.said(/ended gone from squeue without a result/)).toBe(true);
      expect(t.sacctCalls()).toBe(1);
      await t.close();
    }, 60_000);
  });
});
