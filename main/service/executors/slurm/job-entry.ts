/**
 * The run host inside a Slurm job: the batch script (sbatch.ts's jobScript) execs
 *   node --import <job-signals.mjs> --import <tsx> job-entry.ts --run-dir <root>/runs/<key> --events <root>/runs/<key>/events/<attempt>.jsonl
 * (`job-entry.ts --version` prints JOB_HOST_VERSION as one JSON line: the desktop's queue-time check.)
 * It reads the run's job.json, resumes from the newest checkpoint an earlier attempt recorded,
 * forks the unchanged run process (run-host.ts's forkSpawner) and appends every protocol message to
 * this attempt's events file (events-file.ts's lines). Signals:
 *   USR1 (sbatch --signal=B:USR1@N: time limit or preemption near) → stop → the run checkpoints and
 *        says 'stopped' → `scontrol requeue $SLURM_JOB_ID` → Slurm starts the job again later as
 *        a new attempt (SLURM_RESTART_COUNT + 1), which resumes from that checkpoint.
 *   TERM (scancel, preemption without the user signal) → stop → checkpoint → exit; no requeue.
 * Exit status: 0 for done or stopped, 1 for a failure (Slurm then shows FAILED).
 *
 * Environment: ABLATE_RUN_PROCESS replaces the run-process entry (tests use the toy one);
 * SLURM_* as Slurm sets them (absent when run by hand: no requeue then, only the log line).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunJob, RunToParent } from '../../../../contract/run-protocol';
import { forkSpawner, type RunExit, type RunProcess } from '../../run-host';
import { EventsWriter, HOST_SIGNALS, JOB_HOST_VERSION, countLines, findResumePoint, takeEarlySignals, type HostSignal } from './job-host';

const TERMINAL = new Set<RunToParent['type']>(['done', 'failed', 'stopped']);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'run-dir': { type: 'string' }, events: { type: 'string' }, version: { type: 'boolean' } } });
  if (values.version) {
    // The desktop's queue-time check (a checkout on a cluster reached over ssh): what this one speaks.
    process.stdout.write(`${JSON.stringify(JOB_HOST_VERSION)}\n`);
    return 0;
  }
  const runDir = values['run-dir'];
  const eventsPath = values.events;
  if (!runDir || !eventsPath) {
    process.stderr.write('usage: job-entry.ts --run-dir DIR --events FILE.jsonl\n');
    return 2;
  }

  // Signals may come at once (a requeued job whose remaining time is under the --signal lead gets
  // USR1 seconds after it starts): note them until the run process exists. Those that came while
  // tsx still loaded this file were noted by job-signals.mjs and are taken over here.
  let proc: RunProcess | null = null;
  let stopWanted = false;
  let stopSent = false;
  let requeue = false;
  let writer: EventsWriter | null = null;
  const unwritten: string[] = [];
  const stop = (why: string) => {
    if (stopSent) return;
    stopWanted = true;
    const text = `${why}: stopping after the current step (the run checkpoints first)`;
    if (writer) writer.write({ type: 'log', level: 'warn', text });
    else unwritten.push(text);
    if (proc) {
      stopSent = true;
      proc.send({ type: 'stop' });
    }
  };
  const onSignal: Record<HostSignal, () => void> = {
    SIGUSR1: () => {
      requeue = true;
      stop('SIGUSR1 (time limit or preemption near)');
    },
    SIGTERM: () => stop('SIGTERM (cancelled or preempted)'),
    SIGINT: () => stop('SIGINT'),
  };
  for (const s of HOST_SIGNALS) process.on(s, onSignal[s]);
  for (const s of takeEarlySignals()) onSignal[s]();

  const job0 = JSON.parse(readFileSync(join(runDir, 'job.json'), 'utf8')) as RunJob;
  const checkpointDir = join(runDir, 'checkpoints');
  mkdirSync(checkpointDir, { recursive: true });
  mkdirSync(dirname(eventsPath), { recursive: true });
  const resume = (await findResumePoint(dirname(eventsPath), eventsPath)) ?? job0.resumeFrom ?? null;
  const job: RunJob = { ...job0, checkpointDir, ...(resume ? { resumeFrom: resume } : {}) };
  if (!resume) delete (job as { resumeFrom?: unknown }).resumeFrom;

  writer = new EventsWriter(eventsPath, await countLines(eventsPath));
  const env = process.env;
  const where = env.SLURM_JOB_ID
    ? `job ${env.SLURM_ARRAY_JOB_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : env.SLURM_JOB_ID} attempt r${env.SLURM_RESTART_COUNT ?? 0} on ${hostname()}`
    : `outside Slurm on ${hostname()}`;
  writer.write({ type: 'log', level: 'info', text: `${where}: ${resume ? `resuming from step ${resume.step} (${resume.path})` : 'starting at step 0'}` });
  for (const text of unwritten.splice(0)) writer.write({ type: 'log', level: 'warn', text });

  let terminal: RunToParent | null = null;
  let lastStep = resume?.step ?? 0;
  const spawner = forkSpawner(env.ABLATE_RUN_PROCESS ? { entry: env.ABLATE_RUN_PROCESS } : {});
  proc = spawner(job);
  const exited = new Promise<RunExit>((resolve) => proc!.onExit(resolve));
  proc.onMessage((m) => {
    writer!.write(m);
    if ('step' in m && typeof m.step === 'number') lastStep = m.step;
    if (TERMINAL.has(m.type)) terminal = m;
  });
  proc.onOutput((_stream, line) => process.stderr.write(`[run ${proc!.pid}] ${line}\n`));
  proc.send({ type: 'start', job });
  if (stopWanted) {
    stopSent = true;
    proc.send({ type: 'stop' });
  }

  const exit = await exited;
  const end = terminal as RunToParent | null;
  if (!end) {
    // Slurm's TERM (scancel, `scontrol requeue`, preemption without the user signal) reaches every
    // process of the job, the run process too, which does not wait for its parent's stop: say so.
    const byTerm = exit.signal === 'SIGTERM' && stopWanted && !requeue;
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    writer.write({ type: 'failed', kind: 'error', reason: byTerm ? `run process killed by Slurm's SIGTERM before it could checkpoint (${how})` : `run process ended without a result (${how})`, step: lastStep });
  } else if (end.type === 'stopped' && requeue) {
    if (env.SLURM_JOB_ID) {
      // Requeue this task only, named <array>_<task>: the last task of an array runs under the
      // array's own id, and `scontrol requeue <that id>` would requeue every task of the array.
      const self = env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : env.SLURM_JOB_ID;
      const r = spawnSync('scontrol', ['requeue', self], { encoding: 'utf8', timeout: 30_000 });
      const said = (r.stderr || r.error?.message || '').trim().replace(/\s*\n\s*/g, '; ');
      writer.write({ type: 'log', level: r.status === 0 ? 'info' : 'warn', text: r.status === 0 ? `requeued job ${self} at step ${end.step}` : `scontrol requeue ${self} failed: ${said || `exit status ${r.status}`}` });
    } else {
      writer.write({ type: 'log', level: 'warn', text: `stopped at step ${end.step}; not under Slurm, so not requeued` });
    }
  }
  writer.close();
  return end && (end.type === 'done' || end.type === 'stopped') ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`job-entry: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
