import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterPolicy } from './cluster-policy';

let dir: string;
let root: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ablate-cluster-policy-'));
  root = join(dir, 'cluster');
  mkdirSync(root);
  symlinkSync(root, join(dir, 'alias'));
  mkdirSync(join(dir, 'elsewhere'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const slurm = (o: Record<string, unknown> = {}) => ({ name: 'slurm' as const, clusterRoot: root, ...o });

describe('what a client of ablate serve may ask of Slurm', () => {
  it('lets local runs through whatever is configured', () => {
    expect(() => new ClusterPolicy().check({ name: 'local' })).not.toThrow();
    expect(() => new ClusterPolicy().check(undefined)).not.toThrow();
  });

  it('refuses Slurm when the server named no cluster root, naming the field and the flag', () => {
    expect(() => new ClusterPolicy().check(slurm())).toThrow(/^executor\.clusterRoot: .*--cluster-root DIR$/);
  });

  it('accepts a configured root, also through a symlink, and refuses any other folder (a subfolder too)', () => {
    const p = new ClusterPolicy({ clusterRoots: [root] });
    expect(() => p.check(slurm())).not.toThrow();
    expect(() => p.check(slurm({ clusterRoot: join(dir, 'alias') }))).not.toThrow();
    for (const other of [join(dir, 'elsewhere'), join(root, 'runs'), '/etc', join(root, '..', 'elsewhere')]) {
      expect(() => p.check(slurm({ clusterRoot: other }))).toThrow(/^executor\.clusterRoot: .* is not one of the server's cluster roots/);
    }
  });

  it('bounds a client\'s maxParallel by the server\'s (ablate serve --max-parallel, default 1): the cluster runs a choice keeps in flight', () => {
    expect(() => new ClusterPolicy({ clusterRoots: [root] }).check(slurm({ maxParallel: 1 }))).not.toThrow();
    expect(() => new ClusterPolicy({ clusterRoots: [root] }).check(slurm({ maxParallel: 2 }))).toThrow(
      /^executor\.maxParallel: at most 1 cluster run of a choice in flight on this server, got 2; the person running `ablate serve` can allow more with --max-parallel N$/,
    );
    const p = new ClusterPolicy({ clusterRoots: [root], maxParallel: 8 });
    expect(() => p.check(slurm({ maxParallel: 8 }))).not.toThrow();
    expect(() => p.check(slurm())).not.toThrow();
    expect(() => p.check(slurm({ maxParallel: 9 }))).toThrow(/^executor\.maxParallel: at most 8 cluster runs of a choice/);
  });

  it('refuses every sbatch option from clients unless the server allows it by its exact long name', () => {
    expect(() => new ClusterPolicy({ clusterRoots: [root] }).check(slurm({ sbatchArgs: ['--qos=high'] }))).toThrow(/^executor\.sbatchArgs\[0\]: --qos is not an sbatch option this server allows its clients \(allowed: none\)/);
    const p = new ClusterPolicy({ clusterRoots: [root], sbatchOptions: ['qos', '--exclusive'] });
    expect(() => p.check(slurm({ sbatchArgs: ['--qos=high', '--exclusive'] }))).not.toThrow();
    // sbatch's getopt takes unambiguous prefixes: --exp is --export, so names are compared exactly.
    expect(() => p.check(slurm({ sbatchArgs: ['--qos=high', '--exp=ALL'] }))).toThrow(/^executor\.sbatchArgs\[1\]: --exp is not an sbatch option .*allowed: --qos, --exclusive/);
    expect(() => p.check(slurm({ sbatchArgs: ['--output=/home/me/.bashrc'] }))).toThrow(/^executor\.sbatchArgs\[0\]: --output is not/);
    expect(() => p.check(slurm({ sbatchArgs: ['-q', 'high'] }))).toThrow(/^executor\.sbatchArgs\[0\]: "-q" is not allowed from clients: expected --name or --name=value$/);
  });

  it('refuses option values that could name a path or expand a variable', () => {
    const p = new ClusterPolicy({ clusterRoots: [root], sbatchOptions: ['qos'] });
    expect(() => p.check(slurm({ sbatchArgs: ['--qos=$(id)'] }))).toThrow(/^executor\.sbatchArgs\[0\]: the value of --qos has characters not allowed/);
    expect(() => p.check(slurm({ partition: 'low high' }))).toThrow(/^executor\.partition: "low high" has characters/);
    expect(() => p.check(slurm({ gres: 'gpu:a100:1', time: '1-04:00:00', partition: 'low,high' }))).not.toThrow();
  });
});
