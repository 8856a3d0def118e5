/**
 * Slurm's clients stood in, for the executor's tests and benchmark without a cluster: `sbatch`
 * answers a new job id (remembering its --comment), `sbatch --test-only` accepts, `squeue --json`
 * lists every job in the state the caller set (RUNNING by default) unless it was aged out
 * (`listed: false`), `scancel` marks it CANCELLED, `mkdir` makes the folder. `sacct` answers as a
 * cluster without accounting does, or, with `{ accounting: true }`, one row per job in its state
 * and `exitCode` (listed or not: accounting outlives squeue). Every call is recorded in `calls`.
 * With `{ files: shell }`, every command that is not Slurm's (mkdir, the sh -c of a ClusterFs or an
 * EventsSource) goes to that shell instead: e.g. a stand-in ssh to a root only it can see.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandInSsh } from './stand-in-ssh';
import type { SshTarget } from '../../main/service/executors/slurm/shell';
import type { Shell, ShellResult } from '../../main/service/executors/slurm/shell';

export interface FakeJob {
  readonly id: number;
  readonly comment: string;
  state: string;
  restarts: number;
  /** false: squeue no longer lists the job (MinJobAge passed, or purged). */
  listed: boolean;
  /** sacct's ExitCode field, `code:signal`. */
  exitCode: string;
}

export function fakeSlurm(opts: { readonly accounting?: boolean; readonly files?: Shell; readonly squeueFile?: string } = {}): Shell & { readonly jobs: FakeJob[]; readonly calls: string[][] } {
  const jobs: FakeJob[] = [];
  const calls: string[][] = [];
  const ok = (stdout = ''): ShellResult => ({ code: 0, stdout, stderr: '' });
  const squeueJson = () => JSON.stringify({ jobs: jobs.filter((j) => j.listed).map((j) => ({ job_id: j.id, array_job_id: j.id, array_task_id: 0, job_state: j.state, nodes: 'fake-node', comment: j.comment, restart_cnt: j.restarts, exit_code: 0, partition: 'low', state_reason: 'None' })) });
  return {
    where: opts.files ? `${opts.files.where} (fake Slurm)` : 'this machine (fake Slurm)',
    jobs,
    calls,
    async run(argv, runOpts) {
      calls.push([...argv]);
      // For a `squeue` stand-in behind `files` (a poll that runs squeue inside one remote command): the jobs as of now.
      if (opts.squeueFile) writeFileSync(opts.squeueFile, squeueJson());
      if (opts.files && !['sbatch', 'squeue', 'sacct', 'scancel', 'scontrol'].includes(argv[0])) return opts.files.run(argv, runOpts);
      if (argv[0] === 'mkdir') {
        mkdirSync(argv[argv.length - 1], { recursive: true });
        return ok();
      }
      if (argv[0] === 'sbatch' && argv.includes('--test-only')) return ok();
      if (argv[0] === 'sbatch') {
        const id = 1000 + jobs.length;
        jobs.push({ id, comment: argv.find((a) => a.startsWith('--comment='))!.slice('--comment='.length), state: 'RUNNING', restarts: 0, listed: true, exitCode: '0:0' });
        return ok(`${id}\n`);
      }
      if (argv[0] === 'squeue') return ok(squeueJson());
      if (argv[0] === 'sacct') {
        // The message Slurm 22.05's sacct exits 1 with on a cluster without slurmdbd.
        if (!opts.accounting) return { code: 1, stdout: '', stderr: 'Slurm accounting storage is disabled\n' };
        const wanted = argv.find((a) => a.startsWith('--jobs='))!.slice('--jobs='.length).split(',');
        const rows = jobs.filter((j) => wanted.includes(`${j.id}_0`)).map((j) => `${j.id}_0|${j.id}|${j.state}|${j.exitCode}|fake-node|None|low|${j.comment}`);
        return ok(rows.map((r) => `${r}\n`).join(''));
      }
      if (argv[0] === 'scancel') {
        const j = jobs.find((x) => `${x.id}_0` === argv[argv.length - 1]);
        if (j) j.state = 'CANCELLED';
        return ok();
      }
      return { code: 127, stdout: '', stderr: `${argv[0]}: not faked` };
    },
  };
}

/**
 * Fake Slurm on a login node behind the stand-in ssh: Slurm's own commands answered here, every
 * other command (the ClusterFs and events scripts, a batched poll) run through the stand-in, where
 * a `squeue` stand-in prints the fake's jobs as of the last call (so a poll that runs squeue inside
 * one remote command sees them).
 */
export function fakeSlurmBehind(ssh: StandInSsh, target: SshTarget, opts: { readonly accounting?: boolean } = {}): ReturnType<typeof fakeSlurm> {
  const squeueFile = join(ssh.base, 'squeue.json');
  writeFileSync(join(ssh.base, 'bin', 'squeue'), `#!/bin/sh\ncat '${squeueFile}'\n`);
  chmodSync(join(ssh.base, 'bin', 'squeue'), 0o755);
  return fakeSlurm({ ...opts, files: ssh.shell(target), squeueFile });
}
