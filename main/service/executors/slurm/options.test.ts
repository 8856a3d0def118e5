/**
 * The executor flags of `ablate queue/run/worker`: --ssh names the login node; over ssh the cluster
 * root is the login node's path (absolute, never resolved against this machine's folder); a bad
 * target or a Slurm flag without --executor slurm is one line naming the flag.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExecutorFlags } from './options';

describe('executor flags', () => {
  it('--ssh takes host or user@host and keeps the root as the login node names it', () => {
    expect(parseExecutorFlags({ executor: 'slurm', clusterRoot: '/scratch/ana/ablate/', ssh: 'ana@login.hpc', partition: 'gpu' })).toEqual({ name: 'slurm', clusterRoot: '/scratch/ana/ablate/', ssh: 'ana@login.hpc', partition: 'gpu' });
    expect(parseExecutorFlags({ executor: 'slurm', clusterRoot: 'here' })).toEqual({ name: 'slurm', clusterRoot: resolve('here') });
  });

  it('refuses, in one line naming the flag, a target ssh would read as an option, a relative root over ssh, --ssh without slurm', () => {
    expect(() => parseExecutorFlags({ executor: 'slurm', clusterRoot: '/r', ssh: '-oProxyCommand=touch x' })).toThrow(/^--ssh: expected host or user@host \(letters, digits, '\.', '_', '-'; a port or key goes in ~\/\.ssh\/config\), got "-oProxyCommand=touch x"$/);
    expect(() => parseExecutorFlags({ executor: 'slurm', clusterRoot: '/r', ssh: 'a b' })).toThrow(/^--ssh: expected host or user@host/);
    expect(() => parseExecutorFlags({ executor: 'slurm', clusterRoot: 'scratch/ablate', ssh: 'login' })).toThrow('--cluster-root: expected an absolute path as the login node login sees it, got "scratch/ablate"');
    expect(() => parseExecutorFlags({ ssh: 'login' })).toThrow('--ssh needs --executor slurm');
    expect(() => parseExecutorFlags({ executor: 'slurm', clusterRoot: '/r', clusterNode: 'node' })).toThrow('--cluster-node: expected an absolute path on the cluster, got "node"');
    expect(() => parseExecutorFlags({ clusterCheckout: '/x' })).toThrow('--cluster-checkout needs --executor slurm');
    expect(parseExecutorFlags({ executor: 'slurm', clusterRoot: '/r', ssh: 'login', clusterNode: '/opt/node/bin/node', clusterCheckout: '/home/ana/ablate/' })).toEqual({ name: 'slurm', clusterRoot: '/r', ssh: 'login', clusterNode: '/opt/node/bin/node', clusterCheckout: '/home/ana/ablate' });
  });
});
