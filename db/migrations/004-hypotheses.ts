import type { Migration } from './types';

/**
 * Version 4: every hypothesis of a run's final evaluation, one row per sentence with its
 * reference, for dev and test. Significance tests (paired bootstrap, approximate randomization)
 * and new metrics are computed from these later without decoding again.
 */
export const hypotheses: Migration = {
  version: 4,
  description: 'hypotheses: every dev/test hypothesis of a run\'s final evaluation, with its reference',
  up(db) {
    db.exec(`
      CREATE TABLE hypotheses (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        split       TEXT NOT NULL CHECK (split IN ('valid','test')),
        line        INTEGER NOT NULL,
        step        INTEGER NOT NULL,
        hypothesis  TEXT NOT NULL,
        reference   TEXT NOT NULL,
        PRIMARY KEY (run_id, split, line)
      ) WITHOUT ROWID;
    `);
  },
};
