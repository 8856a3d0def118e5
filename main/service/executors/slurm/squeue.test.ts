import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expandArrayTasks, parseSqueueJson, squeueErrors, type SlurmJob } from './squeue';

/** squeue --json output captured from the test cluster (Slurm 22.05.8, scripts/slurm-cluster.sh). */
const fixture = (name: string) => readFileSync(new URL(`../../../../test/fixtures/slurm/${name}`, import.meta.url), 'utf8');
const brief = (j: SlurmJob) => [j.slurmId, j.state, j.reason, j.node, j.restarts];
const byId = (jobs: SlurmJob[], id: string) => jobs.find((j) => j.slurmId === id)!;

describe('expandArrayTasks', () => {
  it('reads Slurm task lists', () => {
    expect(expandArrayTasks('2-3%2')).toEqual([2, 3]);
    expect(expandArrayTasks('1,3,5-7')).toEqual([1, 3, 5, 6, 7]);
    expect(expandArrayTasks('0-9:4')).toEqual([0, 4, 8]);
    expect(expandArrayTasks('4')).toEqual([4]);
    expect(expandArrayTasks('')).toEqual([]);
    expect(() => expandArrayTasks('a-b')).toThrow('unreadable array task list');
  });
});

describe('parseSqueueJson (Slurm 22.05 output)', () => {
  it('a throttled array: running tasks, and the pending rest expanded to one entry per task', () => {
    const jobs = parseSqueueJson(fixture('squeue-array-throttled.json'));
    expect(jobs.map(brief)).toEqual([
      ['1', 'COMPLETED', null, 'vm', 0],
      ['2_0', 'RUNNING', null, 'vm', 0],
      ['2_1', 'RUNNING', null, 'vm', 0],
      ['2_2', 'PENDING', 'JobArrayTaskLimit', null, 0],
      ['2_3', 'PENDING', 'JobArrayTaskLimit', null, 0],
    ]);
    expect(byId(jobs, '2_0')).toMatchObject({ jobId: 3, arrayJobId: 2, arrayTaskId: 0, comment: 'ablate:test-uuid:1', partition: 'low' });
    expect(byId(jobs, '2_3')).toMatchObject({ jobId: 2, arrayJobId: 2, arrayTaskId: 3 }); // the array's own id, not split yet
    expect(byId(jobs, '1')).toMatchObject({ arrayJobId: null, arrayTaskId: null, comment: '' });
  });

  it('a requeued task waits with Reason=BeginTime and counts the restart', () => {
    const jobs = parseSqueueJson(fixture('squeue-requeued.json'));
    expect(brief(byId(jobs, '2_0'))).toEqual(['2_0', 'PENDING', 'BeginTime', null, 1]);
  });

  it('preemption by a job in the high partition: the low tasks requeued, the high job running', () => {
    const jobs = parseSqueueJson(fixture('squeue-preempted.json'));
    expect(jobs.map(brief)).toEqual([
      ['1', 'COMPLETED', null, 'vm', 0],
      ['2_0', 'PENDING', 'Resources', null, 1],
      ['2_1', 'PENDING', 'BeginTime', null, 1],
      ['2_2', 'PENDING', 'BeginTime', null, 1],
      ['2_3', 'PENDING', 'Resources', null, 0],
      ['6', 'RUNNING', null, 'vm', 0],
    ]);
    expect(byId(jobs, '6').partition).toBe('high');
  });

  it('cancelled, killed (-9) and finished jobs with their exit status and signal', () => {
    const jobs = parseSqueueJson(fixture('squeue-cancelled-failed.json'));
    // 7_0: scancel → TERM, which the job trapped and exited 143 from.
    expect(byId(jobs, '7_0')).toMatchObject({ state: 'CANCELLED', exit: { code: 143, signal: 0 } });
    // 7_1: kill -9 of the batch shell → FAILED, signal 9 (Slurm says Reason=JobLaunchFailure).
    expect(byId(jobs, '7_1')).toMatchObject({ state: 'FAILED', exit: { code: 0, signal: 9 }, reason: 'JobLaunchFailure', jobId: 7 });
    expect(byId(jobs, '2_0')).toMatchObject({ state: 'COMPLETED', restarts: 1, exit: { code: 0, signal: 0 } });
    expect(byId(jobs, '8')).toMatchObject({ state: 'RUNNING', comment: 'ablate:tl:9' });
  });

  it('reads the 23.x shapes too (state arrays, {set, number} numbers, structured exit codes)', () => {
    const doc = {
      jobs: [
        {
          job_id: 41, array_job_id: { set: true, number: 40 }, array_task_id: { set: true, number: 1 }, job_state: ['PENDING', 'REQUEUED'],
          nodes: '', state_reason: 'BeginTime', comment: 'ablate:v1:s:a,b', restart_cnt: 2, partition: 'gpu',
          exit_code: { status: ['SIGNALED'], return_code: { set: true, number: 0 }, signal: { id: { set: true, number: 10 }, name: 'USR1' } },
        },
        { job_id: 40, array_job_id: { set: true, number: 40 }, array_task_id: { set: false, number: 0 }, array_task_string: '2-3', job_state: ['PENDING'] },
      ],
    };
    expect(parseSqueueJson(JSON.stringify(doc)).map((j) => [j.slurmId, j.state, j.restarts, j.exit.signal])).toEqual([
      ['40_1', 'PENDING', 2, 10],
      ['40_2', 'PENDING', 0, 0],
      ['40_3', 'PENDING', 0, 0],
    ]);
  });

  it('says so when the output is not squeue JSON', () => {
    expect(() => parseSqueueJson('squeue: error: slurm_load_jobs error: Unable to contact slurm controller')).toThrow('not JSON');
    expect(() => parseSqueueJson('{"meta":{}}')).toThrow('no "jobs" array');
    expect(squeueErrors('{"errors":[{"error":"x","description":"controller down"}],"jobs":[]}')).toEqual(['controller down']);
  });
});
