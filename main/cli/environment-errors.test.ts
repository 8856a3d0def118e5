/** Failures of the machine as one line naming the path (the CLI-level cases are in test/cli-refusals.test.ts). */
import { describe, expect, it } from 'vitest';
import { environmentError } from './environment-errors';

const fsError = (code: string, syscall: string, path?: string) => Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(path ? { path } : {}) });

describe('environment errors', () => {
  it('names the path of a filesystem error, with the code and the call', () => {
    expect(environmentError(fsError('EROFS', 'open', '/mnt/ro/ablate.sqlite'))?.message).toBe('/mnt/ro/ablate.sqlite: read-only filesystem (EROFS in open)');
    expect(environmentError(fsError('ENOSPC', 'write'))?.message).toBe('no space left on the device (ENOSPC in write)');
    expect(environmentError(fsError('EACCES', 'mkdir', '/data/.ablate'))?.message).toBe('/data/.ablate: permission denied (EACCES in mkdir)');
  });

  it('names the database for a SQLite error, by code family', () => {
    expect(environmentError(Object.assign(new Error('x'), { code: 'SQLITE_FULL' }), 'db.sqlite')?.message).toBe('db.sqlite: the disk holding the database is full (SQLITE_FULL)');
    expect(environmentError(Object.assign(new Error('x'), { code: 'SQLITE_READONLY_DBMOVED' }), 'db.sqlite')?.message).toMatch(/^db\.sqlite: the database is read-only/);
  });

  it('leaves bugs alone', () => {
    expect(environmentError(new TypeError('x is undefined'))).toBeNull();
    expect(environmentError(Object.assign(new Error('x'), { code: 'SQLITE_ERROR' }), 'db.sqlite')).toBeNull();
    expect(environmentError('a string')).toBeNull();
  });
});
