/** `ablate serve`'s token and data-root flags (issue 15): no token on the command line, roots that exist. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkServeDb, resolveClusterPolicy, resolveDataRoots, resolveToken } from './serve';

const dir = mkdtempSync(join(tmpdir(), 'ablate-serve-flags-'));

describe('the server token', () => {
  it('is refused on the command line (every user sees it in `ps`), in one line', () => {
    expect(() => resolveToken({ token: 's3cret-token' }, {})).toThrow(/^--token: a token on the command line is visible to every user in `ps`; set ABLATE_TOKEN or use --token-file FILE$/);
  });

  it('comes from ABLATE_TOKEN or the first line of --token-file (the file wins)', () => {
    expect(resolveToken({}, { ABLATE_TOKEN: 'from-the-env-123' })).toBe('from-the-env-123');
    expect(resolveToken({}, {})).toBeUndefined();
    const file = join(dir, 'token');
    writeFileSync(file, 'from-the-file-123\n');
    expect(resolveToken({ tokenFile: file }, { ABLATE_TOKEN: 'from-the-env-123' })).toBe('from-the-file-123');
  });

  it('names the file or variable when the token is unusable', () => {
    expect(() => resolveToken({ tokenFile: join(dir, 'missing') }, {})).toThrow(`--token-file ${join(dir, 'missing')}: cannot read it (ENOENT)`);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(() => resolveToken({ tokenFile: empty }, {})).toThrow(`--token-file ${empty}: the file is empty`);
    expect(() => resolveToken({}, { ABLATE_TOKEN: 'short' })).toThrow('ABLATE_TOKEN: use at least 8 characters');
  });
});

describe('the data roots', () => {
  it('are the database folder plus each --data-root, which must be a folder', () => {
    expect(resolveDataRoots(join(dir, 'db.sqlite'), [dir])).toEqual([dir, dir]);
    expect(() => resolveDataRoots(join(dir, 'db.sqlite'), [join(dir, 'nope')])).toThrow(`--data-root ${join(dir, 'nope')}: no such folder`);
  });
});

describe('what clients may ask of Slurm', () => {
  it('takes absolute cluster roots and long sbatch option names, and names a bad flag value', () => {
    expect(resolveClusterPolicy(['/scratch/ablate'], ['qos', '--account'])).toEqual({ clusterRoots: ['/scratch/ablate'], sbatchOptions: ['qos', '--account'], sshTargets: [] });
    expect(resolveClusterPolicy(['/scratch/ablate'], [], ['login.hpc', 'ana@login2'])).toMatchObject({ sshTargets: ['login.hpc', 'ana@login2'] });
    expect(() => resolveClusterPolicy([], [], ['-oProxyCommand=x'])).toThrow(/^--allow-ssh-target -oProxyCommand=x: expected host or user@host/);
    expect(resolveClusterPolicy([], [], [], { clusterNode: '/opt/node', clusterCheckout: '/srv/ablate' })).toMatchObject({ clusterNode: '/opt/node', clusterCheckout: '/srv/ablate' });
    expect(() => resolveClusterPolicy([], [], [], { clusterCheckout: 'ablate' })).toThrow('--cluster-checkout ablate: expected an absolute path on the cluster');
    expect(() => resolveClusterPolicy(['scratch'], [])).toThrow(/^--cluster-root scratch: expected an absolute path/);
    expect(() => resolveClusterPolicy([], ['-q'])).toThrow(/^--allow-sbatch-option -q: expected a long sbatch option name/);
  });
});

describe('the database', () => {
  it('must exist when named (a typo refused, as `runs` and `export` do), unless --new or the default', () => {
    expect(() => checkServeDb({ db: join(dir, 'typo.db') })).toThrow(`--db ${join(dir, 'typo.db')}: no such database (check the name; \`ablate serve --db ${join(dir, 'typo.db')} --new\` starts an empty one)`);
    expect(() => checkServeDb({ db: join(dir, 'typo.db'), new: true })).not.toThrow();
    expect(() => checkServeDb({ db: 'ablate.sqlite' })).not.toThrow();
    writeFileSync(join(dir, 'there.db'), '');
    expect(() => checkServeDb({ db: join(dir, 'there.db') })).not.toThrow();
  });
});
