/**
 * What a client of `ablate serve` may ask of Slurm. A client of the port is not the user of the
 * machine, yet a cluster run makes the server's user write job files under the cluster root and
 * run `sbatch` with the client's options. Unchecked, a client could have the server write into any
 * folder it can (`clusterRoot: "/home/me/.ssh"`) or pass sbatch options that run or read what it
 * likes on the cluster (`--export`, `--chdir`, `--output=~/.bashrc`, a burst-buffer script…).
 *
 * So, as corpora are confined to data roots (data-roots.ts):
 * - the cluster root must be one the person running the server named with `--cluster-root DIR`
 *   (the same folder, symlinks followed; not a folder inside it: another root's runs/ tree would
 *   mix two roots' runs). None named: Slurm is refused to clients.
 * - sbatch options must be on the allow-list the server was started with
 *   (`--allow-sbatch-option NAME`, exact long names: sbatch's getopt takes unambiguous prefixes, so
 *   `--exp=…` is `--export`, and only an exact name is compared), with a value of plain words.
 *   None named: every sbatch option from a client is refused.
 * - an ssh target (the login node the server's user would ssh to, with the server's keys) must
 *   be one the person running the server named with `--allow-ssh-target HOST` (exact match: a
 *   client must not make the server ssh anywhere else as its user). None named: every ssh target
 *   from a client is refused. Over ssh the cluster root is the login node's path, which cannot be
 *   resolved here: it must equal a --cluster-root exactly (normalised), `..` refused.
 * - what the jobs exec (clusterNode, clusterCheckout) is never a client's choice: a client naming
 *   it is refused; the server's own (`ablate serve --cluster-node --cluster-checkout`) is added to
 *   every Slurm choice from a client (complete()).
 * - a choice's maxParallel (cluster runs of that choice in flight at once, each a job the server's
 *   user has on the cluster) is at most the server's (`ablate serve --max-parallel N`, default its
 *   --slots, else 1): before cluster runs had slots of their own, the server's slots bounded them.
 * Partition, gres and time are single argv words (`--partition=<value>`) that cannot add an
 * option; their values are kept to the characters Slurm's own syntax uses.
 */
import { posix, resolve } from 'node:path';
import { UserError } from '../../contract/errors';
import type { ExecutorChoice } from '../../contract/rows';
import { realPathSoFar } from './data-roots';

/** sbatch option values a client may pass: names, numbers, lists, node ranges, times, gres specs (no spaces, quotes, $, ~, /). */
const PLAIN_VALUE = /^[A-Za-z0-9_.:,+@%=[\]-]*$/;
const LONG_OPTION = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/;

export interface ClusterPolicyOptions {
  /** Cluster roots clients may name (`ablate serve --cluster-root DIR`). */
  readonly clusterRoots?: readonly string[];
  /** sbatch long option names clients may pass, with or without the leading `--` (`--allow-sbatch-option qos`). */
  readonly sbatchOptions?: readonly string[];
  /** ssh targets (`host` or `user@host`) clients may name (`ablate serve --allow-ssh-target HOST`), compared exactly. */
  readonly sshTargets?: readonly string[];
  /** node and the checkout on the cluster for clients' Slurm runs (`ablate serve --cluster-node --cluster-checkout`); default this machine's paths. */
  readonly clusterNode?: string;
  readonly clusterCheckout?: string;
  /** The largest maxParallel a client's choice may name (`ablate serve --max-parallel N`); default 1. */
  readonly maxParallel?: number;
}

