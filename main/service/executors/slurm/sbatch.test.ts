import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../contract/errors';
import {
  attemptFileName, jobScript, parseAttemptFileName, parseParsable, parseSubmissionComment, runPaths, sbatchArgv, sbatchRejection, submissionComment, submitArray,
  type ArraySubmission,
} from './sbatch';
import type { Shell, ShellResult } from './shell';

const fixture = (name: string) => readFileSync(new URL(`../../../../test/fixtures/slurm/${name}`, import.meta.url), 'utf8');
const sub = (over: Partial<ArraySubmission> = {}): ArraySubmission => ({
  clusterRoot: '/shared/ablate root',
  submissionId: 's-7f3a',
  runKeys: ['r1', 'r2', 'r3', 'r4'],
  hostCommand: ['/usr/bin/node', '--import', 'file:///opt/ablate/node_modules/tsx/dist/loader.mjs', '/opt/ablate/main/service/executors/slurm/job-entry.ts'],
  ...over,
});

describe('sbatchArgv', () => {
  it('one array per grid, requeueable, USR1 before the end, appending logs, tagged with the runs', () => {
    expect(sbatchArgv(sub({ maxParallel: 2, partition: 'gpu', gres: 'gpu:1', time: '4:00:00', extraArgs: ['--qos=high'] }))).toEqual([
      'sbatch', '--parsable', '--array=0-3%2', '--requeue', '--signal=B:USR1@120', '--open-mode=append', '--comment=ablate:v1:s-7f3a:r1,r2,r3,r4',
      '--job-name=ablate-s-7f3a', '--output=/shared/ablate root/submissions/s-7f3a/%A_%a.out', '--partition=gpu', '--gres=gpu:1', '--time=4:00:00', '--qos=high',
    ]);
    expect(sbatchArgv(sub({ runKeys: ['only'], signalSeconds: 30 }))).toContain('--array=0-0');
    expect(sbatchArgv(sub({ signalSeconds: 30 }))).toContain('--signal=B:USR1@30');
  });

  it('refuses input that would break finding or resuming runs, in one line', () => {
    const bad: [Partial<ArraySubmission>, RegExp][] = [
      [{ runKeys: [] }, /no runs/],
      [{ runKeys: ['a', 'a'] }, /twice/],
      [{ runKeys: ['a,b'] }, /invalid run key "a,b"/],
      [{ runKeys: ['../x'] }, /invalid run key/],
      [{ submissionId: 'a:b' }, /invalid submission id/],
      [{ clusterRoot: 'relative/dir' }, /absolute/],
      [{ clusterRoot: '/scratch/%u' }, /'%'/],
      [{ maxParallel: 0 }, /--max-parallel/],
      [{ extraArgs: ['gpu'] }, /starting with '-'/],
      [{ extraArgs: ['--array=0-1'] }, /set by the workbench/],
      [{ extraArgs: ['--signal=USR2@60'] }, /set by the workbench/],
    ];
    for (const [over, message] of bad) {
      const err = (() => { try { sbatchArgv(sub(over)); } catch (e) { return e; } })();
      expect(err, JSON.stringify(over)).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('--comment', () => {
  it('carries the submission and the run keys in task order, within Slurm’s 1024 characters', () => {
    expect(parseSubmissionComment(submissionComment(sub()))).toEqual({ submissionId: 's-7f3a', runKeys: ['r1', 'r2', 'r3', 'r4'] });
    const many = sub({ runKeys: Array.from({ length: 300 }, (_, i) => `run-${i}`) });
    expect(submissionComment(many)).toBe('ablate:v1:s-7f3a'); // too long for Slurm: the workbench keeps the map
    expect(parseSubmissionComment('ablate:v1:s-7f3a')).toEqual({ submissionId: 's-7f3a', runKeys: null });
    expect(parseSubmissionComment('')).toBeNull();
    expect(parseSubmissionComment('someone else')).toBeNull();
  });
});

describe('jobScript', () => {
  it('picks the task’s run, names the attempt’s events file, and execs the host (run by bash with Slurm’s variables)', () => {
    const root = mkdtempSync(join(tmpdir(), 'cluster root '));
    const script = jobScript(sub({ clusterRoot: root, hostCommand: ['printf', '%s\\n'] }));
    const env = { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_JOB_ID: '41', SLURM_RESTART_COUNT: '1', SLURM_JOB_ID: '44' };
    const out = execFileSync('bash', ['-c', script], { env, encoding: 'utf8' }).split('\n');
    expect(out[0]).toMatch(/^ablate: run r3 attempt 1 of job 41_2 on .* at \d{4}-/);
    expect(out.slice(1, 5)).toEqual(['--run-dir', `${root}/runs/r3`, '--events', `${root}/runs/r3/events/s-7f3a.41_2.r1.jsonl`]);
    expect(existsSync(join(root, 'runs/r3/checkpoints'))).toBe(true);
    expect(parseAttemptFileName('s-7f3a.41_2.r1.jsonl')).toEqual({ submissionId: 's-7f3a', arrayJobId: 41, taskId: 2, restarts: 1 });
    expect(attemptFileName({ submissionId: 's-7f3a', arrayJobId: 41, taskId: 2, restarts: 1 })).toBe('s-7f3a.41_2.r1.jsonl');
    expect(runPaths(root, 'r3').events).toBe(`${root}/runs/r3/events`);
    // Without a task id, or with one past the grid, the script fails before running anything.
    expect(() => execFileSync('bash', ['-c', script], { env: { ...env, SLURM_ARRAY_TASK_ID: '' }, stdio: 'pipe' })).toThrow(/not started as an array task/);
    expect(() => execFileSync('bash', ['-c', script], { env: { ...env, SLURM_ARRAY_TASK_ID: '9' }, stdio: 'pipe' })).toThrow(/no run for this array task|unbound/);
  });

  it('execs (the host replaces the batch shell, so Slurm’s signals reach it)', () => {
    const script = jobScript(sub());
    expect(script).toMatch(/\nexec \/usr\/bin\/node --import file:\/\/\/opt\/ablate\/node_modules\/tsx\/dist\/loader.mjs \/opt\/ablate\/main\/service\/executors\/slurm\/job-entry.ts --run-dir "\$dir" --events "\$events"\n$/);
    expect(script).toContain("dir='/shared/ablate root/runs'/$run");
  });
});

describe('sbatch output', () => {
  it('reads --parsable', () => {
    expect(parseParsable('1234\n')).toEqual({ jobId: 1234, cluster: null });
    expect(parseParsable('1234;hpc2\n')).toEqual({ jobId: 1234, cluster: 'hpc2' });
    expect(() => parseParsable('Submitted batch job 12')).toThrow('not a job id');
  });

  it('turns a rejection into sbatch’s own reason (real stderr of a bad partition)', () => {
    expect(sbatchRejection(fixture('sbatch-bad-partition.stderr'), 1)).toBe('Invalid partition name specified (invalid partition specified: nosuch)');
    expect(sbatchRejection('sbatch: error: Batch job submission failed: Requested node configuration is not available\n', 1)).toBe('Requested node configuration is not available');
    expect(sbatchRejection('', 1)).toBe('exit status 1');
  });
});

describe('submitArray', () => {
  function fakeShell(answers: ShellResult[]): Shell & { calls: { argv: readonly string[]; input?: string | Buffer }[] } {
    const calls: { argv: readonly string[]; input?: string | Buffer }[] = [];
    return { where: 'fake', calls, run: async (argv, opts) => (calls.push({ argv, input: opts?.input }), answers.shift()!) };
  }

  it('creates the log folder, sends the script on stdin, returns the array id', async () => {
    const shell = fakeShell([{ code: 0, stdout: '', stderr: '' }, { code: 0, stdout: '77\n', stderr: '' }]);
    expect(await submitArray(shell, sub())).toEqual({ jobId: 77, cluster: null });
    expect(shell.calls[0].argv).toEqual(['mkdir', '-p', '--', '/shared/ablate root/submissions/s-7f3a']);
    expect(shell.calls[1].argv[0]).toBe('sbatch');
    expect(shell.calls[1].input).toBe(jobScript(sub()));
  });

  it('an unreachable cluster root and a rejected job are one UserError line each', async () => {
    const noRoot = fakeShell([{ code: 1, stdout: '', stderr: "mkdir: cannot create directory '/shared': Permission denied\n" }]);
    await expect(submitArray(noRoot, sub())).rejects.toThrow("the cluster root /shared/ablate root is not writable on fake: mkdir: cannot create directory '/shared': Permission denied");
    const rejected = fakeShell([{ code: 0, stdout: '', stderr: '' }, { code: 1, stdout: '', stderr: fixture('sbatch-bad-partition.stderr') }]);
    await expect(submitArray(rejected, sub())).rejects.toThrow('sbatch rejected the job on fake: Invalid partition name specified (invalid partition specified: nosuch)');
  });
});
