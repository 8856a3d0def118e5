/**
 * The Slurm executor: a RunSpawner whose RunProcess is a facade over one Slurm job, so the
 * Scheduler, the RunRecorder, cancel, retry and crash recovery work for cluster runs unchanged.
 *
 *   send(start)  → job.json under <root>/runs/<key>/ and `sbatch` (an array of one, sbatch.ts), or,
 *                  after a desktop restart, re-attach to the run's job while Slurm still holds it
 *   polls        → one `squeue --json` per interval for all runs (SlurmExecutor.squeue), then each
 *                  attempt's events file from its saved offset (ingest.ts: rows + offset in one
 *                  transaction); ready/progress/metrics go on to the recorder (live UI)
 *   job finished → the newest attempt's done/failed/stopped goes to the scheduler; CANCELLED
 *                  (scancel from outside) becomes a cancel; no result → an exit the scheduler
 *                  classifies like a dead local process (a job aged out of squeue: its final
 *                  state from accounting, `sacct`, where the cluster has it)
 *   send(stop)   → `scancel` (cancel); while the workbench closes, detach instead: the job keeps
 *                  running on the cluster and the next start re-attaches
 *   kill()       → `scancel --signal=KILL`
 * Requeues (manual, preemption, time limit: USR1 → checkpoint → requeue, job-host/job-entry.ts)
 * stay inside one facade: the job goes PENDING, a new attempt file appears, ingest goes on.
 * Runs without a run_executors row are handed to the local spawner.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Store, RunExecutorRow } from '../../../../db/store';
import { WORKBENCH_SBATCH_OPTIONS, type SlurmOptions } from '../../../../contract/rows';
import type { MetricPoint, ParentToRun, RunJob, RunToParent } from '../../../../contract/run-protocol';
import { UserError } from '../../../../contract/errors';
import type { RunExit, RunProcess, RunSpawner } from '../../run-host';
import { ClusterAccess, accessFor, defaultSshShell, parseSshTarget, type SshShellFactory } from './access';
import { ClusterFsError, type ClusterFs } from './cluster-fs';
import type { EventsSource } from './events-source';
import { ingestFile, lastTerminal, listAttemptFiles, reingestRun, writeFinals, type IngestResult } from './ingest';
import { JOB_HOST_VERSION, PROJECT_ROOT, nodeHostCommand, type JobHostVersion } from './job-host';
import { parseAttemptFileName, parseSubmissionComment, runPaths, sbatchRejection, submitArray } from './sbatch';
import { sacctAttempts, type SacctAttempt } from './sacct';
import { scancelArgv } from './scontrol';
import { stageCorpus } from './staging';
import { checkCheckpointFraming } from '../../../../experiments/train/checkpoint-framing';
import type { Shell } from './shell';
import { FINISHED_STATES, type SlurmJob } from './squeue';

export interface SlurmExecutorOptions {
  readonly store: Store;
  /**
   * For runs without an ssh target (SlurmOptions.ssh): where sbatch/squeue/scancel run (default:
   * this machine). A run with a target reaches its login node through `sshShell(target)` for all
   * three (clients, ClusterFs, EventsSource; access.ts).
   */
  readonly shell?: Shell;
  /** Makes the shell of an ssh target (default: ssh with ControlMaster, shell.ts; tests give a stand-in). */
  readonly sshShell?: SshShellFactory;
  /**
   * Where the cluster root is written and checked: run folders, job.json, the queue-time check,
   * removal of deleted runs (default: this machine's filesystem; `shellClusterFs(shell)`: over ssh).
   */
  readonly fs?: ClusterFs;
  /**
   * Where the runs' events files are read (default: this machine's filesystem).
   * `shellEventsSource(shell)` reads them through the shell: over ssh from a desktop.
   */
  readonly events?: EventsSource;
  /** What every job execs, whatever its options say (tests); default: hostCommandFor(the run's options). */
  readonly hostCommand?: readonly string[];
  /** Milliseconds between polls (squeue + events files); default 1000. */
  readonly pollMs?: number;
  /** How long a job seen before may be missing from squeue without a result before it counts as ended (default 30 s, see GONE_GRACE_MS). */
  readonly goneGraceMs?: number;
  /** A job cancelled outside the workbench (scancel): cancel the run as a person would. */
  readonly requestCancel: (runId: number) => void;
  /** The run's cluster facts (job, node, attempt) changed: push the row to the fronts. */
  readonly runChanged?: (runId: number) => void;
  /**
   * Metric points ingest has just committed: push them to the fronts. Given, `metrics` messages
   * skip the run recorder, which would write every row a second time; absent, they go to it.
   */
  readonly metricsRecorded?: (runId: number, points: readonly MetricPoint[]) => void;
  readonly log?: (line: string) => void;
}

