/**
 * Submission of a grid to Slurm: one `sbatch` array per grid (task i runs run i), its argv, its job
 * script, and the reading of sbatch's answer. Pure functions plus `submitArray`, which runs sbatch
 * through a Shell with the script on stdin (so nothing is written on the cluster but the run folders).
 *
 * Cluster root layout (a filesystem every node and the submitting side share):
 *   <root>/runs/<runKey>/job.json                  the RunJob (checkpointDir = …/checkpoints)
 *   <root>/runs/<runKey>/checkpoints/              written by the run process
 *   <root>/runs/<runKey>/events/<attempt>.jsonl    one append-only events file per attempt
 *   <root>/submissions/<submissionId>/%A_%a.out    Slurm's stdout+stderr of each task (append mode)
 * with <attempt> = <submissionId>.<arrayJobId>_<task>.r<SLURM_RESTART_COUNT>: a requeue (manual,
 * preemption, time limit) is a new attempt of the same job; a retry is a new submission.
 */
import { posix } from 'node:path';
import { UserError } from '../../../../contract/errors';
import { shellQuote, type Shell } from './shell';

/** Run keys and submission ids name folders and travel in --comment: a safe, separator-free charset. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Slurm 22.05 rejects a --comment over 1024 characters ("Pathname … too long"). */
export const MAX_COMMENT = 1024;
export const COMMENT_PREFIX = 'ablate:v1:';

export interface RunPaths {
  readonly dir: string;
  readonly job: string;
  readonly checkpoints: string;
  readonly events: string;
}

export function runPaths(clusterRoot: string, runKey: string): RunPaths {
  checkKey(runKey, 'run key');
  const dir = posix.join(clusterRoot, 'runs', runKey);
  return { dir, job: posix.join(dir, 'job.json'), checkpoints: posix.join(dir, 'checkpoints'), events: posix.join(dir, 'events') };
}

/** The events file name of one attempt (what the job script computes from Slurm's variables). */
export function attemptFileName(a: { submissionId: string; arrayJobId: number; taskId: number; restarts: number }): string {
  return `${a.submissionId}.${a.arrayJobId}_${a.taskId}.r${a.restarts}.jsonl`;
}

/** Parses an events file name back into its attempt; null for any other file. */
export function parseAttemptFileName(name: string): { submissionId: string; arrayJobId: number; taskId: number; restarts: number } | null {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\.(\d+)_(\d+)\.r(\d+)\.jsonl$/.exec(name);
  return m ? { submissionId: m[1], arrayJobId: Number(m[2]), taskId: Number(m[3]), restarts: Number(m[4]) } : null;
}

function checkKey(key: string, what: string): void {
  if (!KEY.test(key)) throw new UserError(`invalid ${what} ${JSON.stringify(key)}: use letters, digits, '.', '_' and '-' (at most 64)`);
}

export interface ArraySubmission {
  /** Absolute path of the cluster root as the compute nodes see it. */
  readonly clusterRoot: string;
  /** Unique per submission (a retry is a new one): tags the jobs, names the attempt files. */
  readonly submissionId: string;
  /** Task i of the array runs runKeys[i] (its folder under <root>/runs/). */
  readonly runKeys: readonly string[];
  /**
   * The command the job execs to host the run, e.g. ['node', '--import', 'tsx', '<project>/main/service/executors/slurm/job-entry.ts'];
   * the script appends `--run-dir DIR --events FILE`.
   */
  readonly hostCommand: readonly string[];
  /** How many tasks may run at once (--array=…%P); all when absent. */
  readonly maxParallel?: number;
  readonly partition?: string;
  /** e.g. gpu:1 */
  readonly gres?: string;
  /** Slurm time, e.g. 4:00:00 */
  readonly time?: string;
  readonly cpusPerTask?: number;
  /** Seconds before the time limit (or on preemption) the host gets USR1 to checkpoint (default 120). */
  readonly signalSeconds?: number;
  /** More sbatch options, each one word starting with '-' (e.g. ['--qos=high', '--account=lab']). */
  readonly extraArgs?: readonly string[];
}

