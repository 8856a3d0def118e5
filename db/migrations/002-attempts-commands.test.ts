/** Migration 2 on a database written by version 1: backed up first, runs keep their rows with 0 automatic resumes, commands work. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../store';
import { initial } from './001-initial';
import { tempDir } from '../../test/support/workbench';

describe('migration 2: runs.attempts and commands', () => {
  it('migrates a version-1 database after a backup; attempts start at 0 and commands round-trip', () => {
    const file = join(tempDir(), 'v1.sqlite');
    const v1 = openStore(file, { migrations: [initial] });
    const exp = v1.upsertExperiment('old', {}, null);
    const [runId] = v1.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 10 }]);
    v1.close();

    const store = openStore(file);
    try {
      expect(store.backupPath).not.toBeNull();
      expect(existsSync(store.backupPath!)).toBe(true);
      const backup = new Database(store.backupPath!, { readonly: true });
      expect(backup.pragma('user_version', { simple: true })).toBe(1);
      backup.close();
      expect(store.attempts(runId)).toBe(0);
      store.setAttempts(runId, 2);
      expect(store.attempts(runId)).toBe(2);
      const id = store.addCommand({ kind: 'move', runId, arg: '0' });
      expect(store.pendingCommands().map((c) => c.id)).toEqual([id]);
      store.finishCommand(id, 'run 1 is done; only queued runs can be moved');
      expect(store.pendingCommands()).toEqual([]);
      expect(store.getCommand(id)).toMatchObject({ kind: 'move', runId, arg: '0', error: 'run 1 is done; only queued runs can be moved' });
    } finally {
      store.close();
    }
  });

  it('data_version moves when another connection commits, not for its own writes', () => {
    const file = join(tempDir(), 'dv.sqlite');
    const a = openStore(file);
    const b = openStore(file);
    try {
      const v0 = a.dataVersion();
      a.setSetting('x', '1');
      expect(a.dataVersion()).toBe(v0);
      b.setSetting('x', '2');
      expect(a.dataVersion()).not.toBe(v0);
    } finally {
      a.close();
      b.close();
    }
  });
});
