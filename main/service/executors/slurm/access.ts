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
import { pollSqueue, type SlurmJob } from './squeue';

/** `host` or `user@host` into an SshTarget; a one-line error naming `field` otherwise. */
export function parseSshTarget(text: string, field = '--ssh'): SshTarget {
  if (!SSH_TARGET.test(text)) throw new UserError(`${field}: expected host or user@host (letters, digits, '.', '_', '-'; a port or key goes in ~/.ssh/config), got ${JSON.stringify(text)}`);
  const at = text.indexOf('@');
  return at < 0 ? { host: text } : { user: text.slice(0, at), host: text.slice(at + 1) };
}

export class ClusterAccess {
  /** Set when sacct said this cluster keeps no accounting: never asked again by this workbench. */
  noAccounting = false;
  private inflight: Promise<SlurmJob[]> | null = null;
  private last: { at: number; jobs: SlurmJob[] } | null = null;

  constructor(
    readonly shell: Shell,
    readonly fs: ClusterFs,
    readonly events: EventsSource,
    private readonly pollMs = 1000,
  ) {}

  /** This machine: Slurm's clients through `shell` (default here), the root mounted here. */
  static local(opts: { shell?: Shell; fs?: ClusterFs; events?: EventsSource; pollMs?: number } = {}): ClusterAccess {
    return new ClusterAccess(opts.shell ?? localShell(), opts.fs ?? localClusterFs(), opts.events ?? localEventsSource, opts.pollMs);
  }

  /** A login node: clients, root writes and events reads all through `shell` (an sshShell). */
  static over(shell: Shell, pollMs?: number): ClusterAccess {
    return new ClusterAccess(shell, shellClusterFs(shell), shellEventsSource(shell), pollMs);
  }

  /** Every job the controller holds, at most one squeue per half poll interval for all runs on this cluster. */
  squeue(): Promise<SlurmJob[]> {
    if (this.last && Date.now() - this.last.at < this.pollMs / 2) return Promise.resolve(this.last.jobs);
    this.inflight ??= pollSqueue(this.shell)
      .then((jobs) => {
        this.last = { at: Date.now(), jobs };
        return jobs;
      })
      .finally(() => (this.inflight = null));
    return this.inflight;
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