const FORWARDED = new Set<RunToParent['type']>(['ready', 'progress', 'metrics']);
/** A job sbatch accepted but squeue never listed (purged, or another controller): given up after this. */
const UNSEEN_GRACE_MS = 60_000;
/**
 * A job seen before and now missing from squeue, with no result in its events file, counts as
 * ended only after this long: around a requeue or preemption a job can be briefly absent or still
 * completing (up to ~15 s measured on Slurm 22.05), and ending it then would fail a run that Slurm
 * is about to restart.
 */
const GONE_GRACE_MS = 30_000;
/** Accounting is asked about one missing job at most this often. */
const SACCT_EVERY_MS = 10_000;
/**
 * Accounting says a job missing from squeue is still pending or running (slurmdbd lags the
 * controller, or the job is being requeued): believed for this long, then the run ends as it
 * would without accounting (a lost job must not hold a slot forever).
 */
const ACCOUNTING_PATIENCE_MS = 10 * 60_000;

/** sbatch options a submission of `o` adds (also what the queue-time check passes to `sbatch --test-only`). */
export function slurmOptionArgs(o: SlurmOptions): string[] {
  const argv: string[] = [];
  if (o.partition) argv.push(`--partition=${o.partition}`);
  if (o.gres) argv.push(`--gres=${o.gres}`);
  if (o.time) argv.push(`--time=${o.time}`);
  for (const a of o.sbatchArgs ?? []) {
    if (!a.startsWith('-')) throw new UserError(`--sbatch-arg must be one option starting with '-', got ${JSON.stringify(a)}`);
    if (WORKBENCH_SBATCH_OPTIONS.test(a)) throw new UserError(`--sbatch-arg ${a} is set by the workbench itself`);
    argv.push(a);
  }
  return argv;
}

/** What a job of a run queued with `o` execs: node, tsx and job-entry.ts at --cluster-node / --cluster-checkout (default: this machine's paths). */
export function hostCommandFor(o: Pick<SlurmOptions, 'clusterNode' | 'clusterCheckout'>): string[] {
  return nodeHostCommand({ node: o.clusterNode, checkout: o.clusterCheckout });
}

/** Whether a choice's job host is another checkout than this one (then it is checked at queue time). */
function hostElsewhere(o: SlurmOptions): boolean {
  return o.ssh !== undefined || o.clusterNode !== undefined || o.clusterCheckout !== undefined;
}

/** argv[1] must be an executable, the last word a file (the entry); then it prints its version. */
const HOST_CHECK = 'for a; do last=$a; done; test -x "$1" || { echo "no executable at $1" >&2; exit 3; }; test -f "$last" || { echo "no job entry at $last" >&2; exit 3; }; exec "$@" --version';

/**
 * The job host the runs would exec starts on the cluster's side of `shell` and speaks this
 * workbench's events and run protocol versions (`job-entry.ts --version`, one command). One
 * UserError line naming the flags and what differs.
 */
