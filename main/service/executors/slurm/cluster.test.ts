/**
 * Against a real Slurm 22.05 cluster (scripts/slurm-cluster.sh): a 3-run grid submitted as one
 * array through sbatch.ts, each task running the real in-job host (job-entry.ts) with the toy run
 * process. Mid-run: a manual requeue, a preemption by a job in the `high` partition, a graceful
 * stop (USR1 to the batch shell only) and an scancel; then every resumed attempt must start from a
 * step > 0 and the grid's runs end as expected. Also the bad inputs: a missing sbatch, a rejected
 * sbatch (bad partition), an unwritable cluster root.
 *
 * Skips when `sbatch` is not installed. When it is and the cluster is not up, beforeAll starts it
 * with the script (root only) and afterAll stops it again: the machine is left as found.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../../contract/errors';
import type { RunToParent } from '../../../../contract/run-protocol';
import { readEventsFrom } from './events-file';
import { nodeHostCommand } from './job-host';
import { parseAttemptFileName, parseSubmissionComment, runPaths, submitArray, type ArraySubmission } from './sbatch';
import { sacctAttempts } from './sacct';
import { requeueArgv, scancelArgv, showJob, startNowArgv } from './scontrol';
import { localShell } from './shell';
import { FINISHED_STATES, pollSqueue, type SlurmJob } from './squeue';
import { acquireClusterLock } from '../../../../test/support/slurm-lock';

const SCRIPT = new URL('../../../../scripts/slurm-cluster.sh', import.meta.url).pathname;
const TOY = new URL('../../../../test/fixtures/toy-run-process.ts', import.meta.url).pathname;
const hasSbatch = spawnSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).status === 0;
const clusterUp = () => hasSbatch && spawnSync(SCRIPT, ['status'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const isRoot = process.getuid?.() === 0;
const SKIP = !hasSbatch
  ? 'sbatch is not installed (run scripts/slurm-cluster.sh start as root to get a local cluster)'
  : !clusterUp() && !isRoot
    ? 'no Slurm cluster is up and starting one needs root (scripts/slurm-cluster.sh start)'
    : null;

/**
 * 500 toy steps of 60 ms: a run lasts ~30 s, longer than the worst wait seen for a requeued job to
 * leave COMPLETING (~15 s), so every event of the scenario happens while the runs still train.
 */
