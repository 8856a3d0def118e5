/**
 * The accounting-off source of job facts: `scontrol show job -o` (one line per job, `Key=Value`
 * words). On the test cluster accounting is off (no MariaDB + slurmdbd: 193 MB, two more daemons
 * on a 2-core machine), so `sacct` answers "Slurm accounting storage is disabled"; squeue --json
 * and scontrol see the same jobs, finished ones for MinJobAge (3600 s in scripts/slurm-cluster.sh).
 * scontrol is used where squeue is not enough: one job by id (its Restarts, ExitCode, Reason), and
 * the actions — requeue, release a requeued job now (StartTime=now), and scancel's sibling here.
 *
 * Slurm 22.05's scontrol has no --json. Values are read up to the next ` Key=`; a value with a
 * space followed by `word=` would be split (our --comment has neither).
 */
import { UserError } from '../../../../contract/errors';
import { expandArrayTasks, type SlurmJob } from './squeue';
import type { Shell } from './shell';

/** `scontrol show job -o [id]`: every job the controller holds, or one job / array. */
export function scontrolShowJobArgv(slurmId?: string | number): string[] {
  return ['scontrol', 'show', 'job', '-o', ...(slurmId === undefined ? [] : [String(slurmId)])];
}

/** Splits one `-o` line into its fields (later duplicates win; none occur in 22.05). */
export function parseKeyValueLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const key = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=/g;
  const marks: { name: string; start: number; valueStart: number }[] = [];
  let m: RegExpExecArray | null;
  while ((m = key.exec(line))) marks.push({ name: m[1], start: m.index, valueStart: m.index + m[0].length });
  marks.forEach((k, i) => {
    const end = i + 1 < marks.length ? marks[i + 1].start : line.length;
    out[k.name] = line.slice(k.valueStart, end).trim();
  });
  return out;
}

const orNull = (s: string | undefined): string | null => (s && s !== 'None' && s !== '(null)' ? s : null);

function int(s: string | undefined): number | null {
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : null;
}

/** Parses `scontrol show job -o` output into one entry per job or array task. */
export function parseScontrolShowJob(text: string): SlurmJob[] {
  const jobs: SlurmJob[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('JobId=')) continue; // "No jobs in the system", blank lines
    const f = parseKeyValueLine(line);
    const jobId = int(f.JobId);
    if (jobId === null) continue;
    const arrayJobId = int(f.ArrayJobId);
    const [code, signal] = (f.ExitCode ?? '0:0').split(':').map((x) => Number(x) || 0);
    const base = {
      jobId,
      arrayJobId,
      state: f.JobState ?? 'UNKNOWN',
      node: orNull(f.NodeList),
      reason: orNull(f.Reason),
      comment: orNull(f.Comment) ?? '',
      restarts: int(f.Restarts) ?? 0,
      exit: { code, signal },
      partition: f.Partition ?? '',
    };
    if (arrayJobId === null) {
      jobs.push({ ...base, arrayTaskId: null, slurmId: String(jobId) });
      continue;
    }
    // A pending array remainder says ArrayTaskId=1-4%1: one entry per task, as squeue.ts does.
    for (const t of expandArrayTasks(f.ArrayTaskId ?? '')) jobs.push({ ...base, arrayTaskId: t, slurmId: `${arrayJobId}_${t}` });
  }
  return jobs;
}

/** One job's (or array's) current facts; [] when the controller no longer knows it (aged out or never existed). */
export async function showJob(shell: Shell, slurmId: string | number): Promise<SlurmJob[]> {
  const r = await shell.run(scontrolShowJobArgv(slurmId), { timeoutMs: 15_000 });
  if (r.code !== 0) {
    if (/Invalid job id specified/i.test(r.stderr)) return [];
    throw new UserError(`scontrol show job ${slurmId} failed on ${shell.where}: ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
  }
  return parseScontrolShowJob(r.stdout);
}

/**
 * `scontrol requeue ID`: the job goes back to PENDING with its Restarts + 1, eligible ~2 min later
 * (EligibleTime). Its Reason says BeginTime only until the next scheduler pass, which may replace
 * it (JobArrayTaskLimit, Resources) while the delay stands: read the restart count, not the reason.
 */
export function requeueArgv(slurmId: string | number): string[] {
  return ['scontrol', 'requeue', String(slurmId)];
}

/** Makes a requeued job eligible now; only sticks once squeue shows it PENDING (requeue is asynchronous). */
export function startNowArgv(slurmId: string | number): string[] {
  return ['scontrol', 'update', `JobId=${slurmId}`, 'StartTime=now'];
}

/** `scancel ID` (an array id cancels all its tasks; `<array>_<task>` one task). */
export function scancelArgv(slurmId: string | number): string[] {
  return ['scancel', String(slurmId)];
}