export async function checkJobHost(o: SlurmOptions, shell: Shell, hostCommand: readonly string[] = hostCommandFor(o)): Promise<void> {
  const where = `--cluster-node ${o.clusterNode ?? process.execPath}, --cluster-checkout ${o.clusterCheckout ?? PROJECT_ROOT}`;
  const r = await shell.run(['sh', '-c', HOST_CHECK, 'sh', ...hostCommand], { timeoutMs: 90_000 });
  if (r.code !== 0) throw new UserError(`the job host does not start on ${shell.where} (${where}): ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
  let theirs: Partial<JobHostVersion> | null = null;
  try {
    theirs = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Partial<JobHostVersion>;
  } catch {
    // Reported below.
  }
  if (!theirs || theirs.ablateJobEntry !== 1) throw new UserError(`the job host on ${shell.where} (${where}) did not say its version: got ${JSON.stringify(r.stdout.trim().slice(0, 80))}`);
  const diffs: string[] = [];
  if (theirs.events !== JOB_HOST_VERSION.events) diffs.push(`events lines v${theirs.events} there, v${JOB_HOST_VERSION.events} here`);
  if (theirs.protocol !== JOB_HOST_VERSION.protocol) diffs.push(`run protocol v${theirs.protocol} there, v${JOB_HOST_VERSION.protocol} here`);
  if (diffs.length) throw new UserError(`the job host on ${shell.where} (${where}) differs from this workbench: ${diffs.join('; ')} (bring the checkout on the cluster to this version)`);
}

/**
 * Checks a Slurm choice before anything is queued: the cluster root is an absolute folder that
 * `fs` (where the workbench writes job files and reads events: this machine, or a login node over
 * ssh) can create and write, sbatch is installed, and Slurm accepts the options (`sbatch
 * --test-only`: a bad partition, gres or time is refused now, in sbatch's words, not when the run
 * starts). Throws one UserError line naming the cause.
 */
export async function checkSlurmChoice(o: SlurmOptions, access: { readonly shell: Shell; readonly fs: ClusterFs } = accessFor(o), hostCommand: readonly string[] = hostCommandFor(o)): Promise<void> {
  const { shell, fs } = access;
  if (o.ssh !== undefined) parseSshTarget(o.ssh);
  for (const [flag, path] of [['--cluster-node', o.clusterNode], ['--cluster-checkout', o.clusterCheckout]] as const) {
    if (path !== undefined && (!posix.isAbsolute(path) || /[\n\0]/.test(path))) throw new UserError(`${flag}: expected an absolute path on the cluster, got ${JSON.stringify(path)}`);
  }
  if (!posix.isAbsolute(o.clusterRoot)) throw new UserError(`--cluster-root must be an absolute path, got ${JSON.stringify(o.clusterRoot)}`);
  if (/[%\n\0]/.test(o.clusterRoot)) throw new UserError(`--cluster-root may not contain '%' or control characters: ${JSON.stringify(o.clusterRoot)}`);
  if (o.maxParallel !== undefined && !(Number.isInteger(o.maxParallel) && o.maxParallel >= 1)) throw new UserError(`--max-parallel must be a positive integer, got ${o.maxParallel}`);
  const runs = posix.join(o.clusterRoot, 'runs');
  try {
    await fs.mkdirp(runs);
  } catch (err) {
    if (err instanceof ClusterFsError) throw new UserError(`the cluster root ${o.clusterRoot} is not reachable from ${fs.where}: ${err.detail}`);
    throw err;
  }
  if (!(await fs.writableDir(runs))) throw new UserError(`the cluster root ${o.clusterRoot} is not writable from ${fs.where} (job files, checkpoints and events are written under ${runs})`);
  const r = await shell.run(['sbatch', '--test-only', ...slurmOptionArgs(o), '--wrap=true'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new UserError(`sbatch rejected the job on ${shell.where}: ${sbatchRejection(r.stderr, r.code)}`);
  // The jobs exec node and job-entry.ts from another checkout (or over ssh): it must start and match.
  if (hostElsewhere(o)) await checkJobHost(o, shell, hostCommand);
}

/** The file name of the local copy of the checkpoint `clusterPath` on the login node `ssh`. */
export function checkpointCopyName(ssh: string, clusterPath: string): string {
  return `${createHash('sha256').update(`${ssh}\0${clusterPath}`).digest('hex').slice(0, 16)}-${posix.basename(clusterPath)}`;
}

/**
 * Why a copied checkpoint cannot be used (null: its framing holds; an ABLCKPT1 file has no checksum
 * and the inference process checks its structure): experiments/train/checkpoint-framing.ts.
 */
export function checkpointCopyProblem(bytes: Buffer): string | null {
  const framing = checkCheckpointFraming(bytes);
  if (framing.ok) return null;
  const what = { truncated: 'is truncated', magic: 'is not an ablate checkpoint', checksum: 'does not match its SHA-256' }[framing.problem];
  return `${what} (${bytes.length} bytes)`;
}

/** Shared state of every cluster run of one workbench: how each cluster is reached, the one squeue per poll and cluster, detaching. */
export class SlurmExecutor {
  readonly pollMs: number;
  readonly goneGraceMs: number;
  private detaching = false;
  private warned = '';
  /** This machine's access (runs without an ssh target). */
  private readonly here: ClusterAccess;
  /** One access per ssh target: one ControlMaster connection and one squeue per poll each. */
  private readonly remote = new Map<string, ClusterAccess>();

  constructor(readonly opts: SlurmExecutorOptions) {
    this.pollMs = opts.pollMs ?? 1000;
    this.goneGraceMs = opts.goneGraceMs ?? GONE_GRACE_MS;
    this.here = ClusterAccess.local({ shell: opts.shell, fs: opts.fs, events: opts.events, pollMs: this.pollMs });
  }

  get store(): Store {
    return this.opts.store;
  }

  /** How runs queued with `o` reach their cluster: over ssh to `o.ssh`, else this machine. */
  access(o: Pick<SlurmOptions, 'ssh'>): ClusterAccess {
    if (o.ssh === undefined) return this.here;
    let a = this.remote.get(o.ssh);
    if (!a) {
      parseSshTarget(o.ssh);
      a = ClusterAccess.over((this.opts.sshShell ?? defaultSshShell)(o.ssh), this.pollMs);
      this.remote.set(o.ssh, a);
    }
    return a;
  }

  /**
   * Removes deleted cluster runs' files under their cluster roots, through each root's ClusterFs
   * (over ssh when the run has a target): the run folder `runs/<key>` (job.json, checkpoints,
   * events) and those of its retries from scratch (`runs/<key>.<folder>`), and `submissions/<id>`
   * (Slurm's output) of every submission their events files name. Called after the rows are
   * deleted: a folder that cannot be removed is reported, never a failure of the delete.
   */
  async removeRunFolders(rows: readonly RunExecutorRow[]): Promise<{ removed: string[]; left: { dir: string; reason: string }[] }> {
    const removed: string[] = [];
    const left: { dir: string; reason: string }[] = [];
    // One listing of runs/ per cluster root, not one per run.
    const byRoot = new Map<string, RunExecutorRow[]>();
    for (const rx of rows) {
      const key = `${rx.options.ssh ?? ''}\0${rx.options.clusterRoot}`;
      byRoot.set(key, [...(byRoot.get(key) ?? []), rx]);
    }
    for (const group of byRoot.values()) {
      const { options } = group[0];
      const runsDir = posix.join(options.clusterRoot, 'runs');
      let fs: ClusterFs;
      let names: string[];
      try {
        fs = this.access(options).fs;
        names = await fs.list(runsDir);
      } catch (err) {
        for (const rx of group) left.push({ dir: posix.join(runsDir, rx.runKey), reason: (err as Error).message });
        continue;
      }
      for (const rx of group) {
        const dirs = names.filter((n) => n === rx.runKey || n.startsWith(`${rx.runKey}.`)).map((n) => posix.join(runsDir, n));
        const submissions = new Set(rx.submissionId ? [rx.submissionId] : []);
        for (const dir of dirs) {
          try {
            for (const f of await fs.list(posix.join(dir, 'events'))) {
              const id = parseAttemptFileName(f)?.submissionId;
              if (id) submissions.add(id);
            }
            await fs.remove(dir);
            removed.push(dir);
          } catch (err) {
            left.push({ dir, reason: (err as Error).message });
          }
        }
        for (const id of submissions) {
          const dir = posix.join(options.clusterRoot, 'submissions', id);
          try {
            await fs.remove(dir);
            removed.push(dir);
          } catch (err) {
            left.push({ dir, reason: (err as Error).message });
          }
        }
      }
    }
    return { removed, left };
  }

  /**
   * A checkpoint of run `runId` as a file on this machine, for the desktop's own uses (attention
   * maps, translation in the inference process): the path itself for a run whose root is mounted
   * here; for a run over ssh, a copy in `cacheDir` made once through its ClusterFs and kept only
   * when its SHA-256 trailer verifies (experiments/train/checkpoint.ts's format: the last 32 bytes
   * are the SHA-256 of the rest), so a copy cut short or changed on the way is refused in one line.
   */
  async localCheckpoint(runId: number, clusterPath: string, cacheDir: string): Promise<string> {
    const rx = this.store.getRunExecutor(runId);
    if (rx?.executor !== 'slurm' || rx.options.ssh === undefined) return clusterPath;
    const local = join(cacheDir, checkpointCopyName(rx.options.ssh, clusterPath));
    if (existsSync(local)) return local;
    const bytes = await this.access(rx.options).fs.readFile(clusterPath);
    const problem = checkpointCopyProblem(bytes);
    if (problem) throw new UserError(`run ${runId}: the copy of ${clusterPath} from ${rx.options.ssh} ${problem}; nothing was kept`);
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${local}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, local);
    return local;
  }

  /** What the jobs of runs queued with `o` exec. */
  hostCommandFor(o: SlurmOptions): readonly string[] {
    return this.opts.hostCommand ?? hostCommandFor(o);
  }

  /**
   * The slots cluster run `runId` takes instead of a local one (undefined: not a cluster run).
   * With maxParallel in its choice: a pool of that many, shared by the runs queued with the same
   * choice (equal options; a retry keeps its run's); without: one pool of `fallback` (the
   * workbench's clusterSlots) for every such run, as the workbench's slots bounded them before.
   */
  slotPool(runId: number, fallback: number): { key: string; limit: number } | undefined {
    const rx = this.store.getRunExecutor(runId);
    if (rx?.executor !== 'slurm') return undefined;
    const o = rx.options;
    if (o.maxParallel === undefined) return { key: 'slurm', limit: fallback };
    // Sorted keys: a choice from the API may name its fields in any order.
    return { key: `slurm:${JSON.stringify(o, Object.keys(o).sort())}`, limit: o.maxParallel };
  }

  /** Whether run `runId` is a cluster run reached over ssh (its folders are not on this machine). */
  overSsh(runId: number): boolean {
    const rx = this.store.getRunExecutor(runId);
    return rx?.executor === 'slurm' && rx.options.ssh !== undefined;
  }

  /** This machine's shell for Slurm's clients (runs without an ssh target). */
  get shell(): Shell {
    return this.here.shell;
  }

  /** A spawner that starts cluster runs on Slurm and every other run (and inference) with `local`. */
  route(local: RunSpawner): RunSpawner {
    return (work) => {
      const runId = (work as Partial<RunJob>).runId;
      if (typeof runId === 'number' && this.store.getRunExecutor(runId)?.executor === 'slurm') {
        return new SlurmRun(this, runId);
      }
      return local(work);
    };
  }

  /**
   * The workbench closes: from now on the scheduler's 'stop' (shutdown) ends a facade without
   * cancelling its job, which keeps running on the cluster; the next start re-attaches.
   */
  detach(): void {
    this.detaching = true;
  }

  get isDetaching(): boolean {
    return this.detaching;
  }

  /** A poll problem (slurmctld down, squeue timing out): said once per distinct message, runs keep waiting. */
  warn(line: string): void {
    if (line === this.warned) return;
    this.warned = line;
    this.opts.log?.(line);
  }
}

/** The RunProcess of one cluster run: one Slurm submission, its attempts, its events files. */
export class SlurmRun implements RunProcess {
  readonly pid = undefined;
  private readonly messageListeners: ((m: RunToParent) => void)[] = [];
  private readonly outputListeners: ((s: 'stdout' | 'stderr', l: string) => void)[] = [];
  private readonly exitListeners: ((e: RunExit) => void)[] = [];
  private exited: RunExit | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rx: RunExecutorRow | undefined;
  private runKey = '';
  private submissionId: string | null = null;
  private slurmId: string | null = null;
  private submittedAt = 0;
  private seen = false;
  /** When a job seen before went missing from squeue (null while listed). */
  private missingSince: number | null = null;
  private jobFinished = false;
  private cancelRequested = false;
  private lastStep = 0;
  private polling = false;
  /** The last result line of each events file, as ingest read it. */
  private readonly terminals = new Map<string, { msg: NonNullable<IngestResult['terminal']>; time: number }>();
  /** Files this facade has read from their first byte (their remembered result is the whole truth). */
  private readonly wholeFiles = new Set<string>();
  /** The last answer accounting gave about this job, and when (null: not asked yet). */
  private accounting: { at: number; job: SacctAttempt | null } | null = null;

  constructor(
    private readonly executor: SlurmExecutor,
    readonly runId: number,
  ) {}

  private get store(): Store {
    return this.executor.store;
  }

  /** How this run's cluster is reached (its options' ssh target, or this machine). */
  private get access(): ClusterAccess {
    return this.executor.access(this.rx?.options ?? {});
  }

  send(message: ParentToRun): void {
    if (this.exited) return;
    if (message.type === 'start') {
      this.lastStep = message.job.resumeFrom?.step ?? 0;
      this.begin(message.job).catch((err: unknown) => this.fail(err));
    } else if (message.type === 'stop') {
      if (this.executor.isDetaching) this.detach();
      else this.cancel();
    }
  }

  onMessage(listener: (message: RunToParent) => void): void {
    this.messageListeners.push(listener);
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', line: string) => void): void {
    this.outputListeners.push(listener);
  }

  onExit(listener: (exit: RunExit) => void): void {
    if (this.exited) listener(this.exited);
    else this.exitListeners.push(listener);
  }

  kill(): void {
    if (this.slurmId && !this.jobFinished) void this.access.shell.run(['scancel', '--signal=KILL', this.slurmId], { timeoutMs: 15_000 });
    this.finish({ code: null, signal: 'SIGKILL' });
  }

  /** Stops watching; the job goes on. */
  detach(): void {
    this.finish({ code: null, signal: null });
  }

  private emit(m: RunToParent): void {
    for (const l of this.messageListeners) l(m);
  }

  private say(line: string): void {
    for (const l of this.outputListeners) l('stderr', line);
  }

  private finish(exit: RunExit): void {
    if (this.exited) return;
    this.exited = exit;
    if (this.rx) this.access.unwatch(this);
    if (this.timer) clearTimeout(this.timer);
    this.exitListeners.splice(0).forEach((l) => l(exit));
  }

  private fail(err: unknown): void {
    if (this.exited) return;
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (!(err instanceof UserError)) this.say(err instanceof Error ? (err.stack ?? reason) : reason);
    this.emit({ type: 'failed', kind: 'error', reason, step: this.lastStep });
    this.finish({ code: 1, signal: null });
  }

  private cancel(): void {
    this.cancelRequested = true;
    if (this.slurmId && !this.jobFinished) {
      void this.access.shell.run(scancelArgv(this.slurmId), { timeoutMs: 15_000 }).then((r) => {
        if (r.code !== 0) this.say(`scancel ${this.slurmId} failed: ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
      }, (err: unknown) => this.say(`scancel ${this.slurmId} failed: ${(err as Error).message}`));
    } else if (!this.submissionId) {
      // Not submitted (yet): begin() sees the flag after sbatch answers and cancels the job it got.
    }
  }

  private mine(jobs: readonly SlurmJob[]): SlurmJob | undefined {
    return jobs.find((j) => parseSubmissionComment(j.comment)?.submissionId === this.submissionId);
  }

  /** The saved ingest offset of each events file of this run's folder. */
  private savedOffsets(): Map<string, number> {
    const prefix = `${this.eventsDir}/`;
    return new Map(this.store.listIngestOffsets(this.runId).filter((o) => o.path.startsWith(prefix)).map((o) => [o.path, o.offset]));
  }

  private get eventsDir(): string {
    return runPaths(this.rx!.options.clusterRoot, this.runKey).events;
  }

  private async begin(job: RunJob): Promise<void> {
    const rx = this.store.getRunExecutor(this.runId);
    if (!rx) throw new Error(`run ${this.runId} has no executor row`);
    this.rx = rx;
    const root = rx.options.clusterRoot;
    // A retry from scratch moves the checkpoint folder (…/checkpoints-retryN): a run folder of its own.
    const dirName = posix.basename(job.checkpointDir);
    this.runKey = dirName === 'checkpoints' || !job.checkpointDir.startsWith(posix.join(root, 'runs', rx.runKey)) ? rx.runKey : `${rx.runKey}.${dirName.replace(/[^A-Za-z0-9._-]/g, '')}`.slice(0, 64);
    // Polls bring this run's new events bytes (over ssh: in the same command as squeue).
    this.access.watch(this, () => ({ dir: this.eventsDir, known: this.savedOffsets() }));
    if (rx.submissionId && rx.jobId && (await this.attachable(rx))) {
      this.submissionId = rx.submissionId;
      this.slurmId = rx.jobId;
      this.seen = true;
      // The scheduler dropped what lay after the checkpoint when it relaunched the run: read every
      // attempt again (idempotent) so nothing the job already wrote is missing.
      await reingestRun(this.store, this.runId, this.eventsDir, this.access.events, (path, r) => this.noteIngest(path, r, true));
      this.store.addLog(this.runId, 'info', `attached to Slurm job ${rx.jobId} again (submission ${rx.submissionId})`);
    } else {
      await this.submit(job);
    }
    this.schedule(0);
  }

  /** After a desktop restart: the run's job is still on the cluster, or it finished with a result. */
  private async attachable(rx: RunExecutorRow): Promise<boolean> {
    this.submissionId = rx.submissionId;
    const j = this.mine(await this.access.squeue());
    if (j && !FINISHED_STATES.has(j.state)) return true;
    const last = (await listAttemptFiles(this.access.events, this.eventsDir, rx.submissionId!)).at(-1);
    return (last ? await lastTerminal(last, this.access.events) : null)?.msg.type === 'done';
  }

  private async submit(job: RunJob): Promise<void> {
    const o = this.rx!.options;
    const paths = runPaths(o.clusterRoot, this.runKey);
    const fs = this.access.fs;
    let onCluster: RunJob = { ...job, checkpointDir: paths.checkpoints, cacheDir: posix.join(o.clusterRoot, 'cache') };
    try {
      // Over ssh the nodes cannot see this machine's corpus files: copies under the root, by content.
      if (o.ssh !== undefined) onCluster = await stageCorpus(onCluster, o.clusterRoot, fs);
      await fs.mkdirp(paths.checkpoints);
      await fs.mkdirp(paths.events);
      await fs.writeFile(paths.job, `${JSON.stringify(onCluster, null, 1)}\n`);
    } catch (err) {
      if (err instanceof ClusterFsError) throw new UserError(`the cluster root ${o.clusterRoot} is not writable from ${fs.where}: ${err.detail}`);
      throw err;
    }
    const submissionId = `s${Date.now().toString(36)}r${this.runId}`;
    const { jobId } = await submitArray(this.access.shell, {
      clusterRoot: o.clusterRoot,
      submissionId,
      runKeys: [this.runKey],
      hostCommand: this.executor.hostCommandFor(o),
      extraArgs: slurmOptionArgs(o),
    });
    this.submissionId = submissionId;
    this.slurmId = `${jobId}_0`;
    this.submittedAt = Date.now();
    this.store.updateClusterFacts(this.runId, { submissionId, jobId: this.slurmId, node: null, attempt: 0, slurmState: 'PENDING', reason: null });
    this.store.addLog(this.runId, 'info', `submitted to Slurm as job ${this.slurmId} (submission ${submissionId}${job.resumeFrom ? `, resumes from step ${job.resumeFrom.step}` : ''})`);
    this.executor.opts.runChanged?.(this.runId);
    if (this.cancelRequested) this.cancel();
  }

  private schedule(ms: number): void {
    if (this.exited) return;
    this.timer = setTimeout(() => void this.poll(), ms);
  }

  /** One poll: squeue, then every attempt file from its offset; a finished job ends the facade. */
  async poll(): Promise<void> {
    if (this.exited || this.polling) return;
    this.polling = true;
    try {
      let jobs: SlurmJob[] | null = null;
      // Over ssh one command brings squeue and the new bytes of the events files (poll-batch.ts).
      let events = this.access.events;
      try {
        const p = await this.access.poll();
        jobs = p.jobs;
        events = p.events;
      } catch (err) {
        this.executor.warn(`slurm: ${(err as Error).message} (retrying every ${this.executor.pollMs / 1000} s)`);
      }
      const j = jobs ? this.mine(jobs) : undefined;
      if (j) {
        this.seen = true;
        this.missingSince = null;
        this.noteFacts(j);
      }
      // One listing per poll; this submission's attempts are those named with its id.
      const files = await listAttemptFiles(events, this.eventsDir);
      const current = new Set(files.filter((f) => parseAttemptFileName(posix.basename(f))?.submissionId === this.submissionId));
      const newest = [...current].at(-1);
      const ingest = async (path: string, final: boolean) => {
        const forward = current.has(path) ? (m: RunToParent) => this.forward(m) : undefined;
        const from0 = this.store.ingestOffset(path) === 0;
        const r = await ingestFile(this.store, this.runId, path, { final, forward, source: events });
        this.noteIngest(path, r, from0);
        if (r.lastStep !== null && current.has(path)) this.lastStep = Math.max(this.lastStep, r.lastStep);
      };
      for (const path of files) {
        if (this.exited) return;
        await ingest(path, path !== newest);
      }
      let finished = false;
      /** How the job ended, from accounting, when squeue no longer lists it. */
      let accounted: SacctAttempt | undefined;
      if (jobs !== null && j) finished = FINISHED_STATES.has(j.state);
      else if (jobs !== null && this.seen) {
        // Gone from squeue: ended at once when its newest attempt reported a result; else, after a
        // grace period, as accounting says (where the cluster has it) or as a job without a result.
        this.missingSince ??= Date.now();
        const result = newest ? (await this.terminalOf(newest, events))?.msg : undefined;
        if (result !== undefined && result.type !== 'stopped') finished = true;
        else if (Date.now() - this.missingSince > this.executor.goneGraceMs) {
          const acct = await this.accountedState();
          if (acct && FINISHED_STATES.has(acct.state)) accounted = acct;
          finished = acct === null || accounted !== undefined || Date.now() - this.missingSince > ACCOUNTING_PATIENCE_MS;
        }
      } else if (jobs !== null) finished = Date.now() - this.submittedAt > UNSEEN_GRACE_MS;
      if (finished) {
        this.jobFinished = true;
        // The attempt is over: an unterminated last line of it is consumed now.
        if (newest && !this.exited) await ingest(newest, true);
        await this.end(j ?? accounted, newest, events, accounted ? ' (says accounting: sacct)' : '');
      }
    } catch (err) {
      if (this.exited) return;
      this.fail(err);
    } finally {
      this.polling = false;
    }
    this.schedule(this.executor.pollMs);
  }

  /** Remembers the last result line of each file ingest read, so no file is read whole again to find it. */
  private noteIngest(path: string, r: IngestResult, fromStart: boolean): void {
    if (fromStart) this.wholeFiles.add(path);
    if (r.terminal) this.terminals.set(path, { msg: r.terminal, time: r.terminalTime ?? Date.now() });
  }

  /**
   * The last done/failed/stopped line of `path`: remembered from ingest when this facade read the
   * file from its start (a fresh submission, or a re-attach, which re-reads every attempt); else
   * read from the file (once: a facade that began with the file half ingested).
   */
  private async terminalOf(path: string, events: EventsSource): Promise<{ msg: NonNullable<IngestResult['terminal']>; time: number } | null> {
    const known = this.terminals.get(path);
    if (known || this.wholeFiles.has(path)) return known ?? null;
    const found = await lastTerminal(path, events);
    this.wholeFiles.add(path);
    if (found) this.terminals.set(path, found);
    return found;
  }

  private forward(m: RunToParent): void {
    if (!FORWARDED.has(m.type) || this.exited) return;
    if (m.type === 'ready') this.lastStep = m.startStep;
    const recorded = this.executor.opts.metricsRecorded;
    if (m.type === 'metrics' && recorded) recorded(this.runId, m.points);
    else this.emit(m);
  }

  private noteFacts(j: SlurmJob): void {
    const rx = this.store.getRunExecutor(this.runId);
    const facts = { node: j.node, attempt: j.restarts, slurmState: j.state, reason: j.reason };
    if (rx && rx.node === facts.node && rx.attempt === facts.attempt && rx.slurmState === facts.slurmState && rx.reason === facts.reason) return;
    this.store.updateClusterFacts(this.runId, { ...facts, node: facts.node ?? rx?.node ?? null });
    this.executor.opts.runChanged?.(this.runId);
  }

  /**
   * The job's last attempt as accounting recorded it (sacct), for a job squeue no longer lists;
   * null when the cluster keeps no accounting, sacct fails, or it does not know the job — then the
   * job is judged by its events alone, as without accounting. Asked at most every SACCT_EVERY_MS.
   */
  private async accountedState(): Promise<SacctAttempt | null> {
    if (this.access.noAccounting || !this.slurmId) return null;
    if (this.accounting && Date.now() - this.accounting.at < SACCT_EVERY_MS) return this.accounting.job;
    let job: SacctAttempt | null = null;
    try {
      const rows = await sacctAttempts(this.access.shell, [this.slurmId]);
      if (rows === null) this.access.noAccounting = true;
      // Job ids restart when a controller's state is wiped: a row whose comment names another submission is not this job.
      else job = rows.filter((r) => r.slurmId === this.slurmId && (!r.comment || parseSubmissionComment(r.comment)?.submissionId === this.submissionId)).at(-1) ?? null;
    } catch (err) {
      this.executor.warn(`slurm: ${(err as Error).message} (judging job ${this.slurmId} by its events)`);
    }
    this.accounting = { at: Date.now(), job };
    if (job) this.noteFacts(job);
    return job;
  }

  /** The job will not run again: the newest attempt's result decides the run's state. */
  private async end(j: SlurmJob | undefined, newest: string | undefined, events: EventsSource, source = ''): Promise<void> {
    const found = newest ? await this.terminalOf(newest, events) : null;
    const terminal = found?.msg ?? null;
    if (this.exited) return;
    const state = j?.state ?? 'gone from squeue';
    if (state === 'CANCELLED' || this.cancelRequested) {
      if (!this.cancelRequested) {
        this.cancelRequested = true;
        this.store.addLog(this.runId, 'warn', `Slurm job ${this.slurmId} was cancelled outside the workbench (scancel)`);
        this.executor.opts.requestCancel(this.runId);
      }
      this.emit({ type: 'stopped', step: terminal?.step ?? this.lastStep });
      this.finish({ code: 0, signal: null });
    } else if (terminal && terminal.type !== 'stopped') {
      this.emit(terminal);
      // The recorder stamps final metrics with the time it got 'done'; the line's time is what any ingest writes.
      if (terminal.type === 'done') this.store.transaction(() => writeFinals(this.store, this.runId, terminal, found!.time));
      this.finish({ code: terminal.type === 'done' ? 0 : 1, signal: null });
    } else {
      // No result (the host was killed, the node failed, the job was purged): the scheduler treats
      // it as a dead process (a signal resumes from the checkpoint, an exit code fails).
      const why = `Slurm job ${this.slurmId} ended ${state}${j?.reason ? ` (${j.reason})` : ''}${source}${terminal ? ` after the run stopped at step ${terminal.step} without being requeued` : ' without a result'}`;
      this.say(why);
      const signal = state === 'NODE_FAIL' || state === 'PREEMPTED' || state === 'TIMEOUT' || state === 'OUT_OF_MEMORY' || terminal?.type === 'stopped' ? 'SIGTERM' : j?.exit.signal ? `signal ${j.exit.signal}` : null;
      this.finish({ code: signal ? null : (j?.exit.code ?? 1), signal });
    }
  }
}
