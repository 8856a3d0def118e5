/**
 * A stand-in `ssh`, first on PATH for the shells made here: it logs its arguments and runs the
 * remote command string with sh on this machine, as sshd hands it to the login shell. So tests
 * exercise the real sshShell's commands, quoting and byte handling, not a network or sshd. Cluster
 * paths start with /ablate-remote-root, which exists only for the stand-in (it maps it to a
 * temporary folder): any read or write of them through node:fs on this machine fails.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshShell, type Shell, type SshTarget } from '../../main/service/executors/slurm/shell';

export const REMOTE_ROOT = '/ablate-remote-root';

export interface StandInSsh {
  /** The local folder the stand-in maps REMOTE_ROOT to (the command's working directory too). */
  readonly base: string;
  /** PATH with the stand-in first. */
  readonly env: NodeJS.ProcessEnv;
  /** An sshShell to `target` through the stand-in. */
  shell(target?: SshTarget): Shell;
  /** The arguments of every ssh call so far, one line each (newlines in them as spaces). */
  calls(): string[];
  /** A local path under `base` as the login node names it. */
  remote(path: string): string;
  /** The local path of a remote one. */
  local(path: string): string;
}

export function standInSsh(prefix = 'ablate-ssh-'): StandInSsh {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(base, 'bin');
  const log = join(base, 'ssh-calls.log');
  mkdirSync(bin);
  // Run in `base`: were a name ever expanded by the remote shell, its $(touch pwned) would land there.
  writeFileSync(
    join(bin, 'ssh'),
    `#!/bin/sh\nprintf '%s' "$*" | tr '\\n' ' ' >> '${log}'\necho >> '${log}'\ncd '${base}' || exit 255\nfor a; do last=$a; done\nexec sh -c "$(printf '%s' "$last" | sed 's#${REMOTE_ROOT}#${base}#g')"\n`,
  );
  chmodSync(join(bin, 'ssh'), 0o755);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  return {
    base,
    env,
    shell: (target = { host: 'login.hpc', user: 'ana' }) => sshShell(target, { env }),
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    remote: (path) => path.replace(base, REMOTE_ROOT),
    local: (path) => path.replace(REMOTE_ROOT, base),
  };
}
