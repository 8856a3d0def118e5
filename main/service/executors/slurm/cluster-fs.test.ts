/**
 * The cluster-filesystem seam, both sides: this machine's filesystem, and a login node through the
 * real sshShell with a stand-in `ssh` (test/support/stand-in-ssh.ts) whose /ablate-remote-root
 * exists only behind it, so no node:fs call here could pass for the remote one. Folder names carry
 * `'`, `$(…)` and spaces: interpreted by a shell, they would split or run `touch pwned`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../contract/errors';
import { standInSsh } from '../../../../test/support/stand-in-ssh';
import { localClusterFs, shellClusterFs, type ClusterFs } from './cluster-fs';

const ssh = standInSsh('ablate-clusterfs-');
const sides: { name: string; fs: ClusterFs; root: () => string; local: (p: string) => string; where: string }[] = [
  { name: 'this machine', fs: localClusterFs(), root: () => mkdtempSync(join(tmpdir(), 'ablate-clusterfs-local-')), local: (p) => p, where: 'this machine' },
  {
    name: 'over ssh',
    fs: shellClusterFs(ssh.shell()),
    root: () => ssh.remote(mkdtempSync(join(ssh.base, 'root-'))),
    local: ssh.local,
    where: 'ssh ana@login.hpc',
  },
];

const ODD = "it's $(touch pwned) a b";

describe.each(sides)('ClusterFs on $name', ({ fs, root, local, where }) => {
  it('makes folders, writes whole files from text, lists, tests, renames and removes, names never interpreted', async () => {
    const r = root();
    const dir = `${r}/runs/${ODD}/checkpoints`;
    await fs.mkdirp(dir);
    await fs.mkdirp(dir); // again: fine
    expect(existsSync(local(dir))).toBe(true);
    const text = `{"a": "${ODD}", "é": "東京", "q": "\\"\\n"}\nsecond line $HOME\n`;
    await fs.writeFile(`${r}/runs/${ODD}/job.json`, text);
    expect(readFileSync(local(`${r}/runs/${ODD}/job.json`), 'utf8')).toBe(text);
    await fs.writeFile(`${r}/runs/${ODD}/job.json`, 'replaced\n');
    expect(readFileSync(local(`${r}/runs/${ODD}/job.json`), 'utf8')).toBe('replaced\n');
    expect((await fs.list(`${r}/runs/${ODD}`)).sort()).toEqual(['checkpoints', 'job.json']); // no temporary file left
    expect(await fs.list(`${r}/none`)).toEqual([]);
    expect(await fs.exists(`${r}/runs/${ODD}/job.json`)).toBe(true);
    expect(await fs.exists(`${r}/runs/nothing`)).toBe(false);
    expect(await fs.writableDir(`${r}/runs/${ODD}`)).toBe(true);
    expect(await fs.writableDir(`${r}/runs/${ODD}/job.json`)).toBe(false);
    expect(await fs.writableDir(`${r}/missing`)).toBe(false);

    await fs.rename(`${r}/runs/${ODD}/checkpoints`, `${r}/runs/${ODD}/checkpoints-retry1`);
    expect((await fs.list(`${r}/runs/${ODD}`)).sort()).toEqual(['checkpoints-retry1', 'job.json']);
    // Never over an existing one.
    await fs.mkdirp(`${r}/runs/other`);
    const refused = (await fs.rename(`${r}/runs/${ODD}/checkpoints-retry1`, `${r}/runs/other`).catch((e: unknown) => e)) as Error;
    expect(refused).toBeInstanceOf(UserError);
    expect(refused.message).toMatch(new RegExp(`^cannot rename .*checkpoints-retry1 on ${where}: .*other exists`));

    await fs.remove(`${r}/runs/${ODD}`);
    await fs.remove(`${r}/runs/${ODD}`); // already gone: fine
    expect(await fs.list(`${r}/runs`)).toEqual(['other']);
    expect(existsSync(join(ssh.base, 'pwned'))).toBe(false);
  });

  it('reads a file back byte for byte (binary, not UTF-8), and a missing one is one line', async () => {
    const r = root();
    const bytes = Buffer.concat([Buffer.from('ABLCKPT2'), Buffer.from([0, 0xff, 0xfe, 0x80, 0x0a, 0x00, 0xc3]), Buffer.alloc(70_000, 7)]);
    writeFileSync(local(`${r}/step.ckpt`), bytes);
    expect((await fs.readFile(`${r}/step.ckpt`)).equals(bytes)).toBe(true);
    const err = (await fs.readFile(`${r}/none.ckpt`).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(new RegExp(`^cannot read ${r}/none.ckpt on ${where}: `));
  });

  it('a folder that cannot be made is one line naming it, the side and the cause', async () => {
    const r = root();
    writeFileSync(local(`${r}/file`), 'x');
    const err = (await fs.mkdirp(`${r}/file/sub`).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(new RegExp(`^cannot create the folder ${r}/file/sub on ${where}: .*(Not a directory|File exists)`));
    expect(err.message).not.toContain('\n');
    const w = (await fs.writeFile(`${r}/no/such/job.json`, 'x').catch((e: unknown) => e)) as Error;
    expect(w).toBeInstanceOf(UserError);
    expect(w.message).toMatch(new RegExp(`^cannot write ${r}/no/such/job.json on ${where}: `));
  });
});

describe('ClusterFs over ssh', () => {
  it('works on a root this machine cannot see, one ssh command per operation, text on stdin', async () => {
    const fs = shellClusterFs(ssh.shell());
    const r = ssh.remote(mkdtempSync(join(ssh.base, 'root-')));
    expect(existsSync(r)).toBe(false);
    mkdirSync(ssh.local(`${r}/x`));
    const before = ssh.calls().length;
    await fs.writeFile(`${r}/x/job.json`, 'SECRET-TEXT-NOT-IN-ARGV\n');
    expect(ssh.calls().length - before).toBe(1);
    expect(ssh.calls().at(-1)).not.toContain('SECRET-TEXT-NOT-IN-ARGV');
    expect(ssh.calls().at(-1)).toMatch(/-- ana@login\.hpc sh -c /);
    expect(readFileSync(ssh.local(`${r}/x/job.json`), 'utf8')).toBe('SECRET-TEXT-NOT-IN-ARGV\n');
    await expect(fs.mkdirp('relative/dir')).rejects.toThrow('cluster path must be absolute');
  });
});
