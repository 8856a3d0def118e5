/**
 * The executor flags shared by `ablate queue`, `ablate run` and `ablate worker`:
 *   --executor slurm --cluster-root DIR [--partition P] [--gres gpu:1] [--time 4:00:00]
 *   [--max-parallel N] [--sbatch-arg=--qos=high …] [--ssh [user@]login-node]
 *   [--cluster-node /path/to/node] [--cluster-checkout /path/to/this/project]
 * (an --sbatch-arg value that starts with '-' needs the `=` form, or commander reads it as a flag).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../../../contract/errors';
import { EXECUTORS, type ExecutorChoice } from '../../../../contract/rows';
import { parseSshTarget } from './access';

export interface ExecutorFlags {
  executor?: string;
  clusterRoot?: string;
  partition?: string;
  gres?: string;
  time?: string;
  maxParallel?: string;
  sbatchArg?: string[];
  ssh?: string;
  clusterNode?: string;
  clusterCheckout?: string;
}

export function addExecutorOptions(cmd: Command): Command {
  return cmd
    .option('--executor <name>', `where the runs train: ${EXECUTORS.join(' or ')} (default local)`)
    .option('--cluster-root <dir>', 'slurm: folder on the shared filesystem for job files, checkpoints and events (mounted here at the same path, or, with --ssh, as the login node sees it)')
    .option('--ssh <target>', 'slurm: reach the cluster through its login node, host or user@host (ssh with one shared connection; this machine needs neither Slurm nor the mount)')
    .option('--cluster-node <path>', "slurm: node (>= 20) on the cluster's nodes (default: this machine's path); checked at queue time")
    .option('--cluster-checkout <path>', "slurm: this project's checkout, with node_modules, on the cluster's filesystem (default: this machine's path); its job entry must speak this version")
    .option('--partition <name>', 'slurm: partition to submit to')
    .option('--gres <spec>', 'slurm: generic resources per run, e.g. gpu:1')
    .option('--time <limit>', 'slurm: time limit per job, e.g. 4:00:00 (the run checkpoints and requeues itself 120 s before)')
    .option('--max-parallel <n>', 'slurm: cluster runs of this choice in flight at once (queued with it; for worker/run also the bound of runs queued without one; default: --slots, else 1)')
    .option('--sbatch-arg <option>', 'slurm: one more sbatch option, e.g. --sbatch-arg=--qos=high (repeatable)', (v: string, prev: string[] = []) => [...prev, v]);
}

/** A path on the cluster: absolute (it is not resolved against this machine's folder). */
function clusterPath(flag: string, path: string): string {
  if (!isAbsolute(path)) throw new UserError(`${flag}: expected an absolute path on the cluster, got "${path}"`);
  return path;
}

/** --max-parallel as a number (undefined when absent). */
export function parseMaxParallel(f: ExecutorFlags): number | undefined {
  if (f.maxParallel === undefined) return undefined;
  const n = Number(f.maxParallel);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--max-parallel: expected a positive integer, got "${f.maxParallel}"`);
  return n;
}

/** The executor the flags choose; undefined for local. Slurm flags without `--executor slurm` are refused. */
export function parseExecutorFlags(f: ExecutorFlags): Extract<ExecutorChoice, { name: 'slurm' }> | undefined {
  const name = f.executor ?? 'local';
  if (!(EXECUTORS as readonly string[]).includes(name)) throw new UserError(`--executor: expected ${EXECUTORS.join(' or ')}, got "${name}"`);
  // --max-parallel alone is fine: `ablate worker --max-parallel N` for runs queued on a cluster before.
  const slurmFlags = (['clusterRoot', 'ssh', 'clusterNode', 'clusterCheckout', 'partition', 'gres', 'time', 'sbatchArg'] as const).filter((k) => f[k] !== undefined);
  if (name === 'local') {
    if (slurmFlags.length) throw new UserError(`--${slurmFlags[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --executor slurm`);
    return undefined;
  }
  if (!f.clusterRoot) throw new UserError('--executor slurm needs --cluster-root DIR (a folder the cluster nodes and this machine share)');
  const maxParallel = parseMaxParallel(f);
  if (f.ssh !== undefined) parseSshTarget(f.ssh);
  // Over ssh the root is the login node's path: a relative one would resolve against this machine's folder.
  if (f.ssh !== undefined && !isAbsolute(f.clusterRoot)) throw new UserError(`--cluster-root: expected an absolute path as the login node ${f.ssh} sees it, got "${f.clusterRoot}"`);
  return {
    name: 'slurm',
    clusterRoot: f.ssh !== undefined ? f.clusterRoot : resolve(f.clusterRoot),
    ...(f.ssh !== undefined ? { ssh: f.ssh } : {}),
    ...(f.clusterNode !== undefined ? { clusterNode: clusterPath('--cluster-node', f.clusterNode) } : {}),
    ...(f.clusterCheckout !== undefined ? { clusterCheckout: clusterPath('--cluster-checkout', f.clusterCheckout).replace(/(.)\/+$/, '$1') } : {}),
    ...(f.partition ? { partition: f.partition } : {}),
    ...(f.gres ? { gres: f.gres } : {}),
    ...(f.time ? { time: f.time } : {}),
    ...(maxParallel ? { maxParallel } : {}),
    ...(f.sbatchArg?.length ? { sbatchArgs: f.sbatchArg } : {}),
  };
}
