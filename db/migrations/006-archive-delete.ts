import type { Migration } from './types';

/**
 * Version 6: archiving and deleting runs and experiments (issue 13).
 * - `archived_at` on runs and experiments: archived rows are hidden from default lists and compare
 *   views but kept whole (unarchiving brings them back).
 * - `commands` accepts 'delete', 'archive' and 'unarchive', so a process observing a queue sends
 *   them to the one running it. SQLite cannot alter a CHECK constraint: the table is rebuilt with
 *   its rows.
 */
export const archiveDelete: Migration = {
  version: 6,
  description: 'archived_at on runs and experiments; delete/archive/unarchive commands',
  up(db) {
    db.exec(`
      ALTER TABLE runs ADD COLUMN archived_at INTEGER;
      ALTER TABLE experiments ADD COLUMN archived_at INTEGER;
      CREATE TABLE commands_v6 (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('cancel','retry','move','pause','resume','delete','archive','unarchive')),
        run_id      INTEGER,
        arg         TEXT,
        created_at  INTEGER NOT NULL,
        done_at     INTEGER,
        error       TEXT
      );
      INSERT INTO commands_v6 (id, kind, run_id, arg, created_at, done_at, error) SELECT id, kind, run_id, arg, created_at, done_at, error FROM commands;
      DROP TABLE commands;
      ALTER TABLE commands_v6 RENAME TO commands;
      CREATE INDEX commands_pending ON commands(done_at, id);
    `);
  },
};
