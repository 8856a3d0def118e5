import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../contract/errors';
import { localShell, shellQuote, sshArgv, sshShell } from './shell';

const NASTY = ["a b", "$(touch /tmp/pwned)", "it's", '"q"', '`id`', 'semi;colon', 'new\nline', '', '*', '~', 'x=y', '-n', '\\'];

describe('localShell', () => {
  const sh = localShell();

  it('passes argv words to the program as they are (no shell)', async () => {
    const r = await sh.run(['printf', '%s|', ...NASTY]);
    expect(r).toEqual({ code: 0, stdout: NASTY.map((w) => `${w}|`).join(''), stderr: '', stdoutBytes: Buffer.from(NASTY.map((w) => `${w}|`).join('')) });
  });

  it('feeds stdin and returns a non-zero exit as a result', async () => {
    expect((await sh.run(['cat'], { input: 'script\n' })).stdout).toBe('script\n');
    const r = await sh.run(['sh', '-c', 'echo oops >&2; exit 3']);
    expect(r).toEqual({ code: 3, stdout: '', stderr: 'oops\n', stdoutBytes: Buffer.alloc(0) });
  });

  it('a missing binary is one UserError line naming it', async () => {
    const shell = localShell({ env: { PATH: '/nonexistent' } });
    const err = await shell.run(['sbatch', '--parsable']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe("sbatch is not installed on this machine (not found on PATH): is Slurm's client installed here?");
    expect((err as Error).message).not.toContain('\n');
  });

  it('a command that does not answer in time is a UserError', async () => {
    await expect(sh.run(['sleep', '5'], { timeoutMs: 200 })).rejects.toThrow(/sleep did not answer within 0 s/);
  });
});

describe('ssh', () => {
  it('quotes every word so the remote shell runs exactly the argv', () => {
    for (const w of NASTY) expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(w)}`], { encoding: 'utf8' })).toBe(w);
    expect(shellQuote('--comment=ablate:v1:s1:a,b')).toBe('--comment=ablate:v1:s1:a,b');
    expect(shellQuote('x=y')).toBe("'x=y'"); // a bare first word x=y would be an assignment
  });

  it('uses one ControlMaster connection, never prompts, and keeps the destination out of option parsing', () => {
    const argv = sshArgv({ host: 'login.hpc', user: 'ana', port: 2222, controlPath: '/tmp/cp-%C' }, ['squeue', '--json']);
    expect(argv).toEqual([
      'ssh', '-o', 'BatchMode=yes', '-o', 'ControlMaster=auto', '-o', 'ControlPath=/tmp/cp-%C', '-o', 'ControlPersist=10m', '-o', 'ConnectTimeout=15',
      '-p', '2222', '--', 'ana@login.hpc', 'squeue --json',
    ]);
    expect(() => sshArgv({ host: '-oProxyCommand=touch /tmp/x' }, ['true'])).toThrow(UserError);
    expect(() => sshArgv({ host: 'h', user: '-l' }, ['true'])).toThrow(UserError);
  });

  // A stand-in for ssh: runs the last argument (the remote command string) with sh, like sshd does.
  const fakeSsh = (() => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-ssh-'));
    const path = join(dir, 'ssh');
    writeFileSync(path, '#!/bin/sh\nfor a; do last=$a; done\ncase "$last" in fail-connect*) echo "ssh: connect to host h port 22: Connection refused" >&2; exit 255;; esac\nexec sh -c "$last"\n');
    chmodSync(path, 0o755);
    return path;
  })();

  it('runs the argv remotely, word for word', async () => {
    const shell = sshShell({ host: 'h' }, { sshBinary: fakeSsh });
    const r = await shell.run(['printf', '%s|', ...NASTY]);
    expect(r.stdout).toBe(NASTY.map((w) => `${w}|`).join(''));
    expect(shell.where).toBe('ssh h');
  });

  it('a command missing on the remote side, or a failed connection, is one UserError line', async () => {
    const shell = sshShell({ host: 'h', user: 'u' }, { sshBinary: fakeSsh });
    await expect(shell.run(['sbatch-not-here', '--parsable'])).rejects.toThrow("sbatch-not-here is not installed on h (not found on the remote PATH): is Slurm's client installed there?");
    await expect(shell.run(['fail-connect'])).rejects.toThrow('ssh u@h failed: ssh: connect to host h port 22: Connection refused');
    const noSsh = sshShell({ host: 'h' }, { sshBinary: '/nonexistent/ssh' });
    await expect(noSsh.run(['true'])).rejects.toThrow('ssh is not installed on this machine (needed to reach h)');
  });
});
