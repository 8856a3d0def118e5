import type Database from 'better-sqlite3';

/** One schema step: applied inside a transaction that also sets PRAGMA user_version = version. */
export interface Migration {
  /** The user_version the database has after this migration (1, 2, … without gaps). */
  readonly version: number;
  /** What the step does, for the backup/migration log line. */
  readonly description: string;
  up(db: Database.Database): void;
}
