import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseKeyValueLine, parseScontrolShowJob, requeueArgv, scancelArgv, scontrolShowJobArgv, startNowArgv } from './scontrol';
import { parseSqueueJson } from './squeue';

const fixture = (name: string) => readFileSync(new URL(`../../../../test/fixtures/slurm/${name}`, import.meta.url), 'utf8');

describe('scontrol show job -o (Slurm 22.05 output)', () => {
  it('splits Key=Value words, keys with / and : included, empty values kept', () => {
    const f = parseKeyValueLine('JobId=3 ArrayJobId=2 AllocNode:Sid=localhost:13130 CPUs/Task=1 ReqB:S:C:T=0:0:*:* NodeList= Comment=ablate:v1:s:a,b Power=');
    expect(f).toEqual({ JobId: '3', ArrayJobId: '2', 'AllocNode:Sid': 'localhost:13130', 'CPUs/Task': '1', 'ReqB:S:C:T': '0:0:*:*', NodeList: '', Comment: 'ablate:v1:s:a,b', Power: '' });
  });

  it('gives the same facts as squeue --json for the same jobs', () => {
    const jobs = parseScontrolShowJob(fixture('scontrol-show-job.txt'));
    const rows = jobs.map((j) => [j.slurmId, j.state, j.reason, j.restarts, j.exit.code, j.exit.signal, j.comment]);
    expect(rows).toEqual([
      ['1', 'COMPLETED', null, 0, 0, 0, ''],
      ['2_0', 'COMPLETED', null, 1, 0, 0, 'ablate:test-uuid:1'],
      ['2_1', 'PENDING', 'BeginTime', 1, 0, 0, 'ablate:test-uuid:1'],
      ['2_2', 'PENDING', 'BeginTime', 1, 0, 0, 'ablate:test-uuid:1'],
      ['2_3', 'COMPLETED', null, 0, 0, 0, 'ablate:test-uuid:1'],
      ['6', 'COMPLETED', null, 0, 0, 0, ''],
      ['7_0', 'CANCELLED', null, 0, 143, 0, 'ablate:test-uuid-2:7,8'],
      ['8', 'PENDING', 'BeginTime', 1, 0, 0, 'ablate:tl:9'],
      ['7_1', 'FAILED', 'JobLaunchFailure', 0, 0, 9, 'ablate:test-uuid-2:7,8'],
    ]);
    // The same jobs in the squeue capture a few seconds earlier agree where neither changed.
    const sq = new Map(parseSqueueJson(fixture('squeue-cancelled-failed.json')).map((j) => [j.slurmId, j]));
    for (const id of ['7_0', '7_1', '2_0', '2_1']) expect(jobs.find((j) => j.slurmId === id)).toEqual(sq.get(id));
  });

  it('expands a pending array remainder (ArrayTaskId=1-4%1)', () => {
    const jobs = parseScontrolShowJob(fixture('scontrol-array-throttled.txt'));
    expect(jobs.map((j) => [j.slurmId, j.jobId, j.state, j.reason, j.node])).toEqual([
      ['10_1', 10, 'PENDING', 'JobArrayTaskLimit', null],
      ['10_2', 10, 'PENDING', 'JobArrayTaskLimit', null],
      ['10_3', 10, 'PENDING', 'JobArrayTaskLimit', null],
      ['10_4', 10, 'PENDING', 'JobArrayTaskLimit', null],
      ['10_0', 11, 'RUNNING', null, 'vm'],
    ]);
  });

  it('ignores what is not a job line', () => {
    expect(parseScontrolShowJob('No jobs in the system\n')).toEqual([]);
  });

  it('builds the action argvs', () => {
    expect(scontrolShowJobArgv('7_1')).toEqual(['scontrol', 'show', 'job', '-o', '7_1']);
    expect(requeueArgv('7_1')).toEqual(['scontrol', 'requeue', '7_1']);
    expect(startNowArgv(12)).toEqual(['scontrol', 'update', 'JobId=12', 'StartTime=now']);
    expect(scancelArgv('7')).toEqual(['scancel', '7']);
  });
});
