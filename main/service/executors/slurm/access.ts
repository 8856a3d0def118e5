/**
 * How the workbench reaches one cluster: the shell Slurm's clients run in, the filesystem the
 * cluster root is written and checked on (ClusterFs), where events files are read (EventsSource),
 * and the one `squeue --json` per poll shared by every run on that cluster.
 *
 * Two kinds: this machine (Slurm's clients here, the root mounted here: a login node, or a desktop
 * on the shared filesystem), or a login node over ssh (SlurmOptions.ssh): then all three go
 * through one `sshShell` (ControlMaster: one connection, a channel per command), and this machine
 * needs neither Slurm nor the mount.
 */
import { SSH_TARGET, type SlurmOptions } from '../../../../contract/rows';
import { UserError } from '../../../../contract/errors';
import { localClusterFs, shellClusterFs, type ClusterFs } from './cluster-fs';
import { localEventsSource, shellEventsSource, type EventsSource } from './events-source';
import { localShell, sshShell, type Shell, type SshTarget } from './shell';
import { parsePollAnswer, pollArgv, pollToken, snapshotSource, type WatchedDir } from './poll-batch';
import { parseSqueueJson, pollSqueue, type SlurmJob } from './squeue';

/** Bytes of one events file one poll carries at most (more waits for the next poll, or is read live). */
const POLL_MAX_BYTES = 4 << 20;

/** `host` or `user@host` into an SshTarget; a one-line error naming `field` otherwise. */
export function parseSshTarget(text: string, field = '--ssh'): SshTarget {
  if (!SSH_TARGET.test(text)) throw new UserError(`${field}: expected host or user@host (letters, digits, '.', '_', '-'; a port or key goes in ~/.ssh/config), got ${JSON.stringify(text)}`);
  const at = text.indexOf('@');
  return at < 0 ? { host: text } : { user: text.slice(0, at), host: text.slice(at + 1) };
}

/** One poll's view of a cluster: every job squeue lists, and where to read events files this poll. */
export interface ClusterPoll {
  readonly jobs: SlurmJob[];
  readonly events: EventsSource;
}

export class ClusterAccess {
  /** Set when sacct said this cluster keeps no accounting: never asked again by this workbench. */
  noAccounting = false;
  private inflight: Promise<ClusterPoll> | null = null;
  private last: { at: number; poll: ClusterPoll } | null = null;
  /** Events folders of the runs on this cluster, each with its saved offsets (read at poll time). */
  private readonly watchers = new Map<object, () => WatchedDir>();

  /**
   * `batched`: a poll is one command printing squeue's JSON and the watched events files' new
   * bytes (poll-batch.ts), for a login node over ssh where each command is a round trip.
   */
  constructor(
    readonly shell: Shell,
    readonly fs: ClusterFs,
    readonly events: EventsSource,
    private readonly pollMs = 1000,
    readonly batched = false,
  ) {}

  /** This machine: Slurm's clients through `shell` (default here), the root mounted here. */
  static local(opts: { shell?: Shell; fs?: ClusterFs; events?: EventsSource; pollMs?: number } = {}): ClusterAccess {
    return new ClusterAccess(opts.shell ?? localShell(), opts.fs ?? localClusterFs(), opts.events ?? localEventsSource, opts.pollMs);
  }

  /** A login node: clients, root writes and events reads all through `shell` (an sshShell). */
  static over(shell: Shell, pollMs?: number): ClusterAccess {
    return new ClusterAccess(shell, shellClusterFs(shell), shellEventsSource(shell), pollMs, true);
  }

  /** A run's events folder is read by the polls from now on (`owner` unwatches it). */
  watch(owner: object, dir: () => WatchedDir): void {
    this.watchers.set(owner, dir);
  }

  unwatch(owner: object): void {
    this.watchers.delete(owner);
  }

  /** Every job the controller holds, at most one squeue per half poll interval for all runs on this cluster. */
  async squeue(): Promise<SlurmJob[]> {
    return (await this.poll()).jobs;
  }

  /**
   * One poll for all runs on this cluster, at most one per half poll interval: squeue, and where
   * this poll's events reads go (over ssh: the bytes the same command brought, see poll-batch.ts).
   */
  poll(): Promise<ClusterPoll> {
    if (this.last && Date.now() - this.last.at < this.pollMs / 2) return Promise.resolve(this.last.poll);
    this.inflight ??= (this.batched ? this.batchedPoll() : pollSqueue(this.shell).then((jobs) => ({ jobs, events: this.events })))
      .then((poll) => {
        this.last = { at: Date.now(), poll };
        return poll;
      })
      .finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async batchedPoll(): Promise<ClusterPoll> {
    const watched = [...this.watchers.values()].map((w) => w());
    const token = pollToken();
    const r = await this.shell.run(pollArgv(token, POLL_MAX_BYTES, watched), { timeoutMs: 60_000 });
    const said = r.stderr.trim().split('\n').pop();
    let answer;
    try {
      answer = parsePollAnswer(r.stdoutBytes ?? Buffer.from(r.stdout), token, watched.map((w) => w.dir));
    } catch (err) {
      throw new UserError(`poll over ${this.shell.where} failed: ${said || (err as Error).message}`);
    }
    if (answer.squeue.code !== 0) throw new UserError(`squeue failed on ${this.shell.where}: ${said || `exit status ${answer.squeue.code}`}`);
    return { jobs: parseSqueueJson(answer.squeue.stdout), events: snapshotSource(answer, this.events, new Set(watched.map((w) => w.dir))) };
  }
}

/** Makes the shell for an ssh target (default: the real ssh; tests give a stand-in). */
export type SshShellFactory = (target: string) => Shell;

export const defaultSshShell: SshShellFactory = (target) => sshShell(parseSshTarget(target));

/** The access a Slurm choice names: over ssh when it has a target, else this machine's. */
export function accessFor(o: Pick<SlurmOptions, 'ssh'>, makeSsh: SshShellFactory = defaultSshShell): ClusterAccess {
  if (o.ssh === undefined) return ClusterAccess.local();
  parseSshTarget(o.ssh); // a bad target is one line before any ssh runs
  return ClusterAccess.over(makeSsh(o.ssh));
}