/** The job's --comment: the submission id, and the run keys in task order while they fit. */
export function submissionComment(s: Pick<ArraySubmission, 'submissionId' | 'runKeys'>): string {
  const full = `${COMMENT_PREFIX}${s.submissionId}:${s.runKeys.join(',')}`;
  return full.length <= MAX_COMMENT ? full : `${COMMENT_PREFIX}${s.submissionId}`;
}

/** Reads a job's comment: null for a job this workbench did not submit. `runKeys` is null when they did not fit. */
export function parseSubmissionComment(comment: string | null | undefined): { submissionId: string; runKeys: string[] | null } | null {
  if (!comment || !comment.startsWith(COMMENT_PREFIX)) return null;
  const [submissionId, keys] = comment.slice(COMMENT_PREFIX.length).split(':', 2);
  if (!submissionId || !KEY.test(submissionId)) return null;
  return { submissionId, runKeys: keys ? keys.split(',') : null };
}

function validate(s: ArraySubmission): void {
  checkKey(s.submissionId, 'submission id');
  if (!s.runKeys.length) throw new UserError('nothing to submit: the grid has no runs');
  s.runKeys.forEach((k) => checkKey(k, 'run key'));
  if (new Set(s.runKeys).size !== s.runKeys.length) throw new UserError('a run appears twice in one submission');
  if (!posix.isAbsolute(s.clusterRoot)) throw new UserError(`the cluster root must be an absolute path, got ${JSON.stringify(s.clusterRoot)}`);
  // Slurm expands %-patterns in --output; a newline or quote would not survive the script either.
  if (/[%\n\0]/.test(s.clusterRoot)) throw new UserError(`the cluster root may not contain '%' or control characters: ${JSON.stringify(s.clusterRoot)}`);
  if (!s.hostCommand.length) throw new Error('sbatch: empty host command');
  if (s.maxParallel !== undefined && !(Number.isInteger(s.maxParallel) && s.maxParallel >= 1)) throw new UserError(`--max-parallel must be a positive integer, got ${s.maxParallel}`);
  if (s.signalSeconds !== undefined && !(Number.isInteger(s.signalSeconds) && s.signalSeconds >= 1 && s.signalSeconds <= 65535)) throw new UserError(`the checkpoint signal lead must be 1–65535 s, got ${s.signalSeconds}`);
  for (const a of s.extraArgs ?? []) {
    if (!a.startsWith('-')) throw new UserError(`--sbatch-arg must be one option starting with '-', got ${JSON.stringify(a)}`);
    // These are the executor's own: a second value would break how runs are found and resumed.
    if (/^--(array|parsable|comment|output|error|open-mode|signal|requeue|no-requeue|wrap)\b/.test(a)) throw new UserError(`--sbatch-arg ${a} is set by the workbench itself`);
  }
}

/** The sbatch argv (the job script goes on stdin). */
export function sbatchArgv(s: ArraySubmission): string[] {
  validate(s);
  const last = s.runKeys.length - 1;
  const argv = [
    'sbatch',
    '--parsable',
    `--array=0-${last}${s.maxParallel ? `%${s.maxParallel}` : ''}`,
    '--requeue',
    `--signal=B:USR1@${s.signalSeconds ?? 120}`,
    '--open-mode=append',
    `--comment=${submissionComment(s)}`,
    `--job-name=ablate-${s.submissionId}`,
    `--output=${posix.join(submissionLogDir(s), '%A_%a.out')}`,
  ];
  if (s.partition) argv.push(`--partition=${s.partition}`);
  if (s.gres) argv.push(`--gres=${s.gres}`);
  if (s.time) argv.push(`--time=${s.time}`);
  if (s.cpusPerTask) argv.push(`--cpus-per-task=${s.cpusPerTask}`);
  argv.push(...(s.extraArgs ?? []));
  return argv;
}

