/**
 * Live job state from one `squeue --json` per poll. Written against Slurm 22.05's output (OpenAPI
 * v0.0.38: `job_state` a string, `exit_code` a raw wait status, `array_task_id` a number or null),
 * captured from a real cluster in test/fixtures/slurm/; the 23.x shapes (`job_state` an array,
 * numbers as {set, infinite, number}) are read too.
 *
 * Facts of 22.05 this relies on (seen on the test cluster):
 *  - `squeue --json` ignores filters (-j, -u, -t): it always lists every job the controller still
 *    holds, finished ones included until MinJobAge. Select ours by --comment.
 *  - The pending rest of a throttled array is one record (`array_task_id` null, `array_task_string`
 *    "2-3%2") whose job_id is the array's own id; it is expanded here to one entry per task.
 *  - A task's job_id is its own; the array's first id is reused by the last task to be split off.
 */
import { UserError } from '../../../../contract/errors';
import type { Shell } from './shell';

export interface SlurmJob {
  /** This task's own job id (for a not-yet-split pending task: the array's id). */
  readonly jobId: number;
  /** The array's id, or null for a plain job. */
  readonly arrayJobId: number | null;
  readonly arrayTaskId: number | null;
  /** How scontrol/scancel name it: `<arrayJobId>_<task>` for an array task, else the job id. */
  readonly slurmId: string;
  /** Slurm's base state: PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, CANCELLED, TIMEOUT, PREEMPTED, NODE_FAIL, OUT_OF_MEMORY, … */
  readonly state: string;
  /** Node list, or null while not placed. */
  readonly node: string | null;
  /** Why it waits or ended (BeginTime after a requeue, Resources, JobArrayTaskLimit, …); null for None. */
  readonly reason: string | null;
  readonly comment: string;
  /** Times the job was requeued (SLURM_RESTART_COUNT of its current attempt). */
  readonly restarts: number;
  /** How the batch script ended (meaningful once finished): exit status and killing signal (0 when none). */
  readonly exit: { readonly code: number; readonly signal: number };
  readonly partition: string;
}

/** States after which a job never runs again (unless requeued, which makes it PENDING). */
export const FINISHED_STATES: ReadonlySet<string> = new Set([
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'PREEMPTED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE',
]);

/** The argv of the one squeue call per poll. */
export function squeueArgv(): string[] {
  return ['squeue', '--json'];
}

/** "2-3%2", "1,3,5-7", "0-9:2" → the task ids (the %throttle is dropped). */
export function expandArrayTasks(spec: string): number[] {
  const body = spec.split('%')[0].trim();
  if (!body) return [];
  const out: number[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) throw new Error(`unreadable array task list ${JSON.stringify(spec)}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (step < 1 || to < from || to - from > 1_000_000) throw new Error(`unreadable array task list ${JSON.stringify(spec)}`);
    for (let t = from; t <= to; t += step) out.push(t);
  }
  return out;
}

/** A 22.05 number, or a 23.x {set, infinite, number}; null when unset. */
function num(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'number' in v) {
    const o = v as { set?: boolean; infinite?: boolean; number?: number };
    return o.set === false || o.infinite ? null : (o.number ?? null);
  }
  return null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A raw wait status (22.05) or 23.x's {return_code, signal} → exit code and signal. */
function exitOf(v: unknown): { code: number; signal: number } {
  const raw = num(v);
  if (raw !== null) return { code: (raw >> 8) & 0xff, signal: raw & 0x7f };
  if (v && typeof v === 'object') {
    const o = v as { return_code?: unknown; signal?: { id?: unknown } };
    return { code: num(o.return_code) ?? 0, signal: num(o.signal?.id) ?? 0 };
  }
  return { code: 0, signal: 0 };
}

function stateOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return 'UNKNOWN';
}

const orNull = (s: string): string | null => (s && s !== 'None' && s !== '(null)' ? s : null);

interface RawJob {
  job_id?: unknown;
  array_job_id?: unknown;
  array_task_id?: unknown;
  array_task_string?: unknown;
  job_state?: unknown;
  nodes?: unknown;
  state_reason?: unknown;
  comment?: unknown;
  restart_cnt?: unknown;
  exit_code?: unknown;
  partition?: unknown;
}

/** One raw squeue record → its job(s): a pending array remainder becomes one entry per task. */
function fromRaw(j: RawJob): SlurmJob[] {
  const jobId = num(j.job_id);
  if (jobId === null) return [];
  const arrayJobId = num(j.array_job_id) || null; // 0 = not an array
  const base = {
    jobId,
    arrayJobId,
    state: stateOf(j.job_state),
    node: orNull(str(j.nodes)),
    reason: orNull(str(j.state_reason)),
    comment: str(j.comment),
    restarts: num(j.restart_cnt) ?? 0,
    exit: exitOf(j.exit_code),
    partition: str(j.partition),
  };
  if (arrayJobId === null) return [{ ...base, arrayTaskId: null, slurmId: String(jobId) }];
  const task = num(j.array_task_id);
  const tasks = task !== null ? [task] : expandArrayTasks(str(j.array_task_string));
  return tasks.map((t) => ({ ...base, arrayTaskId: t, slurmId: `${arrayJobId}_${t}` }));
}

/** Parses `squeue --json` output into one entry per job or array task. */
export function parseSqueueJson(text: string): SlurmJob[] {
  let doc: { jobs?: unknown; errors?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new Error(`squeue --json printed something that is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
  if (!doc || !Array.isArray(doc.jobs)) throw new Error('squeue --json: no "jobs" array in its output');
  return (doc.jobs as RawJob[]).flatMap(fromRaw);
}

/** Errors squeue reported inside its JSON (it may exit 0 with them). */
export function squeueErrors(text: string): string[] {
  try {
    const doc = JSON.parse(text) as { errors?: { error?: string; description?: string }[] };
    return (doc.errors ?? []).map((e) => e.description || e.error || JSON.stringify(e));
  } catch {
    return [];
  }
}

/** One poll: every job the controller holds (callers keep those whose --comment is theirs). */
export async function pollSqueue(shell: Shell): Promise<SlurmJob[]> {
  const r = await shell.run(squeueArgv(), { timeoutMs: 15_000 });
  if (r.code !== 0) throw new UserError(`squeue failed on ${shell.where}: ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
  return parseSqueueJson(r.stdout);
}
