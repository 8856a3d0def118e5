/**
 * `ablate delete`, `cancel`, `archive`, `unarchive` and `runs --archived` through the binary:
 * without a terminal a delete is refused unless --yes (listing what would go), queued runs are
 * refused until cancelled, archived runs leave `ablate runs` until unarchived.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../db/store';
import { ablate, snapshotTables, tempDir } from './support/workbench';

function seed(): { db: string; ckpt: string } {
  const dir = tempDir('ablate-cli-delete-');
  const db = join(dir, 'db.sqlite');
  const store = openStore(db);
  const exp = store.upsertExperiment('heads', {}, null);
  const run = (variant: string) => ({ variant, seed: 1, config: { variant, seed: 1, changes: {} }, configHash: variant, backendRequested: 'cpu', totalSteps: 10 });
  const [a] = store.insertRuns(exp.id, [run('base'), run('h=1'), run('h=4')]);
  const ckpt = join(dir, '.ablate', 'checkpoints', `run-${a}`);
  mkdirSync(ckpt, { recursive: true });
  writeFileSync(join(ckpt, 'step-00000010.ckpt'), 'w');
  store.updateRun(a, { state: 'done', checkpointDir: ckpt });
  store.updateRun(a + 1, { state: 'failed' });
  store.insertMetrics(a, [{ split: 'train', name: 'loss', step: 10, value: 1, time: 1 }]);
  store.close();
  return { db, ckpt };
}

const ids = (stdout: string) => (JSON.parse(stdout) as { id: number }[]).map((r) => r.id);

describe('ablate delete', () => {
  it('lists what would go and refuses without a terminal unless --yes; with --yes the run and its checkpoint folder are gone', async () => {
    const { db, ckpt } = seed();
    const before = snapshotTables(db);
    const refused = await ablate(['delete', '1', '--db', db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('would delete 1 run(s):\n  run 1  heads  base  seed 1  done\n  with 1 metric points and 0 stored hypotheses');
    expect(refused.stderr).toContain(ckpt);
    expect(refused.stderr).toContain('ablate: delete: not confirmed: stdin is not a terminal; pass --yes to delete without asking');
    expect(snapshotTables(db)).toEqual(before);
    expect(existsSync(ckpt)).toBe(true);

    const done = await ablate(['delete', '1', '--yes', '--db', db]);
    expect(done.code).toBe(0);
    expect(done.stdout).toBe('deleted run(s) 1\n');
    expect(existsSync(ckpt)).toBe(false);
    expect(ids((await ablate(['runs', '--json', '--db', db])).stdout)).toEqual([2, 3]);
  });

  it('refuses an experiment holding a queued run in one line; after `ablate cancel` it deletes', async () => {
    const { db } = seed();
    const r = await ablate(['delete', '--experiment', 'heads', '--yes', '--db', db]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ablate: cannot delete: run 3 (h=4, seed 1) is queued; cancel it first\n');
    expect((await ablate(['cancel', '3', '--db', db])).stdout).toBe('cancel requested: 3\n');
    const done = await ablate(['delete', '--experiment', 'heads', '--yes', '--db', db]);
    expect(done.stdout).toBe('deleted experiment heads and run(s) 1, 2, 3\n');
    expect(await ablate(['runs', '--json', '--archived', '--db', db])).toMatchObject({ code: 0, stdout: '[]\n' });
  });
});

describe('ablate archive / unarchive', () => {
  it('hides archived runs from `ablate runs` (shown with --archived) and brings them back', async () => {
    const { db } = seed();
    expect((await ablate(['archive', '1', '2', '--db', db])).stdout).toBe('archived run(s) 1, 2\n');
    expect(ids((await ablate(['runs', '--json', '--db', db])).stdout)).toEqual([3]);
    expect(ids((await ablate(['runs', '--json', '--archived', '--db', db])).stdout)).toEqual([1, 2, 3]);
    expect((await ablate(['runs', '--archived', '--db', db])).stdout).toMatch(/done \(archived\)/);
    expect((await ablate(['unarchive', '1', '--db', db])).code).toBe(0);
    expect(ids((await ablate(['runs', '--json', '--db', db])).stdout)).toEqual([1, 3]);
  });
});

describe('ablate export and archived runs', () => {
  /** Two finished seeds of base with valid PPL 5 and 7 (one experiment, "ppl"). */
  function seedPpl(): string {
    const db = join(tempDir('ablate-cli-export-archived-'), 'db.sqlite');
    const store = openStore(db);
    const exp = store.upsertExperiment('ppl', {}, null);
    const ids = store.insertRuns(exp.id, [1, 2].map((seed) => ({ variant: 'base', seed, config: { variant: 'base', seed, changes: {} }, configHash: `base-${seed}`, backendRequested: 'cpu', totalSteps: 10 })));
    ids.forEach((id, i) => {
      store.updateRun(id, { state: 'done' });
      store.insertMetrics(id, [{ split: 'final', name: 'valid_ppl', step: 10, value: [5, 7][i], time: 1 }]);
    });
    store.close();
    return db;
  }

  it('leaves archived runs out of the table, saying how many on stderr, and counts them with --archived as `ablate runs --archived` lists them', async () => {
    const db = seedPpl();
    expect((await ablate(['archive', '2', '--db', db])).code).toBe(0);
    const shown = await ablate(['export', '--db', db]);
    expect(shown.code).toBe(0);
    // Seed 1 alone: PPL 5.00 (in bold: the column's best), one seed, no std.
    expect(shown.stdout).toMatch(/\| base \| 1 \| \*\*5\.00\*\* \|/);
    expect(shown.stderr).toBe('ppl: 1 archived run not counted; --archived counts them\n');
    const all = await ablate(['export', '--archived', '--db', db]);
    // Both seeds: mean 6, sample std √2 = 1.41.
    expect(all.stdout).toMatch(/\| base \| 2 \| \*\*6\.00\*\* ± 1\.41 \|/);
    expect(all.stderr).toBe('');
  });

  it('refuses an archived experiment in one line, and exports it with --archived', async () => {
    const db = seedPpl();
    expect((await ablate(['archive', '--experiment', 'ppl', '--db', db])).code).toBe(0);
    const named = await ablate(['export', '--experiment', 'ppl', '--db', db]);
    expect(named.code).toBe(1);
    expect(named.stderr).toBe('ablate: --experiment ppl: archived; pass --archived to export it anyway, or `ablate unarchive --experiment ppl` first\n');
    const latest = await ablate(['export', '--db', db]);
    expect(latest.stderr).toBe(`ablate: ${db}: every experiment is archived; --archived exports the most recent\n`);
    expect((await ablate(['export', '--experiment', 'ppl', '--archived', '--db', db])).stdout).toMatch(/\| base \| 2 \| \*\*6\.00\*\* ± 1\.41 \|/);
  });
});
