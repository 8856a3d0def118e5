/**
 * `ablate queue --executor slurm --ssh HOST` from a machine that has neither Slurm nor the cluster
 * root: the queue-time check (root made and tested, `sbatch --test-only`, the job host's
 * `--version`) runs over ssh. The `ssh`
 * first on PATH is the stand-in of test/support/stand-in-ssh.ts (it runs the remote string with sh
 * here and maps /ablate-remote-root to a temporary folder), with a stand-in `sbatch` beside it that
 * only accepts `--test-only`. Bad input: a target ssh would read as an option, a login node that
 * cannot be reached; each one line, and nothing queued.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../db/store';
import { REMOTE_ROOT, standInSsh } from './support/stand-in-ssh';
import { ablateChild, tempDir, toySpec } from './support/workbench';

describe('ablate queue over ssh (stand-in ssh and sbatch)', () => {
  const ssh = standInSsh('ablate-cli-ssh-');
  writeFileSync(join(ssh.base, 'bin', 'sbatch'), `#!/bin/sh\ncase "$*" in *--test-only*) echo "sbatch: Job 7 to start at now" >&2; exit 0;; esac\necho "sbatch: error: not in this test" >&2; exit 1\n`);
  chmodSync(join(ssh.base, 'bin', 'sbatch'), 0o755);
  const dir = tempDir('ablate-cli-ssh-');
  const spec = join(dir, 'spec.yaml');
  writeFileSync(spec, toySpec({ name: 'over-ssh', steps: 10 }));
  const root = `${REMOTE_ROOT}/cluster`;
  const queue = (db: string, extra: string[], env = ssh.env) => ablateChild(['queue', spec, '--db', db, '--executor', 'slurm', '--cluster-root', root, ...extra], env).done;

  it('checks the choice over ssh and stores the target with the runs', async () => {
    const db = join(dir, 'ok.sqlite');
    const r = await queue(db, ['--ssh', 'ana@login.hpc', '--partition', 'low']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(ssh.local(`${root}/runs`))).toBe(true);
    expect(existsSync(REMOTE_ROOT)).toBe(false);
    expect(ssh.calls().some((c) => c.includes('-- ana@login.hpc sbatch --test-only --partition=low --wrap=true'))).toBe(true);
    // The job host the runs will exec was started over ssh once and said its versions.
    expect(ssh.calls().filter((c) => c.includes('exec "$@" --version'))).toHaveLength(1);
    const store = openStore(db);
    const runs = store.listRuns({});
    expect(runs).toHaveLength(1);
    expect(store.getRunExecutor(runs[0].id)!.options).toEqual({ clusterRoot: root, ssh: 'ana@login.hpc', partition: 'low' });
    store.close();
  }, 60_000);

  it('a bad target or an unreachable login node is one line, and nothing is queued', async () => {
    const db = join(dir, 'bad.sqlite');
    const bad = await queue(db, ['--ssh', '-oProxyCommand=touch x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^ablate: --ssh: expected host or user@host [^\n]*\n$/);
    // An ssh that cannot connect (exit 255), as ssh says it.
    const down = join(dir, 'down-bin');
    mkdirSync(down);
    writeFileSync(join(down, 'ssh'), '#!/bin/sh\necho "ssh: connect to host login.hpc port 22: Connection refused" >&2\nexit 255\n');
    chmodSync(join(down, 'ssh'), 0o755);
    const refused = await queue(db, ['--ssh', 'login.hpc'], { ...process.env, PATH: `${down}:${process.env.PATH}` });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toBe('ablate: ssh login.hpc failed: ssh: connect to host login.hpc port 22: Connection refused\n');
    expect(existsSync(db)).toBe(false);
  }, 60_000);
});
