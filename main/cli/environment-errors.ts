/**
 * Failures of the machine rather than of the program — a read-only database, folder or
 * filesystem, a full disk, a missing folder, a file that is not a database — turned into the one
 * user-facing line every front shows (a UserError naming the path), instead of a stack trace. A
 * failure not listed here is a bug and keeps its stack.
 */
import { UserError } from '../../contract/errors';

const FS_CODES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only filesystem',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this filesystem or limit',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder, not a file',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** SQLite result codes (better-sqlite3's `code`), by prefix: SQLITE_IOERR_WRITE is an SQLITE_IOERR. */
const SQLITE_CODES: [string, string][] = [
  ['SQLITE_READONLY', 'the database is read-only (check the permissions of the file and of its folder, which holds the -wal and -shm files)'],
  ['SQLITE_CANTOPEN', 'cannot open the database file (check that its folder exists and is writable)'],
  ['SQLITE_FULL', 'the disk holding the database is full'],
  ['SQLITE_NOTADB', 'not a SQLite database'],
  ['SQLITE_CORRUPT', 'the database file is damaged'],
  ['SQLITE_PERM', 'permission denied'],
  ['SQLITE_AUTH', 'permission denied'],
  ['SQLITE_IOERR', 'input/output error writing the database (a full or read-only disk?)'],
];

/**
 * The UserError for an environment failure, naming its path (the fs error's own, else `dbPath`
 * for a SQLite error), or null when `err` is not one.
 */
export function environmentError(err: unknown, dbPath?: string): UserError | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const code = typeof e.code === 'string' ? e.code : '';
  if (code in FS_CODES && (e.path !== undefined || e.syscall !== undefined)) {
    const where = e.dest ? `${e.path} → ${e.dest}` : e.path;
    const what = `${FS_CODES[code]} (${code}${e.syscall ? ` in ${e.syscall}` : ''})`;
    return new UserError(where ? `${where}: ${what}` : what);
  }
  const sqlite = SQLITE_CODES.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`));
  if (sqlite) return new UserError(`${dbPath ?? 'database'}: ${sqlite[1]} (${code})`);
  return null;
}
