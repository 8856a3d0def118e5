/** Checkpoint folders of deleted runs: removed with their files; a folder holding the database is never removed. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/workbench';
import { removeCheckpointDirs } from './checkpoint-files';

describe('removing checkpoint folders', () => {
  it('removes each folder with its files, and counts one already gone as removed', () => {
    const dir = tempDir();
    const run = join(dir, 'checkpoints', 'run-1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'step-00000010.ckpt'), 'w');
    const gone = join(dir, 'checkpoints', 'run-2');
    expect(removeCheckpointDirs([run, gone], [join(dir, 'db.sqlite')])).toEqual({ removed: [run, gone], left: [] });
    expect(existsSync(run)).toBe(false);
    expect(existsSync(join(dir, 'checkpoints'))).toBe(true);
  });

  it('leaves a folder that holds the database or the data folder, and a filesystem root, saying why', () => {
    const dir = tempDir();
    const db = join(dir, 'db.sqlite');
    writeFileSync(db, '');
    const result = removeCheckpointDirs([dir, '/'], [db]);
    expect(result.removed).toEqual([]);
    expect(result.left).toEqual([{ dir, reason: `it holds ${db}` }, { dir: '/', reason: `it holds ${db}` }]);
    expect(existsSync(db)).toBe(true);
  });
});
