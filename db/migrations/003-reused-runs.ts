import type { Migration } from './types';

/**
 * Version 3: runs an experiment reuses from another experiment. Queueing skips a config that is
 * already queued, running or done anywhere (the config hash is global); the skipped run of this
 * experiment is linked to the existing one under this experiment's variant name, so the finished
 * run shows in this experiment's result table instead of silently missing from it.
 */
export const reusedRuns: Migration = {
  version: 3,
  description: 'experiment_runs: runs an experiment reuses from another experiment',
  up(db) {
    db.exec(`
      CREATE TABLE experiment_runs (
        experiment_id  INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
        run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        variant        TEXT NOT NULL,
        PRIMARY KEY (experiment_id, run_id)
      ) WITHOUT ROWID;
    `);
  },
};
