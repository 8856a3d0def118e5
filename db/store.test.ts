import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricPoint } from '../contract/run-protocol';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations';
import { openStore, type NewRun, type Store, StoreVersionError } from './store';

let dir: string;
let store: Store | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ablate-store-'));
});
afterEach(() => {
  store?.close();
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function open(file = join(dir, 'wb.sqlite')): Store {
  store = openStore(file);
  return store;
}

function newRun(variant: string, seed: number, hash = `${variant}-${seed}`): NewRun {
  return { variant, seed, config: { variant, seed, changes: {} }, configHash: hash, backendRequested: 'auto', totalSteps: 100 };
}

function seeded(s: Store): { experimentId: number; runIds: number[] } {
  const exp = s.upsertExperiment('exp', { name: 'exp' }, null);
  const runIds = s.insertRuns(exp.id, [newRun('base', 1), newRun('base', 2), newRun('(A) h=1', 1)]);
  return { experimentId: exp.id, runIds };
}

const pt = (split: MetricPoint['split'], name: string, step: number, value: number, time = 1000 + step): MetricPoint => ({ split, name, step, value, time });

describe('opening', () => {
  it('creates the schema at the latest version with WAL, NORMAL sync, foreign keys and a busy timeout', () => {
    const file = join(dir, 'wb.sqlite');
    open(file);
    // A second connection sees what the file itself says (journal mode and user_version persist).
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(['checkpoints', 'commands', 'experiment_runs', 'experiments', 'hypotheses', 'ingest_offsets', 'logs', 'metrics', 'run_executors', 'runs', 'samples', 'settings']);
    raw.close();
    // Connection-level settings are checked on the store's own connection through their effects:
    // a run for a missing experiment violates the foreign key.
    expect(() => store!.insertRuns(999, [newRun('base', 1)])).toThrow(/FOREIGN KEY/);
    expect(store!.integrityCheck()).toBe('ok');
    // The per-connection pragmas, read on the store's own connection (a private field).
    const conn = (store as unknown as { db: Database.Database }).db;
    expect(conn.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(conn.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(conn.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(1000);
  });

  it('refuses a database written by a newer version, naming the file and both versions, and leaves it untouched', () => {
    const file = join(dir, 'future.sqlite');
    const raw = new Database(file);
    raw.exec('CREATE TABLE future_table (x)');
    raw.pragma(`user_version = ${LATEST_VERSION + 3}`);
    raw.close();
    let err: unknown;
    try {
      openStore(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreVersionError);
    expect((err as Error).name).toBe('StoreVersionError');
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(`version ${LATEST_VERSION + 3}`);
    expect((err as Error).message).toContain(`version ${LATEST_VERSION}`);
    const after = new Database(file, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(LATEST_VERSION + 3);
    expect(after.pragma('journal_mode', { simple: true })).toBe('delete');
    after.close();
  });

  it('does not write a backup when it creates a new database', () => {
    expect(open().backupPath).toBeNull();
    store!.close();
    store = openStore(join(dir, 'wb.sqlite'));
    expect(store.backupPath).toBeNull();
  });

  // A later schema version, to exercise the migration path (the shipped list has one version so far).
  const addNotes: Migration = {
    version: LATEST_VERSION + 1,
    description: 'test: run notes',
    up: (db) => db.exec('ALTER TABLE runs ADD COLUMN notes TEXT'),
  };

  it('copies an existing database to a backup before migrating it', () => {
    const file = join(dir, 'wb.sqlite');
    const s = openStore(file);
    const { runIds } = seeded(s);
    s.insertMetrics(runIds[0], [pt('train', 'loss', 1, 5.5)]);
    s.close();

    store = openStore(file, { migrations: [...MIGRATIONS, addNotes] });
    expect(store.backupPath).not.toBeNull();
    expect(existsSync(store.backupPath!)).toBe(true);
    const backup = new Database(store.backupPath!, { readonly: true });
    expect(backup.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(backup.prepare('SELECT value FROM metrics').pluck().all()).toEqual([5.5]);
    backup.close();
    const migrated = new Database(file, { readonly: true });
    expect(migrated.pragma('user_version', { simple: true })).toBe(LATEST_VERSION + 1);
    expect((migrated.prepare(`SELECT name FROM pragma_table_info('runs') WHERE name = 'notes'`).all() as unknown[]).length).toBe(1);
    migrated.close();
    expect(store.listRuns().map((r) => r.id)).toEqual(runIds);
  });

  it('includes changes still in the write-ahead log in the backup', () => {
    const file = join(dir, 'wb.sqlite');
    const s = openStore(file);
    const { runIds } = seeded(s);
    s.close();
    // Another connection writes with checkpoints off and stays open, so its commit lives only in
    // the -wal file (as after a crash) when the migration starts.
    const writer = new Database(file);
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare(`INSERT INTO metrics (run_id, split, name, step, value, kind, time) VALUES (?, 'train', 'loss', 7, 3.25, 0, 0)`).run(runIds[1]);
    expect(existsSync(`${file}-wal`)).toBe(true);
    try {
      store = openStore(file, { migrations: [...MIGRATIONS, addNotes] });
      const backup = new Database(store.backupPath!, { readonly: true });
      expect(backup.prepare('SELECT run_id, value FROM metrics').raw().all()).toEqual([[runIds[1], 3.25]]);
      expect(backup.pragma('integrity_check', { simple: true })).toBe('ok');
      backup.close();
    } finally {
      writer.close();
    }
  });

  it('names the file when its directory does not exist', () => {
    const file = join(dir, 'missing', 'wb.sqlite');
    expect(() => openStore(file)).toThrow(`${file}: cannot open the database`);
  });

  it('names the file when it is not a SQLite database', async () => {
    const file = join(dir, 'junk.sqlite');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    expect(() => openStore(file)).toThrow(file);
  });
});

describe('metrics', () => {
  it('keeps NaN, +Infinity and -Infinity and exact finite doubles through a round trip', () => {
    const s = open();
    const { runIds } = seeded(s);
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1 + 0.2, -0, 5e-324, Number.MAX_VALUE, 1234567.891];
    s.insertMetrics(runIds[0], values.map((v, i) => pt('train', 'loss', i, v)));
    s.insertMetrics(runIds[0], [pt('final', 'valid_ppl', 99, Number.POSITIVE_INFINITY), pt('final', 'valid_bleu', 99, Number.NaN)]);
    s.close();
    const reopened = open();
    const got = reopened.getMetrics({ runIds: [runIds[0]], names: ['loss'] }).map((m) => m.value);
    expect(got).toHaveLength(values.length);
    got.forEach((v, i) => expect(Object.is(v, values[i]) || (v === 0 && values[i] === 0)).toBe(true));
    expect(Number.isNaN(got[0])).toBe(true);
    const run = reopened.getRun(runIds[0])!;
    expect(run.metrics.valid_ppl).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(run.metrics.valid_bleu)).toBe(true);
  });

  it('replaces a point with the same run, split, name and step instead of duplicating it', () => {
    const s = open();
    const { runIds } = seeded(s);
    s.insertMetrics(runIds[0], [pt('train', 'loss', 10, 4), pt('train', 'loss', 20, 3)]);
    s.insertMetrics(runIds[0], [pt('train', 'loss', 20, 2.5, 5), pt('valid', 'loss', 20, 3.5)]);
    expect(s.getMetrics({ runIds: [runIds[0]] }).map((m) => [m.split, m.name, m.step, m.value, m.time])).toEqual([
      ['train', 'loss', 10, 4, 1010],
      ['train', 'loss', 20, 2.5, 5],
      ['valid', 'loss', 20, 3.5, 1020],
    ]);
  });

  it('stores large batches exactly, the last duplicate in a batch winning', () => {
    const s = open();
    const { runIds } = seeded(s);
    // 89 = 64 + 16 + 4 + 4 + 1 points: every multi-row chunk size is used.
    const points = Array.from({ length: 89 }, (_, i) => pt(i % 2 ? 'valid' : 'train', `m${i % 3}`, i, i % 7 === 0 ? Number.NaN : i % 11 === 0 ? -Infinity : i / 3));
    s.insertMetrics(runIds[0], [...points, pt('train', 'm0', 0, 42, 7)]);
    const want = [...points.slice(1), pt('train', 'm0', 0, 42, 7)].sort((a, b) => (a.split + a.name).localeCompare(b.split + b.name) || a.step - b.step);
    const got = s.getMetrics({ runIds: [runIds[0]] });
    expect(got.map((m) => [m.split, m.name, m.step, m.value, m.time])).toEqual(want.map((p) => [p.split, p.name, p.step, p.value, p.time]));
  });

  it('returns random doubles bit-exactly from queries over many runs', () => {
    const s = open();
    const { runIds } = seeded(s);
    let x = 12345;
    // Deterministic spread over magnitudes 1e-20 … 1e20 and both signs.
    const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 10 ** ((x % 41) - 20);
    const sent = new Map<number, number[]>();
    for (const id of runIds) {
      const values = Array.from({ length: 500 }, rand);
      sent.set(id, values);
      s.insertMetrics(id, values.map((v, step) => pt('train', 'loss', step, v)));
    }
    const got = s.getMetrics({ runIds, names: ['loss'] });
    expect(got).toHaveLength(1500);
    for (const m of got) expect(Object.is(m.value, sent.get(m.runId)![m.step])).toBe(true);
  });

  it('returns series column by column with exactly the points getMetrics returns, non-finite values included', () => {
    const s = open();
    const { runIds } = seeded(s);
    const [a, b] = runIds;
    s.insertMetrics(b, [pt('train', 'loss', 3, Number.NaN), pt('train', 'loss', 1, 2), pt('valid', 'valid_ppl', 2, Number.POSITIVE_INFINITY)]);
    s.insertMetrics(a, [pt('train', 'loss', 2, 0.1 + 0.2), pt('train', 'loss', 1, -Infinity, 9)]);
    const series = s.getMetricSeries({ runIds: [b, a] });
    expect(series.map((x) => `${x.runId}/${x.split}/${x.name}`)).toEqual([`${a}/train/loss`, `${b}/train/loss`, `${b}/valid/valid_ppl`]);
    expect(series[0]).toEqual({ runId: a, split: 'train', name: 'loss', steps: [1, 2], values: [-Infinity, 0.1 + 0.2], times: [9, 1002] });
    expect(series[1].values[1]).toBeNaN();
    const flattened = series.flatMap((x) => x.steps.map((step, i) => ({ runId: x.runId, split: x.split, name: x.name, step, value: x.values[i], time: x.times[i] })));
    expect(flattened).toEqual(s.getMetrics({ runIds: [b, a] }));
  });

  it('lists the distinct split/name pairs of the given runs, sorted', () => {
    const s = open();
    const { runIds } = seeded(s);
    const [a, b, c] = runIds;
    s.insertMetrics(a, [pt('train', 'loss', 1, 1), pt('train', 'loss', 2, 1), pt('valid', 'valid_bleu', 2, 1), pt('train', 'lr', 1, 1)]);
    s.insertMetrics(b, [pt('final', 'params', 9, 1), pt('train', 'loss', 1, 1)]);
    s.insertMetrics(c, [pt('test', 'only_c', 1, 1)]);
    const keys = (ids: number[]) => s.getMetricKeys(ids).map((k) => `${k.split}/${k.name}`);
    expect(keys([b, a])).toEqual(['final/params', 'train/loss', 'train/lr', 'valid/valid_bleu']);
    expect(keys([c])).toEqual(['test/only_c']);
    expect(keys([])).toEqual([]);
  });

  it('writes a batch all or nothing', () => {
    const s = open();
    const { runIds } = seeded(s);
    const bad = { split: 'train', name: null, step: 3, value: 1, time: 0 } as unknown as MetricPoint;
    expect(() => s.insertMetrics(runIds[0], [pt('train', 'loss', 1, 1), pt('train', 'loss', 2, 1), bad])).toThrow(/NOT NULL/);
    expect(s.getMetrics({ runIds: [runIds[0]] })).toEqual([]);
  });

  it('filters by runs, names and splits and orders by run, split, name, step', () => {
    const s = open();
    const { runIds } = seeded(s);
    const [a, b, c] = runIds;
    s.insertMetrics(c, [pt('valid', 'valid_bleu', 5, 1), pt('train', 'loss', 5, 2), pt('train', 'lr', 5, 3)]);
    s.insertMetrics(a, [pt('train', 'loss', 10, 4), pt('train', 'loss', 5, 5), pt('valid', 'loss', 5, 6)]);
    s.insertMetrics(b, [pt('train', 'loss', 1, 7)]);
    const key = (q: Parameters<Store['getMetrics']>[0]) => s.getMetrics(q).map((m) => `${m.runId}/${m.split}/${m.name}/${m.step}`);
    expect(key({ runIds: [c, a] })).toEqual([`${a}/train/loss/5`, `${a}/train/loss/10`, `${a}/valid/loss/5`, `${c}/train/loss/5`, `${c}/train/lr/5`, `${c}/valid/valid_bleu/5`]);
    expect(key({ runIds: [a, c], names: ['loss'] })).toEqual([`${a}/train/loss/5`, `${a}/train/loss/10`, `${a}/valid/loss/5`, `${c}/train/loss/5`]);
    expect(key({ runIds: [a, b, c], names: ['loss'], splits: ['train'] })).toEqual([`${a}/train/loss/5`, `${a}/train/loss/10`, `${b}/train/loss/1`, `${c}/train/loss/5`]);
    expect(key({ runIds: [] })).toEqual([]);
    expect(key({ runIds: [a], names: [] })).toEqual([]);
  });

  it('deletes only the points and sample translations after a checkpoint step, in every split, for that run only', () => {
    const s = open();
    const { runIds } = seeded(s);
    for (const id of runIds.slice(0, 2)) {
      s.insertMetrics(id, [10, 20, 30].flatMap((step) => [pt('train', 'loss', step, step), pt('valid', 'loss', step, step)]));
      for (const step of [10, 20, 30]) s.addSamples(id, step, [{ source: 'ein Hund', reference: 'a dog', hypothesis: `h${step}` }]);
    }
    s.deleteMetricsAfter(runIds[0], 20);
    expect(s.getMetrics({ runIds: [runIds[0]] }).map((m) => `${m.split}${m.step}`)).toEqual(['train10', 'train20', 'valid10', 'valid20']);
    expect(s.getSamples(runIds[0]).map((r) => r.hypothesis)).toEqual(['h10', 'h20']);
    expect(s.getMetrics({ runIds: [runIds[1]] })).toHaveLength(6);
    expect(s.getSamples(runIds[1])).toHaveLength(3);
  });
});

describe('runs and the queue', () => {
  it('returns the same experiment row for the same name and updates its spec', () => {
    const s = open();
    const a = s.upsertExperiment('exp', { v: 1 }, '/specs');
    const b = s.upsertExperiment('exp', { v: 2 }, null);
    expect(b.id).toBe(a.id);
    expect(b.createdAt).toBe(a.createdAt);
    expect(s.getExperiment(a.id)).toEqual({ id: a.id, name: 'exp', spec: { v: 2 }, specDir: null, createdAt: a.createdAt, archivedAt: null });
    expect(s.getExperimentByName('exp')!.id).toBe(a.id);
    expect(s.getExperimentByName('other')).toBeUndefined();
    s.upsertExperiment('other', {}, null);
    expect(s.listExperiments().map((e) => e.name)).toEqual(['exp', 'other']);
  });

  it('appends inserted runs to the end of the queue and hands them out in order', () => {
    const s = open();
    const { experimentId, runIds } = seeded(s);
    const later = s.insertRuns(experimentId, [newRun('(B) d_k=16', 1)]);
    const runs = s.listRuns();
    expect(runs.map((r) => r.id)).toEqual([...runIds, ...later]);
    expect(runs.every((r) => r.state === 'queued' && r.experiment === 'exp' && r.step === 0 && r.totalSteps === 100)).toBe(true);
    expect(runs[3].priority).toBeGreaterThan(runs[2].priority);
    expect(s.nextQueuedRun()!.id).toBe(runIds[0]);
    s.updateRun(runIds[0], { state: 'running' });
    expect(s.nextQueuedRun()!.id).toBe(runIds[1]);
  });

  it('moves a queued run to a position among the queued runs', () => {
    const s = open();
    const { experimentId, runIds } = seeded(s);
    const [d] = s.insertRuns(experimentId, [newRun('D', 1)]);
    s.updateRun(runIds[0], { state: 'running' });
    const queuedOrder = () => {
      const out: number[] = [];
      const ids = s.listRuns({ states: ['queued'] }).sort((x, y) => x.priority - y.priority || x.id - y.id);
      for (const r of ids) out.push(r.id);
      return out;
    };
    expect(queuedOrder()).toEqual([runIds[1], runIds[2], d]);
    s.moveRun(d, 0);
    expect(queuedOrder()).toEqual([d, runIds[1], runIds[2]]);
    expect(s.nextQueuedRun()!.id).toBe(d);
    expect(s.queuedRunIds()).toEqual(queuedOrder());
    s.moveRun(d, 99);
    expect(queuedOrder()).toEqual([runIds[1], runIds[2], d]);
    s.moveRun(runIds[2], 0);
    expect(queuedOrder()).toEqual([runIds[2], runIds[1], d]);
    expect(s.queuedRunIds()).toEqual([runIds[2], runIds[1], d]);
    expect(() => s.moveRun(runIds[0], 0)).toThrow(`run ${runIds[0]} is not queued`);
  });

  it('updates run fields and parses JSON columns on the way out', () => {
    const s = open();
    const { runIds } = seeded(s);
    s.updateRun(runIds[0], { state: 'done', backend: 'wasm', device: 'cpu (2 threads)', step: 100, params: 123456, dataInfo: { train: 29000, filtered: 3 }, checkpointDir: '/ck/1', startedAt: 10, finishedAt: 20 });
    const r = s.getRun(runIds[0])!;
    expect([r.state, r.backend, r.device, r.step, r.params, r.dataInfo, r.checkpointDir, r.startedAt, r.finishedAt]).toEqual(['done', 'wasm', 'cpu (2 threads)', 100, 123456, { train: 29000, filtered: 3 }, '/ck/1', 10, 20]);
    expect(r.config).toEqual({ variant: 'base', seed: 1, changes: {} });
    s.updateRun(runIds[0], { error: null, dataInfo: null });
    expect(s.getRun(runIds[0])!.dataInfo).toBeNull();
    expect(() => s.updateRun(9999, { step: 1 })).toThrow('run 9999 does not exist');
    expect(() => s.updateRun(runIds[0], { bogus: 1 } as never)).toThrow(/unknown field "bogus"/);
    expect(() => s.updateRun(runIds[0], { state: 'exploded' as never })).toThrow(/CHECK/);
  });

  it('lists runs by experiment and state with their final metrics', () => {
    const s = open();
    const { runIds } = seeded(s);
    const other = s.upsertExperiment('other', {}, null);
    const [o] = s.insertRuns(other.id, [newRun('base', 1, 'o')]);
    s.insertMetrics(runIds[1], [pt('final', 'valid_bleu', 100, 27.5), pt('final', 'valid_ppl', 100, 4.9), pt('valid', 'valid_bleu', 50, 10)]);
    s.updateRun(runIds[1], { state: 'done' });
    s.updateRun(o, { state: 'done' });
    expect(s.listRuns({ experimentId: other.id }).map((r) => r.id)).toEqual([o]);
    expect(s.listRuns({ states: ['done'] }).map((r) => r.id)).toEqual([runIds[1], o]);
    expect(s.listRuns({ states: [] })).toEqual([]);
    const byId = new Map(s.listRuns().map((r) => [r.id, r.metrics]));
    expect(byId.get(runIds[1])).toEqual({ valid_bleu: 27.5, valid_ppl: 4.9 });
    expect(byId.get(runIds[0])).toEqual({});
    expect(s.getRun(runIds[1])!.metrics).toEqual({ valid_bleu: 27.5, valid_ppl: 4.9 });
    expect(s.getRun(12345)).toBeUndefined();
  });

  it('finds the oldest run with a config hash among the given states', () => {
    const s = open();
    const exp = s.upsertExperiment('exp', {}, null);
    const [a, b] = s.insertRuns(exp.id, [newRun('base', 1, 'same'), newRun('base', 1, 'same')]);
    s.updateRun(a, { state: 'failed' });
    expect(s.findRunByHash('same', ['queued', 'running', 'done'])!.id).toBe(b);
    expect(s.findRunByHash('same', ['failed', 'queued'])!.id).toBe(a);
    expect(s.findRunByHash('same', ['done'])).toBeUndefined();
    expect(s.findRunByHash('nope', ['queued'])).toBeUndefined();
  });

  it('marks runs left running as interrupted with the reason, leaving the others alone', () => {
    const s = open();
    const { runIds } = seeded(s);
    s.updateRun(runIds[0], { state: 'running' });
    s.updateRun(runIds[2], { state: 'running' });
    s.updateRun(runIds[1], { state: 'done' });
    const got = s.markRunningAsInterrupted('workbench stopped while running');
    expect(got.map((r) => [r.id, r.state, r.error])).toEqual([
      [runIds[0], 'interrupted', 'workbench stopped while running'],
      [runIds[2], 'interrupted', 'workbench stopped while running'],
    ]);
    expect(s.getRun(runIds[1])!.state).toBe('done');
    expect(s.markRunningAsInterrupted('again')).toEqual([]);
  });
});

describe('checkpoints, samples, logs and settings', () => {
  it('returns the checkpoint with the highest step', () => {
    const s = open();
    const { runIds } = seeded(s);
    expect(s.latestCheckpoint(runIds[0])).toBeUndefined();
    s.addCheckpoint(runIds[0], 200, '/ck/200.bin');
    s.addCheckpoint(runIds[0], 400, '/ck/400.bin');
    s.addCheckpoint(runIds[0], 100, '/ck/100.bin');
    s.addCheckpoint(runIds[1], 900, '/other');
    expect(s.latestCheckpoint(runIds[0])).toMatchObject({ runId: runIds[0], step: 400, path: '/ck/400.bin' });
  });

  it('stores sample translations and logs per run in order', () => {
    const s = open();
    const { runIds } = seeded(s);
    s.addSamples(runIds[0], 200, [
      { source: 'ein Hund', reference: 'a dog', hypothesis: 'a dog' },
      { source: 'zwei', reference: 'two', hypothesis: 'too' },
    ]);
    s.addSamples(runIds[0], 100, [{ source: 'x', reference: 'y', hypothesis: 'z' }]);
    expect(s.getSamples(runIds[0]).map((r) => `${r.step}:${r.hypothesis}`)).toEqual(['100:z', '200:a dog', '200:too']);
    expect(s.getSamples(runIds[1])).toEqual([]);
    s.addLog(runIds[0], 'info', 'backend wasm');
    s.addLog(runIds[0], 'warn', 'filtered 3 pairs');
    expect(s.getLogs(runIds[0]).map((l) => [l.level, l.text])).toEqual([
      ['info', 'backend wasm'],
      ['warn', 'filtered 3 pairs'],
    ]);
  });

  it('reads back the last value set for a key', () => {
    const s = open();
    expect(s.getSetting('queue.paused')).toBeUndefined();
    s.setSetting('queue.paused', 'true');
    s.setSetting('queue.paused', 'false');
    expect(s.getSetting('queue.paused')).toBe('false');
  });
});

describe('hypotheses', () => {
  it('stores every hypothesis of a split with its reference, in corpus order, replacing an earlier set', () => {
    const store = openStore(':memory:');
    try {
      const exp = store.upsertExperiment('h', {}, null);
      const [id] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 1 }]);
      expect(store.getHypotheses(id, 'test')).toBeUndefined();
      store.setHypotheses(id, 'test', 5, ['a', 'b', ''], ['A', 'B', 'C']);
      store.setHypotheses(id, 'test', 7, ['x', 'y', 'z'], ['A', 'B', 'C']);
      store.setHypotheses(id, 'valid', 7, ['v'], ['V']);
      expect(store.getHypotheses(id, 'test')).toEqual({ runId: id, split: 'test', step: 7, hypotheses: ['x', 'y', 'z'], references: ['A', 'B', 'C'] });
      expect(store.getHypotheses(id, 'valid')?.hypotheses).toEqual(['v']);
      expect(() => store.setHypotheses(id, 'test', 7, ['x'], [])).toThrow('1 hypotheses but 0 references');
    } finally {
      store.close();
    }
  });
});
