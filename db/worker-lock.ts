/**
 * The worker lock: one process schedules a database's queue. The lock is a write transaction held
 * open on a small SQLite file beside the database (`<db>.lock`, WAL mode): SQLite takes it with a
 * POSIX advisory lock, which the kernel drops when the holder dies however it dies (kill -9, out of
 * memory, a power-cut reboot), so no stale lock is left behind and no pid is trusted. The holder's
 * pid, host and start time are committed in the file before the lock is taken; in WAL mode a
 * refused process can still read them and name the holder.
 *
 * @example
 *   const lock = acquireWorkerLock('/data/ablate.sqlite'); // throws WorkerLockedError when held
 *   …
 *   lock.release();
 */
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { UserError } from '../contract/errors';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: number;
}

/** Another live process holds the lock: the message names it. */
export class WorkerLockedError extends UserError {
  constructor(
    readonly dbFile: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `pid ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()}` : 'a process that has not said who it is yet';
    super(`${dbFile}: another workbench process (${who}) is running this queue; stop it first or use another --db`);
    this.name = 'WorkerLockedError';
  }
}

export interface WorkerLock {
  readonly file: string;
  release(): void;
}

const isBusy = (err: unknown) => /SQLITE_BUSY|database is locked/i.test(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);

function openLockDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('busy_timeout = 0');
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL, token TEXT NOT NULL)`);
  return db;
}

function readHolder(db: Database.Database): LockHolder | null {
  const row = db.prepare(`SELECT pid, host, since FROM holder WHERE id = 1`).get() as LockHolder | undefined;
  return row ?? null;
}

/** Who holds the lock of `dbFile` now, or null when nobody does. Takes and drops the lock to find out. */
export function lockHolder(dbFile: string): LockHolder | null {
  try {
    const lock = acquireWorkerLock(dbFile);
    lock.release();
    return null;
  } catch (err) {
    if (err instanceof WorkerLockedError) return err.holder;
    throw err;
  }
}

/** Takes the lock of `dbFile` or throws WorkerLockedError naming the holder. */
export function acquireWorkerLock(dbFile: string): WorkerLock {
  const file = `${dbFile}.lock`;
  let db: Database.Database;
  try {
    db = openLockDb(file);
  } catch (err) {
    if (isBusy(err)) throw new WorkerLockedError(dbFile, null);
    throw new UserError(`${file}: cannot open the worker lock (${(err as Error).message})`);
  }
  const token = `${process.pid}-${Date.now()}-${Math.random()}`;
  try {
    // 1. Say who we are (committed, so a refused process can read it) …
    db.transaction(() => db.prepare(`INSERT OR REPLACE INTO holder (id, pid, host, since, token) VALUES (1, ?, ?, ?, ?)`).run(process.pid, hostname(), Date.now(), token))();
    // 2. … then hold a write transaction for as long as we live. Someone may have slipped in
    //    between 1 and 2: then their row is there and we are refused.
    db.exec('BEGIN IMMEDIATE');
    const row = db.prepare(`SELECT token FROM holder WHERE id = 1`).get() as { token: string } | undefined;
    if (row?.token !== token) {
      db.exec('ROLLBACK');
      throw new WorkerLockedError(dbFile, readHolder(db));
    }
  } catch (err) {
    if (err instanceof WorkerLockedError) {
      db.close();
      throw err;
    }
    if (isBusy(err)) {
      let holder: LockHolder | null = null;
      try {
        holder = readHolder(db);
      } catch {
        // unreadable while the holder commits: say so without a pid
      }
      db.close();
      throw new WorkerLockedError(dbFile, holder);
    }
    db.close();
    throw new UserError(`${file}: cannot take the worker lock (${(err as Error).message})`);
  }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
