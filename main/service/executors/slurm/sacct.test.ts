import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSacct, sacctArgv, sacctAttempts } from './sacct';
import type { Shell } from './shell';

const fixture = (name: string) => readFileSync(new URL(`../../../../test/fixtures/slurm/${name}`, import.meta.url), 'utf8');

describe('sacct -D -X --parsable2 (Slurm 22.05 with slurmdbd)', () => {
  it('lists every attempt: requeued (manual and preempted), then how each task ended', () => {
    // Captured: array 45 of 3 tasks; task 0 requeued by hand, tasks 1 and 2 preempted by a `high`
    // job; then task 1's batch shell killed with -9, task 2 cancelled, task 0 completed.
    const rows = parseSacct(fixture('sacct-D-parsable2.txt'));
    expect(rows.map((r) => [r.slurmId, r.jobId, r.attempt, r.state, r.exit.code, r.exit.signal, r.reason])).toEqual([
      ['45_0', 46, 0, 'REQUEUED', 0, 0, null],
      ['45_1', 47, 0, 'REQUEUED', 0, 0, null],
      ['45_2', 45, 0, 'REQUEUED', 0, 0, null],
      ['45_0', 46, 1, 'COMPLETED', 0, 0, 'BeginTime'],
      ['45_1', 47, 1, 'FAILED', 0, 9, 'BeginTime'],
      ['45_2', 45, 1, 'CANCELLED', 0, 0, 'BeginTime'],
    ]);
    expect(rows[0]).toMatchObject({ arrayJobId: 45, arrayTaskId: 0, node: 'vm', partition: 'low', comment: 'ablate:v1:acct2:r1,r2,r3', restarts: 0 });
  });

  it('keeps a "|" inside the comment, skips a never-started array remainder, reads plain jobs', () => {
    const rows = parseSacct('7|7|COMPLETED|0:0|n1|None|gpu|ablate:v1:s:a|b\n8_[1-3%1]|8|PENDING|0:0|None assigned|JobArrayTaskLimit|gpu|x\n');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ slurmId: '7', arrayJobId: null, arrayTaskId: null, comment: 'ablate:v1:s:a|b', node: 'n1' });
    expect(() => parseSacct('garbage')).toThrow('expected 8');
  });

  it('says "no accounting" as null, so the caller falls back to scontrol', async () => {
    const shell = (code: number, stderr: string): Shell => ({ where: 'fake', run: async () => ({ code, stdout: '', stderr }) });
    expect(await sacctAttempts(shell(1, 'Slurm accounting storage is disabled\n'), [45])).toBeNull();
    await expect(sacctAttempts(shell(1, 'sacct: error: Problem talking to the database: Connection refused\n'), [45])).rejects.toThrow('sacct failed on fake: sacct: error: Problem talking to the database: Connection refused');
    expect(sacctArgv([45, '46_1'])).toEqual(['sacct', '-D', '-X', '--noheader', '--parsable2', '--format=JobID,JobIDRaw,State,ExitCode,NodeList,Reason,Partition,Comment', '--jobs=45,46_1']);
  });
});
