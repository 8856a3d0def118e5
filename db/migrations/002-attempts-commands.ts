import type { Migration } from './types';

/**
 * Version 2: `runs.attempts`, the automatic resumes a run has used since it was last queued by a
 * person (a run process killed by a signal or out of memory is resumed up to a bound, then
 * failed); and `commands`, what an observer (`ablate serve` beside a worker, a second window)
 * asks the process holding the worker lock to do: the holder polls the table, carries each
 * command out and stamps it done (or with the error).
 */
export const attemptsAndCommands: Migration = {
  version: 2,
  description: 'runs.attempts (automatic resumes), commands (observers → the worker lock holder)',
  up(db) {
    db.exec(`
      ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;

      CREATE TABLE commands (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('cancel','retry','move','pause','resume')),
        run_id      INTEGER,
        arg         TEXT,
        created_at  INTEGER NOT NULL,
        done_at     INTEGER,
        error       TEXT
      );
      CREATE INDEX commands_pending ON commands(done_at, id);
    `);
  },
};
