/** The space reserve beside a database (issue 15): on a full disk, its room is what lets the last status write commit. */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricPoint } from '../contract/run-protocol';
import { canMountTmpfs, fillDisk, withTmpfs } from '../test/support/tmpfs';
import { holdSpace, RESERVE_BYTES } from './space-reserve';
import { openStore, type NewRun } from './store';

const newRun = (seed: number): NewRun => ({ variant: 'base', seed, config: { variant: 'base', seed, changes: {} }, configHash: `base-${seed}`, backendRequested: 'auto', totalSteps: 100 });
const points = (from: number, n: number): MetricPoint[] => Array.from({ length: n }, (_, i) => ({ split: 'train', name: `loss-${'x'.repeat(40)}`, step: from + i, value: i, time: i }));

describe('the space reserve', () => {
  it('is a file of RESERVE_BYTES beside the database, kept from an earlier holder, gone once released', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ablate-reserve-'));
    const db = join(dir, 'wb.sqlite');
    const reserve = holdSpace(db);
    expect(reserve).toMatchObject({ file: `${db}.reserve`, held: true, problem: null });
    expect(statSync(reserve.file).size).toBe(RESERVE_BYTES);
    expect(holdSpace(db).held).toBe(true);
    expect(reserve.release()).toBe(true);
    expect(existsSync(reserve.file)).toBe(false);
    expect(reserve.release()).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!canMountTmpfs())('on a full disk: the runs cannot be marked interrupted until it is released, then they can', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ablate-reserve-')), 'fs');
    await withTmpfs(dir, '1m', async () => {
      const store = openStore(join(dir, 'wb.sqlite'));
      const exp = store.upsertExperiment('exp', { name: 'exp' }, null);
      const [runId] = store.insertRuns(exp.id, [newRun(1)]);
      store.updateRun(runId, { state: 'running' });
      const reserve = holdSpace(store.file);
      expect(reserve.held).toBe(true);
      store.insertMetrics(runId, points(0, 2000));
      fillDisk(dir);
      expect(() => store.insertMetrics(runId, points(2000, 2000))).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }));
      expect(() => store.markRunningAsInterrupted('disk full')).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }));
      reserve.release();
      expect(store.markRunningAsInterrupted('disk full').map((r) => [r.id, r.state, r.error])).toEqual([[runId, 'interrupted', 'disk full']]);
      expect(store.integrityCheck()).toBe('ok');
      store.close();
    });
  });

  it.skipIf(!canMountTmpfs())('is not made where there is no room for it, and leaves no partial file', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ablate-reserve-')), 'fs');
    await withTmpfs(dir, '128k', async () => {
      const reserve = holdSpace(join(dir, 'wb.sqlite'));
      expect([reserve.held, reserve.problem]).toEqual([false, 'ENOSPC']);
      expect(existsSync(reserve.file)).toBe(false);
    });
  });
});
