import type { Migration } from './types';

/**
 * Version 1: the whole initial schema. Times are Unix epoch milliseconds; JSON columns hold text.
 *
 * metrics is WITHOUT ROWID with PRIMARY KEY (run_id, split, name, step): the key is the UNIQUE
 * constraint the resume logic relies on (INSERT OR REPLACE), and it clusters each run's series
 * together, so the compare queries (a few runs × a few names) read contiguous key ranges with no
 * second index to maintain during ingest.
 *
 * SQLite stores NaN as NULL, so a metric value is `value` (the number when finite, NULL otherwise)
 * plus `kind`: 0 finite, 1 NaN, 2 +Infinity, 3 -Infinity. Nothing is lost silently.
 */
export const initial: Migration = {
  version: 1,
  description: 'experiments, runs, metrics, checkpoints, samples, logs, settings',
  up(db) {
    db.exec(`
      CREATE TABLE experiments (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        spec        TEXT NOT NULL,
        spec_dir    TEXT,
        created_at  INTEGER NOT NULL
      );

      CREATE TABLE runs (
        id                INTEGER PRIMARY KEY,
        experiment_id     INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        variant           TEXT NOT NULL,
        seed              INTEGER NOT NULL,
        config            TEXT NOT NULL,
        config_hash       TEXT NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('queued','running','done','failed','cancelled','interrupted')),
        priority          INTEGER NOT NULL,
        backend_requested TEXT NOT NULL,
        backend           TEXT,
        device            TEXT,
        step              INTEGER NOT NULL DEFAULT 0,
        total_steps       INTEGER NOT NULL,
        error             TEXT,
        data_info         TEXT,
        checkpoint_dir    TEXT,
        params            INTEGER,
        created_at        INTEGER NOT NULL,
        started_at        INTEGER,
        finished_at       INTEGER
      );
      CREATE INDEX runs_by_experiment ON runs(experiment_id, id);
      CREATE INDEX runs_by_hash ON runs(config_hash);
      CREATE INDEX runs_by_queue ON runs(state, priority, id);

      CREATE TABLE metrics (
        run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        split   TEXT NOT NULL,
        name    TEXT NOT NULL,
        step    INTEGER NOT NULL,
        value   REAL,
        kind    INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1, 2, 3)),
        time    INTEGER NOT NULL,
        PRIMARY KEY (run_id, split, name, step)
      ) WITHOUT ROWID;

      CREATE TABLE checkpoints (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step        INTEGER NOT NULL,
        path        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (run_id, step)
      );

      CREATE TABLE samples (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step        INTEGER NOT NULL,
        source      TEXT NOT NULL,
        reference   TEXT NOT NULL,
        hypothesis  TEXT NOT NULL
      );
      CREATE INDEX samples_by_run ON samples(run_id, step);

      CREATE TABLE logs (
        id      INTEGER PRIMARY KEY,
        run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        time    INTEGER NOT NULL,
        level   TEXT NOT NULL CHECK (level IN ('info','warn','error')),
        text    TEXT NOT NULL
      );
      CREATE INDEX logs_by_run ON logs(run_id, id);

      CREATE TABLE settings (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
      );
    `);
  },
};
