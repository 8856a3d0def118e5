/**
 * Job history from accounting, for clusters that have it (slurmdbd): `sacct -D -X --parsable2`
 * lists every attempt of a job — a REQUEUED row per requeue (manual or preemption), then the last
 * attempt's state — and keeps finished jobs after squeue/scontrol forgot them (MinJobAge).
 * The test cluster runs without accounting by default (see scontrol.ts); `ACCOUNTING=1
 * scripts/slurm-cluster.sh start` adds it, and test/fixtures/slurm/sacct-D-parsable2.txt was
 * captured there (Slurm 22.05.8).
 *
 * Facts this relies on: the job's Comment is empty in sacct unless slurm.conf says
 * `AccountingStoreFlags=job_comment` (the script sets it); sacct has no Restarts field, so an
 * attempt's number is its row's position among the job's rows; a cancelled job's state reads
 * "CANCELLED by <uid>"; without accounting sacct exits 1 saying "accounting storage is disabled".
 * --parsable2 separates fields with '|': Comment goes last so a '|' inside it stays in it.
 */
import { UserError } from '../../../../contract/errors';
import type { Shell } from './shell';
import type { SlurmJob } from './squeue';

const FIELDS = ['JobID', 'JobIDRaw', 'State', 'ExitCode', 'NodeList', 'Reason', 'Partition', 'Comment'] as const;

/** One attempt of one job or array task, as accounting recorded it. */
export interface SacctAttempt extends SlurmJob {
  /** 0 for the first run of the job, then 1, 2, … (equals SLURM_RESTART_COUNT of that attempt). */
  readonly attempt: number;
}

/** `sacct` for the given jobs (array ids cover all their tasks), every attempt, allocations only. */
export function sacctArgv(jobIds: readonly (string | number)[]): string[] {
  if (!jobIds.length) throw new Error('sacct: no job ids');
  return ['sacct', '-D', '-X', '--noheader', '--parsable2', `--format=${FIELDS.join(',')}`, `--jobs=${jobIds.join(',')}`];
}

const orNull = (s: string | undefined): string | null => (s && s !== 'None' && s !== '(null)' && s !== 'None assigned' ? s : null);

/** Parses `sacct -D -X --noheader --parsable2 --format=JobID,JobIDRaw,State,ExitCode,NodeList,Reason,Partition,Comment`. */
export function parseSacct(text: string): SacctAttempt[] {
  const seen = new Map<string, number>();
  const out: SacctAttempt[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    const f = raw.split('|');
    if (f.length < FIELDS.length) throw new Error(`sacct: expected ${FIELDS.length} '|'-separated fields, got ${JSON.stringify(raw.slice(0, 120))}`);
    const [jobIdField, rawId, state, exitCode, nodes, reason, partition] = f;
    const comment = f.slice(FIELDS.length - 1).join('|');
    // JobID is 45_2 for an array task, 45 for a plain job; a pending array remainder reads 45_[2-3].
    const m = /^(\d+)(?:_(\d+))?$/.exec(jobIdField);
    if (!m) continue; // 45_[2-3%1]: never ran, so no attempt to report
    const arrayTaskId = m[2] === undefined ? null : Number(m[2]);
    const slurmId = jobIdField;
    const attempt = seen.get(slurmId) ?? 0;
    seen.set(slurmId, attempt + 1);
    const [code, signal] = exitCode.split(':').map((x) => Number(x) || 0);
    out.push({
      jobId: Number(rawId) || Number(m[1]),
      arrayJobId: arrayTaskId === null ? null : Number(m[1]),
      arrayTaskId,
      slurmId,
      state: state.split(' ')[0], // "CANCELLED by 0"
      node: orNull(nodes),
      reason: orNull(reason),
      comment,
      restarts: attempt,
      exit: { code, signal },
      partition,
      attempt,
    });
  }
  return out;
}

/** Every recorded attempt of the given jobs; null when the cluster has no accounting (use scontrol.ts). */
export async function sacctAttempts(shell: Shell, jobIds: readonly (string | number)[]): Promise<SacctAttempt[] | null> {
  const r = await shell.run(sacctArgv(jobIds), { timeoutMs: 30_000 });
  if (r.code !== 0) {
    if (/accounting storage is disabled/i.test(r.stderr)) return null;
    throw new UserError(`sacct failed on ${shell.where}: ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
  }
  return parseSacct(r.stdout);
}