const STEPS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!!SKIP)(`real Slurm cluster${SKIP ? ` — skipped: ${SKIP}` : ''}`, () => {
  let startedHere = false;
  const root = mkdtempSync(join(tmpdir(), 'ablate-cluster-'));
  // sbatch passes the submitting environment to the job (--export=ALL): the toy run process, slowed down.
  const shell = localShell({ env: { ...process.env, ABLATE_RUN_PROCESS: TOY, TOY_STEP_MS: '60' } });
  const log: string[] = [];
  const t0 = Date.now();
  const note = (s: string) => log.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${s}`);

  let unlock = () => undefined as void;
  beforeAll(async () => {
    unlock = await acquireClusterLock();
    if (!clusterUp()) {
      const t = Date.now();
      execFileSync(SCRIPT, ['start'], { stdio: 'pipe', timeout: 300_000 });
      startedHere = true;
      note(`cluster started by the test in ${Date.now() - t} ms`);
    }
  }, 620_000);

  const submitted: number[] = [];
  afterAll(() => {
    // A failed run leaves its jobs behind: cancel them (only ours), then stop what we started.
    for (const id of submitted) spawnSync('scancel', [String(id)], { timeout: 10_000 });
    try {
      if (startedHere) execFileSync(SCRIPT, ['stop'], { stdio: 'pipe', timeout: 120_000 });
    } finally {
      unlock();
    }
    console.log(`slurm cluster test timeline:\n  ${log.join('\n  ')}`);
  }, 130_000);

  async function ours(submissionId: string): Promise<Map<number, SlurmJob>> {
    const jobs = await pollSqueue(shell);
    const mine = jobs.filter((j) => parseSubmissionComment(j.comment)?.submissionId === submissionId);
    return new Map(mine.map((j) => [j.arrayTaskId!, j]));
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > end) {
        const jobs = (await pollSqueue(shell)).filter((j) => !FINISHED_STATES.has(j.state)).map((j) => `${j.slurmId} ${j.state} ${j.reason ?? ''} restarts=${j.restarts}`);
        const node = (await shell.run(['sinfo', '-h', '-N', '-o', '%T'])).stdout.trim();
        throw new Error(`timed out waiting for ${what}\n${log.join('\n')}\nnow: node ${node}; ${jobs.join('; ')}`);
      }
      await sleep(250);
    }
  }

  /** Every event of every attempt of a run, per attempt file, in restart order. */
  async function attempts(runKey: string): Promise<{ name: string; restarts: number; events: RunToParent[] }[]> {
    const dir = runPaths(root, runKey).events;
    if (!existsSync(dir)) return [];
    const out = [];
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
      const h = await open(join(dir, name), 'r');
      const r = await readEventsFrom(h, 0);
      await h.close();
      expect(r.torn).toEqual([]);
      out.push({ name, restarts: parseAttemptFileName(name)!.restarts, events: r.lines.map((l) => l.line.msg) });
    }
    return out.sort((a, b) => a.restarts - b.restarts || a.name.localeCompare(b.name));
  }
  const lastCheckpointStep = async (key: string) => Math.max(0, ...(await attempts(key)).flatMap((a) => a.events.filter((m) => m.type === 'checkpoint').map((m) => (m as { step: number }).step)));

  /**
   * A requeued job waits ~2 min (EligibleTime = requeue + 121 s); make it eligible now, but only once
   * it is PENDING as a new attempt (its restart count grew past `before`) and the node has finished
   * the old attempt: released while the node still cleans up (self-requeue from inside the job), it
   * is started at once and killed as "non-startable batch job: Job credential revoked", ending
   * FAILED for good. Slurm's delay exists for that reason.
   * Not Reason=BeginTime: Slurm shows it only until its next scheduler pass (~1 s here), which
   * replaces it with JobArrayTaskLimit (the freed throttle slot went to task 2) or Resources (the
   * high job holds the node) while the delay still stands. A poll later than that (a loaded or cold
   * machine) then waited for a running task to finish its training, and the timeline fell apart.
   */
  async function releaseWhenRequeued(slurmId: string, before: number): Promise<void> {
    const nodeBusy = async () => /completing/i.test((await shell.run(['sinfo', '-h', '-N', '-o', '%T'])).stdout);
    await waitFor(`${slurmId} PENDING, requeued`, async () => (await showJob(shell, slurmId)).some((j) => j.state === 'PENDING' && j.restarts > before));
    note(`${slurmId} PENDING`);
    await waitFor(`${slurmId} PENDING on a settled node`, async () => !(await nodeBusy()));
    note(`node settled`);
    await sleep(1000);
    expect((await shell.run(startNowArgv(slurmId))).code).toBe(0);
  }
  const restartsOf = async (submissionId: string) => new Map([...(await ours(submissionId))].map(([t, j]) => [t, j.restarts]));

  it('runs a grid as one array; requeue, preemption, a graceful stop and scancel behave; resumed attempts start from a step > 0', async () => {
    const runKeys = ['r1', 'r2', 'r3'];
    for (const key of runKeys) {
      mkdirSync(runPaths(root, key).dir, { recursive: true });
      // r3 (task 2) is cancelled once it runs: it trains long enough that it cannot finish first on a fast, idle machine.
      const steps = key === 'r3' ? STEPS * 20 : STEPS;
      const job = { runId: runKeys.indexOf(key) + 1, config: { train: { steps, eval_every: 20, checkpoint_every: 10, lr_factor: 1 } }, backend: 'cpu', checkpointDir: '', cacheDir: tmpdir() };
      writeFileSync(runPaths(root, key).job, JSON.stringify(job));
    }
    const s: ArraySubmission = { clusterRoot: root, submissionId: `t${Date.now().toString(36)}`, runKeys, hostCommand: nodeHostCommand(), maxParallel: 2, signalSeconds: 60 };
    const { jobId } = await submitArray(shell, s);
    submitted.push(jobId);
    note(`submitted array ${jobId}`);
    const id = (task: number) => `${jobId}_${task}`;

    // Two tasks run (the third waits on the %2 throttle), each past its first checkpoints.
    await waitFor('tasks 0 and 1 running with a checkpoint', async () => {
      const m = await ours(s.submissionId);
      return m.get(0)?.state === 'RUNNING' && m.get(1)?.state === 'RUNNING' && m.get(2)?.reason === 'JobArrayTaskLimit' && (await lastCheckpointStep('r1')) >= 20 && (await lastCheckpointStep('r2')) >= 20;
    });
    note('tasks 0, 1 running, task 2 held by the throttle');

    // 1. Manual requeue of task 0 (Slurm TERMs the whole job: host and run process).
    expect((await shell.run(requeueArgv(id(0)))).code).toBe(0);
    await releaseWhenRequeued(id(0), 0);
    note('task 0 requeued and released');

    // 2. Preemption: a `high` job needing both cores evicts the running `low` tasks; they get USR1
    //    (preempt_send_user_signal), checkpoint, and requeue themselves.
    // It sleeps long enough for the preempted tasks to be seen requeued: on a cold machine (CI's first
    // cluster test: tsx's transform cache empty) a task took > 8 s to leave RUNNING while the high job
    // had already started, and an 8 s job was over before the check could pass.
    const beforeHigh = await restartsOf(s.submissionId);
    const high = await shell.run(['sbatch', '--parsable', '-p', 'high', '-c', '2', '-o', '/dev/null', '--wrap', 'sleep 20']);
    expect(high.code, high.stderr).toBe(0);
    const highId = Number(high.stdout.trim());
    submitted.push(highId);
    note(`high job ${highId} submitted`);
    await waitFor('the high job running', async () => (await showJob(shell, highId))[0]?.state === 'RUNNING');
    // While it runs, no low task may run: the ones that ran were preempted (requeued, PENDING).
    await waitFor('no low task running next to the high job', async () => [...(await ours(s.submissionId)).values()].every((j) => j.state === 'PENDING'), 18_000);
    note('high job running: low tasks preempted');
    // Preempted tasks (requeued: their restart count grew) wait out the requeue delay like a manual requeue: release them.
    for (const [t, j] of await ours(s.submissionId)) if (j.restarts > (beforeHigh.get(t) ?? 0)) await releaseWhenRequeued(id(t), beforeHigh.get(t) ?? 0);
    await waitFor('the high job done', async () => (await showJob(shell, highId))[0]?.state === 'COMPLETED');
    note('high job done; low tasks released');

    // 3. A graceful stop of task 1 through USR1 to the batch shell only (how the executor asks a run
    //    to checkpoint and requeue): host → stop → checkpoint → scontrol requeue.
    await waitFor('task 1 running again', async () => (await ours(s.submissionId)).get(1)?.state === 'RUNNING' && (await attempts('r2')).length >= 2 && (await attempts('r2')).at(-1)!.events.some((m) => m.type === 'ready'));
    const beforeStop = (await restartsOf(s.submissionId)).get(1)!;
    const r = await shell.run(['scancel', '--batch', '--signal=USR1', id(1)]);
    expect(r.code, r.stderr).toBe(0);
    await releaseWhenRequeued(id(1), beforeStop);
    note('task 1 stopped gracefully (USR1) and released');

    // 4. scancel task 2 once it runs.
    await waitFor('task 2 running', async () => (await ours(s.submissionId)).get(2)?.state === 'RUNNING');
    expect((await shell.run(scancelArgv(id(2)))).code).toBe(0);
    note('task 2 cancelled');

    const final = await waitFor('tasks 0 and 1 finished', async () => {
      const m = await ours(s.submissionId);
      return [0, 1, 2].every((t) => FINISHED_STATES.has(m.get(t)?.state ?? '')) && m;
    }, 150_000);
    note(`final: ${[...final.values()].map((j) => `${j.slurmId} ${j.state} restarts=${j.restarts}`).join(', ')}`);
    expect(final.get(0)).toMatchObject({ state: 'COMPLETED' });
    expect(final.get(1)).toMatchObject({ state: 'COMPLETED' });
    expect(final.get(2)).toMatchObject({ state: 'CANCELLED' });
    expect(final.get(0)!.restarts).toBeGreaterThanOrEqual(1); // requeued (and preempted if it was running then)
    expect(final.get(1)!.restarts).toBeGreaterThanOrEqual(2); // preempted, then stopped by USR1

    for (const key of ['r1', 'r2']) {
      const list = await attempts(key);
      expect(list.length).toBeGreaterThanOrEqual(key === 'r1' ? 2 : 3);
      const readies = list.map((a) => a.events.find((m) => m.type === 'ready') as Extract<RunToParent, { type: 'ready' }> | undefined);
      expect(readies[0]!.startStep).toBe(0);
      // Every later attempt that got as far as 'ready' resumed from a checkpoint: step > 0.
      for (const rd of readies.slice(1)) if (rd) expect(rd.startStep).toBeGreaterThan(0);
      expect(list.at(-1)!.events.at(-1)).toMatchObject({ type: 'done', step: STEPS });
      // Steps repeat across attempts (the work after the last checkpoint is redone): ingest must key by step.
      const steps = list.flatMap((a) => a.events.flatMap((m) => (m.type === 'metrics' ? m.points.map((p) => p.step) : [])));
      expect(new Set(steps).size).toBeLessThan(steps.length);
      expect(Math.max(...steps)).toBe(STEPS);
      note(`${key}: attempts ${list.map((a, i) => `${a.name.split('.').slice(1, 3).join('.')}@${readies[i]?.startStep ?? '-'}→${a.events.filter((m) => ['done', 'stopped', 'failed'].includes(m.type)).map((m) => m.type).join('/') || 'killed'}`).join(', ')}`);
    }
    // The USR1 path is graceful: its attempt ends 'stopped' and the task (only it) requeued itself.
    const r2 = await attempts('r2');
    expect(r2.some((a) => a.events.some((m) => m.type === 'log' && m.text === `requeued job ${jobId}_1 at step ${(a.events.find((e) => e.type === 'stopped') as { step: number } | undefined)?.step}`))).toBe(true);
    const warnings = (await Promise.all(runKeys.map(attempts))).flat().flatMap((a) => a.events.filter((m) => m.type === 'log' && m.level === 'warn' && /failed/.test(m.text)));
    expect(warnings).toEqual([]);
    // A manual `scontrol requeue` TERMs every process of the job: the run process ignores it (as
    // run-process.ts does with a parent) and the host's stop ends the attempt gracefully.
    expect((await attempts('r1'))[0].events.at(-1)).toMatchObject({ type: 'stopped' });
    // Accounting, where the cluster has it (ACCOUNTING=1), holds every attempt; else sacct says so.
    const history = await sacctAttempts(shell, [jobId]);
    if (history === null) note('accounting off: sacct disabled, scontrol/squeue are the source');
    else {
      const of = (t: number) => history.filter((h) => h.arrayTaskId === t).map((h) => h.state);
      note(`sacct: ${[0, 1, 2].map((t) => `${t}: ${of(t).join(' → ')}`).join('; ')}`);
      expect(of(0).at(-1)).toBe('COMPLETED');
      expect(of(1)).toEqual([...of(1).slice(0, -1).map(() => 'REQUEUED'), 'COMPLETED']);
      expect(of(1).length).toBe(final.get(1)!.restarts + 1);
      expect(history.every((h) => parseSubmissionComment(h.comment)?.submissionId === s.submissionId)).toBe(true);
    }
    // The Slurm log of each task is appended across attempts (--open-mode=append).
    const out = readFileSync(join(root, 'submissions', s.submissionId, `${jobId}_1.out`), 'utf8');
    expect(out.match(/^ablate: run r2 attempt \d+ of job/gm)!.length).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('bad input fails with one line naming the cause', async () => {
    const s: ArraySubmission = { clusterRoot: root, submissionId: 'bad', runKeys: ['x'], hostCommand: ['true'] };
    const rejected = await submitArray(shell, { ...s, partition: 'nosuch' }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(UserError);
    expect((rejected as Error).message).toBe('sbatch rejected the job on this machine: Invalid partition name specified (invalid partition specified: nosuch)');
    await expect(submitArray(shell, { ...s, clusterRoot: '/proc/ablate-root' })).rejects.toThrow(/^the cluster root \/proc\/ablate-root is not writable on this machine: mkdir: cannot create directory/);
    await expect(submitArray(localShell({ env: { PATH: '/nonexistent' } }), s)).rejects.toThrow(/^mkdir is not installed/);
    const noSlurm = localShell({ env: { PATH: '/usr/local/bin:/bin' } }); // mkdir yes, sbatch (in /usr/bin) no
    const err = await noSlurm.run(['sbatch', '--version']).catch((e: unknown) => e);
    if (!existsSync('/bin/sbatch')) expect((err as Error).message).toBe("sbatch is not installed on this machine (not found on PATH): is Slurm's client installed here?");
  });
});