/** A root as named, without `.` segments, doubled or trailing slashes. */
function normalRoot(root: string): string {
  const n = posix.normalize(root);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

export class ClusterPolicy {
  private readonly roots: readonly string[];
  private readonly options: ReadonlySet<string>;
  /** The roots as named (normalised), for roots on a login node: nothing here to resolve them against. */
  private readonly named: readonly string[];
  private readonly targets: readonly string[];
  private readonly host: { clusterNode?: string; clusterCheckout?: string };
  private readonly maxParallel: number;

  constructor(opts: ClusterPolicyOptions = {}) {
    this.maxParallel = opts.maxParallel ?? 1;
    this.host = { ...(opts.clusterNode ? { clusterNode: opts.clusterNode } : {}), ...(opts.clusterCheckout ? { clusterCheckout: opts.clusterCheckout } : {}) };
    this.roots = [...new Set((opts.clusterRoots ?? []).map((r) => realPathSoFar(resolve(r))))];
    this.named = [...new Set((opts.clusterRoots ?? []).map(normalRoot))];
    this.options = new Set((opts.sbatchOptions ?? []).map((o) => o.replace(/^--/, '')));
    this.targets = [...new Set(opts.sshTargets ?? [])];
  }

  get clusterRoots(): readonly string[] {
    return this.roots;
  }

  /** A client's choice (checked first) with what the server's jobs exec: its --cluster-node and --cluster-checkout. */
  complete(executor: ExecutorChoice): ExecutorChoice {
    return executor.name === 'slurm' ? { ...executor, ...this.host } : executor;
  }

  /** Throws a one-line UserError naming the first field of `executor` a client may not choose. */
  check(executor: ExecutorChoice | undefined): void {
    if (!executor || executor.name !== 'slurm') return;
    for (const field of ['clusterNode', 'clusterCheckout'] as const) {
      if (executor[field] !== undefined) throw new UserError(`executor.${field}: what the jobs run is not chosen by clients; the person running \`ablate serve\` sets it with --${field === 'clusterNode' ? 'cluster-node' : 'cluster-checkout'} PATH`);
    }
    if (!this.roots.length) throw new UserError(`executor.clusterRoot: this server runs no cluster jobs for its clients; the person running \`ablate serve\` can allow a cluster root with --cluster-root DIR`);
    if (executor.ssh !== undefined) {
      if (!this.targets.length) throw new UserError(`executor.ssh: this server reaches no cluster over ssh for its clients; the person running \`ablate serve\` can allow a login node with --allow-ssh-target HOST`);
      if (!this.targets.includes(executor.ssh)) throw new UserError(`executor.ssh: ${JSON.stringify(executor.ssh)} is not an ssh target this server allows its clients (allowed: ${this.targets.join(', ')}); the person running \`ablate serve\` can allow another with --allow-ssh-target HOST`);
      if (executor.clusterRoot.split('/').includes('..') || !this.named.includes(normalRoot(executor.clusterRoot))) throw new UserError(`executor.clusterRoot: ${executor.clusterRoot} is not one of the server's cluster roots (${this.named.join(', ')}); over ssh it must be one of them exactly; the person running \`ablate serve\` can allow another with --cluster-root DIR`);
    } else if (!this.roots.includes(realPathSoFar(executor.clusterRoot))) throw new UserError(`executor.clusterRoot: ${executor.clusterRoot} is not one of the server's cluster roots (${this.roots.join(', ')}); the person running \`ablate serve\` can allow another with --cluster-root DIR`);
    if (executor.maxParallel !== undefined && executor.maxParallel > this.maxParallel) {
      const n = this.maxParallel;
      throw new UserError(`executor.maxParallel: at most ${n} cluster run${n === 1 ? '' : 's'} of a choice in flight on this server, got ${executor.maxParallel}; the person running \`ablate serve\` can allow more with --max-parallel N`);
    }
    for (const field of ['partition', 'gres', 'time'] as const) {
      const v = executor[field];
      if (v !== undefined && !PLAIN_VALUE.test(v)) throw new UserError(`executor.${field}: ${JSON.stringify(v)} has characters Slurm's ${field} never uses (expected letters, digits and _ . : , + @ % = [ ] -)`);
    }
    (executor.sbatchArgs ?? []).forEach((arg, i) => {
      const field = `executor.sbatchArgs[${i}]`;
      const m = LONG_OPTION.exec(arg);
      if (!m) throw new UserError(`${field}: ${JSON.stringify(arg)} is not allowed from clients: expected --name or --name=value`);
      const allowed = this.options.size ? [...this.options].map((o) => `--${o}`).join(', ') : 'none';
      if (!this.options.has(m[1])) throw new UserError(`${field}: --${m[1]} is not an sbatch option this server allows its clients (allowed: ${allowed}); the person running \`ablate serve\` can allow one with --allow-sbatch-option NAME`);
      if (m[2] !== undefined && !PLAIN_VALUE.test(m[2])) throw new UserError(`${field}: the value of --${m[1]} has characters not allowed from clients (expected letters, digits and _ . : , + @ % = [ ] -), got ${JSON.stringify(m[2])}`);
    });
  }
}