/** The batch script: picks this task's run, names this attempt's events file, and execs the host. */
export function jobScript(s: ArraySubmission): string {
  validate(s);
  const runsDir = posix.join(s.clusterRoot, 'runs');
  return [
    '#!/bin/bash',
    `# ablate submission ${s.submissionId}: ${s.runKeys.length} run(s), one array task each.`,
    '# Generated by main/service/executors/slurm/sbatch.ts; Slurm keeps a copy (scontrol write batch_script).',
    'set -eu',
    `runs=(${s.runKeys.join(' ')})`,
    'task=${SLURM_ARRAY_TASK_ID:?not started as an array task}',
    'run=${runs[$task]:?no run for this array task}',
    `dir=${shellQuote(runsDir)}/$run`,
    `events="$dir/events/${s.submissionId}.\${SLURM_ARRAY_JOB_ID}_$task.r\${SLURM_RESTART_COUNT:-0}.jsonl"`,
    'mkdir -p "$dir/events" "$dir/checkpoints"',
    'cd "$dir"',
    'echo "ablate: run $run attempt ${SLURM_RESTART_COUNT:-0} of job ${SLURM_ARRAY_JOB_ID}_$task on $(hostname) at $(date -u +%FT%TZ)"',
    '# exec: this shell becomes the run host, so USR1 (checkpoint, then requeue) and TERM reach it,',
    "# and no grandchild survives a kill of the job (without cgroups Slurm only kills what it knows).",
    `exec ${s.hostCommand.map(shellQuote).join(' ')} --run-dir "$dir" --events "$events"`,
    '',
  ].join('\n');
}

/** Reads `sbatch --parsable` output: "1234" or "1234;cluster". */
export function parseParsable(stdout: string): { jobId: number; cluster: string | null } {
  const line = stdout.trim().split('\n').pop() ?? '';
  const m = /^(\d+)(?:;(\S+))?$/.exec(line.trim());
  if (!m) throw new Error(`sbatch --parsable printed ${JSON.stringify(stdout.trim().slice(0, 200))}, not a job id`);
  return { jobId: Number(m[1]), cluster: m[2] ?? null };
}

/** The one line that says why sbatch refused a job, in sbatch's own words. */
export function sbatchRejection(stderr: string, code: number): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const failed = lines.find((l) => /Batch job submission failed:/.test(l));
  const reason = failed
    ? failed.replace(/^.*Batch job submission failed:\s*/, '')
    : (lines.filter((l) => /^sbatch: error:/.test(l)).pop()?.replace(/^sbatch: error:\s*/, '') ?? lines.pop() ?? `exit status ${code}`);
  // sbatch often names the culprit on an earlier line ("invalid partition specified: nosuch").
  const detail = lines.find((l) => l !== failed && /^sbatch: error: /.test(l) && !/Batch job submission failed/.test(l))?.replace(/^sbatch: error:\s*/, '');
  return detail && !reason.includes(detail) ? `${reason} (${detail})` : reason;
}

/** Where Slurm writes the tasks' stdout/stderr; it must exist before sbatch (Slurm does not create it). */
export function submissionLogDir(s: Pick<ArraySubmission, 'clusterRoot' | 'submissionId'>): string {
  return posix.join(s.clusterRoot, 'submissions', s.submissionId);
}

/**
 * Submits the grid as one array; resolves to the array's job id. Creates the submission's log
 * folder first (through the same shell), so an unreachable cluster root fails here, in one line.
 */
export async function submitArray(shell: Shell, s: ArraySubmission): Promise<{ jobId: number; cluster: string | null }> {
  const argv = sbatchArgv(s);
  const mk = await shell.run(['mkdir', '-p', '--', submissionLogDir(s)], { timeoutMs: 30_000 });
  if (mk.code !== 0) throw new UserError(`the cluster root ${s.clusterRoot} is not writable on ${shell.where}: ${mk.stderr.trim().split('\n').pop() || `mkdir exit status ${mk.code}`}`);
  const r = await shell.run(argv, { input: jobScript(s), timeoutMs: 60_000 });
  if (r.code !== 0) throw new UserError(`sbatch rejected the job on ${shell.where}: ${sbatchRejection(r.stderr, r.code)}`);
  return parseParsable(r.stdout);
}
