import type { Migration } from './types';

/**
 * Version 5: runs on a cluster (issue 11).
 * - `run_executors`: a run queued on Slurm, with its submission options and what squeue last said
 *   (job id, node, attempt, state); no row = a local run.
 * - `ingest_offsets`: per events file (one per attempt of a cluster run), the byte offset up to
 *   which its lines are in the database; committed in the same transaction as the rows.
 * - `event_key` on samples and logs: `<events file>#<seq>[#i]` for rows ingested from an events
 *   file, unique, so a second ingest of the same lines adds nothing (NULL for local rows).
 */
export const clusterRuns: Migration = {
  version: 5,
  description: 'cluster runs: executor and Slurm facts per run, ingest offsets per events file, idempotent keys for samples and logs',
  up(db) {
    db.exec(`
      CREATE TABLE run_executors (
        run_id        INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        executor      TEXT NOT NULL CHECK (executor IN ('slurm')),
        options       TEXT NOT NULL,
        run_key       TEXT NOT NULL UNIQUE,
        submission_id TEXT,
        job_id        TEXT,
        node          TEXT,
        attempt       INTEGER NOT NULL DEFAULT 0,
        slurm_state   TEXT,
        reason        TEXT
      );
      CREATE TABLE ingest_offsets (
        path        TEXT PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        byte_offset INTEGER NOT NULL
      );
      CREATE INDEX ingest_offsets_run ON ingest_offsets(run_id);
      ALTER TABLE samples ADD COLUMN event_key TEXT;
      ALTER TABLE logs ADD COLUMN event_key TEXT;
      CREATE UNIQUE INDEX samples_event_key ON samples(event_key) WHERE event_key IS NOT NULL;
      CREATE UNIQUE INDEX logs_event_key ON logs(event_key) WHERE event_key IS NOT NULL;
    `);
  },
};
